"""Reading posts: every bad line becomes a problem with its line number; the output and
problem files that a killed run leaves are repaired. No pipeline needed."""

import json

import pytest

from spacy_mtl.annotate import (
    PROBLEMS,
    Post,
    Problem,
    default_errors_path,
    input_format_of,
    read_posts,
)

from stream_helpers import LONG, N_LINES, write_stream


def items(data: bytes, fmt: str, **kwargs) -> list:
    return list(read_posts(data.splitlines(keepends=True), fmt, **kwargs))


def test_jsonl_stream_gives_a_post_or_a_problem_per_line_with_its_number(tmp_path):
    stream = write_stream(tmp_path)
    found = list(read_posts(stream.path.open("rb"), "jsonl"))
    posts = [item for item in found if isinstance(item, Post)]
    problems = [item for item in found if isinstance(item, Problem)]
    assert (
        [post.line for post in posts] == stream.valid_ids == [post.record["id"] for post in posts]
    )
    assert [(p.line, p.kind) for p in problems] == stream.problems
    assert {kind for _, kind in stream.problems} == set(PROBLEMS) - {"malformed_csv"}
    assert len(posts) + sum(p.skipped for p in problems) == N_LINES
    long = next(post for post in posts if post.line == LONG)
    assert len(long.text) == 10_000 and len(long.record["text"]) > 10_000
    # The quote of a bad line is printable, bad bytes escaped.
    assert (
        next(p for p in problems if p.line == 177).snippet
        == '{"id": 177, "text": "caf\\xe9 au lait"}'
    )
    assert "byte 0xe9" in next(p for p in problems if p.line == 177).message
    assert json.dumps([p.to_json() for p in problems], ensure_ascii=False).encode("utf-8")


def test_max_chars_zero_keeps_every_post_whole():
    long = json.dumps({"text": "x" * 20_000}).encode()
    (post,) = items(long, "jsonl", max_chars=0)
    assert len(post.text) == 20_000


def test_byte_order_mark_and_text_lines():
    data = b"\xef\xbb\xbfIch liebe Berlin\r\n\n  \nsecond post  \nno newline at the end"
    found = items(data, "text")
    assert [(i.line, type(i).__name__, getattr(i, "kind", None)) for i in found] == [
        (1, "Post", None),
        (2, "Problem", "empty"),
        (3, "Problem", "empty"),
        (4, "Post", None),
        (5, "Post", None),
    ]
    assert [i.text for i in found if isinstance(i, Post)] == [
        "Ich liebe Berlin",
        "second post  ",
        "no newline at the end",
    ]
    assert found[0].record == {"text": "Ich liebe Berlin"}


def test_csv_records_problems_and_multiline_fields():
    data = (
        b"\xef\xbb\xbfid,text\n"
        b'1,"a post, with a comma"\n'
        b'2,"a post\nover two lines"\n'
        b"3,too,many,fields\n"
        b"\n"
        b'4,"caf\xe9 \nspans lines too"\n'
        b"5,\n"
        b'6,"the last one"\n'
    )
    found = items(data, "csv")
    assert [(i.line, getattr(i, "kind", "post")) for i in found] == [
        (2, "post"),
        (3, "post"),
        (5, "malformed_csv"),
        (6, "empty"),
        (7, "not_utf8"),
        (9, "empty"),
        (10, "post"),
    ]
    posts = [i for i in found if isinstance(i, Post)]
    assert posts[1].text == "a post\nover two lines"
    assert posts[2].record == {"id": "6", "text": "the last one"}


def test_csv_header_without_the_text_column_fails_at_once():
    with pytest.raises(
        ValueError, match=r"\[E205\] CSV header has no column 'text': it has 'id', 'body'"
    ):
        read_posts([b"id,body\n", b"1,hello\n"], "csv")
    (post,) = items(b"id,body\n1,hello\n", "csv", text_field="body")
    assert post.text == "hello"


def test_formats_by_extension_or_flag():
    assert input_format_of("a/posts.JSONL") == "jsonl"
    assert input_format_of("posts.ndjson") == "jsonl"
    assert input_format_of("posts.csv") == "csv"
    assert input_format_of("posts.txt") == "text"
    assert input_format_of("-", "text") == "text"
    with pytest.raises(ValueError, match=r"\[E201\]"):
        input_format_of("-")
    with pytest.raises(ValueError, match=r"\[E202\] posts.json: extension '.json' names no input"):
        input_format_of("posts.json")
    assert default_errors_path("out/annotated.jsonl").as_posix() == "out/annotated.errors.jsonl"
    assert default_errors_path("-") is None


@pytest.mark.parametrize("depth", [150, 1_000, 100_000])
def test_json_nested_too_deep_is_a_problem_and_the_next_line_is_read(depth):
    # Python's parser ends in a RecursionError near a depth of 1,000 (issue 28, item 5),
    # and a record that it still parses can fail to be written again, deeper in the stack.
    deep = b'{"text": "deep", "x": ' + b"[" * depth + b"]" * depth + b"}\n"
    found = items(deep + b'{"text": "the next post"}\n', "jsonl")
    assert [(i.line, getattr(i, "kind", "post")) for i in found] == [(1, "too_deep"), (2, "post")]
    assert found[0].skipped and found[1].text == "the next post"
    # As deep as allowed (MAX_DEPTH, 100: the record's object and 99 lists) is a post.
    ok = b'{"text": "ok", "x": ' + b"[" * 99 + b"]" * 99 + b"}\n"
    assert isinstance(items(ok, "jsonl")[0], Post)
    assert isinstance(items(b"[" * 101 + b"]" * 101, "jsonl")[0], Problem)


def test_nan_and_infinity_are_not_json_and_never_reach_the_output():
    lines = [
        b'{"text": "a", "score": NaN}',
        b'{"text": "b", "score": Infinity}',
        b'{"text": "c", "score": -Infinity}',
        b'{"text": "d", "score": 1e400}',
        b'{"text": "e", "score": 1.5e300}',
    ]
    found = items(b"\n".join(lines), "jsonl")
    assert [getattr(i, "kind", "post") for i in found] == ["malformed_json"] * 4 + ["post"]
    assert "NaN is not JSON" in found[0].message and "beyond the range" in found[3].message


def test_csv_field_over_the_csv_limit_does_not_shift_the_next_records():
    # A quoted field over csv's 131,072 characters, with line breaks: csv stops in its
    # middle and reads the rest as records, inventing "then, a fake row" (issue 28, item 9).
    big = "x" * 140_000 + "\nthen, a fake row\n" + "y" * 10
    data = (
        b'id,text\n1,"first post"\n2,"'
        + big.encode()
        + b'"\n3,"the real next post"\n4,"caf\xc3\xa9, and a ""quote"""\n'
    )
    found = items(data, "csv")
    assert [(i.line, getattr(i, "kind", "post")) for i in found] == [
        (2, "post"),
        (3, "malformed_csv"),
        (6, "post"),
        (7, "post"),
    ]
    assert "field larger than field limit" in found[1].message
    assert [i.record for i in found if isinstance(i, Post)] == [
        {"id": "1", "text": "first post"},
        {"id": "3", "text": "the real next post"},
        {"id": "4", "text": 'café, and a "quote"'},
    ]


def test_csv_record_too_long_to_keep_or_unterminated_is_one_problem():
    # Over what every column at csv's limit could hold, a record is read to its end
    # without being kept, and reported once.
    huge = b'1,"' + b"z\n" * 300_000 + b'"\n2,"after it"\n'
    found = items(b"id,text\n" + huge + b'3,"unterminated\n4,swallowed\n', "csv")
    assert [(i.line, getattr(i, "kind", "post")) for i in found] == [
        (2, "malformed_csv"),
        (300_003, "post"),
        (300_004, "malformed_csv"),
    ]
    assert "a record of over" in found[0].message and found[0].snippet.startswith('1,"z')
    assert "a quote is not closed" in found[2].message
    # A quote inside an unquoted field is a character, as csv reads it.
    (post,) = items(b'id,text\n1,say "hi\n', "csv")
    assert post.text == 'say "hi'


@pytest.mark.parametrize(
    "text", ["#" * 10_000, "\U0001f600" * 5_000, "'s" * 5_000, "._" * 5_000, ("%" * 400 + " ") * 20]
)
def test_a_post_that_would_stall_the_tokenizer_is_skipped_and_reported(text):
    # spaCy's tokenizer takes time that grows with the square of a run of affixes
    # ('#', emoji): such a post within --max-chars could stall the stream (issue 28).
    for data, fmt in [
        (json.dumps({"text": text}).encode(), "jsonl"),
        (b"text\n" + text.encode(), "csv"),
        (text.encode(), "text"),
    ]:
        (problem,) = items(data, fmt)
        assert (problem.kind, problem.skipped) == ("long_run", True)
    (post,) = items(json.dumps({"text": text}).encode(), "jsonl", max_run=0)
    assert post.text == text


@pytest.mark.parametrize(
    "text", ["x" * 20_000, "\u4e2d" * 9_000, "#" * 300 + " ok", "a b " * 5_000]
)
def test_long_runs_of_letters_and_short_runs_of_symbols_are_posts(text):
    (post,) = items(json.dumps({"text": text}).encode(), "jsonl", max_chars=0)
    assert post.text == text


def test_reader_errors_have_codes():
    with pytest.raises(ValueError, match=r"\[E200\]"):
        input_format_of("posts.txt", "xml")
    with pytest.raises(ValueError, match=r"\[E203\]"):
        read_posts([b'"a","b\n'], "csv")
    with pytest.raises(ValueError, match=r"\[E204\]"):
        read_posts([b"id,t\xffext\n"], "csv")
