"""Kinds of task, in one table: what the data and evaluation layers know about each.

A *task kind* ("textcat", "textcat_multilabel", "ner", or a user's own, e.g. "tagger")
says, for the heads that learn it:

* which annotation of a `Doc` holds its gold (`annotation`, `has_gold`), and how a
  doc that was never annotated for it is marked: "missing", which teaches nothing,
  not "none" (`mark_missing`);
* how its files are read and turned into docs (`read_file`, `prepare`, `make_docs`),
  for `spacy mtl convert`;
* which of spaCy's scores evaluate it (`scores`, from the components that
  `scores_component` picks), for `spacy mtl evaluate`;
* what each test doc contributes to those scores (`records`, the per-doc records of
  `spacy mtl evaluate --per-doc`), and how the score of any resample of docs follows
  from them: each record becomes a vector of counts (`counts`) and the score is a
  function of the summed counts (`score`): entities' tp / fp / fn give micro F1,
  exclusive classes' per-label counts give macro F1, a tagger's correct / total
  gives accuracy. Paired bootstrap intervals resample those vectors.

The corpus reader (`spacy_mtl.MultiTaskCorpus.v1`, keys ``TASK[+TASK...][/NAME]``), the
converter, the evaluation, the per-doc records and the bootstrap all read this table;
none of them names a task. Kinds live in the `mtl_tasks` registry (entry-point group
``thinc_mtl_tasks``), so a user registers a kind for their own head without editing
this package, in a ``--code`` file or in their package::

    import spacy_mtl

    @spacy_mtl.register_task("tagger")
    class TaggerTask(spacy_mtl.TaskKind):
        annotation = "tags"
        scores = ("tag_acc",)

        def has_gold(self, doc):
            return doc.has_annotation("TAG")

        def mark_missing(self, doc):
            for token in doc:
                token.tag_ = ""
        ...

A kind need not do everything: one without `read_file` cannot be converted, one
without `records` gives no per-doc records; both are refused up front.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

import numpy
from spacy.tokens import Doc
from spacy.util import registry

from .errors import Errors

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.training import Example

    from .corpus.sources import ReadResult

if not hasattr(registry, "mtl_tasks"):
    registry.create("mtl_tasks", entry_points=True)

mtl_tasks = registry.mtl_tasks  # type: ignore[attr-defined]

#: A kind's name: what corpus keys, `--task` options and per-doc records call it.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

Record = Dict[str, Any]


@dataclass(frozen=True)
class ReadOptions:
    """How `spacy mtl convert` was asked to read a kind's files; a kind uses what applies.

    multilabel (bool): category files hold several labels (or none) per text.
    text_field (str): the text column (CSV) or field (JSONL).
    label_field (str): the label column of a CSV file.
    lowercase_labels (bool): lower-case the labels.
    column (Optional[int]): the 1-based column of token files that holds the tag
        (the token is the first); None: the last.
    """

    multilabel: bool = False
    text_field: str = "text"
    label_field: str = "label"
    lowercase_labels: bool = False
    column: Optional[int] = None


class TaskKind:
    """One kind of task; see the module docstring. Subclass it and register the class
    with `register_task`; the registered name becomes `name`.

    annotation (str): the `Doc` annotation that holds the gold, e.g. "cats"; kinds that
        share one (textcat and textcat_multilabel) share their gold and its marking.
    scores (Tuple[str, ...]): spaCy's score keys that evaluate the kind, e.g. ("tag_acc",).
    """

    name: str = ""
    annotation: str = ""
    scores: Tuple[str, ...] = ()

    # --- gold --------------------------------------------------------------------

    def has_gold(self, doc: Doc) -> bool:
        """Whether `doc` carries gold for this kind."""
        raise NotImplementedError(self._missing("has_gold"))

    def mark_missing(self, doc: Doc) -> None:
        """Mark this kind's annotation of `doc` missing (unknown, not "none")."""
        raise NotImplementedError(self._missing("mark_missing"))

    def gold_labels(self, doc: Doc) -> Iterable[str]:
        """The labels of `doc`'s gold, each as often as it occurs (for convert's summary)."""
        return ()

    # --- converting files --------------------------------------------------------

    def read_file(self, path: Path, options: ReadOptions) -> "ReadResult":
        """Read one annotated file (see `spacy_mtl.corpus.sources`).

        RETURNS (ReadResult): the examples in file order; each has `text` and
            `annotation` (what de-duplication compares) and `where` ("file:line").
        """
        raise NotImplementedError(self._missing("read_file"))

    def prepare(self, splits: Dict[str, List[Any]]) -> Dict[str, List[Any]]:
        """The examples of every given split, before de-duplication and re-splitting
        (e.g. every label given a value in every split). The default changes nothing."""
        return splits

    def make_docs(self, nlp: "Language", examples: Sequence[Any]) -> List[Doc]:
        """Docs carrying the examples' gold for this kind; the converter marks every
        other kind's annotation missing afterwards."""
        raise NotImplementedError(self._missing("make_docs"))

    # --- evaluation --------------------------------------------------------------

    def scores_component(self, component: Any) -> bool:
        """Whether a pipeline component's scores are this kind's (by default: every
        component's). Kinds whose score keys several components share pick theirs."""
        return True

    def records(self, nlp: "Language", examples: Sequence["Example"]) -> Iterator[Optional[Record]]:
        """What each example contributes to this kind's score, from examples whose
        predicted docs are annotated: one record (a JSON-serialisable dict) or None
        (the doc has no gold for the kind) per example, in order."""
        raise NotImplementedError(self._missing("records"))

    def counts(self, records: Sequence[Record]) -> numpy.ndarray:
        """The records as count vectors with the same columns, one row per record.

        RETURNS (numpy.ndarray): (len(records), k) counts.
        """
        raise NotImplementedError(self._missing("counts"))

    def score(self, sums: numpy.ndarray) -> numpy.ndarray:
        """The score of sets of docs from their summed count vectors.

        sums (numpy.ndarray): (n, k), each row the sum of some docs' `counts` rows.
        RETURNS (numpy.ndarray): (n,) scores in [0, 1].
        """
        raise NotImplementedError(self._missing("score"))

    # --- what a kind can do --------------------------------------------------------

    def can(self, *methods: str) -> bool:
        """Whether this kind defines all of `methods` (e.g. "read_file", "make_docs")."""
        return all(getattr(type(self), m) is not getattr(TaskKind, m) for m in methods)

    def require(self, what: str, *methods: str) -> None:
        """Raise unless this kind defines `methods`, saying what it was asked to do.

        RAISES (ValueError): naming the kind, `what` and the missing methods.
        """
        missing = [m for m in methods if not self.can(m)]
        if missing:
            raise ValueError(
                Errors.E154.format(
                    name=self.name, what=what, cls=type(self).__name__, methods=", ".join(missing)
                )
            )

    def _missing(self, method: str) -> str:
        return Errors.E154.format(
            name=self.name, what=method, cls=type(self).__name__, methods=method
        )


K = TypeVar("K", bound=type)


def register_task(name: str) -> Callable[[K], K]:
    """Register a `TaskKind` subclass in `mtl_tasks` under `name`.

    The class is registered; `get_task` makes its one instance. A kind's name is what
    corpus keys (``tagger``, ``ner+tagger/conll``), `spacy mtl convert --task
    tagger:train=FILE`, `spacy mtl evaluate --task tagger=FILE` and the per-doc
    records call it: letters, digits, "_", "." and "-".

    name (str): the kind's name, e.g. "tagger".
    RETURNS (Callable): the class decorator.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(Errors.E150.format(name=name))

    def register(cls: K) -> K:
        if not (isinstance(cls, type) and issubclass(cls, TaskKind)):
            raise ValueError(Errors.E151.format(name=name, value=cls))
        if not isinstance(cls.annotation, str) or not cls.annotation:
            raise ValueError(Errors.E152.format(name=name, cls=cls.__name__))
        # Every reader and converter marks each kind's annotation missing on the other
        # tasks' docs: a kind without these would break every task's data.
        missing = [
            m for m in ("has_gold", "mark_missing") if getattr(cls, m) is getattr(TaskKind, m)
        ]
        if missing:
            raise ValueError(
                Errors.E157.format(name=name, cls=cls.__name__, methods=", ".join(missing))
            )
        cls.name = name
        mtl_tasks.register(name, func=cls)
        return cls

    return register


_instances: Dict[str, TaskKind] = {}


def _instance(name: str, cls: Any) -> TaskKind:
    kind = _instances.get(name)
    if kind is None or type(kind) is not cls:
        if not (isinstance(cls, type) and issubclass(cls, TaskKind)):
            raise ValueError(Errors.E151.format(name=name, value=cls))
        kind = cls()
        kind.name = name
        _instances[name] = kind
    return kind


def find_task(name: str) -> Optional[TaskKind]:
    """The registered kind called `name` (a --code file's or an installed package's
    included), or None."""
    if name not in mtl_tasks:
        return None
    return _instance(name, mtl_tasks.get(name))


def get_task(name: str) -> TaskKind:
    """The registered kind called `name`.

    RAISES (ValueError): no kind has that name; the message lists the registered ones.
    """
    kind = find_task(name)
    if kind is None:
        raise ValueError(Errors.E153.format(name=name, known=", ".join(sorted(task_kinds()))))
    return kind


def task_kinds() -> Dict[str, TaskKind]:
    """Every registered kind, by name, in the order they were registered."""
    return {name: _instance(name, cls) for name, cls in mtl_tasks.get_all().items()}


def key_tasks(key: str) -> List[str]:
    """The names of the tasks a key names: ``TASK[+TASK...][/NAME]`` (corpus keys,
    `--task` names of `spacy mtl evaluate`, the "task" of per-doc records).

    RAISES (ValueError): a task's name is empty.
    """
    names = [part.strip() for part in key.split("/", 1)[0].split("+")]
    if not all(names):
        raise ValueError(Errors.E155.format(key=key))
    return names


def kind_of(key: str) -> TaskKind:
    """The kind of a key that names one task (``textcat``, ``textcat/sentiment``).

    RAISES (ValueError): the key names no registered kind, or several.
    """
    names = key_tasks(key)
    if len(names) != 1:
        raise ValueError(Errors.E156.format(key=key))
    return get_task(names[0])


def missing_markers(promised: Iterable[str]) -> List[TaskKind]:
    """One kind per registered annotation that is not in `promised`: what marks that
    annotation missing on docs that do not carry it."""
    seen = set(promised)
    markers = []
    for kind in task_kinds().values():
        if kind.annotation not in seen:
            seen.add(kind.annotation)
            markers.append(kind)
    return markers


# --- the kinds of this package ---------------------------------------------------------


def _f1(tp: numpy.ndarray, fp: numpy.ndarray, fn: numpy.ndarray) -> numpy.ndarray:
    """2tp / (2tp + fp + fn), 0 where nothing was found or expected."""
    denominator = 2 * tp + fp + fn
    return numpy.divide(2 * tp, denominator, out=numpy.zeros(len(tp)), where=denominator > 0)


def _per_label_counts(pairs: Sequence[Tuple[Iterable[str], Iterable[str]]]) -> numpy.ndarray:
    """(tp, fp, fn) of every label (sorted), side by side, per (gold, predicted) pair of label sets."""
    sets = [(set(gold), set(pred)) for gold, pred in pairs]
    labels = sorted({label for gold, pred in sets for label in gold | pred})
    counts = numpy.zeros((len(sets), 3 * len(labels)))
    for row, (gold, pred) in enumerate(sets):
        for j, label in enumerate(labels):
            counts[row, 3 * j : 3 * j + 3] = (
                label in gold and label in pred,
                label in pred and label not in gold,
                label in gold and label not in pred,
            )
    return counts


def _macro_f(sums: numpy.ndarray) -> numpy.ndarray:
    """The mean over labels of each label's F1, from (tp, fp, fn) per label side by side."""
    n_labels = sums.shape[1] // 3
    scores = numpy.zeros(len(sums))
    for j in range(n_labels):
        scores += _f1(sums[:, 3 * j], sums[:, 3 * j + 1], sums[:, 3 * j + 2])
    return scores / max(n_labels, 1)


class _CatsTask(TaskKind):
    """What both text classification kinds share: gold in `doc.cats`, `{}` is missing."""

    annotation = "cats"
    scores = ("cats_score", "cats_macro_f", "cats_micro_f", "cats_macro_auc")
    #: Files hold several labels (or none) per text, whatever the converter's options say.
    multilabel = False

    def has_gold(self, doc: Doc) -> bool:
        return bool(doc.cats)

    def mark_missing(self, doc: Doc) -> None:
        doc.cats = {}

    def gold_labels(self, doc: Doc) -> Iterable[str]:
        return [label for label, value in doc.cats.items() if value >= 0.5]

    def read_file(self, path: Path, options: ReadOptions) -> "ReadResult":
        from .corpus.sources import read_cats_file

        return read_cats_file(
            path,
            multilabel=options.multilabel or self.multilabel,
            text_field=options.text_field,
            label_field=options.label_field,
            lowercase_labels=options.lowercase_labels,
        )

    def prepare(self, splits: Dict[str, List[Any]]) -> Dict[str, List[Any]]:
        # Each text gets a value for every label of the task, so that exclusive data is
        # one-hot in every split even where a split lacks a label.
        labels = sorted(
            {label for examples in splits.values() for e in examples for label, _ in e.cats}
        )
        return {
            name: [e.with_labels(labels) for e in examples] for name, examples in splits.items()
        }

    def make_docs(self, nlp: "Language", examples: Sequence[Any]) -> List[Doc]:
        docs = []
        for doc, example in zip(nlp.tokenizer.pipe(e.text for e in examples), examples):  # type: ignore[union-attr]
            doc.cats = dict(example.cats)
            docs.append(doc)
        return docs

    def counts(self, records: Sequence[Record]) -> numpy.ndarray:
        return _per_label_counts(
            [(self._labels(r["gold"]), self._labels(r["pred"])) for r in records]
        )

    def score(self, sums: numpy.ndarray) -> numpy.ndarray:
        return _macro_f(sums)

    @staticmethod
    def _labels(value: Any) -> List[str]:
        return [value] if isinstance(value, str) else list(value)

    def _pipes(self, nlp: "Language") -> List[Any]:
        """The pipeline's text classifiers of this kind."""
        return [pipe for _, pipe in nlp.pipeline if self.scores_component(pipe)]


@register_task("textcat")
class TextcatTask(_CatsTask):
    """Exclusive classes: one label per doc (`mtl_textcat`, spaCy's `textcat`).

    Per-doc record: {"gold", "pred"}, the doc's gold class and the predicted one (the
    highest value of each among the exclusive heads' labels); its score is spaCy's
    macro F1 over the labels the records hold.
    """

    def scores_component(self, component: Any) -> bool:
        from spacy.pipeline import MultiLabel_TextCategorizer, TextCategorizer

        return isinstance(component, TextCategorizer) and not isinstance(
            component, MultiLabel_TextCategorizer
        )

    def records(self, nlp: "Language", examples: Sequence["Example"]) -> Iterator[Optional[Record]]:
        labels = {label for pipe in self._pipes(nlp) for label in pipe.labels}
        for eg in examples:
            gold = {label: value for label, value in eg.reference.cats.items() if label in labels}
            if not gold:
                yield None
                continue
            pred = {label: eg.predicted.cats.get(label, 0.0) for label in gold}
            yield {"gold": max(gold, key=gold.__getitem__), "pred": max(pred, key=pred.__getitem__)}


@register_task("textcat_multilabel")
class MultiLabelTextcatTask(_CatsTask):
    """Several labels (or none) per doc (`mtl_textcat_multilabel`).

    Per-doc record: {"gold", "pred"}, the labels that apply to the doc and those the
    pipeline predicts (a value at or above the head's threshold), among the labels
    the doc has a gold value for; as spaCy's scorer, whose macro F1 over those
    labels they give back.
    """

    multilabel = True

    def scores_component(self, component: Any) -> bool:
        from spacy.pipeline import MultiLabel_TextCategorizer

        return isinstance(component, MultiLabel_TextCategorizer)

    def records(self, nlp: "Language", examples: Sequence["Example"]) -> Iterator[Optional[Record]]:
        thresholds = {
            label: float(pipe.cfg.get("threshold", 0.5))
            for pipe in self._pipes(nlp)
            for label in pipe.labels
        }
        for eg in examples:
            gold = {label: v for label, v in eg.reference.cats.items() if label in thresholds}
            if not gold:
                yield None
                continue
            yield {
                "gold": sorted(label for label, value in gold.items() if value > 0),
                "pred": sorted(
                    label
                    for label in gold
                    if eg.predicted.cats.get(label, 0.0) >= thresholds[label]
                ),
            }


@register_task("ner")
class NerTask(TaskKind):
    """Named entities in `doc.ents`; missing: every token's `ent_iob` 0.

    Per-doc record: {"tp", "fp", "fn"}, the doc's entity counts as spaCy's scorer
    (`get_ner_prf`) counts them; its score is the micro F1.
    """

    annotation = "ents"
    scores = ("ents_f", "ents_p", "ents_r")

    def has_gold(self, doc: Doc) -> bool:
        return doc.has_annotation("ENT_IOB")

    def mark_missing(self, doc: Doc) -> None:
        doc.set_ents([], default="missing")

    def gold_labels(self, doc: Doc) -> Iterable[str]:
        return [ent.label_ for ent in doc.ents]

    def read_file(self, path: Path, options: ReadOptions) -> "ReadResult":
        from .corpus.sources import read_iob

        return read_iob(path, lowercase_labels=options.lowercase_labels, column=options.column)

    def make_docs(self, nlp: "Language", examples: Sequence[Any]) -> List[Doc]:
        # One space after each token: token files carry no spacing, and one space is
        # what spaCy's own CoNLL converter assumes. Every token is annotated (O or an
        # entity).
        return [
            Doc(
                nlp.vocab,
                words=list(e.words),
                spaces=[True] * (len(e.words) - 1) + [False],
                ents=list(e.tags),
            )
            for e in examples
        ]

    def records(self, nlp: "Language", examples: Sequence["Example"]) -> Iterator[Optional[Record]]:
        for eg in examples:
            if not eg.reference.has_annotation("ENT_IOB"):
                yield None
                continue
            golds = {(e.label_, e.start, e.end) for e in eg.reference.ents}
            tp = fp = 0
            x2y = eg.alignment.x2y
            for ent in eg.predicted.ents:
                indices = x2y[ent.start : ent.end]
                # As spaCy's scorer: a prediction over tokens without gold annotation
                # counts as neither.
                if len(indices) and all(
                    token.ent_iob != 0 for token in eg.reference[indices[0] : indices[-1] + 1]
                ):
                    key = (ent.label_, indices[0], indices[-1] + 1)
                    if key in golds:
                        tp += 1
                        golds.remove(key)
                    else:
                        fp += 1
            yield {"tp": tp, "fp": fp, "fn": len(golds)}

    def counts(self, records: Sequence[Record]) -> numpy.ndarray:
        return numpy.asarray([[r["tp"], r["fp"], r["fn"]] for r in records], dtype=float).reshape(
            -1, 3
        )

    def score(self, sums: numpy.ndarray) -> numpy.ndarray:
        return _f1(sums[:, 0], sums[:, 1], sums[:, 2])


def scores_of(kind: TaskKind, scores: Mapping[str, Any]) -> Dict[str, float]:
    """The kind's scores among spaCy's (those the scorer gave a value)."""
    return {key: float(scores[key]) for key in kind.scores if scores.get(key) is not None}
