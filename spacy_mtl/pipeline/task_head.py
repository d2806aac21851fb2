"""The contract between a task head and the shared transformer it listens to.

docs/design.md ("One step, one backward pass") describes the contract's four steps
and "Scale" what the transformer does with a head's loss; `spacy_mtl.types` names
what crosses it. A user's own head subclasses `TaskHead` before its spaCy base class,
`class MyHead(TaskHead, Tagger)`, and implements `has_task_gold` and `update_task`;
`tests/pipeline/test_user_head.py` does this for a tagger.
"""

import math
from abc import ABC, abstractmethod
from typing import Dict, Iterable, List, Optional, Protocol, runtime_checkable

from spacy.language import Language
from spacy.training import Example, validate_examples
from thinc.api import Optimizer

from ..errors import Errors
from ..types import TaskLoss, TaskReport

__all__ = ["LISTENER_CONFIG", "ComponentHost", "SharedEncoder", "TaskHead", "TaskLoss"]

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


class SharedEncoder(Protocol):
    """What a head may call on the shared transformer it is bound to."""

    name: str

    def report(self, task: str, result: TaskReport) -> None:
        """Close `task` for the current batch: its loss, or None to sit it out."""


@runtime_checkable
class ComponentHost(Protocol):
    """What `TaskHead` reads from the spaCy component it is mixed into (a
    `TrainablePipe`, such as `Tagger`)."""

    name: str

    def finish_update(self, sgd: Optimizer) -> None:
        """Step the component's parameters."""


def check_teacher_weight(name: str, value: float) -> float:
    """A head's `teacher_weight` setting as a float, or a ValueError naming the head
    unless it is a finite number >= 0.

    name (str): the head's component name.
    value (float): the setting.
    RETURNS (float): the weight.
    """
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(Errors.E017.format(name=name, value=value))
    return float(value)


def abstract_methods(cls: type) -> List[str]:
    """The methods `cls` leaves abstract, found from the methods themselves (as ABC
    does when it creates the class), sorted.

    cls (type): a class.
    RETURNS (List[str]): their names.
    """
    declared = set().union(*(getattr(base, "__abstractmethods__", ()) for base in cls.__mro__))
    return sorted(
        name
        for name in declared
        if getattr(getattr(cls, name, None), "__isabstractmethod__", False)
    )


class TaskHead(ABC):
    """Mixin for heads that train under a shared `MultiTaskTransformer`.

    Put it before the spaCy component class: `class MyHead(TaskHead, Tagger)`. It
    provides `update`, which skips batches without gold for the task, calls
    `update_task` and reports the result to the bound encoder.
    """

    #: The shared transformer, set by it when it registers this head's listener.
    encoder: Optional[SharedEncoder] = None

    def bind_encoder(self, encoder: Optional[SharedEncoder]) -> None:
        """Called by the shared transformer that trains this head (None: unbound).

        Python refuses to create a head that leaves `has_task_gold` or `update_task`
        out, unless its spaCy base class's constructor skips that check (as a Cython
        extension type may): binding checks again.
        """
        if encoder is not None:
            self.check_contract()
        self.encoder = encoder

    def check_contract(self) -> None:
        """Raise TypeError unless this head implements the contract's methods and is
        mixed into a spaCy component."""
        missing = abstract_methods(type(self))
        if missing:
            raise TypeError(Errors.E004.format(cls=type(self).__name__, methods=", ".join(missing)))
        self.component()

    def component(self) -> ComponentHost:
        """This head as the spaCy component it is mixed into."""
        if not isinstance(self, ComponentHost):
            raise TypeError(Errors.E005.format(cls=type(self).__name__))
        return self

    @abstractmethod
    def has_task_gold(self, examples: Iterable[Example]) -> bool:
        """Whether any non-empty example of the batch is annotated for this task, by
        gold or by a teacher (see `spacy_mtl.distill.targets`) the head learns from.

        The transformer asks before the heads update, so this must hold exactly for
        the batches on which `update_task` backpropagates.
        """

    @abstractmethod
    def update_task(self, examples: List[Example], *, drop: float) -> TaskReport:
        """Forward and backward on a batch that has gold for this task: backpropagate
        the gradient of the (weighted) sum of the loss terms, as stock spaCy heads do.

        RETURNS (Optional[TaskLoss]): the loss, or None if the loss or gradient was
            not finite, in which case nothing may have reached the head's parameters.
        """

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
        component = self.component()
        if losses is None:
            losses = {}
        losses.setdefault(component.name, 0.0)
        examples = list(examples)
        validate_examples(examples, f"{type(self).__name__}.update")
        if not self.has_task_gold(examples):
            return losses
        if self.encoder is None:
            raise ValueError(Errors.E003.format(name=component.name))
        result = self.update_task(examples, drop=drop)
        if result is not None and not math.isfinite(result.loss):
            raise ValueError(Errors.E002.format(name=component.name))
        self.encoder.report(component.name, result)
        if result is not None:
            losses[component.name] += result.loss
        if sgd not in (None, False):
            component.finish_update(sgd)
        return losses

    def require_encoder(self, nlp: Optional[Language]) -> None:
        """Raise unless a shared transformer trains this head; heads call this first
        in `initialize` (which keeps its spaCy signature, so that
        `[initialize.components.<name>]` settings are validated as spaCy's)."""
        if nlp is not None and self.encoder is None:
            raise ValueError(Errors.E003.format(name=self.component().name))
