"""PCGrad: gradient surgery (Yu, Kumar, Gupta, Levine, Hausman & Finn, NeurIPS 2020)."""

from typing import Iterable, Sequence

import numpy

from ..registry import register_weighting
from .base import SeededWeighting, TaskGradients
from .numerics import gram


def project_conflicting(
    gram_matrix: numpy.ndarray, orders: Sequence[Iterable[int]]
) -> numpy.ndarray:
    """PCGrad's projections, as coefficients on the original gradients.

    For each task i and each j in `orders[i]` (the other tasks, in order):

        if g_i^PC · g_j < 0:  g_i^PC ← g_i^PC - (g_i^PC · g_j / ‖g_j‖²) g_j

    starting from g_i^PC = g_i. Every g_i^PC stays a combination Σ_m A[i, m] g_m of
    the original gradients, so the dot products follow from the Gram matrix alone:
    g_i^PC · g_j = (A[i] @ gram)[j]. Returns A (k × k). A[i, i] = 1 and each
    projection adds -(dot / ‖g_j‖²) > 0 to A[i, j], so A ≥ 0.
    """
    k = len(gram_matrix)
    coefs = numpy.eye(k)
    for i in range(k):
        for j in orders[i]:
            dot = coefs[i] @ gram_matrix[:, j]
            if dot < 0 and gram_matrix[j, j] > 0:
                coefs[i, j] -= dot / gram_matrix[j, j]
    return coefs


@register_weighting("spacy_mtl.pcgrad.v1")
class PCGradWeighting(SeededWeighting):
    """Project each task gradient off the gradients it conflicts with, then sum.

    For each task i, the other tasks j come in a fresh random order (a seeded
    generator whose state is saved with the pipeline); whenever g_i^PC · g_j < 0,
    g_i^PC loses its component along g_j. The output is Σ_i g_i^PC, on the
    representation gradients (the paper projects parameter gradients). Like equal
    weighting it sums k gradients, so its scale is comparable.

    The projected sum is a linear combination Σ_t c_t g_t of the original gradients,
    computed from their k × k Gram matrix (O(k²·D) once, then O(k·D) for the sum). The
    reported weights are these effective coefficients c_t = Σ_i A[i, t]: 1 for a task
    in no conflict, more than 1 when other tasks' projections add some of its gradient
    back. They are non-negative and finite.
    """

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        """The effective coefficients c; draws the step's random orders."""
        k = len(step.tasks)
        orders = [self.rng.permutation([j for j in range(k) if j != i]) for i in range(k)]
        return project_conflicting(gram(step.grads), orders).sum(axis=0)
