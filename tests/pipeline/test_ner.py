"""The NER head's true loss and its skipping of unannotated batches."""
import math

import numpy
import pytest

from helpers import cats_example, ner_example
from spacy_mtl.pipeline.ner import gold_action_nll


def parser_gradient(scores, gold):
    """spaCy's cpu_log_loss written out: d = softmax(scores) - softmax over gold."""
    p = numpy.exp(scores - scores.max()) / numpy.exp(scores - scores.max()).sum()
    gold = numpy.asarray(gold)
    q = numpy.zeros(len(scores))
    q[gold] = numpy.exp(scores[gold] - scores[gold].max())
    return (p - q / q.sum()).astype("f")


def test_nll_of_one_gold_action():
    scores = numpy.asarray([[0.0, math.log(2.0), 0.0]], dtype="f")  # p = [1/4, 1/2, 1/4]
    d = parser_gradient(scores[0], [False, True, False])[None]
    assert gold_action_nll(scores, d)[0] == pytest.approx(math.log(2.0), rel=1e-5)


def test_nll_of_several_gold_actions():
    scores = numpy.asarray([[0.0, math.log(2.0), 0.0]], dtype="f")
    d = parser_gradient(scores[0], [True, False, True])[None]  # P(gold) = 1/2
    assert gold_action_nll(scores, d)[0] == pytest.approx(math.log(2.0), rel=1e-5)


def test_nll_without_gold_action_is_zero():
    scores = numpy.asarray([[3.0, -1.0, 0.5]], dtype="f")
    assert gold_action_nll(scores, numpy.zeros_like(scores))[0] == pytest.approx(0.0, abs=1e-9)


def test_nll_is_finite_for_a_confident_mistake():
    scores = numpy.asarray([[200.0, -200.0]], dtype="f")
    d = parser_gradient(scores[0], [False, True])[None]
    assert gold_action_nll(scores, d)[0] == pytest.approx(400.0, rel=1e-3)


def test_batch_without_entity_annotation_is_skipped(make_nlp):
    nlp, _ = make_nlp()
    ner = nlp.get_pipe("ner")
    only_cats = [cats_example(nlp, "what a lovely day", "positive")]
    assert not ner.has_task_gold(only_cats)
    losses = ner.update(only_cats, sgd=None)
    assert losses == {"ner": 0.0} and ner.batch_loss is None


def test_batch_loss_is_the_mean_over_transitions(make_nlp):
    nlp, _ = make_nlp()
    ner = nlp.get_pipe("ner")
    examples = [ner_example(nlp, ["Obama", "visited", "Paris"], [(0, 1, "person"), (2, 3, "geo-loc")])]
    nlp.update(examples, sgd=False)
    # An untrained model is near-uniform over its actions: about log(#actions).
    n_actions = ner.moves.n_moves
    assert 0.3 * math.log(n_actions) < ner.batch_loss < 3 * math.log(n_actions)
    assert ner._n_transitions >= 3
