"""FAMO: Fast Adaptive Multitask Optimization (Liu, Liu, Jin, Stone & Liu, NeurIPS 2023)."""

from typing import Any, Dict, Sequence, Tuple

import numpy
from thinc.types import Floats1d

from ..registry import register_weighting
from .base import TaskGradients, Weighting, check_number
from .numerics import nan_vector, safe_log, softmax, state_vector

# Adam's constants for the logits, as in the paper's code (torch.optim.Adam defaults).
BETA1 = 0.9
BETA2 = 0.999
ADAM_EPS = 1e-8


@register_weighting("spacy_mtl.famo.v1")
class FAMOWeighting(Weighting):
    """Balance the rates at which the tasks' log-losses fall, in O(k) per step.

    FAMO keeps task logits ξ (0 at the start), z = softmax(ξ), and steps the model
    along the gradient of Σ_t z_t log L_t normalised by c = (Σ_t z_t / L_t)^-1:

        w_t = c · z_t / L_t  =  softmax(ξ - log L)_t

    (the normaliser c cancels inside the softmax; L_t + 1e-8 stands for L_t so a zero
    loss stays finite). The paper's weights sum to 1; ours sum to k, the number of tasks
    in the step (docs/design.md, "Scale").

    After each step the paper measures δ_t = log L_t(θ_old) - log L_t(θ_new) on the
    same batch and moves ξ to shrink the weight of tasks whose log-loss fell most:

        ξ ← ξ - β (J_z(ξ)ᵀ δ + γ ξ),     (J_z(ξ)ᵀ δ)_j = z_j (δ_j - Σ_t z_t δ_t)

    i.e. a step down the gradient of Σ_t z_t δ_t with weight decay γ; its code takes
    this step with Adam (lr β, weight_decay γ), and so do we. spaCy runs one forward
    pass per batch, so the loss of the next step on which the task is present stands
    in for L_t(θ_new): δ_t = log L_t(previous step with t) - log L_t(this step). This
    adds batch noise to δ but needs no second forward pass. At the start of a step we
    first update ξ from δ of the tasks seen before, then weight with the new ξ, which
    is the paper's order (update after step n, weights for step n+1).

    On a step with a subset P of the tasks, z and its Jacobian are taken over P only,
    and only P's logits (and their Adam moments, counted per task) move: a task's
    logit only changes relative to tasks it was compared with.
    """

    _STATE = ("logits", "prev_log_losses", "adam_m", "adam_v", "adam_steps")

    def __init__(self, learning_rate: float = 0.025, weight_decay: float = 0.001) -> None:
        super().__init__()
        check_number(self.name, "learning_rate", learning_rate, greater_than=0)
        check_number(self.name, "weight_decay", weight_decay, at_least=0)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)

    def initialize(self, tasks: Sequence[str]) -> None:
        super().initialize(tasks)
        n = len(self.tasks)
        self.logits = numpy.zeros(n)
        self.prev_log_losses = nan_vector(n)  # NaN: task not seen yet
        self.adam_m = numpy.zeros(n)
        self.adam_v = numpy.zeros(n)
        self.adam_steps = numpy.zeros(n)

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        """k · softmax(ξ - log L) over the step's tasks; call `combine` to also learn ξ."""
        idx = self.index(step.tasks)
        return len(idx) * softmax(self.logits[idx] - safe_log(step.losses))

    def combine(self, step: TaskGradients) -> Tuple[Floats1d, numpy.ndarray]:
        self._update_logits(step)
        return super().combine(step)

    def _update_logits(self, step: TaskGradients) -> None:
        idx = self.index(step.tasks)
        log_losses = safe_log(step.losses)
        prev = self.prev_log_losses[idx]
        self.prev_log_losses[idx] = log_losses
        seen = ~numpy.isnan(prev)
        idx, delta = idx[seen], prev[seen] - log_losses[seen]
        if len(idx) == 0:
            return
        z = softmax(self.logits[idx])
        grad = z * (delta - z @ delta) + self.weight_decay * self.logits[idx]
        self.adam_steps[idx] += 1
        self.adam_m[idx] = BETA1 * self.adam_m[idx] + (1 - BETA1) * grad
        self.adam_v[idx] = BETA2 * self.adam_v[idx] + (1 - BETA2) * grad**2
        m_hat = self.adam_m[idx] / (1 - BETA1 ** self.adam_steps[idx])
        v_hat = self.adam_v[idx] / (1 - BETA2 ** self.adam_steps[idx])
        self.logits[idx] -= self.learning_rate * m_hat / (numpy.sqrt(v_hat) + ADAM_EPS)

    def get_state(self) -> Dict[str, Any]:
        return {key: getattr(self, key).tolist() for key in self._STATE}

    def set_state(self, state: Dict[str, Any]) -> None:
        for key in self._STATE:
            setattr(self, key, state_vector(state, key))
