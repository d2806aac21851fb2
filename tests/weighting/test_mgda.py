import numpy
import pytest

from spacy_mtl.weighting import MGDAWeighting
from spacy_mtl.weighting.mgda import min_norm_coefficients


def combine(make_step, grads, losses=None, normalization="none"):
    w = MGDAWeighting(normalization=normalization)
    tasks = ["a", "b", "c", "d"][: len(grads)]
    w.initialize(tasks)
    return w.combine(make_step(tasks, losses or [1.0] * len(grads), grads))


@pytest.mark.parametrize(
    "grads,weights,combined",
    [
        # γ = ((g2 - g1)·g2) / ‖g1 - g2‖² = 1 / 2
        ([[1, 0], [0, 1]], [1.0, 1.0], [1.0, 1.0]),
        # γ = ((-2, 1)·(-1, 1)) / 5 = 3/5: min-norm point (0.2, 0.4), times k = 2
        ([[1, 0], [-1, 1]], [1.2, 0.8], [0.4, 0.8]),
        # γ = ((1, 0)·(2, 0)) / 1 = 2, clipped to 1: the hull's min-norm point is g1
        ([[1, 0], [2, 0]], [2.0, 0.0], [2.0, 0.0]),
        # identical gradients: any γ; we take 1/2
        ([[1, 1], [1, 1]], [1.0, 1.0], [2.0, 2.0]),
    ],
)
def test_two_tasks_by_hand(make_step, grads, weights, combined):
    out, w = combine(make_step, grads)
    numpy.testing.assert_allclose(w, weights, atol=1e-7)
    numpy.testing.assert_allclose(out, combined, atol=1e-7)


def test_two_tasks_match_a_grid_over_gamma(make_step):
    rng = numpy.random.default_rng(0)
    gammas = numpy.linspace(0.0, 1.0, 10001)
    for _ in range(20):
        g = rng.standard_normal((2, 5))
        grid = numpy.outer(gammas, g[0]) + numpy.outer(1 - gammas, g[1])
        best = numpy.linalg.norm(grid, axis=1).min()
        out, w = combine(make_step, g)
        assert w.sum() == pytest.approx(2.0)
        assert numpy.linalg.norm(out / 2) == pytest.approx(best, abs=1e-5)
        assert numpy.linalg.norm(out / 2) <= best + 1e-6


def test_three_tasks_match_a_grid_over_the_simplex(make_step):
    rng = numpy.random.default_rng(1)
    steps = numpy.linspace(0.0, 1.0, 201)
    a1, a2 = numpy.meshgrid(steps, steps)
    inside = a1 + a2 <= 1.0
    alphas = numpy.stack([a1[inside], a2[inside], 1.0 - a1[inside] - a2[inside]], axis=1)
    for _ in range(5):
        g = rng.standard_normal((3, 4))
        best = numpy.linalg.norm(alphas @ g, axis=1).min()
        out, w = combine(make_step, g)
        assert w.sum() == pytest.approx(3.0)
        assert numpy.linalg.norm(out / 3) <= best + 1e-4


def test_origin_inside_the_hull():
    g = numpy.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    # (g1 + g2 + g3) / 3 = 0, the min-norm point.
    numpy.testing.assert_allclose(min_norm_coefficients(g @ g.T), [1 / 3] * 3, atol=1e-4)


@pytest.mark.parametrize(
    "normalization,losses,weights",
    [
        # ([2, 0], [0, 1]): γ = ((-2, 1)·(0, 1)) / 5 = 1/5
        ("none", [1.0, 1.0], [0.4, 1.6]),
        # normalised to ([1, 0], [0, 1]): γ = 1/2, applied to the raw gradients
        ("l2", [1.0, 1.0], [1.0, 1.0]),
        ("loss", [2.0, 1.0], [1.0, 1.0]),
        # n = L ‖g‖ = (2, 2): ([1, 0], [0, 0.5]), γ = 0.25 / 1.25 = 1/5
        ("loss+", [1.0, 2.0], [0.4, 1.6]),
    ],
)
def test_normalizations(make_step, normalization, losses, weights):
    out, w = combine(make_step, [[2, 0], [0, 1]], losses, normalization)
    numpy.testing.assert_allclose(w, weights, atol=1e-7)
    numpy.testing.assert_allclose(out, [2 * weights[0], weights[1]], atol=1e-6)


def test_single_task(make_step):
    w = MGDAWeighting()
    w.initialize(["a", "b"])
    out, weights = w.combine(make_step(["b"], [1.0], [[3, 4]]))
    numpy.testing.assert_allclose(weights, [1.0])
    numpy.testing.assert_allclose(out, [3, 4])


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"\[E059\] spacy_mtl\.mgda\.v1: normalization .*'L2'"):
        MGDAWeighting("L2")
