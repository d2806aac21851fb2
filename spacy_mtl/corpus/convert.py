"""Convert annotated files into per-task ``.spacy`` files (CLI: ``spacy mtl convert``).

:func:`convert_files` writes ``OUTPUT_DIR/ner/{train,dev,test}.spacy`` from CoNLL/IOB
files and ``OUTPUT_DIR/textcat/{train,dev,test}.spacy`` from CSV/JSONL files, one
``.spacy`` file per input file. Files are kept as given (every row that holds an
example becomes a doc, in file order); de-duplication and a seeded re-split happen
only when asked for (see :mod:`spacy_mtl.corpus.split`). A task without files is not
written.

What the docs hold:

* NER docs: the given tokens, each followed by one space (token files carry no
  spacing, and one space is what spaCy's own CoNLL converter assumes); entities from
  the BIO tags, ``O`` elsewhere (fully annotated); ``doc.cats`` empty.
* Textcat docs: the text tokenised by ``spacy.blank(lang)``; ``doc.cats`` with a value
  for every label of the task's files (one-hot unless multi-label); entities marked
  missing (``doc.set_ents([], default="missing")``): these texts were never annotated
  for entities, and "missing" is not "none".

The same inputs and seed give byte-identical files: ``cats`` dicts are built in sorted
label order, ``DocBin`` sorts its string table, and no user data is stored.
"""

import os
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from tqdm import tqdm
from wasabi import Printer

from .sources import CatsExample, CorpusError, NerExample, ReadResult, read_cats_file, read_iob
from .split import SPLITS, check_ratios, deduplicate, drop_overlap, shuffled_split

PathLike = Union[str, Path]
TASKS = ("ner", "textcat")
AnyRead = Union[ReadResult[NerExample], ReadResult[CatsExample]]


@dataclass
class _Task:
    """One task on its way from its files to its docs."""

    name: str
    reads: Dict[str, AnyRead]
    splits: Dict[str, list] = field(default_factory=dict)
    docs: Dict[str, List[Doc]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def _progress(examples: Sequence, desc: Optional[str]) -> Iterable:
    """The examples, under a progress bar on stderr if ``desc`` is given."""
    return tqdm(examples, desc=desc, unit="doc", leave=False, disable=desc is None)


def _ner_docs(nlp: Language, examples: Sequence[NerExample], desc: Optional[str]) -> List[Doc]:
    """Fully annotated entity docs: entities from the BIO tags, ``O`` elsewhere, no cats."""
    return [
        Doc(
            nlp.vocab,
            words=list(e.words),
            spaces=[True] * (len(e.words) - 1) + [False],
            ents=list(e.tags),
        )
        for e in _progress(examples, desc)
    ]


def _cats_docs(nlp: Language, examples: Sequence[CatsExample], desc: Optional[str]) -> List[Doc]:
    """Category docs: tokenised text, cats set, entities marked missing."""
    docs = []
    for doc, example in zip(
        nlp.tokenizer.pipe(e.text for e in examples), _progress(examples, desc)
    ):
        doc.cats = dict(example.cats)
        doc.set_ents([], default="missing")
        docs.append(doc)
    return docs


def _prepare(
    task: _Task, *, dedup: bool, split: Optional[Sequence[float]], seed: int, limit: Optional[int]
) -> None:
    """Fill ``task.splits``: the examples of each output split, de-duplicated and re-split if asked."""
    for read in task.reads.values():
        if not read.examples:
            raise CorpusError(
                f"{read.path}: no usable examples (skipped: {read.skipped or 'none'})"
            )
    given = {name: list(read.examples) for name, read in task.reads.items()}
    if task.name == "textcat":
        # Each text gets a value for every label of the task, so that exclusive data is
        # one-hot in every split even where a split lacks a label.
        labels = sorted(
            {label for examples in given.values() for e in examples for label, _ in e.cats}
        )
        given = {
            name: [e.with_labels(labels) for e in examples] for name, examples in given.items()
        }
    if split is None:
        if not dedup:
            leaked = drop_overlap(given)[1]
            if leaked:
                task.notes.append(
                    f"{leaked} examples have their text in a later split too (--dedup drops them)"
                )
        else:
            unique = {name: deduplicate(examples) for name, examples in given.items()}
            given, across = drop_overlap({name: u.examples for name, u in unique.items()})
            dropped = sum(u.dropped for u in unique.values())
            conflicting = sum(u.conflicting for u in unique.values())
            task.notes.append(
                f"{dropped} duplicates dropped within files ({conflicting} texts had copies with different "
                f"annotations; majority kept), {across} dropped from an earlier split that a later one holds"
            )
        task.splits = given
        return
    pooled = [e for name in SPLITS if name in given for e in given[name]]
    if dedup:
        unique = deduplicate(pooled)
        pooled = unique.examples
        task.notes.append(
            f"{unique.dropped} duplicates dropped ({unique.conflicting} texts had copies with different "
            "annotations; majority kept)"
        )
    task.splits = shuffled_split(pooled, seed=seed, task=task.name, ratios=split, limit=limit)
    if limit is not None and len(pooled) > limit:
        task.notes.append(f"{len(pooled) - limit} left out by the cap of {limit}")


def _write_atomically(doc_bin: DocBin, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A crash or a full disk must not leave a truncated .spacy file under the real name.
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(doc_bin.to_bytes())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _label_counts(task: str, docs: Sequence[Doc]) -> Counter:
    if task == "ner":
        return Counter(ent.label_ for doc in docs for ent in doc.ents)
    return Counter(label for doc in docs for label, value in doc.cats.items() if value >= 0.5)


def _print_table(msg: Printer, task: _Task) -> None:
    """Rows: docs, tokens, one per label; columns: the splits written and the total."""
    names = list(task.docs)
    counts = {name: _label_counts(task.name, docs) for name, docs in task.docs.items()}
    total = sum(counts.values(), Counter())
    labels = sorted(total, key=lambda label: (-total[label], label))
    rows = [
        ["docs", *[len(task.docs[n]) for n in names]],
        ["tokens", *[sum(map(len, task.docs[n])) for n in names]],
    ]
    prefix = "ents" if task.name == "ner" else "cats"
    rows += [[f"{prefix} {label}", *[counts[n][label] for n in names]] for label in labels]
    rows = [[*row, sum(row[1:])] for row in rows]
    msg.divider(task.name)
    msg.table(
        rows, header=["", *names, "total"], aligns=("l", *["r"] * (len(names) + 1)), divider=True
    )
    for note in task.notes:
        msg.text(note)


def _check_arguments(
    inputs: Mapping[str, Mapping[str, object]],
    split: Optional[Sequence[float]],
    limits: Mapping[str, int],
) -> None:
    """Refuse bad arguments before any file is read."""
    splits = {name for files in inputs.values() for name in files}
    unknown = sorted({*inputs, *limits} - set(TASKS)) + sorted(splits - set(SPLITS))
    if unknown:
        raise ValueError(
            f"unknown task or split {unknown}; tasks are {list(TASKS)}, splits {list(SPLITS)}"
        )
    if not any(inputs.values()):
        raise ValueError("no input files given: at least one ner or cats file (train, dev or test)")
    if split is not None:
        check_ratios(split)
    elif limits:
        raise ValueError("a cap on the examples applies to a re-split only")


def convert_reads(
    output_dir: PathLike,
    reads: Mapping[str, Mapping[str, AnyRead]],
    *,
    dedup: bool = False,
    split: Optional[Sequence[float]] = None,
    seed: int = 0,
    limits: Optional[Mapping[str, int]] = None,
    lang: str = "en",
    printer: Optional[Printer] = None,
) -> Dict[str, Dict[str, Path]]:
    """Write ``output_dir/<task>/<split>.spacy`` from files already read.

    output_dir (PathLike): Where to write; existing files of the same names are replaced.
    reads (Mapping[str, Mapping[str, AnyRead]]): {task: {split: what its file held}}, task
        "ner" or "textcat", split "train", "dev" or "test".
    dedup (bool): Drop repeated texts; see :mod:`spacy_mtl.corpus.split`.
    split (Optional[Sequence[float]]): (train, dev, test) fractions: pool each task's
        files and re-split them, seeded by ``seed``. None: keep the files' splits.
    seed (int): Seeds the re-split.
    limits (Optional[Mapping[str, int]]): {task: cap} on the examples a re-split keeps.
    lang (str): Language whose tokenizer splits the category texts.
    printer (Optional[Printer]): Where progress and the summary go; ``Printer(no_print=True)``
        for none.
    RETURNS (Dict[str, Dict[str, Path]]): {task: {split: the file written}}.
    """
    msg = printer or Printer()
    limits = dict(limits or {})
    _check_arguments(reads, split, limits)
    tasks = [_Task(name, dict(reads[name])) for name in TASKS if reads.get(name)]
    nlp = spacy.blank(lang)
    show = not msg.no_print and sys.stderr.isatty()  # no bar in logs and pipes
    # Everything is read and built before anything is written, so bad input leaves
    # the output directory as it was.
    for task in tasks:
        _prepare(task, dedup=dedup, split=split, seed=seed, limit=limits.get(task.name))
        make = _ner_docs if task.name == "ner" else _cats_docs
        for name, examples in task.splits.items():
            task.docs[name] = make(nlp, examples, f"{task.name} {name}" if show else None)
    written: Dict[str, Dict[str, Path]] = {}
    for task in tasks:
        for name, docs in task.docs.items():
            path = Path(output_dir) / task.name / f"{name}.spacy"
            _write_atomically(DocBin(docs=docs, store_user_data=False), path)
            written.setdefault(task.name, {})[name] = path
            msg.good(f"{task.name} {name}: {len(docs)} docs -> {path}")
    for task in tasks:
        _print_table(msg, task)
    return written


def _read_files(
    task: str,
    files: Mapping[str, PathLike],
    *,
    multilabel: bool = False,
    text_field: str = "text",
    label_field: str = "label",
    lowercase_labels: bool = False,
    printer: Optional[Printer] = None,
) -> Dict[str, AnyRead]:
    """Read the files of one task ("ner": CoNLL/IOB, "textcat": CSV/JSONL), a line per file."""
    msg = printer or Printer()
    reads: Dict[str, AnyRead] = {}
    for name, path in files.items():
        if task == "ner":
            read: AnyRead = read_iob(path, lowercase_labels=lowercase_labels)
        else:
            read = read_cats_file(
                path,
                multilabel=multilabel,
                text_field=text_field,
                label_field=label_field,
                lowercase_labels=lowercase_labels,
            )
        notes = [
            f"skipped {n} ({reason})" for reason, n in sorted(read.skipped.items())
        ] + read.notes
        msg.info(
            f"{task} {name}: {len(read.examples)} examples in {path}"
            + "".join(f"; {n}" for n in notes)
        )
        reads[name] = read
    return reads


def convert_files(
    output_dir: PathLike,
    *,
    ner: Optional[Mapping[str, PathLike]] = None,
    cats: Optional[Mapping[str, PathLike]] = None,
    multilabel: bool = False,
    text_field: str = "text",
    label_field: str = "label",
    lowercase_labels: bool = False,
    dedup: bool = False,
    split: Optional[Sequence[float]] = None,
    seed: int = 0,
    lang: str = "en",
    printer: Optional[Printer] = None,
) -> Dict[str, Dict[str, Path]]:
    """Convert CoNLL/IOB and CSV/JSONL files into ``output_dir/{ner,textcat}/<split>.spacy``.

    output_dir (PathLike): Where to write.
    ner (Optional[Mapping[str, PathLike]]): {split: CoNLL/IOB file}; see :func:`~spacy_mtl.corpus.sources.read_iob`.
    cats (Optional[Mapping[str, PathLike]]): {split: CSV or JSONL file}; see
        :func:`~spacy_mtl.corpus.sources.read_cats_file`.
    multilabel (bool): The category files are multi-label.
    text_field (str): Text column (CSV) or field (JSONL) of the category files.
    label_field (str): Label column of a CSV category file.
    lowercase_labels (bool): Lower-case entity and category labels.
    dedup, split, seed, lang, printer: As in :func:`convert_reads`.
    RETURNS (Dict[str, Dict[str, Path]]): {task: {split: the file written}}.
    """
    msg = printer or Printer()
    files = {"ner": dict(ner or {}), "textcat": dict(cats or {})}
    _check_arguments(files, split, {})
    if multilabel and not files["textcat"]:
        raise ValueError("multilabel applies to category files, and none is given")
    for task, given in files.items():
        for name, path in given.items():
            if not Path(path).is_file():
                raise CorpusError(f"{path}: no such file (the {task} {name} file)")
    reads = {
        task: _read_files(
            task,
            given,
            multilabel=multilabel,
            text_field=text_field,
            label_field=label_field,
            lowercase_labels=lowercase_labels,
            printer=msg,
        )
        for task, given in files.items()
        if given
    }
    return convert_reads(
        output_dir, reads, dedup=dedup, split=split, seed=seed, lang=lang, printer=msg
    )
