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
    with pytest.raises(ValueError, match="CSV header has no column 'text': it has 'id', 'body'"):
        read_posts([b"id,body\n", b"1,hello\n"], "csv")
    (post,) = items(b"id,body\n1,hello\n", "csv", text_field="body")
    assert post.text == "hello"


def test_formats_by_extension_or_flag():
    assert input_format_of("a/posts.JSONL") == "jsonl"
    assert input_format_of("posts.ndjson") == "jsonl"
    assert input_format_of("posts.csv") == "csv"
    assert input_format_of("posts.txt") == "text"
    assert input_format_of("-", "text") == "text"
    with pytest.raises(ValueError, match="Reading stdin needs its format"):
        input_format_of("-")
    with pytest.raises(ValueError, match="extension '.json' names no input format"):
        input_format_of("posts.json")
    assert default_errors_path("out/annotated.jsonl").as_posix() == "out/annotated.errors.jsonl"
    assert default_errors_path("-") is None
