"""Schedules a config can name."""

import pytest

from spacy_mtl.training.schedules import linear


def test_linear_schedule_ramps_then_holds():
    values = linear(steps=4)
    assert [next(values) for _ in range(7)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert next(linear(steps=2, start=0.5, stop=0.0)) == 0.5
    with pytest.raises(ValueError, match=r"\[E040\]"):
        next(linear(steps=0))
