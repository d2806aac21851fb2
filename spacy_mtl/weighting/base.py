"""The contract between the shared transformer and a multi-task weighting strategy.

Every training step, `MultiTaskTransformer` hands its weighting a `TaskGradients`: the
tasks that had gold in the batch, each task's true loss (what the head reports: a mean
negative log-likelihood) and each task's gradient with respect to the shared
representation (what the head's listener sends back), flattened to one row per task.
The weighting returns the single gradient that goes into the one backward pass through
the transformer, plus the weight it gave each task (for logs and traces). The scale of
both, and of the weights, is docs/design.md's "Scale".

A strategy that only re-weights losses overrides `weights`; one that combines gradients
in another way (projection, min-norm) overrides `combine`. State that must survive
`nlp.to_disk` goes through `get_state` / `set_state`; learnable parameters live in
`self.model`, a thinc `Model` that the training optimizer updates.
"""

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
import srsly
from thinc.api import Model, Optimizer, get_array_module
from thinc.types import Floats1d, Floats2d

from ..errors import Errors


def check_number(
    owner: str,
    arg: str,
    value: Any,
    *,
    greater_than: Optional[float] = None,
    at_least: Optional[float] = None,
    integer: bool = False,
) -> None:
    """Raise ValueError naming `owner` and `arg` unless `value` is a finite number
    (an int when `integer`) above the given bound."""
    if integer:
        ok_type = isinstance(value, int) and not isinstance(value, bool)
        kind = "an integer"
    else:
        ok_type = (
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        )
        kind = "a finite number"
    if not ok_type:
        raise ValueError(Errors.E050.format(owner=owner, arg=arg, kind=kind, value=value))
    if at_least is not None and value < at_least:
        raise ValueError(Errors.E051.format(owner=owner, arg=arg, bound=at_least, value=value))
    if greater_than is not None and value <= greater_than:
        raise ValueError(Errors.E052.format(owner=owner, arg=arg, bound=greater_than, value=value))


@dataclass
class TaskGradients:
    """One training step's input to a weighting.

    tasks: names of the heads that contributed to this batch, in pipeline order.
    losses: their true losses, a float64 host array of shape (len(tasks),).
    grads: their representation gradients, one flattened row per task, on the
        device of the transformer (numpy or cupy), shape (len(tasks), n_values).
    """

    tasks: List[str]
    losses: numpy.ndarray
    grads: Floats2d


class Weighting:
    """Base class of the strategies in the `mtl_weightings` registry."""

    #: The registered name, used in error messages and traces.
    name: str = "weighting"

    def __init__(self) -> None:
        self.tasks: List[str] = []
        self.model: Optional[Model] = None

    def initialize(self, tasks: Sequence[str]) -> None:
        """Learn the tasks (the heads listening to the shared transformer).

        Called by `nlp.initialize`. Raise ValueError for settings that do not fit the
        tasks; subclasses that keep per-task state create it here.
        """
        if not tasks:
            raise ValueError(Errors.E053.format(name=self.name))
        self.tasks = list(tasks)

    def index(self, tasks: Sequence[str]) -> numpy.ndarray:
        """Positions of `tasks` in `self.tasks`, to index per-task state."""
        return numpy.asarray([self.tasks.index(task) for task in tasks], dtype="i")

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        """The weight of each task in `step.tasks`, as a host array."""
        raise NotImplementedError(Errors.E054.format(cls=type(self).__name__))

    def combine(self, step: TaskGradients) -> Tuple[Floats1d, numpy.ndarray]:
        """Return (the combined representation gradient, the weight of each task).

        The default is the weighted sum of the task gradients.
        """
        weights = numpy.asarray(self.weights(step), dtype="float64")
        xp = get_array_module(step.grads)
        w = xp.asarray(weights, dtype=step.grads.dtype)
        # Not `w @ grads`: on numpy that matrix-vector product leaves OpenBLAS threads
        # spinning, which slows the encoder's backward pass that runs right after it.
        return (w[:, None] * step.grads).sum(axis=0), weights

    def finish_update(self, sgd: Optimizer) -> None:
        """Step the learnable parameters, if the strategy has any."""
        if self.model is not None:
            self.model.finish_update(sgd)

    def get_state(self) -> Dict[str, Any]:
        """State beyond `tasks` and `model` that must survive saving."""
        return {}

    def set_state(self, state: Dict[str, Any]) -> None:
        """Restore what `get_state` returned."""

    def to_bytes(self) -> bytes:
        msg: Dict[str, Any] = {"tasks": self.tasks, "state": self.get_state()}
        if self.model is not None:
            msg["model"] = self.model.to_bytes()
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, data: bytes) -> "Weighting":
        msg = srsly.msgpack_loads(data)
        self.tasks = list(msg["tasks"])
        self.set_state(msg["state"])
        if self.model is not None and "model" in msg:
            self.model.from_bytes(msg["model"])
        return self


def _new_rng(seed: int) -> numpy.random.Generator:
    return numpy.random.default_rng(seed)


def _rng_state(rng: numpy.random.Generator) -> str:
    """The generator's full state as JSON: PCG64 keeps 128-bit integers, which
    msgpack cannot hold but JSON (through Python's int) can."""
    return json.dumps(rng.bit_generator.state)


def _set_rng_state(rng: numpy.random.Generator, state: str) -> None:
    rng.bit_generator.state = json.loads(state)


class SeededWeighting(Weighting):
    """A strategy that draws random numbers: its generator is seeded from the config
    and its state is saved, so that a resumed run draws what an uninterrupted one
    would."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        check_number(self.name, "seed", seed, integer=True, at_least=0)
        self.seed = seed
        self.rng = _new_rng(seed)

    def initialize(self, tasks: Sequence[str]) -> None:
        super().initialize(tasks)
        self.rng = _new_rng(self.seed)

    def get_state(self) -> Dict[str, Any]:
        return {"rng": _rng_state(self.rng)}

    def set_state(self, state: Dict[str, Any]) -> None:
        _set_rng_state(self.rng, state["rng"])
