"""MGDA-UB: multi-task learning as multi-objective optimisation (Sener & Koltun, NeurIPS 2018)."""

import numpy

from ..errors import Errors
from ..registry import register_weighting
from .base import TaskGradients, Weighting
from .numerics import gram

NORMALIZATIONS = ("none", "l2", "loss", "loss+")
#: Frank-Wolfe stops after this many iterations or when the L1 change of α falls
#: below FW_TOL (the values of the paper's code).
FW_MAX_ITER = 250
FW_TOL = 1e-5
#: Floor on the loss normalisers, so a zero loss cannot divide by zero.
MIN_LOSS = 1e-12


def min_norm_2(v1v1: float, v1v2: float, v2v2: float) -> float:
    """γ minimising ‖γ v1 + (1-γ) v2‖² over [0, 1], from the three dot products.

    γ = clip((v2 - v1)·v2 / ‖v1 - v2‖², 0, 1); 0.5 when v1 = v2 (any γ is optimal).
    """
    denom = v1v1 - 2 * v1v2 + v2v2
    if not denom > 0:
        return 0.5
    return float(numpy.clip((v2v2 - v1v2) / denom, 0.0, 1.0))


def min_norm_coefficients(gram_matrix: numpy.ndarray) -> numpy.ndarray:
    """α on the simplex minimising ‖Σ_t α_t g_t‖² = αᵀ G α, given G = gram_matrix.

    Exact for two vectors; for more, the best pair (closed form) is the start of a
    Frank-Wolfe solver with exact line search: move towards the vertex e_t with the
    smallest (G α)_t, the vertex that minimises the linearised objective.
    """
    k = len(gram_matrix)
    if k == 1:
        return numpy.ones(1)
    # The min-norm α does not change when G is scaled; scaling by its largest
    # diagonal entry makes FW_TOL meaningful whatever the gradients' magnitude.
    scale = numpy.max(numpy.diag(gram_matrix))
    G = gram_matrix / scale if scale > 0 else gram_matrix
    best_cost, alpha = numpy.inf, numpy.zeros(k)
    for i in range(k):
        for j in range(i + 1, k):
            gamma = min_norm_2(G[i, i], G[i, j], G[j, j])
            pair = numpy.zeros(k)
            pair[i], pair[j] = gamma, 1.0 - gamma
            cost = pair @ G @ pair
            if cost < best_cost:
                best_cost, alpha = cost, pair
    if k == 2:
        return alpha
    for _ in range(FW_MAX_ITER):
        G_alpha = G @ alpha
        t = int(numpy.argmin(G_alpha))
        # Line search between the current point u = Σ α g and the vertex v = g_t.
        gamma = min_norm_2(float(alpha @ G_alpha), G_alpha[t], G[t, t])
        new_alpha = gamma * alpha
        new_alpha[t] += 1.0 - gamma
        change = numpy.abs(new_alpha - alpha).sum()
        alpha = new_alpha
        if change < FW_TOL:
            break
    return alpha


@register_weighting("spacy_mtl.mgda.v1")
class MGDAWeighting(Weighting):
    """The min-norm point of the convex hull of the task gradients (MGDA-UB).

        α* = argmin_{α ∈ simplex} ‖Σ_t α_t ĝ_t‖²,    ĝ_t = g_t / n_t

    on the representation gradients: the paper's upper-bound variant, which solves
    for α on the gradients w.r.t. the shared representation instead of the shared
    parameters. For two tasks α = (γ, 1-γ) with γ = clip((ĝ2 - ĝ1)·ĝ2 / ‖ĝ1 - ĝ2‖², 0, 1);
    for more, a Frank-Wolfe solver (at most 250 iterations, tolerance 1e-5 on α).
    Everything runs on the k × k Gram matrix, so a step costs O(k²·D).

    `normalization` picks n_t as in the paper's code: "none" (1), "l2" (‖g_t‖),
    "loss" (L_t), "loss+" (L_t ‖g_t‖). Like that code, α found on the normalised
    gradients weights the raw ones: the output is k · Σ_t α_t g_t. (LibMTL, in its
    parameter-gradient mode, applies α to the normalised gradients instead.) With
    "none" the output is k times the min-norm point.

    α sums to 1; the reported weights are k · α (docs/design.md, "Scale").
    """

    def __init__(self, normalization: str = "none") -> None:
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                Errors.E059.format(
                    name=self.name, options=list(NORMALIZATIONS), value=normalization
                )
            )
        self.normalization = normalization

    def normalized_gram(self, step: TaskGradients) -> numpy.ndarray:
        """ĝ_i·ĝ_j up to one common positive factor (which leaves α unchanged).

        Written as cos_ij · s_i · s_j with s_t = ‖g_t‖ / n_t taken in log space and
        divided by its max, so that no product of huge losses or norms overflows.
        """
        G = gram(step.grads)
        norms = numpy.sqrt(numpy.diag(G))
        nonzero = norms > 0
        if not nonzero.any():
            return G
        log_norms = numpy.log(numpy.where(nonzero, norms, 1.0))
        log_losses = numpy.log(numpy.maximum(step.losses, MIN_LOSS))
        log_n = {
            "none": numpy.zeros_like(log_norms),
            "l2": log_norms,
            "loss": log_losses,
            "loss+": log_losses + log_norms,
        }[self.normalization]
        log_s = log_norms - log_n
        s = numpy.where(nonzero, numpy.exp(log_s - log_s[nonzero].max()), 0.0)
        safe_norms = numpy.where(nonzero, norms, 1.0)
        cos = G / numpy.outer(safe_norms, safe_norms)
        return cos * numpy.outer(s, s)

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        return len(step.tasks) * min_norm_coefficients(self.normalized_gram(step))
