"""Numerics shared by the weighting strategies (and the gradient cosines the
shared transformer traces).

Per-task quantities (losses, weights, Gram matrices) are tiny: they live on the host
as float64. Only the (k, D) gradient matrix stays on its device; the helpers here
reduce it to host arrays in one pass so that strategies do their k- or k×k-sized
math with numpy whatever the device.
"""

from typing import Any, Dict

import numpy
from thinc.api import get_array_module
from thinc.types import Floats2d
from thinc.util import to_numpy

#: Added to losses before taking their logarithm, so that a zero loss stays finite.
LOG_EPS = 1e-8


def softmax(x: numpy.ndarray) -> numpy.ndarray:
    """Softmax of a finite host vector, shifted by its max so no exp overflows."""
    x = numpy.asarray(x, dtype="float64")
    e = numpy.exp(x - x.max())
    return e / e.sum()


def safe_log(losses: numpy.ndarray) -> numpy.ndarray:
    """log(L + LOG_EPS): finite for every finite L >= 0."""
    return numpy.log(numpy.asarray(losses, dtype="float64") + LOG_EPS)


def gram(grads: Floats2d) -> numpy.ndarray:
    """The (k, k) matrix of dot products g_i·g_j, in float64 on the host.

    Accumulated in float64 so that sums over D ~ 10^6 float32 values neither lose
    precision nor overflow. Cost O(k²·D), on the gradients' device.
    """
    xp = get_array_module(grads)
    g = grads.astype(xp.float64)
    return numpy.asarray(to_numpy(g @ g.T), dtype="float64")


def row_norms(grads: Floats2d) -> numpy.ndarray:
    """‖g_t‖ per row, in float64 on the host. Cost O(k·D)."""
    xp = get_array_module(grads)
    g = grads.astype(xp.float64)
    return numpy.asarray(to_numpy(xp.sqrt((g * g).sum(axis=1))), dtype="float64")


def nan_vector(n: int) -> numpy.ndarray:
    """A per-task float64 vector in which NaN marks "not seen yet"."""
    return numpy.full(n, numpy.nan, dtype="float64")


def state_vector(state: Dict[str, Any], key: str) -> numpy.ndarray:
    """A float64 per-task vector back from what `get_state` stored."""
    return numpy.asarray(state[key], dtype="float64")


def cosines(grads: Floats2d) -> numpy.ndarray:
    """The cosine between every pair of rows (0 where a row is zero), in float64 on
    the host: between task gradients at the shared representation, negative where
    the tasks pull it apart, exactly 0 where they touch disjoint docs.

    grads (Floats2d): one flattened gradient per task.
    RETURNS (numpy.ndarray): the (k, k) matrix.
    """
    products = gram(grads)
    norms = numpy.sqrt(numpy.diag(products))
    scale = numpy.outer(norms, norms)
    return numpy.divide(products, scale, out=numpy.zeros_like(products), where=scale > 0)
