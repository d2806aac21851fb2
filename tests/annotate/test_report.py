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
