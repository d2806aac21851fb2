"""project/scripts/distill_report.py: the student against its teachers, from the files
`spacy mtl evaluate --per-doc` writes."""

import importlib.util
import json
from pathlib import Path

import pytest

from helpers import REPO

SCRIPT = REPO / "project" / "scripts" / "distill_report.py"


@pytest.fixture(scope="module")
def distill_report():
    spec = importlib.util.spec_from_file_location("distill_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(directory: Path, task_scores: dict, records: list) -> Path:
    directory.mkdir(parents=True)
    (directory / "scores.json").write_text(json.dumps(task_scores))
    (directory / "docs.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    return directory


def test_report_gives_each_task_its_difference_interval_and_verdict(distill_report, tmp_path):
    # NER: the teacher finds 1 of the 2 entities of each of 4 docs (F1 2/3), the student both (F1 1).
    teacher_ner = [{"task": "ner", "doc": i, "tp": 1, "fp": 0, "fn": 1} for i in range(4)]
    student_ner = [{"task": "ner", "doc": i, "tp": 2, "fp": 0, "fn": 0} for i in range(4)]
    # Sentiment: both classify all 4 docs correctly (macro-F1 1).
    cats = [
        {"task": "textcat", "doc": i, "gold": label, "pred": label}
        for i, label in enumerate("ab" * 2)
    ]
    student = write_run(
        tmp_path / "distill",
        {"textcat": {"cats_macro_f": 1.0}, "ner": {"ents_f": 1.0}},
        cats + student_ner,
    )
    teachers = {
        "textcat": write_run(
            tmp_path / "teacher-textcat", {"textcat": {"cats_macro_f": 1.0}}, cats
        ),
        "ner": write_run(tmp_path / "teacher-ner", {"ner": {"ents_f": 2 / 3}}, teacher_ner),
    }
    text = distill_report.report(student, teachers, tmp_path / "report.md")
    assert (tmp_path / "report.md").read_text() == text
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and "---" not in line
    }
    # Every resample of identical docs gives the same difference: the interval is a point.
    assert rows["entity F1"][1:] == ["66.7", "100.0", "+33.3 [+33.3, +33.3]", "4"]
    assert rows["sentiment macro-F1"][1:] == ["100.0", "100.0", "+0.0 [+0.0, +0.0]", "4"]
    assert "**+25.0**" in text and "**yes**" in text  # (0 + 50%) / 2


def test_report_names_a_missing_file(distill_report, tmp_path):
    write_run(tmp_path / "distill", {}, [])
    (tmp_path / "distill" / "docs.jsonl").unlink()
    with pytest.raises(SystemExit, match="docs.jsonl not found"):
        distill_report.report(tmp_path / "distill", {}, tmp_path / "report.md")
