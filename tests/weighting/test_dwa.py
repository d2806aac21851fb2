import math

import numpy
import pytest

from spacy_mtl.weighting import DWAWeighting

GRADS2 = [[1, 0], [0, 1]]


def test_equal_weights_until_two_windows_then_softmax_of_ratios(make_step):
    w = DWAWeighting(window=2, temperature=2.0)
    w.initialize(["a", "b"])
    losses = [[1.0, 1.0], [1.0, 1.0], [0.4, 1.0], [0.6, 1.0]]  # window means (1, 1), (0.5, 1)
    for step_losses in losses:
        _, weights = w.combine(make_step(["a", "b"], step_losses, GRADS2))
        numpy.testing.assert_allclose(weights, [1.0, 1.0])
    combined, weights = w.combine(make_step(["a", "b"], [1.0, 1.0], GRADS2))
    # r = (0.5, 1); w = 2 softmax(r / 2) = 2 (e^0.25, e^0.5) / (e^0.25 + e^0.5)
    w_a = 2 / (1 + math.exp(0.25))
    numpy.testing.assert_allclose(weights, [w_a, 2 - w_a])
    numpy.testing.assert_allclose(weights, [0.875647, 1.124353], atol=1e-6)
    numpy.testing.assert_allclose(combined, [w_a, 2 - w_a], rtol=1e-6)


def test_three_tasks_and_a_subset_step(make_step):
    w = DWAWeighting(window=1, temperature=2.0)
    w.initialize(["a", "b", "c"])
    w.combine(make_step(["a", "b", "c"], [1.0, 1.0, 1.0], numpy.eye(3)))
    w.combine(make_step(["a", "b", "c"], [2.0, 1.0, 0.5], numpy.eye(3)))
    # r = (2, 1, 0.5), r / 2 = (1, 0.5, 0.25)
    e = numpy.exp([1.0, 0.5, 0.25])
    expected = 3 * e / e.sum()
    numpy.testing.assert_allclose(w.all_weights(), expected)
    numpy.testing.assert_allclose(expected, [1.443073, 0.875268, 0.681659], atol=1e-6)
    _, weights = w.combine(make_step(["a", "c"], [1.0, 1.0], [[1, 0], [0, 1]]))
    numpy.testing.assert_allclose(weights, expected[[0, 2]])


def test_absent_task_keeps_its_averages(make_step):
    w = DWAWeighting(window=1, temperature=2.0)
    w.initialize(["a", "b"])
    w.combine(make_step(["a", "b"], [1.0, 1.0], GRADS2))
    w.combine(make_step(["a", "b"], [1.0, 1.0], GRADS2))
    w.combine(make_step(["a"], [0.5], [[1, 0]]))
    # a: r = 0.5 / 1; b was absent from the last window: r = 1 / 1 as before.
    w_a = 2 / (1 + math.exp(0.25))
    numpy.testing.assert_allclose(w.all_weights(), [w_a, 2 - w_a])


def test_window_mean_averages_over_steps_with_the_task(make_step):
    w = DWAWeighting(window=3, temperature=1.0)
    w.initialize(["a", "b"])
    # Window 1: a = mean(1, 3) = 2, b = 1. Window 2: a = 4 (one step), b = mean(2, 2, 2) = 2.
    for tasks, losses in [
        (["a", "b"], [1.0, 1.0]),
        (["b"], [1.0]),
        (["a", "b"], [3.0, 1.0]),
        (["a", "b"], [4.0, 2.0]),
        (["b"], [2.0]),
        (["b"], [2.0]),
    ]:
        w.combine(make_step(tasks, losses, numpy.eye(2)[: len(tasks)]))
    # r = (2, 2): equal weights.
    numpy.testing.assert_allclose(w.all_weights(), [1.0, 1.0])
    numpy.testing.assert_allclose(w.last, [4.0, 2.0])
    numpy.testing.assert_allclose(w.before, [2.0, 1.0])


def test_zero_losses_give_ratio_one(make_step):
    w = DWAWeighting(window=1)
    w.initialize(["a", "b"])
    for _ in range(3):
        _, weights = w.combine(make_step(["a", "b"], [0.0, 0.0], GRADS2))
    numpy.testing.assert_allclose(weights, [1.0, 1.0])


def test_weights_sum_to_number_of_tasks(make_step):
    w = DWAWeighting(window=2)
    w.initialize(["a", "b", "c"])
    rng = numpy.random.default_rng(0)
    for _ in range(30):
        w.combine(make_step(["a", "b", "c"], rng.uniform(0.01, 5.0, size=3), numpy.eye(3)))
        assert w.all_weights().sum() == pytest.approx(3.0)
    assert not numpy.allclose(w.all_weights(), 1.0)


@pytest.mark.parametrize(
    "kwargs,code,arg",
    [
        ({"window": 0}, "E051", "window"),
        ({"window": 2.5}, "E050", "window"),
        ({"temperature": 0.0}, "E052", "temperature"),
        ({"temperature": float("nan")}, "E050", "temperature"),
    ],
)
def test_bad_arguments(kwargs, code, arg):
    with pytest.raises(ValueError, match=rf"\[{code}\] spacy_mtl\.dwa\.v1: {arg} must be"):
        DWAWeighting(**kwargs)
