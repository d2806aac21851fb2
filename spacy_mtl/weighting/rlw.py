"""Random Loss Weighting (Lin, Ye, Xu, Shi & Zhang, TMLR 2022)."""

from thinc.types import Floats1d

from ..registry import mtl_weightings
from ._math import softmax
from .base import SeededWeighting, TaskGradients


class RLWWeighting(SeededWeighting):
    """Fresh random weights every step: w = k · softmax(ε), ε ~ N(0, I_k).

    The paper draws λ = softmax(ε) over the T tasks, so the weights sum to 1. We draw
    one ε_t per task of the step (k of them, k = T when every task has gold) and
    multiply by k, so the weights sum to k and each has mean 1 (by symmetry), like
    equal weighting. The generator is seeded by `seed` and its state is saved with
    the pipeline, so a resumed run draws the same weights as an uninterrupted one.
    """

    name = "spacy_mtl.rlw.v1"

    def weights(self, step: TaskGradients) -> Floats1d:
        """This step's random weights (each call draws new ones)."""
        k = len(step.tasks)
        return k * softmax(self.rng.standard_normal(k))


@mtl_weightings("spacy_mtl.rlw.v1")
def make_rlw_weighting(seed: int = 0) -> RLWWeighting:
    """Random loss weighting: w = k·softmax(randn(k)) each step, seeded by `seed`
    (Lin et al. 2022)."""
    return RLWWeighting(seed=seed)
