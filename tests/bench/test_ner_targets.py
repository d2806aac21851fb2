"""bench/ner_targets.py runs end to end (tiny encoder, one round): the report has a
row per soft variant and the soft student's time in its teacher. No timing is
checked: the benchmark is run alone, later."""

import subprocess
import sys

from helpers import REPO


def test_the_ner_targets_bench_writes_its_report(tiny_encoder, tmp_path):
    output = tmp_path / "NER-TARGETS.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ner_targets",
            "--encoder",
            tiny_encoder,
            "--warmup",
            "0",
            "--pairs",
            "1",
            "--gpu-id",
            "-1",
            "--output",
            str(output),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = output.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| soft |")]
    rows += [line for line in text.splitlines() if line.startswith("| confident |")]
    assert len(rows) == 2 and all(row.count("|") == 7 for row in rows)
    assert "`NERTeacher.steps`" in text and "`TeacherSteps.distribution`" in text
    assert text == result.stdout.rstrip("\n") + "\n"
