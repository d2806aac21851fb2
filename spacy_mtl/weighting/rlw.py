"""Random Loss Weighting (Lin, Ye, Xu, Shi & Zhang, TMLR 2022)."""

import numpy

from ..registry import register_weighting
from .base import SeededWeighting, TaskGradients
from .numerics import softmax


@register_weighting("spacy_mtl.rlw.v1")
class RLWWeighting(SeededWeighting):
    """Fresh random weights every step: w = k · softmax(ε), ε ~ N(0, I_k).

    The paper draws λ = softmax(ε) over the T tasks, so the weights sum to 1. We draw
    one ε_t per task of the step (k of them, k = T when every task has gold); times k,
    each weight has mean 1 (by symmetry), as docs/design.md's "Scale" asks. The
    generator is seeded by `seed` and its state is saved with the pipeline, so a
    resumed run draws the same weights as an uninterrupted one.
    """

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        """This step's random weights (each call draws new ones)."""
        k = len(step.tasks)
        return k * softmax(self.rng.standard_normal(k))
