import itertools

import numpy
import pytest

from spacy_mtl.weighting import PCGradWeighting
from spacy_mtl.weighting.pcgrad import project_conflicting

G3 = numpy.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])


def test_two_conflicting_gradients_by_hand(make_step):
    w = PCGradWeighting()
    w.initialize(["a", "b"])
    combined, weights = w.combine(make_step(["a", "b"], [1.0, 1.0], [[1, 0], [-1, 1]]))
    # g1·g2 = -1: g1' = g1 + (1/2) g2 = (0.5, 0.5); g2' = g2 + (1/1) g1 = (0, 1)
    numpy.testing.assert_allclose(combined, [0.5, 1.5])
    # Σ g' = 2 g1 + 1.5 g2
    numpy.testing.assert_allclose(weights, [2.0, 1.5])


def test_no_conflict_is_a_plain_sum(make_step):
    w = PCGradWeighting()
    w.initialize(["a", "b"])
    combined, weights = w.combine(make_step(["a", "b"], [1.0, 1.0], [[1, 0], [1, 1]]))
    numpy.testing.assert_allclose(combined, [2.0, 1.0])
    numpy.testing.assert_allclose(weights, [1.0, 1.0])


def test_projection_order_matters():
    gram = G3 @ G3.T
    # Task 0 after g3 then g2: (1, 0) + 0.5 (-1, -1) = (0.5, -0.5) conflicts with g2:
    # + 0.5 (0, 1) -> (0.5, 0)
    A = project_conflicting(gram, [[2, 1], [0, 2], [0, 1]])
    numpy.testing.assert_allclose(A[0] @ G3, [0.5, 0.0])
    numpy.testing.assert_allclose(A[0], [1.0, 0.5, 0.5])
    # g2 first: no conflict; then g3: (0.5, -0.5), which is final.
    A = project_conflicting(gram, [[1, 2], [0, 2], [0, 1]])
    numpy.testing.assert_allclose(A[0] @ G3, [0.5, -0.5])
    # Task 2 (g3 = (-1, -1)) conflicts with both: + g1 -> (0, -1), then + g2 -> (0, 0).
    numpy.testing.assert_allclose(A[2] @ G3, [0.0, 0.0])


def test_random_order_is_one_of_the_orders(make_step):
    w = PCGradWeighting(seed=3)
    w.initialize(["a", "b", "c"])
    gram = G3 @ G3.T
    candidates = [
        project_conflicting(gram, orders).sum(axis=0)
        for orders in itertools.product(
            itertools.permutations([1, 2]),
            itertools.permutations([0, 2]),
            itertools.permutations([0, 1]),
        )
    ]
    seen = set()
    for _ in range(30):
        _, weights = w.combine(make_step(["a", "b", "c"], [1.0, 1.0, 1.0], G3))
        matches = [i for i, c in enumerate(candidates) if numpy.allclose(weights, c)]
        assert matches
        seen.add(tuple(numpy.round(weights, 6)))
    assert len(seen) > 1


def test_output_and_projections_do_not_conflict(make_step):
    rng = numpy.random.default_rng(0)
    w = PCGradWeighting()
    w.initialize(["a", "b"])
    n_conflicting = 0
    for _ in range(50):
        g = rng.standard_normal((2, 8))
        if g[0] @ g[1] >= 0:
            continue
        n_conflicting += 1
        combined, weights = w.combine(make_step(["a", "b"], [1.0, 1.0], g))
        assert combined @ g[0] >= -1e-5 and combined @ g[1] >= -1e-5
        A = project_conflicting(g @ g.T, [[1], [0]])
        # Each projected gradient is orthogonal to the one it conflicted with.
        assert (A[0] @ g) @ g[1] == pytest.approx(0.0, abs=1e-9)
        assert (A[1] @ g) @ g[0] == pytest.approx(0.0, abs=1e-9)
        numpy.testing.assert_allclose(weights, A.sum(axis=0), rtol=1e-5)
    assert n_conflicting > 10


def test_single_task_and_zero_gradient(make_step):
    w = PCGradWeighting()
    w.initialize(["a", "b"])
    combined, weights = w.combine(make_step(["b"], [1.0], [[1, -2]]))
    numpy.testing.assert_allclose(combined, [1, -2])
    numpy.testing.assert_allclose(weights, [1.0])
    _, weights = w.combine(make_step(["a", "b"], [1.0, 1.0], [[0, 0], [-1, 2]]))
    numpy.testing.assert_allclose(weights, [1.0, 1.0])


def test_round_trip_restores_the_random_orders(make_step, run):
    # With G3 the projection order changes the output, so the orders must match.
    steps = [make_step(["a", "b", "c"], [1.0, 1.0, 1.0], G3)] * 10
    original = PCGradWeighting(seed=7)
    original.initialize(["a", "b", "c"])
    run(original, steps[:5])
    restored = PCGradWeighting(seed=7).from_bytes(original.to_bytes())
    reseeded = PCGradWeighting(seed=7)
    reseeded.initialize(["a", "b", "c"])
    expected = [w for _, w in run(original, steps[5:])]
    assert [w.tolist() for _, w in run(restored, steps[5:])] == [w.tolist() for w in expected]
    assert [w.tolist() for _, w in run(reseeded, steps[5:])] != [w.tolist() for w in expected]


@pytest.mark.parametrize(
    "kwargs,code,arg",
    [
        ({"seed": -1}, "E051", "seed"),
        ({"seed": 1.5}, "E050", "seed"),
    ],
)
def test_bad_arguments(kwargs, code, arg):
    with pytest.raises(ValueError, match=rf"\[{code}\] spacy_mtl\.pcgrad\.v1: {arg} must be"):
        PCGradWeighting(**kwargs)
