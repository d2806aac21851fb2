"""Schedules for the `[components]` of a config, in thinc's v8 form (an endless iterator
of values, one per step)."""

from typing import Iterator

from thinc.api import registry

from ..errors import Errors


@registry.schedules("spacy_mtl.linear.v1")
def linear(steps: int, start: float = 0.0, stop: float = 1.0) -> Iterator[float]:
    """From `start` to `stop` in a straight line over `steps` steps, then `stop`.

    BAM!'s teacher annealing (Clark et al., 2019) is `start = 0`, `stop = 1` over the
    whole training: the target's gold share grows from nothing to everything.

    steps (int): the steps of the ramp (e.g. `${training.max_steps}`), at least 1.
    start (float): the first value.
    stop (float): the value from step `steps` on.
    YIELDS (float): one value per step.
    """
    if steps < 1:
        raise ValueError(Errors.E040.format(steps=steps))
    step = 0
    while True:
        yield start + (stop - start) * min(step / steps, 1.0)
        step += 1
