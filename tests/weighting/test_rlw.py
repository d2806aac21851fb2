import numpy
import pytest

from spacy_mtl.weighting import RLWWeighting


def test_weights_are_k_times_softmax_of_normal_draws(make_step):
    w = RLWWeighting(seed=42)
    w.initialize(["a", "b", "c"])
    rng = numpy.random.default_rng(42)  # the documented generator and seed
    for tasks in (["a", "b", "c"], ["a", "c"], ["b"]):
        k = len(tasks)
        eps = rng.standard_normal(k)
        expected = k * numpy.exp(eps) / numpy.exp(eps).sum()
        grads = numpy.eye(3)[:k]
        combined, weights = w.combine(make_step(tasks, [1.0] * k, grads))
        numpy.testing.assert_allclose(weights, expected)
        numpy.testing.assert_allclose(combined, expected @ grads, rtol=1e-6)


def test_weights_sum_to_k_with_mean_one(make_step):
    w = RLWWeighting()
    w.initialize(["a", "b", "c"])
    step = make_step(["a", "b", "c"], [1.0, 1.0, 1.0], numpy.eye(3))
    draws = numpy.array([w.weights(step) for _ in range(3000)])
    numpy.testing.assert_allclose(draws.sum(axis=1), 3.0)
    numpy.testing.assert_allclose(draws.mean(axis=0), 1.0, atol=0.05)
    assert draws.std(axis=0).min() > 0.1


def test_initialize_reseeds(make_step):
    step = make_step(["a", "b"], [1.0, 1.0], [[1, 0], [0, 1]])
    w = RLWWeighting(seed=1)
    w.initialize(["a", "b"])
    first = w.weights(step)
    w.initialize(["a", "b"])
    numpy.testing.assert_array_equal(w.weights(step), first)


@pytest.mark.parametrize(
    "kwargs,code,arg",
    [
        ({"seed": -3}, "E051", "seed"),
        ({"seed": "0"}, "E050", "seed"),
    ],
)
def test_bad_arguments(kwargs, code, arg):
    with pytest.raises(ValueError, match=rf"\[{code}\] spacy_mtl\.rlw\.v1: {arg} must be"):
        RLWWeighting(**kwargs)
