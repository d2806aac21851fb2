"""`spacy mtl plot`: the PNG, or one line naming the bad trace line."""

import json
import os
import subprocess
import sys


def test_plot_command_writes_the_png_or_names_the_bad_line(tmp_path):
    trace = tmp_path / "weights.jsonl"
    trace.write_text(
        "".join(
            json.dumps({"step": s, "task": "ner", "loss": 1.0, "weight": 1.0, "grad_norm": 0.5})
            + "\n"
            for s in range(5)
        )
    )
    env = {**os.environ, "ANSI_COLORS_DISABLED": "1"}
    command = [
        sys.executable,
        "-m",
        "spacy_mtl",
        "plot",
        str(trace),
        "--output",
        str(tmp_path / "w.png"),
    ]
    drawn = subprocess.run(command, capture_output=True, text=True, env=env)
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    assert (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"
    with trace.open("a") as lines:
        lines.write('{"step": 5}\n')
    refused = subprocess.run(command, capture_output=True, text=True, env=env)
    assert refused.returncode == 1
    assert "✘" in refused.stdout and "weights.jsonl:6: not a weight-trace record" in " ".join(
        refused.stdout.split()
    )
    assert "Traceback" not in refused.stdout + refused.stderr
