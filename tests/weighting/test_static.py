import numpy
import pytest

from spacy_mtl.weighting import StaticWeighting


def test_equal_weights_sum_the_gradients(make_step):
    w = StaticWeighting()
    w.initialize(["a", "b", "c"])
    combined, weights = w.combine(make_step(["a", "c"], [2.0, 0.5], [[1, 2], [3, -1]]))
    numpy.testing.assert_array_equal(weights, [1.0, 1.0])
    numpy.testing.assert_allclose(combined, [4, 1])


def test_configured_weights_follow_the_tasks_of_each_step(make_step):
    w = StaticWeighting({"a": 2.0, "b": 0.0, "c": 0.5})
    w.initialize(["a", "b", "c"])
    for tasks, expected in (
        (["a", "b", "c"], [2.0, 0.0, 0.5]),
        (["c", "a"], [0.5, 2.0]),
        (["b"], [0.0]),
    ):
        grads = numpy.eye(3)[: len(tasks)]
        combined, weights = w.combine(make_step(tasks, [1.0] * len(tasks), grads))
        numpy.testing.assert_array_equal(weights, expected)
        numpy.testing.assert_allclose(combined, numpy.asarray(expected) @ grads)


@pytest.mark.parametrize(
    "weights,match",
    [
        (
            {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0},
            r"\[E057\] spacy_mtl\.static\.v1: .*\['d'\]",
        ),
        ({"a": 1.0}, r"\[E058\] spacy_mtl\.static\.v1: .*\['b', 'c'\]"),
    ],
)
def test_weights_must_name_the_tasks(weights, match):
    with pytest.raises(ValueError, match=match):
        StaticWeighting(weights).initialize(["a", "b", "c"])


@pytest.mark.parametrize(
    "weights,code",
    [({}, "E055"), ({"a": -1.0}, "E056"), ({"a": float("nan")}, "E056"), ({"a": "1"}, "E056")],
)
def test_bad_weights(weights, code):
    with pytest.raises(ValueError, match=rf"\[{code}\] spacy_mtl\.static\.v1: "):
        StaticWeighting(weights)


def test_all_zero_weights_warn():
    with pytest.warns(UserWarning, match=r"\[W003\] spacy_mtl\.static\.v1: "):
        StaticWeighting({"a": 0.0, "b": 0.0})
