import math

import numpy
import pytest
from thinc.api import Adam

from spacy_mtl.weighting import UncertaintyWeighting


def with_log_vars(weighting: UncertaintyWeighting, log_vars) -> UncertaintyWeighting:
    weighting.model.set_param("log_vars", numpy.asarray(log_vars, dtype="float32"))
    return weighting


def test_starts_as_equal_weighting_and_accumulates_ds(make_step):
    w = UncertaintyWeighting()
    w.initialize(["a", "b", "c"])
    combined, weights = w.combine(make_step(["a", "b"], [0.5, 3.0], [[1, 0], [0, 1]]))
    numpy.testing.assert_allclose(weights, [1.0, 1.0])
    numpy.testing.assert_allclose(combined, [1.0, 1.0])
    # dL/ds_t = 1 - exp(-0) L_t; the absent task c gets no gradient.
    numpy.testing.assert_allclose(w.model.get_grad("log_vars"), [0.5, -2.0, 0.0])


def test_weights_are_exp_minus_s(make_step):
    w = UncertaintyWeighting()
    w.initialize(["a", "b", "c"])
    with_log_vars(w, [math.log(2), 0.0, -math.log(2)])
    combined, weights = w.combine(make_step(["a", "c"], [4.0, 1.0], [[1, 0], [0, 1]]))
    numpy.testing.assert_allclose(weights, [0.5, 2.0], rtol=1e-6)
    numpy.testing.assert_allclose(combined, [0.5, 2.0], rtol=1e-6)
    # a: 1 - 0.5 * 4 = -1; c: 1 - 2 * 1 = -1
    numpy.testing.assert_allclose(w.model.get_grad("log_vars"), [-1.0, 0.0, -1.0], rtol=1e-6)


def test_learns_log_loss_for_constant_losses(make_step):
    losses = [0.5, 3.0, 1.0]
    w = UncertaintyWeighting()
    w.initialize(["a", "b", "c"])
    sgd = Adam(0.05)
    step = make_step(["a", "b", "c"], losses, numpy.eye(3))
    for _ in range(300):
        w.combine(step)
        w.finish_update(sgd)
    numpy.testing.assert_allclose(w.log_vars(), numpy.log(losses), atol=0.02)
    # At the optimum every weighted loss exp(-s_t) L_t is 1.
    numpy.testing.assert_allclose(w.weights(step) * losses, 1.0, atol=0.02)


def test_lr_scale_multiplies_the_optimizer_step(make_step):
    w = UncertaintyWeighting(lr_scale=2.0)
    w.initialize(["a", "b"])
    w.combine(make_step(["a", "b"], [3.0, 0.5], [[1, 0], [0, 1]]))
    w.finish_update(Adam(0.05))
    # Adam's first step is lr * sign(gradient): the gradients are (-2, 0.5).
    numpy.testing.assert_allclose(w.log_vars(), [0.1, -0.1], rtol=1e-4)


def test_log_vars_stay_in_range(make_step):
    w = UncertaintyWeighting(min_log_var=-2.0, max_log_var=3.0, lr_scale=10.0)
    w.initialize(["a", "b"])
    sgd = Adam(0.05)
    step = make_step(["a", "b"], [1e30, 0.0], [[1, 0], [0, 1]])
    for _ in range(50):
        w.combine(step)
        w.finish_update(sgd)
    numpy.testing.assert_allclose(w.log_vars(), [3.0, -2.0])
    numpy.testing.assert_allclose(w.weights(step), [math.exp(-3.0), math.exp(2.0)], rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,code,arg",
    [
        ({"min_log_var": "low"}, "E050", "min_log_var"),
        ({"min_log_var": float("-inf")}, "E050", "min_log_var"),
        ({"min_log_var": 1.0, "max_log_var": 1.0}, "E052", "max_log_var"),
        ({"lr_scale": 0.0}, "E052", "lr_scale"),
    ],
)
def test_bad_arguments(kwargs, code, arg):
    with pytest.raises(ValueError, match=rf"\[{code}\] spacy_mtl\.uncertainty\.v1: {arg} must be"):
        UncertaintyWeighting(**kwargs)
