"""Reading posts: every input line becomes a `Post` or a `Problem`, in line order.

Input, chosen by extension or `input_format`:
- JSON lines (.jsonl, .ndjson): the post in one field (`text_field`); every field
  is passed through unchanged.
- CSV with a header row (.csv): the post in one column; every column is passed
  through (as text).
- Plain text (.txt): one post a line, written out as {"text": line}.

Bad input never stops the stream. Every input line (a CSV record: every record)
gives exactly one post or is a `Problem` with its line number: not UTF-8 (or a JSON
escape of a lone surrogate), malformed JSON (NaN and Infinity included: they are
not JSON) or CSV (a field over csv's size limit included), JSON nested deeper than
`MAX_DEPTH`, not a JSON object, no text field (or null), a text that is not a
string, an empty post, a post whose runs of characters without whitespace would
stall spaCy's tokenizer (`max_run`). A CSV record is found by its quotes before csv
parses it, so that a bad record never shifts the ones after it. A post longer than
`max_chars` is annotated on its first `max_chars` characters and reported as
"truncated"; its field is still passed through whole.
"""

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ..errors import Errors

FORMATS = ("jsonl", "csv", "text")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "text"}
DEFAULT_MAX_CHARS = 10_000
#: spaCy's tokenizer takes time that grows with the square of the length of a run of
#: symbols without whitespace (a prefix or suffix is cut off, then the rest searched
#: again): a post whose runs cost more than one run of this many symbols is skipped
#: ("long_run", see `run_problem`).
DEFAULT_MAX_RUN = 500
#: JSON nested deeper than this is reported ("too_deep"): Python's parser and writer
#: recurse, and end in a RecursionError near a depth of 1,000.
MAX_DEPTH = 100
#: "-" as a path: stdin or stdout.
STDIO = "-"
#: The problem kinds; all but "truncated" skip their line.
PROBLEMS = (
    "not_utf8",
    "malformed_json",
    "too_deep",
    "not_an_object",
    "malformed_csv",
    "missing_text",
    "not_text",
    "empty",
    "long_run",
    "truncated",
)
#: Characters of the offending line that a problem report quotes.
SNIPPET_CHARS = 200

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Runs shorter than this cost the tokenizer next to nothing: only longer ones count.
_RUN = re.compile(r"\S{32,}")
# What is neither a letter nor a digit.
_SYMBOL = re.compile(r"[\W_]")


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
            raise ValueError(Errors.E200.format(given=given, formats=", ".join(FORMATS)))
        return given
    if str(path) == STDIO:
        raise ValueError(Errors.E201.format(formats=", ".join(FORMATS)))
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(
            Errors.E202.format(
                path=path, suffix=repr(suffix or "(none)"), extensions=", ".join(EXTENSIONS)
            )
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


def run_problem(text: str, max_run: int = DEFAULT_MAX_RUN) -> Optional[Tuple[str, str]]:
    """Why spaCy's tokenizer would stall on `text`, or None if it would not.

    The tokenizer cuts a prefix or a suffix off a run of characters without
    whitespace, then searches the rest again: a run that is all affixes (10,000 '#'
    or emoji) takes time that grows with its length times its symbols (characters
    that are not letters or digits, which affixes are made of). A run of letters,
    however long, costs one search. The runs' costs may add up to max_run²: one run
    of `max_run` symbols, or a run twice as long with half as many...

    text (str): what would be annotated (the post, cut to `max_chars`).
    max_run (int): the longest run of symbols allowed; 0: no limit.
    RETURNS (Optional[Tuple[str, str]]): ("long_run", message), or None.
    """
    if not max_run or len(text) <= max_run:
        return None
    cost, longest = 0, 0
    for match in _RUN.finditer(text):
        symbols = len(_SYMBOL.findall(text, match.start(), match.end()))
        cost += symbols * (match.end() - match.start())
        longest = max(longest, match.end() - match.start())
    if cost <= max_run * max_run:
        return None
    return (
        "long_run",
        f"runs of symbols without whitespace (the longest {longest:,} characters) that "
        f"spaCy's tokenizer would take long over: more than one run of {max_run:,} symbols",
    )


def truncate(text: str, max_chars: int) -> str:
    """The first `max_chars` characters of `text` (all of it for max_chars 0)."""
    return text[:max_chars] if max_chars else text


def post_text(
    value: Any, text_field: str, max_chars: int, max_run: int
) -> Union[str, Tuple[str, str]]:
    """What is annotated of a text field's value: the post, cut to `max_chars`; or
    why it cannot be (`text_problem`, then `run_problem` on the cut post).

    value (Any): the field's value; None when the field is missing or null.
    text_field (str): the field's name, for the message.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    max_run (int): the longest run of symbols allowed (see `run_problem`); 0: no limit.
    RETURNS (Union[str, Tuple[str, str]]): the text, or (kind, message).
    """
    problem = text_problem(value, text_field)
    if problem is not None:
        return problem
    text = truncate(value, max_chars)
    return run_problem(text, max_run) or text


def read_posts(
    lines: Iterable[bytes],
    input_format: str,
    *,
    text_field: str = "text",
    max_chars: int = DEFAULT_MAX_CHARS,
    max_run: int = DEFAULT_MAX_RUN,
) -> Iterator[Item]:
    """The posts of an input, and the problems of its bad lines, in line order.

    A truncated post comes as its "truncated" problem, then the post.

    lines (Iterable[bytes]): the input's lines, as a file opened "rb" gives them.
    input_format (str): "jsonl", "csv" or "text".
    text_field (str): the field (JSONL) or column (CSV) that holds the post.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    max_run (int): skip a post whose runs without whitespace cost the tokenizer more
        than one run of this many symbols (see `run_problem`); 0: no limit.
    RETURNS (Iterator[Item]): Post or Problem per line. A CSV header without
        `text_field` raises ValueError at once.
    """
    limits = (max_chars, max_run)
    if input_format == "jsonl":
        return _jsonl_items(lines, text_field, limits)
    if input_format == "csv":
        return _csv_items(lines, text_field, limits)
    if input_format == "text":
        return _text_items(lines, limits)
    raise ValueError(Errors.E200.format(given=input_format, formats=", ".join(FORMATS)))


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
    limits: Tuple[int, int],
    snippet: Callable[[], str],
) -> Iterator[Item]:
    # `snippet` is a callable: only a bad line pays for its quote.
    max_chars, max_run = limits
    text = post_text(value, text_field, max_chars, max_run)
    if not isinstance(text, str):
        yield Problem(line, *text, snippet())
        return
    if len(text) < len(value):
        message = f"{len(value):,} characters: annotated on the first {max_chars:,}"
        yield Problem(line, "truncated", message, _printable(value))
    yield Post(line, text, record)


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


def _not_json(constant: str) -> Any:
    raise ValueError(Errors.E217.format(constant=constant))


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(Errors.E218.format(number=number))
    return value


# One decoder for every line: json.loads with an argument builds a new one per call.
# Nothing non-finite gets in, so every output line is strict JSON.
_JSON = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests lists and objects more than `limit` deep."""
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in value)
    return False


def _jsonl_items(
    lines: Iterable[bytes], text_field: str, limits: Tuple[int, int]
) -> Iterator[Item]:
    for number, raw in enumerate(lines, 1):
        line = _decode(number, raw)
        if isinstance(line, Problem):
            yield line
            continue
        if not line.strip():
            yield Problem(number, "empty", "blank line")
            continue

        def snippet(line: str = line) -> str:
            return _printable(line.rstrip("\r\n"))

        try:
            record = _JSON.decode(line)
        except RecursionError:
            yield Problem(number, "too_deep", f"nested deeper than {MAX_DEPTH} levels", snippet())
            continue
        except ValueError as error:
            yield Problem(number, "malformed_json", str(error), snippet())
            continue
        # Counting brackets is cheap; only a line with enough of them can be too deep.
        if line.count("[") + line.count("{") > MAX_DEPTH and _deeper_than(record, MAX_DEPTH):
            yield Problem(number, "too_deep", f"nested deeper than {MAX_DEPTH} levels", snippet())
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
        yield from _checked(number, record, record.get(text_field), text_field, limits, snippet)


def _holds_surrogate(record: Dict[str, Any]) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_items(lines: Iterable[bytes], limits: Tuple[int, int]) -> Iterator[Item]:
    for number, raw in enumerate(lines, 1):
        line = _decode(number, raw)
        if isinstance(line, Problem):
            yield line
            continue
        # Only the line break goes: offsets of entities count from the line's start.
        text = line[:-1] if line.endswith("\n") else line
        text = text[:-1] if text.endswith("\r") else text

        def snippet(text: str = text) -> str:
            return _printable(text)

        yield from _checked(number, {"text": text}, text, "text", limits, snippet)


# The inside of a quoted field up to its closing quote (or the end of the line): a
# doubled quote is a quote. And an unquoted field, or what follows a closing quote,
# up to the next comma: there a quote is a character like any other (csv's rules).
_QUOTED = re.compile(r'[^"]*(?:""[^"]*)*')
_UNQUOTED = re.compile(r"[^,]*")


def _end(pattern: "re.Pattern[str]", line: str, pos: int) -> int:
    # Both patterns match the empty string: they always match.
    match = pattern.match(line, pos)
    return pos if match is None else match.end()


def _ends_quoted(line: str, quoted: bool) -> bool:
    """Whether a CSV record is inside a quoted field at the end of `line`.

    line (str): one line of the record.
    quoted (bool): whether the line starts inside a quoted field.
    RETURNS (bool): True if the record goes on to the next line.
    """
    if not quoted and '"' not in line:
        return False
    pos, end = 0, len(line)
    while True:
        if quoted:
            pos = _end(_QUOTED, line, pos)
            if pos == end:
                return True
            pos += 1  # the closing quote; the field goes on, unquoted, to the next comma
            quoted = False
        elif line.startswith('"', pos):
            pos += 1
            quoted = True
            continue
        pos = _end(_UNQUOTED, line, pos)
        if pos == end:
            return False
        pos += 1  # the comma: the next field starts


@dataclass
class _Record:
    """One CSV record's lines, as the quotes delimit it, before csv parses it.

    line (int): the line it starts on.
    lines (List[str]): its lines; only the start of the first when it was too long to keep.
    problem (Optional[str]): why it cannot be parsed, or None.
    """

    line: int
    lines: List[str]
    problem: Optional[str] = None


class _Records:
    """The records of a CSV input, found by their quotes: a record ends at the end of
    a line outside quotes. A record over `cap` characters is not kept (its field or
    fields are over csv's limit, or a quote is not closed): it is read to its end and
    reported, so that the next record is read as a record.
    """

    def __init__(self, lines: Iterable[str], columns: int = 64) -> None:
        self.lines = enumerate(lines, 1)
        self.limit = csv.field_size_limit()
        self.set_columns(columns)

    def set_columns(self, columns: int) -> None:
        # The most characters `columns` fields can take in csv, each within its limit,
        # quoted, every quote in it doubled, with its comma.
        self.cap = (2 * self.limit + 3) * max(columns, 1)

    def __iter__(self) -> Iterator[_Record]:
        record: Optional[_Record] = None
        size, quoted = 0, False
        for number, line in self.lines:
            if record is None:
                record, size = _Record(number, []), 0
            size += len(line)
            if record.problem is None:
                if size > self.cap:
                    record.lines = [(record.lines or [line])[0][:SNIPPET_CHARS]]
                    record.problem = Errors.E220.format(cap=self.cap, limit=self.limit)
                else:
                    record.lines.append(line)
            quoted = _ends_quoted(line, quoted)
            if not quoted:
                yield record
                record = None
        if record is not None:
            if record.problem is None:
                record.problem = Errors.E221
            yield record


def _parse(record: _Record) -> List[str]:
    """A record's fields, as csv reads them. RAISES (csv.Error): csv's error."""
    if record.problem is not None:
        raise csv.Error(record.problem)
    rows = list(csv.reader(record.lines))
    if len(rows) != 1:
        raise csv.Error(Errors.E219.format(n=len(rows)))
    return rows[0]


def _csv_items(lines: Iterable[bytes], text_field: str, limits: Tuple[int, int]) -> Iterator[Item]:
    # Decoding cannot fail here, so that a bad byte does not split a quoted,
    # multi-line record: it becomes a lone surrogate, and its record is reported.
    records = _Records(raw.decode("utf-8", "surrogateescape") for raw in lines)
    found = iter(records)
    try:
        header = _parse(next(found))
    except StopIteration:
        return iter(())
    except csv.Error as error:
        raise ValueError(Errors.E203.format(error=error)) from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if any(_SURROGATE.search(name) for name in header):
        raise ValueError(Errors.E204)
    if text_field not in header:
        raise ValueError(
            Errors.E205.format(text_field=text_field, columns=", ".join(map(repr, header)))
        )
    records.set_columns(len(header))
    return _csv_rows(found, header, header.index(text_field), text_field, limits)


def _csv_rows(
    records: Iterator[_Record],
    header: List[str],
    column: int,
    text_field: str,
    limits: Tuple[int, int],
) -> Iterator[Item]:
    for record in records:
        start = record.line

        def raw_snippet(record: _Record = record) -> str:
            return _printable("".join(record.lines).rstrip("\r\n"))

        try:
            row = _parse(record)
        except csv.Error as error:
            yield Problem(start, "malformed_csv", str(error), raw_snippet())
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
                start, dict(zip(header, row)), row[column], text_field, limits, snippet
            )
