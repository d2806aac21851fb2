"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019)."""

from typing import Any, Dict, Sequence, Tuple

import numpy
from thinc.types import Floats1d

from ..registry import register_weighting
from .base import TaskGradients, Weighting, check_number
from .numerics import nan_vector, softmax, state_vector

#: Cap on the loss ratio r_t. Any finite cap keeps the softmax finite; at 1e6 the
#: softmax is one-hot for every temperature that makes sense for ratios near 1.
MAX_RATIO = 1e6
#: Added to both window averages, so that a ratio of two zero losses is 1.
RATIO_EPS = 1e-12


@register_weighting("spacy_mtl.dwa.v1")
class DWAWeighting(Weighting):
    """Weights from the rate at which each task's loss falls.

        w_t = T · softmax(r / τ)_t,    r_t = L̄_t(last window) / L̄_t(window before)

    The paper averages losses over epochs; spaCy trains by steps, so L̄_t is the mean
    of task t's losses over a window of `window` steps (counting every step, and
    averaging over the steps on which t had gold). A task whose loss falls slowly
    (r_t near or above 1) gains weight. Every weight is 1 until a task has two
    complete windows; a task without two windows yet counts as r_t = 1 (no change).
    The T weights sum to T (the number of tasks given to `initialize`); a step with
    a subset of the tasks uses those tasks' entries. A window in which a task never
    appears leaves its averages as they were.
    """

    _VECTORS = ("window_mean", "window_count", "last", "before")

    def __init__(self, window: int = 50, temperature: float = 2.0) -> None:
        super().__init__()
        check_number(self.name, "window", window, integer=True, at_least=1)
        check_number(self.name, "temperature", temperature, greater_than=0)
        self.window = window
        self.temperature = float(temperature)

    def initialize(self, tasks: Sequence[str]) -> None:
        super().initialize(tasks)
        n = len(self.tasks)
        self.n_steps = 0  # steps in the current window
        self.window_mean = numpy.zeros(n)  # running mean over the current window
        self.window_count = numpy.zeros(n)  # steps of the current window with the task
        self.last = nan_vector(n)  # L̄ of the last complete window (NaN: none yet)
        self.before = nan_vector(n)  # L̄ of the window before it

    def all_weights(self) -> numpy.ndarray:
        """The weight of every task in `self.tasks` from the windows closed so far."""
        ratios = numpy.ones(len(self.tasks))
        known = ~(numpy.isnan(self.last) | numpy.isnan(self.before))
        with numpy.errstate(over="ignore"):
            ratios[known] = (self.last[known] + RATIO_EPS) / (self.before[known] + RATIO_EPS)
        ratios = numpy.minimum(ratios, MAX_RATIO)
        return len(self.tasks) * softmax(ratios / self.temperature)

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        return self.all_weights()[self.index(step.tasks)]

    def combine(self, step: TaskGradients) -> Tuple[Floats1d, numpy.ndarray]:
        result = super().combine(step)
        self._record(step)
        return result

    def _record(self, step: TaskGradients) -> None:
        """Add the step's losses to the current window; close it after `window` steps."""
        idx = self.index(step.tasks)
        self.window_count[idx] += 1
        # A running mean rather than a sum: sums of losses near the float64 maximum
        # would overflow.
        self.window_mean[idx] += (step.losses - self.window_mean[idx]) / self.window_count[idx]
        self.n_steps += 1
        if self.n_steps < self.window:
            return
        seen = self.window_count > 0
        self.before[seen] = self.last[seen]
        self.last[seen] = self.window_mean[seen]
        self.n_steps = 0
        self.window_mean[:] = 0.0
        self.window_count[:] = 0.0

    def get_state(self) -> Dict[str, Any]:
        return {
            "n_steps": self.n_steps,
            **{key: getattr(self, key).tolist() for key in self._VECTORS},
        }

    def set_state(self, state: Dict[str, Any]) -> None:
        self.n_steps = int(state["n_steps"])
        for key in self._VECTORS:
            setattr(self, key, state_vector(state, key))
