"""`spacy mtl report`: the entity × sentiment table and chart of annotated posts."""

import csv
import json
import os
import subprocess
import sys

from spacy_mtl.annotate.report import entity_sentiment, write_report

NEG = {"negative": 0.7, "neutral": 0.2, "positive": 0.1}
POS = {"negative": 0.1, "neutral": 0.3, "positive": 0.6}


def ent(text: str, label: str) -> dict:
    return {"text": text, "label": label, "start_char": 0, "end_char": len(text)}


RECORDS = [
    {
        "id": 1,
        "cats": NEG,
        "ents": [ent("Obama", "person"), ent("obama", "person"), ent("Paris", "geo-loc")],
    },
    {"id": 2, "cats": POS, "ents": [ent("Obama", "person")]},
    {"id": 3, "cats": POS, "ents": [ent("OBAMA", "person"), ent("Apple", "company")]},
    {"id": 4, "cats": NEG, "ents": []},
]


def test_entity_sentiment_counts_each_post_once_per_entity():
    tally = entity_sentiment([*RECORDS, None, {"text": "no annotation"}])
    assert tally.classes == ["negative", "neutral", "positive"]
    assert (tally.posts, tally.bad_lines, tally.per_class) == (
        4,
        2,
        {"negative": 2, "neutral": 0, "positive": 2},
    )
    assert [
        (r.text, r.label, r.posts, r.classes["negative"], r.classes["positive"]) for r in tally.rows
    ] == [
        ("Obama", "person", 3, 1, 2),
        ("Apple", "company", 1, 0, 1),
        ("Paris", "geo-loc", 1, 1, 0),
    ]


def test_report_writes_table_and_chart(tmp_path):
    annotated = tmp_path / "annotated.jsonl"
    annotated.write_text(
        "".join(json.dumps(r) + "\n" for r in RECORDS) + '{"torn', encoding="utf-8"
    )
    env = {**os.environ, "ANSI_COLORS_DISABLED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "spacy_mtl", "report", str(annotated), "-o", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "4 posts, 3 entities" in result.stdout
        and "1 lines were not annotated records" in result.stdout
    )
    rows = list(csv.reader((tmp_path / "r" / "entities.csv").open(encoding="utf-8")))
    assert rows[:2] == [
        ["entity", "label", "posts", "negative", "neutral", "positive"],
        ["Obama", "person", "3", "1", "0", "2"],
    ]
    md = (tmp_path / "r" / "entities.md").read_text(encoding="utf-8")
    assert "| Obama | person | 3 | 1 (33%) | 0 (0%) | 2 (67%) |" in md
    assert (tmp_path / "r" / "entities.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_reads_a_directory_of_json_lines_as_ray_writes_it(tmp_path):
    (tmp_path / "ray").mkdir()
    for i, record in enumerate(RECORDS):
        (tmp_path / "ray" / f"part_{i}.json").write_text(
            json.dumps(record) + "\n", encoding="utf-8"
        )
    tally, files = write_report(tmp_path / "ray", tmp_path / "out", top=2)
    assert tally.posts == 4 and sorted(files) == ["chart", "csv", "markdown"]
    assert (tmp_path / "out" / "entities.md").read_text(encoding="utf-8").count("\n| ") == 3


def run_report(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANSI_COLORS_DISABLED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "spacy_mtl", "report", *args],
        capture_output=True,
        text=True,
        env=env,
    )


def test_bad_cats_and_deep_lines_are_bad_lines_not_tracebacks(tmp_path):
    # Non-numeric cats, and a line nested 1,000 deep, ended report in a traceback (issue 28).
    annotated = tmp_path / "annotated.jsonl"
    bad = [
        {"cats": {"negative": "high", "positive": "low"}, "ents": [ent("Obama", "person")]},
        {"cats": {"negative": [0.5]}, "ents": []},
        {"cats": {"negative": True}, "ents": []},
    ]
    lines = [json.dumps(r) for r in RECORDS + bad]
    lines += ['{"cats": {"negative": NaN}, "ents": []}', "[" * 1000 + "]" * 1000]
    annotated.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_report(str(annotated), "-o", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    assert "4 posts, 3 entities" in result.stdout and "5 lines were not annotated records" in (
        " ".join(result.stdout.split())
    )
    # Only bad lines: one line, and nothing written.
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text("\n".join(lines[len(RECORDS) :]) + "\n", encoding="utf-8")
    result = run_report(str(only_bad), "-o", str(tmp_path / "none"))
    assert result.returncode == 1 and "[E215]" in result.stdout
    assert "Traceback" not in result.stderr and not (tmp_path / "none").exists()


def test_entities_csv_guards_formulas(tmp_path):
    records = [
        {"cats": NEG, "ents": [ent('=HYPERLINK("http://x")', "person"), ent("-5", "@x")]},
        {"cats": POS, "ents": [ent("+1 (555)", "product"), ent("Paris", "geo-loc")]},
    ]
    _, files = write_report_of(records, tmp_path)
    rows = list(csv.reader(files["csv"].open(encoding="utf-8")))
    assert sorted((row[0], row[1]) for row in rows[1:]) == [
        ("'+1 (555)", "product"),
        ("'-5", "'@x"),
        ('\'=HYPERLINK("http://x")', "person"),
        ("Paris", "geo-loc"),
    ]


def write_report_of(records: list, tmp_path):
    annotated = tmp_path / "annotated.jsonl"
    annotated.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return write_report(annotated, tmp_path / "report")


def test_report_refuses_to_write_over_its_input(tmp_path):
    # A directory of JSON lines (Ray's output) is the input: the report may not go into it.
    (tmp_path / "ray").mkdir()
    part = tmp_path / "ray" / "part_0.json"
    part.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    for output in (tmp_path / "ray", tmp_path / "ray" / "report"):
        result = run_report(str(tmp_path / "ray"), "-o", str(output))
        assert result.returncode == 1 and "[E270]" in result.stdout, result.stdout
    assert [p.name for p in (tmp_path / "ray").iterdir()] == ["part_0.json"]
    # Beside a file it reads, it may.
    result = run_report(str(part), "-o", str(tmp_path / "ray"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "ray").iterdir()) == [
        "entities.csv",
        "entities.md",
        "entities.png",
        "part_0.json",
    ]
