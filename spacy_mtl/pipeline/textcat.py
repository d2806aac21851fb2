"""Text classification heads (exclusive and multi-label) for multi-task training.

They are spaCy's `textcat` and `textcat_multilabel` with three changes:
- a doc without annotation for this head is missing, not negative: its row is masked
  (stock exclusive `textcat` trains an empty `doc.cats` towards all zeros);
- the loss reported to spaCy's `losses` and to the weighting is the true loss, the
  mean negative log-likelihood per annotated doc (stock logs a mean squared error);
- a batch without any annotated doc is skipped, as `TaskHead` requires;
- scores are computed over the docs annotated for the head only.
"""
from typing import Any, Callable, Dict, Iterable, Optional, Tuple
import warnings

import numpy
from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.training import Example, validate_examples
from thinc.api import Config, Model, Optimizer, set_dropout_rate

from .task_head import TaskHead

# The smallest probability a log is taken of, so that a confident mistake costs a
# large but finite loss.
_EPSILON = 1e-7

_MODEL_CONFIG = """
[model]
@architectures = "spacy.TextCatReduce.v1"
exclusive_classes = {exclusive}
use_reduce_first = false
use_reduce_last = false
use_reduce_max = false
use_reduce_mean = true
nO = null

[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""
DEFAULT_EXCLUSIVE_MODEL = Config().from_str(_MODEL_CONFIG.format(exclusive="true"))["model"]
DEFAULT_MULTILABEL_MODEL = Config().from_str(_MODEL_CONFIG.format(exclusive="false"))["model"]


class _CatsHead(TaskHead):
    """The parts both text classification heads share."""

    name: str
    labels: Tuple[str, ...]
    model: Model

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        return any(
            len(eg.predicted) and any(label in eg.reference.cats for label in self.labels)
            for eg in examples
        )

    def _annotated_rows(self, examples: Iterable[Example]) -> numpy.ndarray:
        """1.0 for each doc that carries any of this head's labels, else 0.0."""
        return numpy.asarray(
            [any(label in eg.reference.cats for label in self.labels) for eg in examples],
            dtype="f",
        )

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        """spaCy's textcat scores over the docs annotated for this head only.

        Stock `Scorer.score_cats` (exclusive) counts a doc without cats as a wrong
        prediction; in a multi-task dev set those are the other tasks' docs.
        """
        annotated = [eg for eg in examples if any(label in eg.reference.cats for label in self.labels)]
        return super().score(annotated, **kwargs)

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from the annotated docs of the batch; the others teach nothing."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.update")
        self._validate_categories(examples)
        self.batch_loss = None
        if not self.has_task_gold(examples):
            return losses
        set_dropout_rate(self.model, drop)
        scores, bp_scores = self.model.begin_update([eg.predicted for eg in examples])
        loss, d_scores = self.get_loss(examples, scores)
        if not numpy.isfinite(loss):
            # Nothing is backpropagated, so neither this head nor the encoder sees it.
            warnings.warn(f"[spacy-mtl] '{self.name}': non-finite loss, batch skipped")
            return losses
        self.batch_loss = loss
        self.batch_count = max(1, int(self._annotated_rows(examples).sum()))
        bp_scores(d_scores)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def get_loss(self, examples: Iterable[Example], scores) -> Tuple[float, numpy.ndarray]:
        """Return (mean negative log-likelihood per annotated doc, d_scores).

        d_scores is stock spaCy's gradient (scores - truths), with the rows of
        unannotated docs zeroed.
        """
        examples = list(examples)
        truths, not_missing = self._examples_to_truth(examples)
        rows = self.model.ops.asarray(self._annotated_rows(examples))[:, None]
        mask = self.model.ops.asarray(not_missing) * rows
        truths = self.model.ops.asarray(truths)
        d_scores = (scores - truths) * mask
        n_docs = max(float(rows.sum()), 1.0)
        loss = float(self._nll(scores, truths, mask).sum()) / n_docs
        return loss, d_scores

    def _nll(self, scores, truths, mask):
        raise NotImplementedError


class MultiTaskTextCategorizer(_CatsHead, TextCategorizer):
    """Exclusive classes (one label per doc); the loss is the cross-entropy."""

    @property
    def support_missing_values(self) -> bool:
        # An annotated doc names its one positive label; the labels it leaves out are
        # negatives. Unannotated docs are masked whole in get_loss.
        return False

    def _nll(self, scores, truths, mask):
        xp = self.model.ops.xp
        return -(truths * mask * xp.log(xp.clip(scores, _EPSILON, 1.0)))


class MultiTaskMultiLabelTextCategorizer(_CatsHead, MultiLabel_TextCategorizer):
    """Independent labels; the loss is the binary cross-entropy summed over labels."""

    def _nll(self, scores, truths, mask):
        xp = self.model.ops.xp
        p = xp.clip(scores, _EPSILON, 1.0 - _EPSILON)
        return -mask * (truths * xp.log(p) + (1.0 - truths) * xp.log(1.0 - p))


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
    },
    default_score_weights=_CATS_SCORE_WEIGHTS,
)
def make_mtl_textcat(
    nlp: Language, name: str, model: Model, threshold: float, scorer: Optional[Callable]
) -> MultiTaskTextCategorizer:
    """Exclusive text classification that trains under a shared `mtl_transformer`."""
    return MultiTaskTextCategorizer(nlp.vocab, model, name, threshold=threshold, scorer=scorer)


@Language.factory(
    "mtl_textcat_multilabel",
    assigns=["doc.cats"],
    default_config={
        "threshold": 0.5,
        "model": DEFAULT_MULTILABEL_MODEL,
        "scorer": {"@scorers": "spacy.textcat_multilabel_scorer.v2"},
    },
    default_score_weights=_CATS_SCORE_WEIGHTS,
)
def make_mtl_textcat_multilabel(
    nlp: Language, name: str, model: Model, threshold: float, scorer: Optional[Callable]
) -> MultiTaskMultiLabelTextCategorizer:
    """Multi-label text classification that trains under a shared `mtl_transformer`."""
    return MultiTaskMultiLabelTextCategorizer(
        nlp.vocab, model, name, threshold=threshold, scorer=scorer
    )
