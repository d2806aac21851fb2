"""Helpers shared by the weighting tests: steps from plain lists."""

from typing import Callable, Sequence

import numpy
import pytest

import spacy_mtl.weighting  # noqa: F401  (registers the strategies)
from spacy_mtl.weighting import TaskGradients
from spacy_mtl.weighting.checks import run


def make_step(
    tasks: Sequence[str], losses: Sequence[float], grads: Sequence[Sequence[float]]
) -> TaskGradients:
    return TaskGradients(
        tasks=list(tasks),
        losses=numpy.asarray(losses, dtype="float64"),
        grads=numpy.asarray(grads, dtype="float32"),
    )


@pytest.fixture(name="make_step")
def make_step_fixture() -> Callable[..., TaskGradients]:
    """make_step(tasks, losses, grads) from plain lists."""
    return make_step


@pytest.fixture(name="run")
def run_fixture() -> Callable[..., list]:
    """run(weighting, steps, sgd=None) -> [(combined, weights), ...]."""
    return run
