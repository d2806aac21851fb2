"""The contract every weighting strategy must keep, as checks a test suite can call.

spacy-mtl runs them over every registered strategy (tests/weighting/test_contract.py);
run them over your own in a test: ``check_weighting(lambda: MyWeighting(...))``.
"""

from typing import Callable, List, Optional, Sequence, Tuple, cast

import numpy
from thinc.api import Adam, Optimizer
from thinc.types import Floats2d

from .base import TaskGradients, Weighting

TASKS = ["a", "b", "c"]
#: Losses a strategy must survive: zero, tiny, huge and ordinary.
EXTREME_LOSSES = [0.0, 1e30, 1e-300, 1e300, 1.0, 0.5, 3.0]
#: The tasks of successive steps: subsets, single tasks and all of them.
SUBSETS = [["a", "b", "c"], ["a", "c"], ["b"], ["a", "b", "c"], ["b", "c"], ["a"]]


def random_steps(n: int, seed: int = 0, dim: int = 16) -> List[TaskGradients]:
    """n steps over TASKS with varied subsets, extreme losses and random gradients."""
    rng = numpy.random.default_rng(seed)
    steps = []
    for i in range(n):
        tasks = SUBSETS[i % len(SUBSETS)]
        losses = [EXTREME_LOSSES[(i + j) % len(EXTREME_LOSSES)] for j in range(len(tasks))]
        grads = cast(Floats2d, rng.standard_normal((len(tasks), dim)).astype("float32"))
        steps.append(TaskGradients(list(tasks), numpy.asarray(losses, dtype="float64"), grads))
    return steps


def run(
    weighting: Weighting, steps: Sequence[TaskGradients], sgd: Optional[Optimizer] = None
) -> List[Tuple[numpy.ndarray, numpy.ndarray]]:
    """combine() each step, and finish_update with `sgd` after each.

    RETURNS (List[Tuple[ndarray, ndarray]]): the (combined, weights) of every step.
    """
    outputs = []
    for step in steps:
        combined, weights = weighting.combine(step)
        outputs.append((numpy.asarray(combined), numpy.asarray(weights)))
        if sgd is not None:
            weighting.finish_update(sgd)
    return outputs


def check_robust(factory: Callable[[], Weighting]) -> None:
    """Weights finite and >= 0, outputs finite and shaped like a gradient row, under
    zero, tiny and huge losses, subsets of the tasks and single-task steps."""
    weighting = factory()
    weighting.initialize(TASKS)
    steps = random_steps(60)
    for step, (combined, weights) in zip(steps, run(weighting, steps, Adam(0.05))):
        assert weights.shape == (len(step.tasks),), (step.tasks, weights)
        assert numpy.isfinite(weights).all() and (weights >= 0).all(), (step.losses, weights)
        assert combined.shape == (step.grads.shape[1],), combined.shape
        assert numpy.isfinite(combined).all(), (step.losses, combined)


def check_round_trip(factory: Callable[[], Weighting]) -> None:
    """A weighting restored by from_bytes, without initialize (as a loaded pipeline's
    is), gives exactly the original's next outputs."""
    original = factory()
    original.initialize(TASKS)
    steps = random_steps(23, seed=1)
    run(original, steps[:15], Adam(0.05))
    restored = factory().from_bytes(original.to_bytes())
    assert restored.tasks == TASKS, restored.tasks
    for (c1, w1), (c2, w2) in zip(run(original, steps[15:]), run(restored, steps[15:])):
        numpy.testing.assert_array_equal(w1, w2)
        numpy.testing.assert_array_equal(c1, c2)


def check_weighting(factory: Callable[[], Weighting]) -> None:
    """Every check above."""
    check_robust(factory)
    check_round_trip(factory)
