"""Reading posts: every input line becomes a `Post` or a `Problem`, in line order.

Input, chosen by extension or `input_format`:
- JSON lines (.jsonl, .ndjson): the post in one field (`text_field`); every field
  is passed through unchanged.
- CSV with a header row (.csv): the post in one column; every column is passed
  through (as text).
- Plain text (.txt): one post a line, written out as {"text": line}.

Bad input never stops the stream. Every input line (a CSV record: every record)
gives exactly one post or is a `Problem` with its line number: not UTF-8 (or a JSON
escape of a lone surrogate), malformed JSON or CSV, not a JSON object, no text field
(or null), a text that is not a string, an empty post. A post longer than
`max_chars` is annotated on its first `max_chars` characters and reported as
"truncated"; its field is still passed through whole.
"""

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

FORMATS = ("jsonl", "csv", "text")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "text"}
DEFAULT_MAX_CHARS = 10_000
#: "-" as a path: stdin or stdout.
STDIO = "-"
#: The problem kinds; all but "truncated" skip their line.
PROBLEMS = (
    "not_utf8",
    "malformed_json",
    "not_an_object",
    "malformed_csv",
    "missing_text",
    "not_text",
    "empty",
    "truncated",
)
#: Characters of the offending line that a problem report quotes.
SNIPPET_CHARS = 200

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Post:
    """A valid input line.

    line (int): its 1-based line number (CSV: the line its record starts on).
    text (str): what is annotated: the post, cut to `max_chars`.
    record (Dict[str, Any]): the input's fields, written out with the annotation.
    """

    line: int
    text: str
    record: Dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """Something wrong with an input line.

    line (int): its 1-based line number (CSV: the line its record starts on).
    kind (str): one of PROBLEMS.
    message (str): what is wrong, for a person.
    snippet (str): the start of the line.
    """

    line: int
    kind: str
    message: str
    snippet: str = ""

    @property
    def skipped(self) -> bool:
        """Whether the line gives no output line (all problems but "truncated")."""
        return self.kind != "truncated"

    def to_json(self) -> Dict[str, Any]:
        return {
            "line": self.line,
            "kind": self.kind,
            "skipped": self.skipped,
            "message": self.message,
            "snippet": self.snippet,
        }


Item = Union[Post, Problem]


def input_format_of(path: Union[str, Path], given: Optional[str] = None) -> str:
    """The input format: `given`, else the one the extension names.

    path (Union[str, Path]): the input; "-" for stdin.
    given (Optional[str]): "jsonl", "csv" or "text", or None.
    RETURNS (str): the format.
    """
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"Unknown input format {given!r}: use one of {', '.join(FORMATS)}")
        return given
    if str(path) == STDIO:
        raise ValueError(f"Reading stdin needs its format: --format {', '.join(FORMATS)}")
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(
            f"{path}: extension {suffix or '(none)'!r} names no input format: use "
            f"{', '.join(EXTENSIONS)}, or give --format"
        )
    return EXTENSIONS[suffix]


def text_problem(value: Any, text_field: str) -> Optional[Tuple[str, str]]:
    """Why a text field's value cannot be annotated, or None if it can.

    value (Any): the value; None when the field is missing or null.
    text_field (str): the field's name, for the message.
    RETURNS (Optional[Tuple[str, str]]): (kind, message), or None for a valid post.
    """
    if value is None:
        return "missing_text", f"no {text_field!r} field, or it is null"
    if not isinstance(value, str):
        return "not_text", f"{text_field!r} is {type(value).__name__}, not a string"
    if not value.strip():
        return "empty", "empty post"
    return None


def truncate(text: str, max_chars: int) -> str:
    """The first `max_chars` characters of `text` (all of it for max_chars 0)."""
    return text[:max_chars] if max_chars else text


def read_posts(
    lines: Iterable[bytes],
    input_format: str,
    *,
    text_field: str = "text",
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Iterator[Item]:
    """The posts of an input, and the problems of its bad lines, in line order.

    A truncated post comes as its "truncated" problem, then the post.

    lines (Iterable[bytes]): the input's lines, as a file opened "rb" gives them.
    input_format (str): "jsonl", "csv" or "text".
    text_field (str): the field (JSONL) or column (CSV) that holds the post.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    RETURNS (Iterator[Item]): Post or Problem per line. A CSV header without
        `text_field` raises ValueError at once.
    """
    if input_format == "jsonl":
        return _jsonl_items(lines, text_field, max_chars)
    if input_format == "csv":
        return _csv_items(lines, text_field, max_chars)
    if input_format == "text":
        return _text_items(lines, max_chars)
    raise ValueError(f"Unknown input format {input_format!r}: use one of {', '.join(FORMATS)}")


def _printable(text: str) -> str:
    # Lone surrogates (from bad bytes or JSON escapes) cannot be written as UTF-8.
    return text[:SNIPPET_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")


def _raw_snippet(raw: bytes) -> str:
    return (
        raw[: SNIPPET_CHARS * 4].decode("utf-8", "backslashreplace")[:SNIPPET_CHARS].rstrip("\r\n")
    )


def _checked(
    line: int,
    record: Dict[str, Any],
    value: Any,
    text_field: str,
    max_chars: int,
    snippet: Callable[[], str],
) -> Iterator[Item]:
    # `snippet` is a callable: only a bad line pays for its quote.
    problem = text_problem(value, text_field)
    if problem is not None:
        yield Problem(line, *problem, snippet())
        return
    if max_chars and len(value) > max_chars:
        message = f"{len(value):,} characters: annotated on the first {max_chars:,}"
        yield Problem(line, "truncated", message, _printable(value))
    yield Post(line, truncate(value, max_chars), record)


def _decode(number: int, raw: bytes) -> Union[str, Problem]:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        message = (
            f"byte 0x{raw[error.start]:02x} at byte {error.start + 1} of the line is not UTF-8"
        )
        return Problem(number, "not_utf8", message, _raw_snippet(raw))


def _jsonl_items(lines: Iterable[bytes], text_field: str, max_chars: int) -> Iterator[Item]:
    for number, raw in enumerate(lines, 1):
        line = _decode(number, raw)
        if isinstance(line, Problem):
            yield line
            continue
        if not line.strip():
            yield Problem(number, "empty", "blank line")
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            yield Problem(number, "malformed_json", str(error), _printable(line.rstrip("\r\n")))
            continue
        if not isinstance(record, dict):
            yield Problem(
                number,
                "not_an_object",
                f"a JSON {type(record).__name__}, not an object",
                _printable(line),
            )
            continue
        # Valid UTF-8 can still escape a lone surrogate ("\udc80"), which no UTF-8
        # output can hold; only lines with such an escape need the check.
        if _SURROGATE_ESCAPE.search(raw) and _holds_surrogate(record):
            yield Problem(
                number,
                "not_utf8",
                "a \\u escape encodes a lone surrogate, not a character",
                _printable(line),
            )
            continue
        yield from _checked(
            number,
            record,
            record.get(text_field),
            text_field,
            max_chars,
            lambda line=line: _printable(line.rstrip("\r\n")),
        )


def _holds_surrogate(record: Dict[str, Any]) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_items(lines: Iterable[bytes], max_chars: int) -> Iterator[Item]:
    for number, raw in enumerate(lines, 1):
        line = _decode(number, raw)
        if isinstance(line, Problem):
            yield line
            continue
        # Only the line break goes: offsets of entities count from the line's start.
        text = line[:-1] if line.endswith("\n") else line
        text = text[:-1] if text.endswith("\r") else text
        yield from _checked(
            number, {"text": text}, text, "text", max_chars, lambda text=text: _printable(text)
        )


def _csv_items(lines: Iterable[bytes], text_field: str, max_chars: int) -> Iterator[Item]:
    # Decoding cannot fail here, so that a bad byte does not split a quoted,
    # multi-line record: it becomes a lone surrogate, and its record is reported.
    decoded = (raw.decode("utf-8", "surrogateescape") for raw in lines)
    reader = csv.reader(decoded)
    try:
        header = next(reader)
    except StopIteration:
        return iter(())
    except csv.Error as error:
        raise ValueError(f"CSV header (line 1): {error}") from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if any(_SURROGATE.search(name) for name in header):
        raise ValueError("CSV header (line 1): not UTF-8")
    if text_field not in header:
        raise ValueError(
            f"CSV header has no column {text_field!r}: it has {', '.join(map(repr, header))}"
        )
    return _csv_rows(reader, header, header.index(text_field), text_field, max_chars)


def _csv_rows(
    reader: Any, header: List[str], column: int, text_field: str, max_chars: int
) -> Iterator[Item]:
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Problem(start, "malformed_csv", str(error))
            continue

        def snippet(row: List[str] = row) -> str:
            return _printable(",".join(row))

        if not row:
            yield Problem(start, "empty", "blank line")
        elif any(_SURROGATE.search(value) for value in row):
            yield Problem(start, "not_utf8", "the record holds bytes that are not UTF-8", snippet())
        elif len(row) != len(header):
            yield Problem(
                start,
                "malformed_csv",
                f"{len(row)} fields; the header has {len(header)}",
                snippet(),
            )
        else:
            yield from _checked(
                start, dict(zip(header, row)), row[column], text_field, max_chars, snippet
            )
