"""Helpers shared by the weighting tests: steps from plain lists, and the checks every
strategy must pass (robust weights, save/restore, registration)."""
from typing import Callable, List, Optional, Sequence

import numpy
import pytest
from spacy.util import registry
from thinc.api import Adam

import spacy_mtl.weighting  # noqa: F401  (registers the strategies)
from spacy_mtl.weighting import TaskGradients, Weighting

TASKS = ["a", "b", "c"]


def make_step(tasks: Sequence[str], losses: Sequence[float], grads: Sequence[Sequence[float]]) -> TaskGradients:
    return TaskGradients(
        tasks=list(tasks),
        losses=numpy.asarray(losses, dtype="float64"),
        grads=numpy.asarray(grads, dtype="float32"),
    )


def random_steps(n: int, seed: int = 0, dim: int = 16) -> List[TaskGradients]:
    """n steps over TASKS with varied subsets, extreme losses and random gradients."""
    rng = numpy.random.default_rng(seed)
    subsets = [["a", "b", "c"], ["a", "c"], ["b"], ["a", "b", "c"], ["b", "c"], ["a"]]
    extreme = [0.0, 1e30, 1e-300, 1e300, 1.0, 0.5, 3.0]
    steps = []
    for i in range(n):
        tasks = subsets[i % len(subsets)]
        losses = [extreme[(i + j) % len(extreme)] for j in range(len(tasks))]
        grads = rng.standard_normal((len(tasks), dim))
        steps.append(make_step(tasks, losses, grads))
    return steps


def run(weighting: Weighting, steps: Sequence[TaskGradients], sgd: Optional[Adam] = None) -> list:
    """combine() each step (and finish_update with `sgd`); returns the outputs."""
    outputs = []
    for step in steps:
        combined, weights = weighting.combine(step)
        outputs.append((numpy.asarray(combined), numpy.asarray(weights)))
        if sgd is not None:
            weighting.finish_update(sgd)
    return outputs


@pytest.fixture
def check_robust() -> Callable[[Callable[[], Weighting]], None]:
    """Weights finite and >= 0, outputs finite, under zero, tiny and huge losses, with
    tasks missing from steps and steps with a single task."""

    def check(factory: Callable[[], Weighting]) -> None:
        weighting = factory()
        weighting.initialize(TASKS)
        steps = random_steps(60)
        for step, (combined, weights) in zip(steps, run(weighting, steps, Adam(0.05))):
            assert weights.shape == (len(step.tasks),)
            assert numpy.isfinite(weights).all() and (weights >= 0).all(), (step.losses, weights)
            assert combined.shape == (step.grads.shape[1],)
            assert numpy.isfinite(combined).all()

    return check


@pytest.fixture
def check_round_trip() -> Callable[[Callable[[], Weighting]], None]:
    """A weighting restored by from_bytes (without initialize, as when a saved
    pipeline is loaded) gives the same next outputs as the original."""

    def check(factory: Callable[[], Weighting]) -> None:
        original = factory()
        original.initialize(TASKS)
        steps = random_steps(23, seed=1)
        run(original, steps[:15], Adam(0.05))
        restored = factory().from_bytes(original.to_bytes())
        assert restored.tasks == TASKS
        for (c1, w1), (c2, w2) in zip(run(original, steps[15:]), run(restored, steps[15:])):
            numpy.testing.assert_array_equal(w1, w2)
            numpy.testing.assert_array_equal(c1, c2)

    return check


@pytest.fixture
def check_registered() -> Callable[..., None]:
    """The registered name builds an instance of `cls` from a config block."""

    def check(name: str, cls: type, **args) -> Weighting:
        weighting = registry.resolve({"w": {"@mtl_weightings": name, **args}})["w"]
        assert isinstance(weighting, cls)
        assert weighting.name == name
        return weighting

    return check


@pytest.fixture(name="make_step")
def make_step_fixture() -> Callable[..., TaskGradients]:
    """make_step(tasks, losses, grads) from plain lists."""
    return make_step


@pytest.fixture(name="run")
def run_fixture() -> Callable[..., list]:
    """run(weighting, steps, sgd=None) -> [(combined, weights), ...]."""
    return run
