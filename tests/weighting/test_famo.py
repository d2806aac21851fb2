import math

import numpy
import pytest

from spacy_mtl.weighting import FAMOWeighting

GRADS2 = [[1, 0], [0, 1]]


def test_first_step_weights_by_inverse_loss(make_step):
    w = FAMOWeighting()
    w.initialize(["a", "b"])
    combined, weights = w.combine(make_step(["a", "b"], [1.0, 3.0], GRADS2))
    # z = (1/2, 1/2); c = 1 / (0.5/1 + 0.5/3) = 1.5; c z / L = (0.75, 0.25); times k = 2
    numpy.testing.assert_allclose(weights, [1.5, 0.5], rtol=1e-7)
    numpy.testing.assert_allclose(combined, [1.5, 0.5], rtol=1e-7)
    # Nothing to compare with yet: the logits stay 0.
    numpy.testing.assert_array_equal(w.logits, [0.0, 0.0])


def test_logits_step_from_the_change_of_log_loss(make_step):
    w = FAMOWeighting(learning_rate=0.025, weight_decay=0.001)
    w.initialize(["a", "b"])
    w.combine(make_step(["a", "b"], [1.0, 1.0], GRADS2))
    _, weights = w.combine(make_step(["a", "b"], [math.exp(-1), 1.0], GRADS2))
    # delta = log L_prev - log L_now = (1, 0); z = (1/2, 1/2)
    # dξ = z (delta - z·delta) + 0.001 ξ = (0.25, -0.25); Adam's first step: -0.025 sign(dξ)
    numpy.testing.assert_allclose(w.logits, [-0.025, 0.025], rtol=1e-6)
    # w = 2 softmax(ξ - log L) = 2 softmax(-0.025 + 1, 0.025 - 0) = 2 σ(0.95)
    w_a = 2 / (1 + math.exp(-0.95))
    numpy.testing.assert_allclose(weights, [w_a, 2 - w_a], atol=1e-6)
    numpy.testing.assert_allclose(weights, [1.442230, 0.557770], atol=1e-6)


def test_weight_moves_to_the_task_whose_log_loss_falls_slowest(make_step):
    w = FAMOWeighting()
    w.initialize(["a", "b", "c"])
    for i in range(100):
        losses = [math.exp(-0.05 * i), math.exp(-0.01 * i), 1.0]
        w.combine(make_step(["a", "b", "c"], losses, numpy.eye(3)))
    assert w.logits[2] > w.logits[1] > w.logits[0]


def test_only_tasks_seen_on_two_steps_move(make_step):
    w = FAMOWeighting()
    w.initialize(["a", "b", "c"])
    w.combine(make_step(["a", "b"], [1.0, 1.0], GRADS2))
    w.combine(make_step(["a", "b", "c"], [0.5, 1.0, 1.0], numpy.eye(3)))
    # c was not seen before: its logit and Adam state do not move.
    assert w.logits[2] == 0.0 and w.adam_steps[2] == 0
    numpy.testing.assert_allclose(w.logits[:2], [-0.025, 0.025], rtol=1e-6)
    # A single task: its softmax over itself has no gradient, only the decay.
    w.combine(make_step(["c"], [0.1], [[1, 0, 0]]))
    assert w.logits[2] == 0.0 and w.adam_steps[2] == 1


@pytest.mark.parametrize(
    "kwargs,code,arg",
    [
        ({"learning_rate": 0.0}, "E052", "learning_rate"),
        ({"weight_decay": -1e-3}, "E051", "weight_decay"),
        ({"weight_decay": float("inf")}, "E050", "weight_decay"),
    ],
)
def test_bad_arguments(kwargs, code, arg):
    with pytest.raises(ValueError, match=rf"\[{code}\] spacy_mtl\.famo\.v1: {arg} must be"):
        FAMOWeighting(**kwargs)
