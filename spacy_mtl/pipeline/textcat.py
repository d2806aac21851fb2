"""Text classification heads (exclusive and multi-label) for multi-task training.

They are spaCy's `textcat` and `textcat_multilabel` with these changes:
- a doc without any of this head's labels is missing, not negative: its row is
  masked (stock exclusive `textcat` trains an empty `doc.cats` towards all zeros);
- the loss reported to spaCy's `losses` and to the weighting is the true loss, the
  mean negative log-likelihood per annotated doc (stock logs a mean squared error);
- labels are this head's own: other heads' labels in `doc.cats` are ignored, and docs
  carrying several disjoint label sets need `[initialize.components.<name>] labels`;
- scores are computed over the docs annotated for the head only;
- they learn from teacher targets (`doc._.teacher_cats`, see `spacy_mtl.distill.targets`):
  a doc without gold learns the teacher's distribution, its loss weighted by
  `teacher_weight`; a doc with both learns λ·gold + (1−λ)·teacher, λ from the
  `annealing` schedule (BAM!'s teacher annealing; null: λ = 1, gold only).
"""

import math
from abc import abstractmethod
from itertools import islice
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Set, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.training import Example, validate_get_examples
from thinc.api import Config, Model, Optimizer, set_dropout_rate
from thinc.types import Floats2d

from ..distill.targets import teacher_cats
from ..errors import Errors
from ..training import schedules  # noqa: F401  (registers spacy_mtl.linear.v1 for `annealing`)
from ..types import TaskLoss, TaskReport
from .task_head import LISTENER_CONFIG, TaskHead, check_teacher_weight

# The smallest probability a log is taken of, so that a confident mistake costs a
# large but finite loss.
_EPSILON = 1e-7
# How far the values of an exclusive doc's cats may sum from 1.
_SUM_TOLERANCE = 1e-4

_MODEL_CONFIG = (
    """
[model]
@architectures = "spacy.TextCatReduce.v1"
exclusive_classes = {exclusive}
use_reduce_first = false
use_reduce_last = false
use_reduce_max = false
use_reduce_mean = true
nO = null
"""
    + LISTENER_CONFIG
)
DEFAULT_EXCLUSIVE_MODEL = Config().from_str(_MODEL_CONFIG.format(exclusive="true"))["model"]
DEFAULT_MULTILABEL_MODEL = Config().from_str(_MODEL_CONFIG.format(exclusive="false"))["model"]


class _CatsHead(TaskHead, TextCategorizer):
    """The parts both text classification heads share."""

    exclusive: bool
    #: The loss weight of a doc that only a teacher annotates (a gold doc weighs 1).
    teacher_weight: float = 1.0
    #: λ, gold's share of the target of a doc with gold and teacher targets, one value
    #: per optimizer step; None: always 1.
    annealing: Optional[Iterator[float]] = None
    #: λ for the current optimizer step (the annealing schedule's latest value).
    gold_share: float = 1.0

    def configure_teaching(
        self, teacher_weight: float, annealing: Optional[Iterable[float]]
    ) -> None:
        """Set how the head learns from teacher targets (the factory's settings).

        teacher_weight (float): loss weight of a doc with teacher targets only.
        annealing (Optional[Iterable[float]]): λ per optimizer step, a thinc schedule;
            None: 1.
        """
        self.teacher_weight = check_teacher_weight(self.name, teacher_weight)
        self.annealing = None if annealing is None else iter(annealing)
        self.gold_share = 1.0 if self.annealing is None else float(next(self.annealing))

    def finish_update(self, sgd: Optimizer) -> None:
        """Step the head's parameters, and the annealing schedule with them: spaCy's
        training loop calls this once per optimizer step, however many batches
        `accumulate_gradient` splits the step into."""
        super().finish_update(sgd)
        if self.annealing is not None:
            self.gold_share = float(next(self.annealing))

    def is_annotated(self, example: Example) -> bool:
        """Whether the example's reference carries any of this head's labels."""
        return any(label in example.reference.cats for label in self.labels)

    def is_taught(self, example: Example) -> bool:
        """Whether a teacher gave the example's reference any of this head's labels and
        the head learns from teachers (`teacher_weight` > 0)."""
        cats = teacher_cats(example.reference)
        return (
            cats is not None
            and bool(cats)
            and self.teacher_weight > 0
            and any(label in cats for label in self.labels)
        )

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        return any(
            len(eg.predicted) and (self.is_annotated(eg) or self.is_taught(eg)) for eg in examples
        )

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        """spaCy's textcat scores over the docs annotated for this head only.

        Stock `Scorer.score_cats` (exclusive) counts a doc without cats as a wrong
        prediction; in a multi-task dev set those are the other tasks' docs.
        """
        return super().score([eg for eg in examples if self.is_annotated(eg)], **kwargs)

    def update_task(self, examples: List[Example], *, drop: float) -> TaskReport:
        """Learn from the annotated docs of the batch; the others teach nothing."""
        set_dropout_rate(self.model, drop)
        scores, bp_scores = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores, gold_share=self.gold_share)
        # Checked before the backward pass, so that nothing non-finite reaches this
        # head's parameters or the encoder.
        if not (math.isfinite(loss) and bool(self.model.ops.xp.isfinite(d_scores).all())):
            return None
        bp_scores(d_scores)
        return TaskLoss(loss, _total(self.doc_weights(examples)))

    def get_loss(  # type: ignore[override]  # spaCy annotates the gradient as a float
        self, examples: Iterable[Example], scores, *, gold_share: float = 1.0
    ) -> Tuple[float, Floats2d]:
        """Return (weighted mean negative log-likelihood per annotated doc, d_scores).

        d_scores is the gradient of the loss over the known values (`_d_nll`), times
        each doc's weight, so the rows of unannotated docs are zero.

        gold_share (float): λ, gold's share of the target where a doc has both.
        """
        targets, known, weights = self.targets(list(examples), gold_share)
        xp = self.model.ops.xp
        truths, mask, doc_weights = xp.asarray(targets), xp.asarray(known), xp.asarray(weights)
        d_scores = self._d_nll(scores, truths) * mask * doc_weights[:, None]
        loss = float((self._nll(scores, truths, mask).sum(axis=1) * doc_weights).sum())
        return loss / _total(weights), d_scores

    def doc_weights(self, examples: List[Example]) -> numpy.ndarray:
        """Per doc: its loss weight, 1 with gold, `teacher_weight` with teacher targets
        only, 0 without either."""
        return numpy.asarray(
            [
                1.0 if self.is_annotated(eg) else self.teacher_weight if self.is_taught(eg) else 0.0
                for eg in examples
            ],
            dtype="f",
        )

    def targets(
        self, examples: List[Example], gold_share: float = 1.0
    ) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """Per doc and label: what the head learns, and 1.0 where it is known; per doc:
        its loss weight (`doc_weights`).

        Where gold and teacher both know a value the target is
        gold_share · gold + (1 − gold_share) · teacher; elsewhere whichever knows it.
        """
        if not 0.0 <= gold_share <= 1.0:
            raise ValueError(Errors.E018.format(name=self.name, value=gold_share))
        gold, gold_known = self.truths(examples)
        taught, taught_known = self.teacher_truths(examples)
        both = (gold_known > 0) & (taught_known > 0)
        targets = numpy.where(
            both,
            gold_share * gold + (1.0 - gold_share) * taught,
            numpy.where(gold_known > 0, gold, taught),
        )
        return (
            targets.astype("f"),
            numpy.maximum(gold_known, taught_known),
            self.doc_weights(examples),
        )

    def teacher_truths(self, examples: List[Example]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """Per doc and label: the teacher's value, and 1.0 where the teacher gave one
        (all zeros for docs without teacher targets, or with `teacher_weight` 0)."""
        return self._label_values(
            [teacher_cats(eg.reference) if self.is_taught(eg) else None for eg in examples]
        )

    def truths(self, examples: List[Example]) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """Per doc and label: the target value, and 1.0 where it is known.

        An exclusive doc that names some of the labels has the others as negatives
        (as in stock `textcat`); a multi-label doc has them missing.
        """
        return self._label_values([eg.reference.cats for eg in examples])

    def _label_values(
        self, docs_cats: List[Optional[Dict[str, float]]]
    ) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """Per doc and label: its value in the doc's cats (None: no cats), and 1.0
        where it has one; for an exclusive head, every label of a doc that has any."""
        values = numpy.zeros((len(docs_cats), len(self.labels)), dtype="f")
        known = numpy.zeros_like(values)
        for i, cats in enumerate(docs_cats):
            for j, label in enumerate(self.labels):
                if cats and label in cats:
                    values[i, j] = cats[label]
                    known[i, j] = 1.0
            if self.exclusive and known[i].any():
                known[i] = 1.0
        return values, known

    @abstractmethod
    def _nll(self, scores, truths, mask):
        """Per doc and label: the negative log-likelihood of `truths` under `scores`."""

    @abstractmethod
    def _d_nll(self, scores, truths):
        """Per doc and label: the gradient to send back through the model's output
        layer so that its logits receive the gradient of `_nll`."""

    def _initialize_labels(
        self,
        get_examples: Callable[[], Iterable[Example]],
        nlp: Optional[Language],
        labels: Optional[Iterable[str]],
    ) -> None:
        """Add the labels (given, or from the docs), check the docs, size the model."""
        self.require_encoder(nlp)
        validate_get_examples(get_examples, f"{type(self).__name__}.initialize")
        if labels is None:
            labels = self._labels_from(get_examples())
        for label in labels:
            self.add_label(label)
        if len(self.labels) < (2 if self.exclusive else 1):
            raise ValueError(
                Errors.E019.format(
                    name=self.name, n=2 if self.exclusive else 1, labels=list(self.labels)
                )
            )
        for i, eg in enumerate(get_examples()):
            self._check_cats(eg, i)
        sample = [eg for eg in islice(get_examples(), 10)]
        self.model.initialize(X=[eg.reference for eg in sample], Y=self.truths(sample)[0])

    def _labels_from(self, examples: Iterable[Example]) -> List[str]:
        """Every label in the docs' cats, in order of appearance (as stock spaCy), unless
        the docs carry label sets that share no label: then this head cannot tell which
        set is its own."""
        seen: Dict[str, None] = {}
        groups: List[Set[str]] = []
        for eg in examples:
            cats = set(eg.reference.cats)
            if not cats:
                continue
            seen.update(dict.fromkeys(eg.reference.cats))
            overlapping = [g for g in groups if g & cats]
            merged = cats.union(*overlapping)
            groups = [g for g in groups if not g & cats] + [merged]
        if len(groups) > 1:
            sets = " and ".join(str(sorted(g)) for g in groups)
            raise ValueError(Errors.E020.format(name=self.name, sets=sets))
        return list(seen)

    def _check_cats(self, eg: Example, index: int) -> None:
        values = [eg.reference.cats[label] for label in self.labels if label in eg.reference.cats]
        if not values:
            return
        where = {"name": self.name, "index": index, "text": eg.reference.text[:40]}
        if any(not (0.0 <= v <= 1.0) for v in values):
            raise ValueError(Errors.E021.format(**where, cats=eg.reference.cats))
        if self.exclusive and abs(sum(values) - 1.0) > _SUM_TOLERANCE:
            own = {
                label: eg.reference.cats[label]
                for label in self.labels
                if label in eg.reference.cats
            }
            raise ValueError(Errors.E022.format(**where, cats=own))


def _total(weights: numpy.ndarray) -> float:
    """The docs' total weight, what a loss is the mean over (1 for a batch without any)."""
    return float(weights.sum()) or 1.0


class MultiTaskTextCategorizer(_CatsHead):
    """Exclusive classes (one label per doc); the loss is the cross-entropy."""

    exclusive = True

    @property
    def support_missing_values(self) -> bool:
        # An annotated doc names its one positive label; the labels it leaves out are
        # negatives. Unannotated docs are masked whole in get_loss.
        return False

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Iterable[str]] = None,
        positive_label: Optional[str] = None,
    ) -> None:
        """Initialise for training; `labels` as in stock `textcat`, else from the docs.

        positive_label (Optional[str]): the positive label of a binary task, as in
            stock `textcat`.
        """
        self._initialize_labels(get_examples, nlp, labels)
        if positive_label is not None and (
            positive_label not in self.labels or len(self.labels) != 2
        ):
            raise ValueError(
                Errors.E023.format(name=self.name, label=positive_label, labels=list(self.labels))
            )
        self.cfg["positive_label"] = positive_label

    def _nll(self, scores, truths, mask):
        xp = self.model.ops.xp
        return -(truths * mask * xp.log(xp.clip(scores, _EPSILON, 1.0)))

    def _d_nll(self, scores, truths):
        # Stock spaCy's (scores - truths): thinc's normalised Softmax output layer
        # takes it as the gradient of its logits, the cross-entropy's gradient there.
        return scores - truths


class MultiTaskMultiLabelTextCategorizer(_CatsHead, MultiLabel_TextCategorizer):
    """Independent labels; the loss is the binary cross-entropy summed over labels."""

    exclusive = False

    def initialize(  # type: ignore[override]
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Iterable[str]] = None,
    ) -> None:
        """Initialise for training; `labels` as in stock `textcat_multilabel`, else
        from the docs."""
        self._initialize_labels(get_examples, nlp, labels)

    def _nll(self, scores, truths, mask):
        xp = self.model.ops.xp
        p = xp.clip(scores, _EPSILON, 1.0 - _EPSILON)
        return -mask * (truths * xp.log(p) + (1.0 - truths) * xp.log(1.0 - p))

    def _d_nll(self, scores, truths):
        # The multi-label output layer is a Logistic, whose backward pass multiplies
        # by p(1 - p): the binary cross-entropy's gradient with respect to p makes the
        # logits' gradient p - t. Stock spaCy's p - t here would be a squared error's.
        p = scores
        return (p - truths) / self.model.ops.xp.maximum(p * (1.0 - p), _EPSILON)


_CATS_SCORE_WEIGHTS = {
    "cats_score": 1.0,
    "cats_score_desc": None,
    "cats_micro_p": None,
    "cats_micro_r": None,
    "cats_micro_f": None,
    "cats_macro_p": None,
    "cats_macro_r": None,
    "cats_macro_f": None,
    "cats_macro_auc": None,
    "cats_f_per_type": None,
}


@Language.factory(
    "mtl_textcat",
    assigns=["doc.cats"],
    default_config={
        "threshold": 0.0,
        "model": DEFAULT_EXCLUSIVE_MODEL,
        "scorer": {"@scorers": "spacy.textcat_scorer.v2"},
        "teacher_weight": 1.0,
        "annealing": None,
    },
    default_score_weights=_CATS_SCORE_WEIGHTS,
)
def make_mtl_textcat(
    nlp: Language,
    name: str,
    model: Model,
    threshold: float,
    scorer: Optional[Callable],
    teacher_weight: float,
    annealing: Optional[Iterable[float]],
) -> MultiTaskTextCategorizer:
    """Exclusive text classification that trains under a shared `mtl_transformer`.

    teacher_weight (float): loss weight of a doc with teacher targets only.
    annealing (Optional[Iterable[float]]): λ per optimizer step, gold's share of the
        target of a doc with gold and teacher targets (e.g. spacy_mtl.linear.v1); None: 1.
    """
    head = MultiTaskTextCategorizer(nlp.vocab, model, name, threshold=threshold, scorer=scorer)
    head.configure_teaching(teacher_weight, annealing)
    return head


@Language.factory(
    "mtl_textcat_multilabel",
    assigns=["doc.cats"],
    default_config={
        "threshold": 0.5,
        "model": DEFAULT_MULTILABEL_MODEL,
        "scorer": {"@scorers": "spacy.textcat_multilabel_scorer.v2"},
        "teacher_weight": 1.0,
        "annealing": None,
    },
    default_score_weights=_CATS_SCORE_WEIGHTS,
)
def make_mtl_textcat_multilabel(
    nlp: Language,
    name: str,
    model: Model,
    threshold: float,
    scorer: Optional[Callable],
    teacher_weight: float,
    annealing: Optional[Iterable[float]],
) -> MultiTaskMultiLabelTextCategorizer:
    """Multi-label text classification that trains under a shared `mtl_transformer`
    (teacher_weight and annealing as for mtl_textcat)."""
    head = MultiTaskMultiLabelTextCategorizer(
        nlp.vocab, model, name, threshold=threshold, scorer=scorer
    )
    head.configure_teaching(teacher_weight, annealing)
    return head
