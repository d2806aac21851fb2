"""Readers for annotated files: CoNLL/IOB for entities, CSV and JSONL for categories.

Every reader returns a :class:`ReadResult`: the examples in file order, and counts of
the rows it skipped, so that nothing is dropped silently. The policy:

* **Errors** (:class:`CorpusError`, naming ``file:line``) for anything that would
  corrupt annotation if guessed at: a token line without a tag, a line with another
  number of columns than the file's first, a token with a space in it, an unknown
  tag, an invalid BIO sequence (``I-X`` after ``O``, after ``B-Y`` or at a sentence
  start), a CSV row with the wrong number of fields or a field longer than the csv
  module reads, a missing column or field, invalid JSON (or JSON nested deeper than
  Python's parser goes), several labels in single-label mode, a ``cats`` value
  outside [0, 1], a file that is not UTF-8.

Lines end at ``\n``, ``\r\n`` or ``\r``, as Python's text files and spaCy's own
JSONL reader (``srsly.read_jsonl``) read them, and nowhere else: a U+2028, U+2029,
U+0085 or form feed inside a text or a token is part of it (``str.splitlines`` would
end the line there). Columns of token files are separated by tabs, or by spaces in a
file without tabs.
* **Skipped with a count** for rows that carry no example: an empty text, no label in
  single-label mode, ``-DOCSTART-`` lines.

Labels keep their case (surrounding whitespace is stripped) unless
``lowercase_labels=True``.

The IOB reader is our own rather than spaCy's ``conll_ner_to_docs``/``iob_to_docs``:
those split every line on whitespace and zip the columns, so ``New York<TAB>B-LOC``
becomes the token ``New`` labelled ``rk``; they accept ``I-X`` after ``O`` and cannot
say which line was wrong.
"""

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Generic, List, Optional, Sequence, Tuple, TypeVar, Union

from ..errors import Errors

PathLike = Union[str, Path]


class CorpusError(ValueError):
    """A malformed input file; the message names the file and line."""


@dataclass(frozen=True)
class TokenExample:
    """One tokenised sentence with a tag per token: BIO tags (``O``, ``B-LABEL``,
    ``I-LABEL``) for entities, or any other tag (e.g. a part of speech)."""

    words: Tuple[str, ...]
    tags: Tuple[str, ...]
    where: str  # "file:line" of the first token, for messages

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def annotation(self) -> Tuple[str, ...]:
        return self.tags


@dataclass(frozen=True)
class CatsExample:
    """One text with a value per label: 1.0 applies, 0.0 does not."""

    text: str
    cats: Tuple[Tuple[str, float], ...]  # sorted (label, value) pairs; a tuple so it hashes
    where: str

    @property
    def annotation(self) -> Tuple[Tuple[str, float], ...]:
        return self.cats

    def with_labels(self, labels: Sequence[str]) -> "CatsExample":
        """The example with a value for each of ``labels`` (sorted): 0.0 where it had none."""
        cats = dict(self.cats)
        return CatsExample(
            self.text, tuple((label, cats.get(label, 0.0)) for label in labels), self.where
        )


#: Entity sentences are token examples whose tags are BIO tags.
NerExample = TokenExample

Example = TypeVar("Example", TokenExample, CatsExample)


@dataclass
class ReadResult(Generic[Example]):
    """What a reader got from one file."""

    path: Path
    examples: List[Example]
    skipped: Dict[str, int] = field(default_factory=dict)  # reason -> rows
    notes: List[str] = field(default_factory=list)  # how the file was read, for the report


def _label(label: str, lowercase: bool) -> str:
    label = label.strip()
    return label.lower() if lowercase else label


def _read_utf8(path: Path) -> str:
    """The file's text; a file that is not UTF-8 is an error naming the first bad line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise CorpusError(Errors.E100.format(where=f"{path}:{line}", reason=err.reason)) from None


def _lines(text: str) -> List[str]:
    """The lines of `text`, as a text file reads them: ending at \\n, \\r\\n or \\r only."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


# --- entities: CoNLL / IOB -----------------------------------------------------------

_BIO_TAG = re.compile(r"^([BIbi])-(.+)$")


def _bio_tag(tag: str, where: str, lowercase: bool) -> str:
    if tag.upper() == "O":
        return "O"
    match = _BIO_TAG.match(tag)
    if match is None or not match.group(2).strip():
        raise CorpusError(Errors.E101.format(where=where, tag=tag))
    return f"{match.group(1).upper()}-{_label(match.group(2), lowercase)}"


def _columns(line: str) -> List[str]:
    # Split on tabs when there are any (so a stray space shows up as a token with a
    # space in it, an error), else on runs of spaces. Only these separate columns:
    # other whitespace (a form feed, U+2028) belongs to its token.
    if "\t" in line:
        return [column.strip(" ") for column in line.split("\t") if column.strip(" ")]
    return [column for column in line.split(" ") if column]


def read_iob(
    path: PathLike, *, lowercase_labels: bool = False, column: Optional[int] = None
) -> ReadResult[NerExample]:
    """Read token-per-line BIO (IOB2) data, one sentence per doc.

    Each line holds a token and its tag, separated by a tab or by spaces. Every token
    line must have as many columns as the file's first: with more than two
    (CoNLL-2003: token, POS, chunk, NER) the token is the first and the tag the last
    (or `column`), and the report says how many columns were ignored. A blank or
    whitespace-only line ends a sentence; ``-DOCSTART-`` lines are skipped (and counted).

    path (PathLike): The file.
    lowercase_labels (bool): Lower-case the entity labels (``B-PER`` → ``B-per``).
    column (Optional[int]): The 1-based column of the tag; None: the last.
    RETURNS (ReadResult[NerExample]): The sentences in file order.
    """
    return _read_tokens(
        path, column, lambda tag, where, previous: _bio(tag, where, previous, lowercase_labels)
    )


def read_tags(
    path: PathLike, *, column: Optional[int] = None, lowercase_labels: bool = False
) -> ReadResult[TokenExample]:
    """Read token-per-line data with one tag per token (e.g. a part of speech), one
    sentence per doc, laid out as :func:`read_iob` reads it; the tags are kept as
    written (surrounding spaces stripped).

    path (PathLike): The file.
    column (Optional[int]): The 1-based column of the tag (CoNLL-2003's POS: 2); None: the last.
    lowercase_labels (bool): Lower-case the tags.
    RETURNS (ReadResult[TokenExample]): The sentences in file order.
    """
    return _read_tokens(path, column, lambda tag, where, previous: _label(tag, lowercase_labels))


def is_tag_column(column: object) -> bool:
    """Whether `column` can be the 1-based column of a token file's tag: an integer
    from 2 on (the token is column 1)."""
    return isinstance(column, int) and not isinstance(column, bool) and column >= 2


def _bio(tag: str, where: str, previous: Optional[str], lowercase: bool) -> str:
    """A BIO tag, checked against the tag before it in the sentence."""
    bio = _bio_tag(tag, where, lowercase)
    if bio.startswith("I-") and previous not in (f"B-{bio[2:]}", bio):
        after = "the sentence start" if previous is None else repr(previous)
        raise CorpusError(Errors.E105.format(where=where, tag=tag, after=after, label=bio[2:]))
    return bio


def _read_tokens(
    path: PathLike, column: Optional[int], read_tag: Callable[[str, str, Optional[str]], str]
) -> ReadResult[TokenExample]:
    """Token files: a token and its tag per line, a blank line after each sentence;
    `read_tag(tag, where, previous tag)` checks and normalises each tag."""
    if column is not None and not is_tag_column(column):
        raise CorpusError(Errors.E122.format(where=path, column=column))
    path = Path(path)
    examples: List[TokenExample] = []
    words: List[str] = []
    tags: List[str] = []
    skipped: Counter = Counter()
    first_line = 0
    width: Optional[Tuple[int, int]] = None  # (columns, line of the first token line)

    def flush() -> None:
        if words:
            examples.append(TokenExample(tuple(words), tuple(tags), f"{path}:{first_line}"))
        words.clear()
        tags.clear()

    for lineno, line in enumerate(_lines(_read_utf8(path)), start=1):
        columns = _columns(line) if line.strip() else []
        if not columns:
            flush()
            continue
        if columns[0] == "-DOCSTART-":
            skipped["-DOCSTART- line"] += 1
            flush()
            continue
        where = f"{path}:{lineno}"
        if len(columns) < 2:
            raise CorpusError(Errors.E102.format(where=where, line=line))
        if width is None:
            width = (len(columns), lineno)
            if column is not None and column > width[0]:
                raise CorpusError(Errors.E123.format(where=where, column=column, width=width[0]))
        elif len(columns) != width[0]:
            raise CorpusError(
                Errors.E103.format(
                    where=where, n=len(columns), columns=columns, first=width[1], width=width[0]
                )
            )
        token = columns[0]
        if " " in token:
            raise CorpusError(Errors.E104.format(where=where, token=token))
        tag = read_tag(
            columns[-1] if column is None else columns[column - 1],
            where,
            tags[-1] if tags else None,
        )
        if not words:
            first_line = lineno
        words.append(token)
        tags.append(tag)
    flush()
    notes = []
    if width is not None and width[0] > 2:
        which = "the last" if column is None else f"column {column}"
        notes.append(
            f"{width[0]} columns a line: token from the first, tag from {which}, {width[0] - 2} ignored"
        )
    return ReadResult(path, examples, dict(skipped), notes)


# --- categories: CSV / JSONL ---------------------------------------------------------


def _cat_value(value: object, where: str, label: str) -> float:
    """A multi-label value: 0/1, true/false (JSON or CSV spelling), or a number in [0, 1]."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "yes"):
            return 1.0
        if text in ("false", "no", ""):
            return 0.0
        try:
            value = float(text)
        except ValueError:
            raise CorpusError(Errors.E106.format(where=where, label=label, value=value)) from None
    if isinstance(value, (int, float)):  # bool included
        number = float(value)
        if 0.0 <= number <= 1.0:
            return number
    raise CorpusError(Errors.E107.format(where=where, label=label, value=value))


class _CatsCollector:
    """Row handling shared by the CSV and JSONL readers."""

    def __init__(self, path: Path, multilabel: bool) -> None:
        self.path = path
        self.multilabel = multilabel
        self.examples: List[CatsExample] = []
        self.skipped: Counter = Counter()

    def add(self, text: str, cats: Dict[str, float], where: str) -> None:
        text = " ".join(text.split())
        if not text:
            self.skipped["empty text"] += 1
            return
        positive = sorted(label for label, value in cats.items() if value >= 0.5)
        if not self.multilabel:
            if not positive:
                self.skipped["no label"] += 1
                return
            if len(positive) > 1:
                raise CorpusError(Errors.E108.format(where=where, n=len(positive), labels=positive))
        self.examples.append(CatsExample(text, tuple(sorted(cats.items())), where))

    def result(self) -> ReadResult[CatsExample]:
        return ReadResult(self.path, self.examples, dict(self.skipped))


def read_cats_csv(
    path: PathLike,
    *,
    multilabel: bool = False,
    text_field: str = "text",
    label_field: str = "label",
    lowercase_labels: bool = False,
) -> ReadResult[CatsExample]:
    """Read a CSV file with a header row.

    Single label: a ``text_field`` column and a ``label_field`` column holding one
    label. Multi-label may also use the wide layout: no ``label_field`` column, and
    every other column is a label holding 0/1 (or true/false). Line numbers in
    messages are physical lines (quoted fields may span several).

    path (PathLike): The file.
    multilabel (bool): Several labels (or none) per text.
    text_field (str): The text column.
    label_field (str): The label column.
    lowercase_labels (bool): Lower-case the labels.
    RETURNS (ReadResult[CatsExample]): The rows in file order, each with the labels it names.
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(_read_utf8(path), newline=""))
    header = [h.strip() for h in _csv_row(reader, f"{path}:1") or []]
    if text_field not in header:
        raise CorpusError(Errors.E109.format(where=f"{path}:1", field=text_field, header=header))
    i_text = header.index(text_field)
    wide = label_field not in header
    if wide and not multilabel:
        raise CorpusError(Errors.E110.format(where=f"{path}:1", field=label_field, header=header))
    i_label = None if wide else header.index(label_field)
    collector = _CatsCollector(path, multilabel)
    start = reader.line_num + 1
    while True:
        where = f"{path}:{start}"
        row = _csv_row(reader, where)
        if row is None:
            break
        start = reader.line_num + 1
        if not row:
            continue  # a blank line between rows
        if len(row) != len(header):
            raise CorpusError(Errors.E111.format(where=where, expected=len(header), n=len(row)))
        if i_label is None:
            cats = {
                _label(name, lowercase_labels): _cat_value(value, where, name)
                for i, (name, value) in enumerate(zip(header, row))
                if i != i_text
            }
        else:
            label = _label(row[i_label], lowercase_labels)
            cats = {label: 1.0} if label else {}
        collector.add(row[i_text], cats, where)
    return collector.result()


def _csv_row(reader: Any, where: str) -> Optional[List[str]]:
    """The next row, None at the end; what the csv module cannot read names its line."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as err:
        if "field limit" in str(err):
            limit = csv.field_size_limit()
            err = csv.Error(f"a field is longer than {limit:,} characters, the csv module's limit")
        raise CorpusError(Errors.E120.format(where=where, error=err)) from None


def _json_cats(record: dict, where: str, lowercase: bool) -> Dict[str, float]:
    """Labels of one JSONL record from ``label`` (str), ``labels`` (list) or ``cats`` (dict)."""
    given = [key for key in ("label", "labels", "cats") if key in record]
    if len(given) != 1:
        raise CorpusError(Errors.E112.format(where=where, given=given or "none"))
    value = record[given[0]]
    if given[0] == "label":
        if value is None:
            return {}
        if not isinstance(value, str):
            raise CorpusError(Errors.E113.format(where=where, value=value))
        return {_label(value, lowercase): 1.0} if value.strip() else {}
    if given[0] == "labels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CorpusError(Errors.E114.format(where=where, value=value))
        return {_label(v, lowercase): 1.0 for v in value if v.strip()}
    if not isinstance(value, dict):
        raise CorpusError(Errors.E115.format(where=where, value=value))
    return {_label(k, lowercase): _cat_value(v, where, k) for k, v in value.items()}


def read_cats_jsonl(
    path: PathLike,
    *,
    multilabel: bool = False,
    text_field: str = "text",
    lowercase_labels: bool = False,
) -> ReadResult[CatsExample]:
    """Read JSON lines: ``{"text": …, "label": "x"}``, ``{"text": …, "labels": ["x", "y"]}``
    or ``{"text": …, "cats": {"x": 1, "y": 0}}``. Blank lines are ignored.

    path (PathLike): The file.
    multilabel (bool): Several labels (or none) per text.
    text_field (str): The text field.
    lowercase_labels (bool): Lower-case the labels.
    RETURNS (ReadResult[CatsExample]): The records in file order, each with the labels it names.
    """
    path = Path(path)
    collector = _CatsCollector(path, multilabel)
    for lineno, line in enumerate(_lines(_read_utf8(path)), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(Errors.E116.format(where=where, error=err.msg)) from None
        except RecursionError:
            # Python's parser recurses once per level of nesting.
            raise CorpusError(Errors.E121.format(where=where)) from None
        except ValueError as err:  # e.g. an integer of more digits than Python converts
            raise CorpusError(Errors.E116.format(where=where, error=err)) from None
        if not isinstance(record, dict):
            raise CorpusError(Errors.E117.format(where=where, type=type(record).__name__))
        text = record.get(text_field)
        if not isinstance(text, str):
            raise CorpusError(Errors.E118.format(where=where, field=text_field))
        collector.add(text, _json_cats(record, where, lowercase_labels), where)
    return collector.result()


def read_cats_file(
    path: PathLike,
    *,
    multilabel: bool = False,
    text_field: str = "text",
    label_field: str = "label",
    lowercase_labels: bool = False,
) -> ReadResult[CatsExample]:
    """Read a category file, CSV or JSONL by extension (``.csv``; ``.jsonl``/``.json``).

    RETURNS (ReadResult[CatsExample]): See :func:`read_cats_csv` and :func:`read_cats_jsonl`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_cats_csv(
            path,
            multilabel=multilabel,
            text_field=text_field,
            label_field=label_field,
            lowercase_labels=lowercase_labels,
        )
    if suffix in (".jsonl", ".json"):
        return read_cats_jsonl(
            path, multilabel=multilabel, text_field=text_field, lowercase_labels=lowercase_labels
        )
    raise CorpusError(Errors.E119.format(path=path, suffix=suffix))
