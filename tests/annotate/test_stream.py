"""spacy_mtl.annotate on a saved pipeline: one output line per valid input line, in
order, whatever the format and the number of processes."""

import csv
import json

import pytest

from spacy_mtl.annotate import annotate_file

from stream_helpers import LONG, assert_same_annotations, problems_of, read_jsonl


def test_one_output_line_per_valid_line_and_each_bad_line_reported(tiny_pipeline, stream, tmp_path):
    out = tmp_path / "annotated.jsonl"
    stats = annotate_file(tiny_pipeline, stream.path, out, batch_size=16)
    records = read_jsonl(out)
    assert [record["id"] for record in records] == stream.valid_ids
    assert problems_of(tmp_path / "annotated.errors.jsonl") == stream.problems
    assert stats.posts == len(stream.valid_ids) and stats.resumed == 0
    assert stats.skipped == len(stream.problems) - 1 and stats.problems["truncated"] == 1
    inputs = {
        json.loads(line)["id"]: json.loads(line) for line in stream.lines if b'"meta"' in line
    }
    for record in records:
        # Every input field passes through unchanged, the long post's text too.
        assert {k: v for k, v in record.items() if k not in ("cats", "ents")} == inputs[
            record["id"]
        ]
        assert sorted(record["cats"]) == ["negative", "neutral", "positive"]
        assert sum(record["cats"].values()) == pytest.approx(1.0, abs=1e-5)
        for ent in record["ents"]:
            assert (
                record["text"][ent["start_char"] : ent["end_char"]] == ent["text"] and ent["label"]
            )
    # The comparisons of these tests mean something only if the pipeline's answers vary.
    assert len({round(record["cats"]["positive"], 6) for record in records}) > 10
    assert sum(len(record["ents"]) for record in records) > 10
    long = next(record for record in records if record["id"] == LONG)
    assert all(ent["end_char"] <= 10_000 for ent in long["ents"])


def test_csv_and_text_inputs_give_the_same_annotations(tiny_pipeline, stream, tmp_path):
    annotate_file(tiny_pipeline, stream.path, tmp_path / "from_jsonl.jsonl", batch_size=16)
    expected = [r for r in read_jsonl(tmp_path / "from_jsonl.jsonl") if r["id"] != LONG]
    with (tmp_path / "posts.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "text"])
        writer.writerows([record["id"], record["text"]] for record in expected)
    (tmp_path / "posts.txt").write_text(
        "".join(record["text"] + "\n" for record in expected), encoding="utf-8"
    )
    annotate_file(tiny_pipeline, tmp_path / "posts.csv", tmp_path / "from_csv.jsonl", batch_size=16)
    annotate_file(
        tiny_pipeline, tmp_path / "posts.txt", tmp_path / "from_text.jsonl", batch_size=16
    )
    from_csv, from_text = (
        read_jsonl(tmp_path / "from_csv.jsonl"),
        read_jsonl(tmp_path / "from_text.jsonl"),
    )
    assert [r["id"] for r in from_csv] == [str(r["id"]) for r in expected]
    for got in (from_csv, from_text):
        assert_same_annotations(
            [{"text": r["text"], "cats": r["cats"], "ents": r["ents"]} for r in got],
            [{"text": r["text"], "cats": r["cats"], "ents": r["ents"]} for r in expected],
        )


def test_line_numbers_on_request_and_replaced_fields_warned(tiny_pipeline, tmp_path):
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        '{"text": "Obama in Paris", "cats": "mine"}\n\n{"text": "Apple"}\n', encoding="utf-8"
    )
    with pytest.warns(UserWarning, match="Input line 1 has a field 'cats'"):
        annotate_file(tiny_pipeline, posts, tmp_path / "out.jsonl", line_field="line")
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [(r["line"], r["text"], type(r["cats"]).__name__) for r in records] == [
        (1, "Obama in Paris", "dict"),
        (3, "Apple", "dict"),
    ]
