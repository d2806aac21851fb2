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


def strict_json(line: str) -> dict:
    """A JSON line as a strict parser reads it: NaN and Infinity are errors."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} in the output")

    return json.loads(line, parse_constant=refuse)


def test_a_line_nested_too_deep_does_not_stop_the_stream(tiny_pipeline, tmp_path):
    # A 2 KB line nested 1,000 deep raised RecursionError: the run ended, its last
    # batch unwritten, and --resume met the same line again (issue 28, item 5).
    deep = '{"text": "deep", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        '{"text": "Obama in Paris"}\n' + deep + '\n{"text": "Apple in London"}\n', encoding="utf-8"
    )
    stats = annotate_file(tiny_pipeline, posts, tmp_path / "out.jsonl")
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == [
        "Obama in Paris",
        "Apple in London",
    ]
    assert problems_of(tmp_path / "out.errors.jsonl") == [(2, "too_deep")]
    assert stats.posts == 2 and stats.skipped == 1


def test_output_is_strict_json_whatever_the_input_and_the_pipeline(tiny_pipeline, tmp_path):
    import spacy

    # NaN and Infinity in the input are not JSON: reported, not passed through.
    posts = tmp_path / "posts.jsonl"
    posts.write_text(
        '{"text": "Obama", "score": NaN}\n{"text": "Paris", "score": -Infinity}\n'
        '{"text": "Apple", "score": 0.5}\n',
        encoding="utf-8",
    )
    annotate_file(tiny_pipeline, posts, tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [strict_json(line)["text"] for line in lines] == ["Apple"]
    assert problems_of(tmp_path / "out.errors.jsonl") == [
        (1, "malformed_json"),
        (2, "malformed_json"),
    ]
    # A pipeline whose textcat gives NaN: the probabilities are written as null, warned.
    nlp = spacy.load(tiny_pipeline)
    for node in nlp.get_pipe("textcat").model.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, node.get_param(name) * float("nan"))
    nlp.to_disk(tmp_path / "nan_pipeline")
    with pytest.warns(UserWarning, match=r"\[W021\]"):
        annotate_file(tmp_path / "nan_pipeline", posts, tmp_path / "nan.jsonl")
    (record,) = [strict_json(line) for line in (tmp_path / "nan.jsonl").read_text().splitlines()]
    assert record["cats"] == {"negative": None, "neutral": None, "positive": None}


def test_a_failed_run_leaves_the_previous_output(tiny_pipeline, stream, tmp_path):
    # The outputs were opened for writing before the pipeline loaded: a mistyped
    # model name wiped an earlier run (issue 28, item 6).
    out = tmp_path / "out.jsonl"
    annotate_file(tiny_pipeline, stream.path, out, batch_size=32)
    before = out.read_bytes(), (tmp_path / "out.errors.jsonl").read_bytes()
    with pytest.raises(OSError, match="Can.t find model"):
        annotate_file(tmp_path / "no_such_pipeline", stream.path, out)
    with pytest.raises(OSError, match="Can.t find model"):
        annotate_file(tmp_path / "no_such_pipeline", stream.path, out, n_process=2)
    with pytest.raises(FileNotFoundError):
        annotate_file(tiny_pipeline, tmp_path / "no_such_posts.jsonl", out)
    assert (out.read_bytes(), (tmp_path / "out.errors.jsonl").read_bytes()) == before


def test_resume_checks_before_it_changes_anything(tiny_pipeline, tmp_path):
    # --resume cut a torn last line before refusing, so resuming the wrong file lost
    # a line (issue 28, item 8).
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"id": i, "text": f"post {i}"}) + "\n" for i in range(5)))
    other = tmp_path / "other.jsonl"
    other.write_bytes(b'{"id": 7, "text": "something else", "cats": {}, "ents": []}\n{"id": 8, "te')
    before = other.read_bytes()
    with pytest.raises(ValueError, match=r"\[E209\].*'id' differs"):
        annotate_file(tiny_pipeline, posts, other, resume=True)
    assert other.read_bytes() == before
    assert not (tmp_path / "other.errors.jsonl").exists()
    # More lines than the input has posts.
    longer = tmp_path / "longer.jsonl"
    longer.write_bytes(b"{}\n" * 9 + b'{"torn')
    with pytest.raises(ValueError, match=r"\[E208\]"):
        annotate_file(tiny_pipeline, posts, longer, resume=True)
    assert longer.read_bytes() == b"{}\n" * 9 + b'{"torn'


def test_resume_compares_every_field_of_the_last_post(tiny_pipeline, tmp_path):
    # Only the text was compared: in an edited input whose consecutive posts share
    # their text (retweets), a row was written twice (issue 28, item 8).
    first = [{"id": 1, "text": "RT great show"}, {"id": 2, "text": "RT great show"}]
    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps(r) + "\n" for r in first))
    out = tmp_path / "out.jsonl"
    annotate_file(tiny_pipeline, posts, out)
    # The input now has a new post first: the output's 2 lines are not its first 2.
    edited = [{"id": 0, "text": "RT great show"}, *first]
    posts.write_text("".join(json.dumps(r) + "\n" for r in edited))
    before = out.read_bytes()
    with pytest.raises(ValueError, match=r"\[E209\].*input line 2.*'id' differs"):
        annotate_file(tiny_pipeline, posts, out, resume=True)
    assert out.read_bytes() == before
    # The input of the run that wrote it resumes (with the line field it wrote).
    annotate_file(tiny_pipeline, posts, tmp_path / "lines.jsonl", line_field="n")
    with (tmp_path / "lines.jsonl").open("ab") as file:
        file.write(b'{"id": 9')
    stats = annotate_file(
        tiny_pipeline, posts, tmp_path / "lines.jsonl", line_field="n", resume=True
    )
    assert stats.resumed == 3 and stats.posts == 0
    # Without the line field it wrote, the output's lines are not this run's.
    with pytest.raises(ValueError, match=r"\[E209\].*a field 'n' that the input line has not"):
        annotate_file(tiny_pipeline, posts, tmp_path / "lines.jsonl", resume=True)


def test_outputs_that_overlap_the_input_or_each_other_are_refused(tiny_pipeline, tmp_path):
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"text": "Obama in Paris"}\n', encoding="utf-8")
    (tmp_path / "link.jsonl").symlink_to(posts)
    for kwargs, code in [
        ({"output_path": posts}, "E270"),
        ({"output_path": tmp_path / "link.jsonl"}, "E270"),
        ({"output_path": tmp_path / "out.jsonl", "errors_path": posts}, "E270"),
        ({"output_path": posts, "resume": True}, "E270"),
        ({"output_path": tmp_path / "out.jsonl", "errors_path": tmp_path / "out.jsonl"}, "E271"),
    ]:
        with pytest.raises(ValueError, match=rf"\[{code}\]"):
            annotate_file(tiny_pipeline, posts, **kwargs)
        assert posts.read_text(encoding="utf-8") == '{"text": "Obama in Paris"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "posts.jsonl"]


def test_a_post_that_would_stall_the_tokenizer_is_reported_and_skipped(tiny_pipeline, tmp_path):
    posts = tmp_path / "posts.jsonl"
    texts = ["Obama in Paris", "#" * 10_000, "\U0001f600" * 5_000, "Apple in London"]
    posts.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    stats = annotate_file(tiny_pipeline, posts, tmp_path / "out.jsonl")
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == [texts[0], texts[3]]
    assert problems_of(tmp_path / "out.errors.jsonl") == [(2, "long_run"), (3, "long_run")]
    assert stats.skipped == 2
