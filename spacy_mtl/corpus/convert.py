"""Convert annotated files into per-task ``.spacy`` files (CLI: ``spacy mtl convert``).

:func:`convert_files` writes ``OUTPUT_DIR/<task>/{train,dev,test}.spacy``, one
``.spacy`` file per input file: ``ner/`` from CoNLL/IOB files, ``textcat/`` from
CSV/JSONL files, and any other kind of task (:mod:`spacy_mtl.tasks`, e.g. a user's
``tagger``) from the files its kind reads. Files are kept as given (every row that
holds an example becomes a doc, in file order); de-duplication and a seeded re-split
happen only when asked for (see :mod:`spacy_mtl.corpus.split`). A task without files
is not written.

What the docs hold: the gold of their own task, as its kind makes it (`make_docs`),
and every other kind's annotation marked missing: these texts were never annotated
for it, and "missing" is not "none". So:

* NER docs: the given tokens, each followed by one space (token files carry no
  spacing, and one space is what spaCy's own CoNLL converter assumes); entities from
  the BIO tags, ``O`` elsewhere (fully annotated); ``doc.cats`` empty.
* Textcat docs: the text tokenised by ``spacy.blank(lang)``; ``doc.cats`` with a value
  for every label of the task's files (one-hot unless multi-label); entities marked
  missing (``doc.set_ents([], default="missing")``).

The same inputs and seed give byte-identical files: ``cats`` dicts are built in sorted
label order, ``DocBin`` sorts its string table, and no user data is stored.
"""

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from tqdm import tqdm
from wasabi import Printer

from ..errors import Errors
from ..files import atomic_file, check_outputs
from ..tasks import ReadOptions, TaskKind, get_task, missing_markers
from .sources import CorpusError, ReadResult, is_tag_column
from .split import SPLITS, check_ratios, deduplicate, drop_overlap, shuffled_split

PathLike = Union[str, Path]
AnyRead = ReadResult[Any]
#: Examples per call of a kind's `make_docs`, between updates of the progress bar.
_CHUNK = 1000


@dataclass
class _Task:
    """One task on its way from its files to its docs."""

    name: str
    kind: TaskKind
    reads: Dict[str, AnyRead]
    splits: Dict[str, List[Any]] = field(default_factory=dict)
    docs: Dict[str, List[Doc]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)


def _make_docs(
    nlp: Language, task: _Task, examples: Sequence[Any], desc: Optional[str]
) -> List[Doc]:
    """The kind's docs, every other kind's annotation marked missing, under a progress
    bar on stderr if ``desc`` is given."""
    markers = missing_markers([task.kind.annotation])
    docs: List[Doc] = []
    with tqdm(total=len(examples), desc=desc, unit="doc", leave=False, disable=desc is None) as bar:
        for start in range(0, len(examples), _CHUNK):
            chunk = task.kind.make_docs(nlp, examples[start : start + _CHUNK])
            for doc in chunk:
                for marker in markers:
                    marker.mark_missing(doc)
            docs.extend(chunk)
            bar.update(len(chunk))
    return docs


def _prepare(
    task: _Task, *, dedup: bool, split: Optional[Sequence[float]], seed: int, limit: Optional[int]
) -> None:
    """Fill ``task.splits``: the examples of each output split, de-duplicated and re-split if asked."""
    for read in task.reads.values():
        if not read.examples:
            raise CorpusError(Errors.E126.format(path=read.path, skipped=read.skipped or "none"))
    given: Dict[str, List[Any]] = {name: list(read.examples) for name, read in task.reads.items()}
    given = task.kind.prepare(given)
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
        pooled_unique = deduplicate(pooled)
        pooled = pooled_unique.examples
        task.notes.append(
            f"{pooled_unique.dropped} duplicates dropped ({pooled_unique.conflicting} texts had copies "
            "with different annotations; majority kept)"
        )
    task.splits = shuffled_split(pooled, seed=seed, task=task.name, ratios=split, limit=limit)
    if limit is not None and len(pooled) > limit:
        task.notes.append(f"{len(pooled) - limit} left out by the cap of {limit}")


def _print_table(msg: Printer, task: _Task) -> None:
    """Rows: docs, tokens, one per label; columns: the splits written and the total."""
    names = list(task.docs)
    counts = {
        name: Counter(label for doc in docs for label in task.kind.gold_labels(doc))
        for name, docs in task.docs.items()
    }
    total = sum(counts.values(), Counter())
    labels = sorted(total, key=lambda label: (-total[label], label))
    rows: List[List[Any]] = [
        ["docs", *[len(task.docs[n]) for n in names]],
        ["tokens", *[sum(map(len, task.docs[n])) for n in names]],
    ]
    prefix = task.kind.annotation
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
) -> Dict[str, TaskKind]:
    """Refuse bad arguments before any file is read.

    RETURNS (Dict[str, TaskKind]): the kind of every task given files.
    """
    kinds = {name: get_task(name) for name in {**inputs, **limits}}
    for name, files in inputs.items():
        if files:
            kinds[name].require("convert files", "read_file", "make_docs")
    unknown = sorted({name for files in inputs.values() for name in files} - set(SPLITS))
    if unknown:
        raise ValueError(Errors.E127.format(unknown=unknown, splits=list(SPLITS)))
    if not any(inputs.values()):
        raise ValueError(Errors.E128)
    if split is not None:
        check_ratios(split)
    elif limits:
        raise ValueError(Errors.E129)
    return kinds


def _check_lang(lang: str) -> None:
    """Refuse a language spaCy does not have, before anything is read."""
    try:
        spacy.util.get_lang_class(lang)
    except ImportError as err:
        raise ValueError(Errors.E131.format(lang=lang, error=err)) from None


def output_paths(
    output_dir: PathLike, splits: Mapping[str, Iterable[str]], split: Optional[Sequence[float]]
) -> Dict[str, Dict[str, Path]]:
    """The files a conversion writes: ``output_dir/<task>/<split>.spacy``.

    splits (Mapping[str, Iterable[str]]): {task: the splits given files}.
    split (Optional[Sequence[float]]): the re-split's ratios: every split with a
        positive ratio is written; None: the splits given.
    RETURNS (Dict[str, Dict[str, Path]]): {task: {split: path}}.
    """
    outputs: Dict[str, Dict[str, Path]] = {}
    for task, given in splits.items():
        names = list(given) if split is None else [n for n, r in zip(SPLITS, split) if r > 0]
        if names:
            outputs[task] = {name: Path(output_dir) / task / f"{name}.spacy" for name in names}
    return outputs


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

    output_dir (PathLike): Where to write; existing files of the same names are replaced
        once every doc is built (never one that is, holds or lies inside an input).
    reads (Mapping[str, Mapping[str, AnyRead]]): {task: {split: what its file held}}, task
        a registered kind of task ("ner", "textcat", ...), split "train", "dev" or "test".
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
    kinds = _check_arguments(reads, split, limits)
    _check_lang(lang)
    given = {name: dict(files) for name, files in reads.items() if files}
    outputs = output_paths(output_dir, given, split)
    check_outputs(
        [path for paths in outputs.values() for path in paths.values()],
        [read.path for files in given.values() for read in files.values()],
    )
    tasks = [_Task(name, kinds[name], files) for name, files in given.items()]
    nlp = spacy.blank(lang)
    show = not msg.no_print and sys.stderr.isatty()  # no bar in logs and pipes
    # Everything is read and built before anything is written, so bad input leaves
    # the output directory as it was.
    for task in tasks:
        _prepare(task, dedup=dedup, split=split, seed=seed, limit=limits.get(task.name))
        for name, examples in task.splits.items():
            desc = f"{task.name} {name}" if show else None
            task.docs[name] = _make_docs(nlp, task, examples, desc)
    written: Dict[str, Dict[str, Path]] = {}
    for task in tasks:
        for name, docs in task.docs.items():
            path = Path(output_dir) / task.name / f"{name}.spacy"
            # A crash or a full disk must not leave a truncated .spacy file under the real name.
            with atomic_file(path) as file:
                file.write(DocBin(docs=docs, store_user_data=False).to_bytes())
            written.setdefault(task.name, {})[name] = path
            msg.good(f"{task.name} {name}: {len(docs)} docs -> {path}")
    for task in tasks:
        _print_table(msg, task)
    return written


def _read_files(
    kind: TaskKind, files: Mapping[str, PathLike], options: ReadOptions, printer: Printer
) -> Dict[str, AnyRead]:
    """Read the files of one task, a line per file."""
    reads: Dict[str, AnyRead] = {}
    for name, path in files.items():
        read = kind.read_file(Path(path), options)
        notes = [
            f"skipped {n} ({reason})" for reason, n in sorted(read.skipped.items())
        ] + read.notes
        printer.info(
            f"{kind.name} {name}: {len(read.examples)} examples in {path}"
            + "".join(f"; {n}" for n in notes)
        )
        reads[name] = read
    return reads


def _task_files(
    ner: Optional[Mapping[str, PathLike]],
    cats: Optional[Mapping[str, PathLike]],
    tasks: Optional[Mapping[str, Mapping[str, PathLike]]],
) -> Dict[str, Dict[str, PathLike]]:
    """{task: {split: file}} of the ner, cats and other tasks' files; a split given
    twice for one task is refused."""
    files: Dict[str, Dict[str, PathLike]] = {"ner": dict(ner or {}), "textcat": dict(cats or {})}
    for task, given in (tasks or {}).items():
        for name, path in given.items():
            if name in files.setdefault(task, {}):
                raise ValueError(
                    Errors.E132.format(task=task, split=name, path=path, other=files[task][name])
                )
            files[task][name] = path
    return files


def _check_columns(columns: Mapping[str, int], files: Mapping[str, Mapping[str, PathLike]]) -> None:
    """Refuse a tag column for a task without files, or one that is not a column number."""
    for task, column in columns.items():
        if not files.get(task):
            raise ValueError(
                Errors.E133.format(task=task, tasks=sorted(t for t, f in files.items() if f))
            )
        if not is_tag_column(column):
            raise ValueError(Errors.E122.format(where=f"--column {task}={column}", column=column))


def convert_files(
    output_dir: PathLike,
    *,
    ner: Optional[Mapping[str, PathLike]] = None,
    cats: Optional[Mapping[str, PathLike]] = None,
    tasks: Optional[Mapping[str, Mapping[str, PathLike]]] = None,
    columns: Optional[Mapping[str, int]] = None,
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
    """Convert annotated files into ``output_dir/<task>/<split>.spacy``.

    output_dir (PathLike): Where to write.
    ner (Optional[Mapping[str, PathLike]]): {split: CoNLL/IOB file}; see :func:`~spacy_mtl.corpus.sources.read_iob`.
    cats (Optional[Mapping[str, PathLike]]): {split: CSV or JSONL file} of the textcat task; see
        :func:`~spacy_mtl.corpus.sources.read_cats_file`.
    tasks (Optional[Mapping[str, Mapping[str, PathLike]]]): {task: {split: file}} for any
        registered kind of task (:mod:`spacy_mtl.tasks`), e.g. {"tagger": {"train": ...}};
        its kind reads the files.
    columns (Optional[Mapping[str, int]]): {task: the 1-based column of token files
        that holds the tag}; a task without one takes the last.
    multilabel (bool): The textcat files are multi-label.
    text_field (str): Text column (CSV) or field (JSONL) of the category files.
    label_field (str): Label column of a CSV category file.
    lowercase_labels (bool): Lower-case entity and category labels.
    dedup, split, seed, lang, printer: As in :func:`convert_reads`.
    RETURNS (Dict[str, Dict[str, Path]]): {task: {split: the file written}}.
    """
    msg = printer or Printer()
    files = _task_files(ner, cats, tasks)
    columns = dict(columns or {})
    kinds = _check_arguments(files, split, {})
    _check_columns(columns, files)
    if multilabel and not (files["textcat"] or files.get("textcat_multilabel")):
        raise ValueError(Errors.E130)
    _check_lang(lang)
    for task, given in files.items():
        for name, path in given.items():
            if not Path(path).is_file():
                raise CorpusError(Errors.E134.format(path=path, task=task, split=name))
    given_files = {task: given for task, given in files.items() if given}
    outputs = output_paths(output_dir, given_files, split)
    check_outputs(
        [path for paths in outputs.values() for path in paths.values()],
        [path for given in given_files.values() for path in given.values()],
    )
    reads = {
        task: _read_files(
            kinds[task],
            given,
            ReadOptions(
                multilabel=multilabel,
                text_field=text_field,
                label_field=label_field,
                lowercase_labels=lowercase_labels,
                column=columns.get(task),
            ),
            msg,
        )
        for task, given in given_files.items()
    }
    return convert_reads(
        output_dir, reads, dedup=dedup, split=split, seed=seed, lang=lang, printer=msg
    )
