import numpy
import pytest

from spacy_mtl.weighting import GradNormWeighting

GRADS = [[2, 0], [0, 1]]  # norms 2 and 1


def test_two_steps_by_hand(make_step):
    w = GradNormWeighting(alpha=1.5, learning_rate=0.025)
    w.initialize(["a", "b"])
    combined, weights = w.combine(make_step(["a", "b"], [1.0, 1.0], GRADS))
    # The step uses the current weights (1, 1).
    numpy.testing.assert_allclose(weights, [1.0, 1.0])
    numpy.testing.assert_allclose(combined, [2.0, 1.0])
    # G = (2, 1), mean 1.5; r = (1, 1) -> target (1.5, 1.5); signs (+, -)
    # w = (1 - 0.025 * 2/1.5, 1 + 0.025 * 1/1.5) = (0.9666667, 1.0166667), sum 1.9833333
    # renormalised to sum 2: (0.9747899, 1.0252101)
    numpy.testing.assert_allclose(w.task_weights, [0.9747899, 1.0252101], atol=1e-7)

    _, weights = w.combine(make_step(["a", "b"], [0.5, 1.0], GRADS))
    numpy.testing.assert_allclose(weights, [0.9747899, 1.0252101], atol=1e-7)
    # G = (1.9495798, 1.0252101), mean 1.4873950; L/L(0) = (0.5, 1), mean 0.75:
    # r = (2/3, 4/3), target = mean G * r^1.5 = (0.8096382, 2.2899855); signs (+, -)
    g_mean = (2 * 0.9747899 + 1.0252101) / 2
    new = numpy.array([0.9747899 - 0.025 * 2 / g_mean, 1.0252101 + 0.025 * 1 / g_mean])
    numpy.testing.assert_allclose(w.task_weights, new * 2 / new.sum(), atol=1e-7)
    numpy.testing.assert_allclose(w.task_weights, [0.949151, 1.050849], atol=1e-6)


def test_weight_moves_to_the_task_that_trains_slowest(make_step):
    w = GradNormWeighting()
    w.initialize(["a", "b", "c"])
    history = []
    for i in range(40):
        # a's loss falls fast, b's slowly, c's not at all; equal gradient norms.
        losses = [1.0 / (1 + 0.2 * i), 1.0 / (1 + 0.02 * i), 1.0]
        w.combine(make_step(["a", "b", "c"], losses, numpy.eye(3)))
        history.append(w.task_weights.copy())
    history = numpy.array(history)
    assert history[-1, 2] > history[-1, 1] > history[-1, 0]
    # c's weight grows and a's shrinks step after step, until a's nears its target
    # and the sign step starts to oscillate around it.
    assert (numpy.diff(history[:20, 2]) > 0).all()
    assert (numpy.diff(history[:20, 0]) < 0).all()
    assert w.task_weights.sum() == pytest.approx(3.0)


def test_alpha_zero_equalises_gradient_norms(make_step):
    w = GradNormWeighting(alpha=0.0, learning_rate=0.01)
    w.initialize(["a", "b"])
    step = make_step(["a", "b"], [1.0, 2.0], GRADS)
    for _ in range(200):
        w.combine(step)
    # w_a * 2 = w_b * 1 with w_a + w_b = 2: (2/3, 4/3)
    numpy.testing.assert_allclose(w.task_weights, [2 / 3, 4 / 3], atol=0.02)


def test_subsets_keep_the_sum_and_absent_weights(make_step):
    w = GradNormWeighting()
    w.initialize(["a", "b", "c"])
    w.combine(make_step(["a", "b", "c"], [1.0, 1.0, 1.0], [[3, 0], [0, 1], [1, 1]]))
    before = w.task_weights.copy()
    w.combine(make_step(["a", "c"], [1.0, 1.0], [[3, 0], [0, 1]]))
    assert w.task_weights[1] == before[1]
    assert w.task_weights[[0, 2]].sum() == pytest.approx(before[[0, 2]].sum())
    assert w.task_weights.sum() == pytest.approx(3.0)
    # A single task or zero gradients: nothing to balance.
    before = w.task_weights.copy()
    w.combine(make_step(["b"], [0.3], [[1, 1]]))
    w.combine(make_step(["a", "b"], [0.3, 0.3], [[0, 0], [0, 0]]))
    numpy.testing.assert_array_equal(w.task_weights, before)


@pytest.mark.parametrize(
    "kwargs,code,arg",
    [
        ({"alpha": -0.1}, "E051", "alpha"),
        ({"learning_rate": 0}, "E052", "learning_rate"),
        ({"learning_rate": "fast"}, "E050", "learning_rate"),
    ],
)
def test_bad_arguments(kwargs, code, arg):
    with pytest.raises(ValueError, match=rf"\[{code}\] spacy_mtl\.gradnorm\.v1: {arg} must be"):
        GradNormWeighting(**kwargs)
