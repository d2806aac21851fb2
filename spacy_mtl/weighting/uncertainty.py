"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018)."""

import math
from typing import Callable, Sequence, Tuple, cast

import numpy
from thinc.api import Model, Optimizer
from thinc.types import Floats1d

from ..registry import register_weighting
from .base import TaskGradients, Weighting, check_number


def _forward_log_vars(
    model: Model[None, Floats1d], X: None, is_train: bool
) -> Tuple[Floats1d, Callable[[Floats1d], None]]:
    """The model's output is its parameter, the task log-variances s (no input)."""

    def backprop(d_log_vars: Floats1d) -> None:
        model.inc_grad("log_vars", d_log_vars)

    return cast(Floats1d, model.get_param("log_vars")), backprop


def _init_log_vars(model: Model[None, Floats1d], X: None = None, Y: None = None) -> None:
    """s = 0: every task starts with weight exp(-0) = 1, as in equal weighting."""
    model.set_param("log_vars", model.ops.alloc1f(model.get_dim("nT")))


def build_log_var_model(n_tasks: int) -> Model[None, Floats1d]:
    """The learnt log-variances of `n_tasks` tasks, as a thinc model without input."""
    model: Model[None, Floats1d] = Model(
        "uncertainty",
        _forward_log_vars,
        init=_init_log_vars,
        dims={"nT": n_tasks},
        params={"log_vars": None},
    )
    model.initialize()
    return model


@register_weighting("spacy_mtl.uncertainty.v1")
class UncertaintyWeighting(Weighting):
    """Homoscedastic-uncertainty weighting with one learnt log-variance per task.

    The joint objective is

        L = Σ_t exp(-s_t) L_t + s_t,        s_t = log σ_t²,

    so task t weighs w_t = exp(-s_t) and s_t gets dL/ds_t = 1 - exp(-s_t) L_t, whose
    root is s_t = log L_t: at the optimum every weighted loss exp(-s_t) L_t equals 1.
    The paper derives ½·exp(-s)·L + ½·s for a Gaussian (regression) likelihood and
    exp(-s)·L + ½·s for a softmax (classification) one; here all heads are
    classifiers, but the classification form's optimum s = log 2L would treat tasks
    differently from any regression head one might add, and the ½ on the regression
    data term only rescales every weight by ½. We use the unit form above (as LibMTL
    and most follow-ups do): one rule for every task, optimum at w_t = 1/L_t, weights
    starting at 1 like equal weighting. The `+ s_t` term only shapes s; the encoder
    sees Σ_t exp(-s_t) g_t.

    s lives in `self.model` and is stepped by the training optimizer in
    `finish_update`, with the optimizer's learning rate times `lr_scale`. s is kept
    in [min_log_var, max_log_var] so every weight stays within
    [exp(-max_log_var), exp(-min_log_var)]: as L_t → 0 the unbounded optimum
    s_t = log L_t → -∞ would give the task an unbounded weight.
    """

    def __init__(
        self, min_log_var: float = -6.0, max_log_var: float = 10.0, lr_scale: float = 1.0
    ) -> None:
        super().__init__()
        check_number(self.name, "min_log_var", min_log_var)
        check_number(self.name, "max_log_var", max_log_var, greater_than=min_log_var)
        check_number(self.name, "lr_scale", lr_scale, greater_than=0)
        self.min_log_var = float(min_log_var)
        self.max_log_var = float(max_log_var)
        self.lr_scale = float(lr_scale)

    def initialize(self, tasks: Sequence[str]) -> None:
        super().initialize(tasks)
        self.model = build_log_var_model(len(self.tasks))

    def log_var_model(self) -> Model[None, Floats1d]:
        """The model that holds s: built by `initialize`, or for `self.tasks` when a
        weighting loaded from disk without `initialize` restores its state."""
        if self.model is None:
            self.model = build_log_var_model(len(self.tasks))
        return self.model

    def log_vars(self) -> numpy.ndarray:
        """The current s of every task in `self.tasks`, as a float64 host array."""
        model = self.log_var_model()
        return numpy.asarray(model.ops.to_numpy(model.get_param("log_vars")), dtype="float64")

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        return numpy.exp(-self.log_vars()[self.index(step.tasks)])

    def combine(self, step: TaskGradients) -> Tuple[Floats1d, numpy.ndarray]:
        """Weight the gradients by exp(-s_t) and add dL/ds_t for the tasks present."""
        model = self.log_var_model()
        log_vars, backprop = model.begin_update(None)
        s = numpy.asarray(model.ops.to_numpy(log_vars), dtype="float64")
        idx = self.index(step.tasks)
        # For L_t >= exp(max_log_var) the clamped optimum of s_t is max_log_var
        # whatever L_t is, so capping L_t there leaves the solution unchanged and
        # keeps the gradient finite for huge losses.
        losses = numpy.minimum(step.losses, math.exp(self.max_log_var))
        d_s = numpy.zeros_like(s)
        d_s[idx] = 1.0 - numpy.exp(-s[idx]) * losses
        backprop(model.ops.asarray1f(d_s.tolist()))
        return super().combine(step)

    def finish_update(self, sgd: Optimizer) -> None:
        """Step s with the training optimizer (learning rate × lr_scale), then clamp it."""
        model = self.model
        if model is None or not model.has_grad("log_vars"):
            return
        param, _ = sgd(
            (model.id, "log_vars"),
            model.get_param("log_vars"),
            model.get_grad("log_vars"),
            lr_scale=self.lr_scale,
        )
        model.set_param("log_vars", model.ops.xp.clip(param, self.min_log_var, self.max_log_var))

    def set_state(self, state: dict) -> None:
        # A weighting loaded from disk without `initialize` needs its model before
        # `from_bytes` can restore s into it.
        self.log_var_model()
