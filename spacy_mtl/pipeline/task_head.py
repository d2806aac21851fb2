"""The contract between a task head and the shared transformer it listens to.

Each training step runs in this order:

1. `MultiTaskTransformer.update` asks every head it trains whether the batch holds
   gold for its task (`TaskHead.has_task_gold`), runs the encoder once and hands its
   output to the heads' listeners.
2. Each head with gold computes its loss and backpropagates the gradient of the
   *sum* of its loss terms, as stock spaCy heads do; its listener sends the gradient
   with respect to the shared representation back to the transformer.
3. The head then reports a `TaskLoss` (its mean loss and how many terms it is the
   mean of) with one call, `SharedEncoder.report`, or `None` when its loss or
   gradient was not finite.
4. Once every expected head has reported, the transformer lets its weighting combine
   the task gradients and runs the single backward pass through the encoder.

The gradient travels through the listener because spaCy's transition-based parser
backpropagates into its tok2vec itself, deep inside its update loop; the report is
what closes the task for the batch. A user's own head subclasses `TaskHead` (before
its spaCy base class) and implements `has_task_gold` and `update_task`.
"""

import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Protocol

from spacy.language import Language
from spacy.training import Example, validate_examples
from thinc.api import Optimizer

#: The tok2vec of every head's default model: a listener to the shared transformer,
#: one vector per token (the mean of its word pieces).
LISTENER_CONFIG = """
[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""


@dataclass(frozen=True)
class TaskLoss:
    """A head's loss on one batch.

    loss (float): the mean negative log-likelihood over `n_terms` terms (annotated
        docs for textcat, transitions for NER), comparable across steps and tasks.
        Where terms are weighted (teacher targets weigh the head's `teacher_weight`),
        the weighted mean.
    n_terms (float): how many terms the loss is the mean of (their total weight,
        where they are weighted). The head backpropagated the gradient of their
        (weighted) sum; the transformer divides by `n_terms`.
    """

    loss: float
    n_terms: float

    def __post_init__(self) -> None:
        if not self.n_terms > 0:
            raise ValueError(f"TaskLoss: n_terms must be > 0, got {self.n_terms}")


class SharedEncoder(Protocol):
    """What a head may call on the shared transformer it is bound to."""

    name: str

    def report(self, task: str, result: Optional[TaskLoss]) -> None:
        """Close `task` for the current batch: its loss, or None to sit it out."""


class TaskHead:
    """Mixin for heads that train under a shared `MultiTaskTransformer`.

    Put it before the spaCy component class: `class MyHead(TaskHead, Tagger)`. It
    provides `update`, which skips batches without gold for the task, calls
    `update_task` and reports the result to the bound encoder.
    """

    #: The shared transformer, set by it when it registers this head's listener.
    encoder: Optional[SharedEncoder] = None

    def bind_encoder(self, encoder: Optional[SharedEncoder]) -> None:
        """Called by the shared transformer that trains this head (None: unbound)."""
        self.encoder = encoder

    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        """Whether any non-empty example of the batch is annotated for this task, by
        gold or by a teacher (see `spacy_mtl.distill.targets`) the head learns from.

        The transformer asks before the heads update, so this must hold exactly for
        the batches on which `update_task` backpropagates.
        """
        raise NotImplementedError

    def update_task(self, examples: List[Example], *, drop: float) -> Optional[TaskLoss]:
        """Forward and backward on a batch that has gold for this task.

        RETURNS (Optional[TaskLoss]): the loss, or None if the loss or gradient was
            not finite, in which case nothing may have reached the head's parameters.
        """
        raise NotImplementedError

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from the batch's gold for this task and report the loss.

        RETURNS (Dict[str, float]): `losses`, with this head's mean loss added.
        """
        name: str = self.name  # type: ignore[attr-defined]
        if losses is None:
            losses = {}
        losses.setdefault(name, 0.0)
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.update")
        if not self.has_task_gold(examples):
            return losses
        if self.encoder is None:
            raise ValueError(self._unbound_message())
        result = self.update_task(examples, drop=drop)
        if result is not None and not math.isfinite(result.loss):
            raise ValueError(f"{name}: update_task returned a non-finite loss; return None instead")
        self.encoder.report(name, result)
        if result is not None:
            losses[name] += result.loss
        if sgd not in (None, False):
            self.finish_update(sgd)  # type: ignore[attr-defined]
        return losses

    def require_encoder(self, nlp: Optional[Language]) -> None:
        """Raise unless a shared transformer trains this head; heads call this first
        in `initialize` (which keeps its spaCy signature, so that
        `[initialize.components.<name>]` settings are validated as spaCy's)."""
        if nlp is not None and self.encoder is None:
            raise ValueError(self._unbound_message())

    def _unbound_message(self) -> str:
        return (
            f"Component '{self.name}' does not listen to a shared transformer: its "  # type: ignore[attr-defined]
            "model needs a 'spacy-transformers.TransformerListener.v1' tok2vec whose "
            "upstream is an 'mtl_transformer' component placed before it."
        )
