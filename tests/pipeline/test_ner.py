"""The NER head's true loss, checked against spaCy's own parser loss."""

import math

import numpy
import pytest
import torch
from spacy.pipeline.ner import EntityRecognizer

from spacy_mtl.pipeline.ner import (
    MultiTaskEntityRecognizer,
    gold_action_mask,
    gold_action_nll,
    soft_action_xent,
)

from helpers import cats_example, ner_example


def test_nll_of_one_gold_action():
    scores = numpy.asarray([[0.0, math.log(2.0), 0.0]], dtype="f")  # p = [1/4, 1/2, 1/4]
    gold = numpy.asarray([[False, True, False]])
    assert gold_action_nll(scores, gold)[0] == pytest.approx(math.log(2.0), rel=1e-6)


def test_nll_of_several_gold_actions():
    scores = numpy.asarray([[0.0, math.log(2.0), 0.0]], dtype="f")
    gold = numpy.asarray([[True, False, True]])  # P(gold) = 1/2
    assert gold_action_nll(scores, gold)[0] == pytest.approx(math.log(2.0), rel=1e-6)


def test_nll_without_gold_action_is_zero():
    scores = numpy.asarray([[3.0, -1.0, 0.5]], dtype="f")
    assert gold_action_nll(scores, numpy.zeros((1, 3), dtype=bool))[0] == 0.0


def test_nll_is_finite_for_a_confident_mistake():
    scores = numpy.asarray([[200.0, -200.0]], dtype="f")
    assert gold_action_nll(scores, numpy.asarray([[False, True]]))[0] == pytest.approx(
        400.0, rel=1e-6
    )


def test_soft_loss_and_gradient_by_hand():
    """H(q, p) and p - q, p the softmax over every action; a state without target
    (q all 0) has neither loss nor gradient."""
    scores = numpy.asarray([[0.0, math.log(2.0), 0.0]] * 3, dtype="f")  # p = [1/4, 1/2, 1/4]
    targets = numpy.asarray([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    loss, d_scores = soft_action_xent(scores, targets)
    # -(1/2 log 1/4 + 1/2 log 1/2) = 3/2 log 2; a one-hot target: -log 1/2.
    numpy.testing.assert_allclose(loss, [1.5 * math.log(2.0), 0.0, math.log(2.0)], rtol=1e-6)
    numpy.testing.assert_allclose(
        d_scores,
        [[-0.25, 0.0, 0.25], [0.0, 0.0, 0.0], [0.25, -0.5, 0.25]],
        rtol=1e-6,
        atol=1e-7,
    )


def test_soft_loss_gradient_is_its_derivative():
    """The gradient is the derivative of the reported loss (torch autograd), with a
    one-hot target the gold loss's, and finite for a confident mistake."""
    rng = numpy.random.default_rng(0)
    scores = rng.normal(size=(4, 7)) * 3
    targets = rng.random((4, 7)) * (rng.random((4, 7)) > 0.4)
    targets /= targets.sum(axis=1, keepdims=True)
    loss, d_scores = soft_action_xent(scores, targets)
    X = torch.tensor(scores, requires_grad=True)
    expected = -(torch.tensor(targets) * torch.log_softmax(X, dim=1)).sum(dim=1)
    expected.sum().backward()
    numpy.testing.assert_allclose(loss, expected.detach().numpy(), rtol=1e-10)
    numpy.testing.assert_allclose(d_scores, X.grad.numpy(), rtol=1e-10, atol=1e-12)
    onehot = numpy.eye(7)[[3, 0, 6, 2]]
    numpy.testing.assert_allclose(
        soft_action_xent(scores, onehot)[0], gold_action_nll(scores, onehot > 0), rtol=1e-10
    )
    loss, d_scores = soft_action_xent(numpy.asarray([[200.0, -200.0]]), numpy.asarray([[0.0, 1.0]]))
    assert loss[0] == pytest.approx(400.0) and d_scores.tolist() == [[1.0, -1.0]]


def test_nll_gradient_is_spacys_parser_loss_gradient(make_nlp):
    """Every transition step of a real update: the gradient of our loss with respect to
    the scores equals what spaCy's own `EntityRecognizer.get_batch_loss` returns, and
    the reported loss is the mean of our per-transition losses."""
    nlp, examples = make_nlp()
    ner = nlp.get_pipe("ner")
    steps = []

    def recording_get_batch_loss(states, golds, scores, losses):
        scores = numpy.array(scores)
        stock = EntityRecognizer.get_batch_loss(ner, states, golds, scores, None)
        steps.append((scores, gold_action_mask(ner.moves, states, golds), stock))
        return MultiTaskEntityRecognizer.get_batch_loss(ner, states, golds, scores, losses)

    ner.get_batch_loss = recording_get_batch_loss
    nlp.update(examples, sgd=False)
    assert len(steps) >= 3
    nlls = []
    for scores, gold, stock in steps:
        assert gold.any(axis=1).all()
        X = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
        masked = torch.where(torch.tensor(gold), X, torch.tensor(-math.inf, dtype=torch.float64))
        nll = torch.logsumexp(X, dim=1) - torch.logsumexp(masked, dim=1)
        nll.sum().backward()
        numpy.testing.assert_allclose(X.grad.numpy(), stock, atol=1e-6)
        numpy.testing.assert_allclose(
            gold_action_nll(scores, gold), nll.detach().numpy(), rtol=1e-6
        )
        nlls.extend(nll.detach().numpy())
    reported = nlp.get_pipe("transformer").last_step["ner"]["loss"]
    assert reported == pytest.approx(float(numpy.mean(nlls)), rel=1e-6)
    # An untrained model is near-uniform over its actions: about log(#actions).
    assert 0.3 * math.log(ner.moves.n_moves) < reported < 3 * math.log(ner.moves.n_moves)


def test_batch_without_entity_annotation_is_skipped(make_nlp):
    nlp, _ = make_nlp()
    ner = nlp.get_pipe("ner")
    only_cats = [cats_example(nlp, "what a lovely day", "positive")]
    assert not ner.has_task_gold(only_cats)
    losses = nlp.update(only_cats, sgd=False)
    assert losses["ner"] == 0.0
    assert "ner" not in nlp.get_pipe("transformer").last_step


def test_non_finite_scores_leave_ner_out_of_the_step(make_nlp):
    nlp, _ = make_nlp()
    ner = nlp.get_pipe("ner")
    examples = [
        ner_example(nlp, ["Obama", "visited", "Paris"], [(0, 1, "person"), (2, 3, "geo-loc")]),
        cats_example(nlp, "what a lovely day", "positive"),
    ]
    original = ner.get_batch_loss

    def nan_scores(states, golds, scores, losses):
        scores = numpy.array(scores)
        scores[0, 0] = numpy.nan
        return original(states, golds, scores, losses)

    ner.get_batch_loss = nan_scores
    with pytest.warns(UserWarning, match=r"\[W001\] 'transformer': task 'ner'"):
        losses = nlp.update(examples, sgd=False)
    assert losses["ner"] == 0.0
    assert set(nlp.get_pipe("transformer").last_step) == {"textcat"}


def test_transition_losses_live_for_one_update(make_nlp):
    """The per-step losses are recorded into an object made for each update, which
    the head lets go of when the update ends."""
    nlp, examples = make_nlp()
    ner = nlp.get_pipe("ner")
    recorders = []
    original = ner.get_batch_loss

    def spy(states, golds, scores, losses):
        recorders.append(ner._recorder)
        return original(states, golds, scores, losses)

    ner.get_batch_loss = spy
    for _ in range(2):
        nlp.update(examples, sgd=False)
        assert ner._recorder is None
    first, second = recorders[0], recorders[-1]
    assert first is not None and second is not None and first is not second
    assert all(r is first for r in recorders[: len(first.losses)])
    assert len(first.losses) + len(second.losses) == len(recorders)
