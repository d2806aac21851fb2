"""The distilled student against its single-task teachers, per task, with paired
bootstrap intervals: what the `report-distill` step writes to metrics/distill/report.md.

Each model's scores and per-doc test records are what `spacy mtl evaluate --output
DIR/scores.json --per-doc DIR/docs.jsonl` writes. One run per model: the intervals
cover the test docs, not the seeds (`compare` runs several seeds).
"""

import argparse
import json
from pathlib import Path
from typing import Dict, List

from spacy_mtl.evaluation.bootstrap import paired_bootstrap

METRICS = {"textcat": ("sentiment macro-F1", "cats_macro_f"), "ner": ("entity F1", "ents_f")}
RESAMPLES = 1000


def read_run(directory: Path) -> tuple:
    """(scores per task, per-doc records) of one evaluated model, with an error that
    names the missing file."""
    files = [directory / "scores.json", directory / "docs.jsonl"]
    for path in files:
        if not path.exists():
            raise SystemExit(f"{path} not found: run the evaluate-distill step first")
    records = [
        json.loads(line)
        for line in files[1].read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return json.loads(files[0].read_text(encoding="utf-8")), records


def report(student: Path, teachers: Dict[str, Path], output: Path) -> str:
    """Write the Markdown report and RETURN it.

    student (Path): the student's metrics directory.
    teachers (Dict[str, Path]): per task, its teacher's metrics directory.
    output (Path): the Markdown file.
    """
    student_scores, student_docs = read_run(student)
    rows: List[str] = []
    changes, below = [], []
    for task, teacher_dir in teachers.items():
        name, key = METRICS[task]
        teacher_scores, teacher_docs = read_run(teacher_dir)
        ours, theirs = student_scores[task][key], teacher_scores[task][key]
        ci = paired_bootstrap(task, [student_docs], [teacher_docs], n_resamples=RESAMPLES)
        changes.append((ours - theirs) / theirs if theirs else 0.0)
        if ci.entirely_below_zero():
            below.append(task)
        rows.append(
            f"| {name} | {100 * theirs:.1f} | {100 * ours:.1f} | "
            f"{100 * ci.delta:+.1f} [{100 * ci.low:+.1f}, {100 * ci.high:+.1f}] | {ci.n_docs} |"
        )
    delta_m = 100 * sum(changes) / len(changes)
    verdict = (
        "yes"
        if delta_m > 0 and not below
        else "no" + (f" ({', '.join(below)})" if below else " (Δm%)")
    )
    text = "\n".join(
        [
            "# The distilled student against its single-task teachers",
            "",
            "| task | teacher (single-task) | student | Δ [95% CI] | test docs |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Δm% (mean relative change over the tasks): **{delta_m:+.1f}**. Pays (Δm% > 0 and neither interval "
            f"entirely below zero): **{verdict}**.",
            "",
            f"Scores ×100 on each task's own test set. Δ: student − teacher on the same docs, with a 95% paired "
            f"bootstrap interval ({RESAMPLES:,} resamples of the test docs, `spacy_mtl.evaluation.bootstrap`). One run of each "
            "model: the interval covers the test docs, not the seed; `spacy project run compare` runs seeds.",
            "",
        ]
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "student", type=Path, help="the student's metrics directory (scores.json, docs.jsonl)"
    )
    parser.add_argument(
        "--textcat-teacher",
        type=Path,
        required=True,
        help="the textcat teacher's metrics directory",
    )
    parser.add_argument(
        "--ner-teacher", type=Path, required=True, help="the NER teacher's metrics directory"
    )
    parser.add_argument("--output", type=Path, required=True, help="the Markdown file to write")
    args = parser.parse_args()
    print(
        report(
            args.student, {"textcat": args.textcat_teacher, "ner": args.ner_teacher}, args.output
        )
    )


if __name__ == "__main__":
    main()
