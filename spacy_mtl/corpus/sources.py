"""Readers for annotated files: CoNLL/IOB for entities, CSV and JSONL for categories.

Every reader returns a :class:`ReadResult`: the examples in file order, and counts of
the rows it skipped, so that nothing is dropped silently. The policy:

* **Errors** (:class:`CorpusError`, naming ``file:line``) for anything that would
  corrupt annotation if guessed at: a token line without a tag, a line with another
  number of columns than the file's first, a token with whitespace in it, an unknown
  tag, an invalid BIO sequence (``I-X`` after ``O``, after ``B-Y`` or at a sentence
  start), a CSV row with the wrong number of fields, a missing column or field,
  invalid JSON, several labels in single-label mode, a ``cats`` value outside [0, 1],
  a file that is not UTF-8.
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
from typing import Dict, Generic, List, Optional, Sequence, Tuple, TypeVar, Union

PathLike = Union[str, Path]


class CorpusError(ValueError):
    """A malformed input file; the message names the file and line."""


@dataclass(frozen=True)
class NerExample:
    """One tokenised sentence with BIO tags (``O``, ``B-LABEL``, ``I-LABEL``)."""

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


Example = TypeVar("Example", NerExample, CatsExample)


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
        raise CorpusError(
            f"{path}:{line}: not valid UTF-8 ({err.reason}); re-encode the file as UTF-8"
        ) from None


# --- entities: CoNLL / IOB -----------------------------------------------------------

_BIO_TAG = re.compile(r"^([BIbi])-(.+)$")


def _bio_tag(tag: str, where: str, lowercase: bool) -> str:
    if tag.upper() == "O":
        return "O"
    match = _BIO_TAG.match(tag)
    if match is None or not match.group(2).strip():
        raise CorpusError(f"{where}: invalid tag {tag!r} (expected O, B-LABEL or I-LABEL)")
    return f"{match.group(1).upper()}-{_label(match.group(2), lowercase)}"


def _columns(line: str) -> List[str]:
    # Split on tabs when there are any (so a stray space shows up as a token with
    # whitespace, an error), else on runs of spaces.
    if "\t" in line:
        return [column.strip() for column in line.split("\t") if column.strip()]
    return line.split()


def read_iob(path: PathLike, *, lowercase_labels: bool = False) -> ReadResult[NerExample]:
    """Read token-per-line BIO (IOB2) data, one sentence per doc.

    Each line holds a token and its tag, separated by a tab or by spaces. Every token
    line must have as many columns as the file's first: with more than two
    (CoNLL-2003: token, POS, chunk, NER) the token is the first and the tag the last,
    and the report says how many columns were ignored. A blank or whitespace-only
    line ends a sentence; ``-DOCSTART-`` lines are skipped (and counted).

    path (PathLike): The file.
    lowercase_labels (bool): Lower-case the entity labels (``B-PER`` → ``B-per``).
    RETURNS (ReadResult[NerExample]): The sentences in file order.
    """
    path = Path(path)
    examples: List[NerExample] = []
    words: List[str] = []
    tags: List[str] = []
    skipped: Counter = Counter()
    first_line = 0
    width: Optional[Tuple[int, int]] = None  # (columns, line of the first token line)

    def flush() -> None:
        if words:
            examples.append(NerExample(tuple(words), tuple(tags), f"{path}:{first_line}"))
        words.clear()
        tags.clear()

    for lineno, line in enumerate(_read_utf8(path).splitlines(), start=1):
        columns = _columns(line)
        if not columns:
            flush()
            continue
        if columns[0] == "-DOCSTART-":
            skipped["-DOCSTART- line"] += 1
            flush()
            continue
        where = f"{path}:{lineno}"
        if len(columns) < 2:
            raise CorpusError(f"{where}: expected 'token<TAB>tag', got {line!r}")
        if width is None:
            width = (len(columns), lineno)
        elif len(columns) != width[0]:
            raise CorpusError(
                f"{where}: {len(columns)} columns {columns}, but line {width[1]} has {width[0]}; "
                "every token line needs the same columns (one token, without spaces, per line)"
            )
        token = columns[0]
        if len(token.split()) > 1:
            raise CorpusError(
                f"{where}: token {token!r} contains whitespace; write one token per line"
            )
        tag = _bio_tag(columns[-1], where, lowercase_labels)
        if tag.startswith("I-"):
            previous = tags[-1] if tags else None
            if previous not in (f"B-{tag[2:]}", tag):
                after = "the sentence start" if previous is None else repr(previous)
                raise CorpusError(
                    f"{where}: invalid BIO sequence: {columns[-1]!r} after {after} "
                    f"(an entity must start with B-{tag[2:]})"
                )
        if not words:
            first_line = lineno
        words.append(token)
        tags.append(tag)
    flush()
    notes = []
    if width is not None and width[0] > 2:
        notes.append(
            f"{width[0]} columns a line: token from the first, tag from the last, {width[0] - 2} ignored"
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
            raise CorpusError(
                f"{where}: label {label!r} has value {value!r}; expected 0/1, true/false"
            ) from None
    if isinstance(value, (int, float)):  # bool included
        number = float(value)
        if 0.0 <= number <= 1.0:
            return number
    raise CorpusError(f"{where}: label {label!r} has value {value!r}; expected a number in [0, 1]")


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
                raise CorpusError(
                    f"{where}: {len(positive)} labels {positive} in single-label mode "
                    "(pass multilabel=True / --multilabel for multi-label data)"
                )
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
    header = [h.strip() for h in next(reader, [])]
    if text_field not in header:
        raise CorpusError(f"{path}:1: no {text_field!r} column in header {header}")
    i_text = header.index(text_field)
    wide = label_field not in header
    if wide and not multilabel:
        raise CorpusError(
            f"{path}:1: no {label_field!r} column in header {header} "
            "(one 0/1 column per label needs multilabel=True / --multilabel)"
        )
    i_label = None if wide else header.index(label_field)
    collector = _CatsCollector(path, multilabel)
    start = reader.line_num + 1
    for row in reader:
        where = f"{path}:{start}"
        start = reader.line_num + 1
        if not row:
            continue  # a blank line between rows
        if len(row) != len(header):
            raise CorpusError(f"{where}: expected {len(header)} fields, got {len(row)}")
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


def _json_cats(record: dict, where: str, lowercase: bool) -> Dict[str, float]:
    """Labels of one JSONL record from ``label`` (str), ``labels`` (list) or ``cats`` (dict)."""
    given = [key for key in ("label", "labels", "cats") if key in record]
    if len(given) != 1:
        raise CorpusError(
            f"{where}: expected exactly one of 'label', 'labels', 'cats'; got {given or 'none'}"
        )
    value = record[given[0]]
    if given[0] == "label":
        if value is None:
            return {}
        if not isinstance(value, str):
            raise CorpusError(f"{where}: 'label' must be a string, got {value!r}")
        return {_label(value, lowercase): 1.0} if value.strip() else {}
    if given[0] == "labels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CorpusError(f"{where}: 'labels' must be a list of strings, got {value!r}")
        return {_label(v, lowercase): 1.0 for v in value if v.strip()}
    if not isinstance(value, dict):
        raise CorpusError(f"{where}: 'cats' must be an object, got {value!r}")
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
    for lineno, line in enumerate(_read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(f"{where}: invalid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise CorpusError(f"{where}: expected a JSON object, got {type(record).__name__}")
        text = record.get(text_field)
        if not isinstance(text, str):
            raise CorpusError(f"{where}: field {text_field!r} missing or not a string")
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
    raise CorpusError(f"{path}: unknown category file type {suffix!r} (expected .csv or .jsonl)")
