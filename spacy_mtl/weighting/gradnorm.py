"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018)."""

from typing import Any, Dict, Sequence, Tuple

import numpy
from thinc.types import Floats1d

from ..registry import register_weighting
from .base import TaskGradients, Weighting, check_number
from .numerics import nan_vector, row_norms, safe_log, softmax, state_vector

#: The floor on every weight before the renormalisation, so no task is switched off
#: for good (a weight of 0 would also zero its gradient norm and the update).
MIN_WEIGHT = 1e-3


@register_weighting("spacy_mtl.gradnorm.v1")
class GradNormWeighting(Weighting):
    """Learn weights that equalise the tasks' gradient norms, adjusted by training rate.

    On the representation gradients g_t (the paper's "last shared layer", and its
    cheap variant), with the current weights w:

        G_t = ‖w_t g_t‖,   Ḡ = mean_t G_t,
        r_t = (L_t / L_t(0)) / mean_s (L_s / L_s(0)),     L_t(0): first loss seen
        L_grad = Σ_t |G_t - Ḡ r_t^α|,  with Ḡ r_t^α held constant.

    A task whose loss ratio has fallen least (r_t > 1, it trains slowest) gets a
    larger target norm and so a larger weight. The step's combined gradient uses the
    current w; then w takes one plain gradient step on L_grad / Ḡ:

        w_t ← w_t - learning_rate · sign(G_t - Ḡ r_t^α) · ‖g_t‖ / Ḡ

    The paper steps w with the network's optimizer on L_grad itself, whose gradient
    scales with the gradient norms; those vary by orders of magnitude between
    encoders and batch sizes at the representation. Dividing by the (constant) Ḡ
    makes the step scale-free: each step moves a weight by about `learning_rate`
    relative to the mean weight, without a second optimizer whose state would have
    to be saved. Then w ≥ MIN_WEIGHT, and the tasks of the step are rescaled to keep
    their previous sum, so Σ_t w_t = T over all tasks (the paper's renormalisation)
    and absent tasks keep their weights. r_t is computed in log space as
    k·softmax(log L_t - log L_t(0)) over the k tasks of the step, so zero or huge
    losses give a finite r_t in [0, k].
    """

    def __init__(self, alpha: float = 1.5, learning_rate: float = 0.025) -> None:
        super().__init__()
        check_number(self.name, "alpha", alpha, at_least=0)
        check_number(self.name, "learning_rate", learning_rate, greater_than=0)
        self.alpha = float(alpha)
        self.learning_rate = float(learning_rate)

    def initialize(self, tasks: Sequence[str]) -> None:
        super().initialize(tasks)
        self.task_weights = numpy.ones(len(self.tasks))
        self.initial_log_losses = nan_vector(len(self.tasks))  # NaN: task not seen yet

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        return self.task_weights[self.index(step.tasks)].copy()

    def combine(self, step: TaskGradients) -> Tuple[Floats1d, numpy.ndarray]:
        result = super().combine(step)
        self._update(step)
        return result

    def _update(self, step: TaskGradients) -> None:
        idx = self.index(step.tasks)
        log_losses = safe_log(step.losses)
        first = numpy.isnan(self.initial_log_losses[idx])
        self.initial_log_losses[idx[first]] = log_losses[first]

        w = self.task_weights[idx]
        norms = row_norms(step.grads)
        G = w * norms
        G_mean = G.mean()
        if not G_mean > 0:  # all gradients zero: no norm to balance
            return
        r = len(idx) * softmax(log_losses - self.initial_log_losses[idx])
        target = G_mean * r**self.alpha
        d_w = numpy.sign(G - target) * norms / G_mean
        new_w = numpy.maximum(w - self.learning_rate * d_w, MIN_WEIGHT)
        self.task_weights[idx] = new_w * (w.sum() / new_w.sum())

    def get_state(self) -> Dict[str, Any]:
        return {
            "task_weights": self.task_weights.tolist(),
            "initial_log_losses": self.initial_log_losses.tolist(),
        }

    def set_state(self, state: Dict[str, Any]) -> None:
        self.task_weights = state_vector(state, "task_weights")
        self.initial_log_losses = state_vector(state, "initial_log_losses")
