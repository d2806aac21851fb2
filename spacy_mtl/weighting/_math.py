"""Numerics and argument checks shared by the weighting strategies.

Per-task quantities (losses, weights, Gram matrices) are tiny: they live on the host
as float64. Only the (k, D) gradient matrix stays on its device; the helpers here
reduce it to host arrays in one pass so that strategies do their k- or k×k-sized
math with numpy whatever the device.
"""
import json
import math
from typing import Any, Dict, Optional

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


def new_rng(seed: int) -> numpy.random.Generator:
    return numpy.random.default_rng(seed)


def rng_state(rng: numpy.random.Generator) -> str:
    """The generator's full state as JSON: PCG64 keeps 128-bit integers, which
    msgpack cannot hold but JSON (through Python's int) can."""
    return json.dumps(rng.bit_generator.state)


def set_rng_state(rng: numpy.random.Generator, state: str) -> None:
    rng.bit_generator.state = json.loads(state)


def nan_vector(n: int) -> numpy.ndarray:
    """A per-task float64 vector in which NaN marks "not seen yet"."""
    return numpy.full(n, numpy.nan, dtype="float64")


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
        ok_type = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        kind = "a finite number"
    if not ok_type:
        raise ValueError(f"{owner}: {arg} must be {kind}, got {value!r}")
    if at_least is not None and value < at_least:
        raise ValueError(f"{owner}: {arg} must be >= {at_least}, got {value!r}")
    if greater_than is not None and value <= greater_than:
        raise ValueError(f"{owner}: {arg} must be > {greater_than}, got {value!r}")


def state_vector(state: Dict[str, Any], key: str) -> numpy.ndarray:
    """A float64 per-task vector back from what `get_state` stored."""
    return numpy.asarray(state[key], dtype="float64")
