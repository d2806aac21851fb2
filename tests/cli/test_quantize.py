"""`spacy mtl quantize`: the int8 pipeline written, what exists kept."""

import subprocess
import sys


def test_cli_writes_the_int8_pipeline_and_keeps_what_exists(tiny_pipeline, tmp_path):
    out = tmp_path / "int8"
    command = [sys.executable, "-m", "spacy_mtl", "quantize", tiny_pipeline, str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Saved the int8 pipeline" in done.stdout and (out / "config.cfg").is_file()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 1 and "exists and is not empty; pass --force" in again.stdout
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    twice = subprocess.run(
        [sys.executable, "-m", "spacy_mtl", "quantize", str(out), str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert twice.returncode == 1 and "already quantized" in twice.stdout
    assert not (tmp_path / "x").exists() and [p.name for p in tmp_path.iterdir()] == ["int8"]
