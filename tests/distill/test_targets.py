"""The heads learn from teacher targets: soft cats, hard entities, weights, annealing."""

import math
import random

import numpy
import pytest
import spacy
from spacy.tokens import DocBin, Span
from thinc.api import Adam

from spacy_mtl.distill.targets import set_teacher_cats, set_teacher_ents, teacher_cats, teacher_ents
from spacy_mtl.training.schedules import linear

from helpers import SENTIMENT, cats_example, ner_example, randomize_head


def entity_doc_with_teacher_cats(nlp, cats):
    eg = ner_example(nlp, ["Obama", "visited", "Paris"], [(0, 1, "person"), (2, 3, "geo-loc")])
    eg.reference.cats = {}
    set_teacher_cats(eg.reference, cats)
    return eg


def test_soft_target_loss_and_gradient_by_hand(make_nlp):
    """Gold doc (weight 1), teacher-only doc (weight w), doc with both (λ mix): the
    weighted mean cross-entropy and its gradient, computed by hand."""
    nlp, _ = make_nlp()
    textcat = nlp.get_pipe("textcat")
    textcat.teacher_weight = 0.4
    labels = list(textcat.labels)
    teacher = {"negative": 0.2, "neutral": 0.3, "positive": 0.5}
    gold_only = cats_example(nlp, "I love it", "positive")
    taught_only = entity_doc_with_teacher_cats(nlp, teacher)
    both = cats_example(nlp, "meh , fine", "neutral")
    set_teacher_cats(both.reference, teacher)
    neither = ner_example(nlp, ["Apple", "rocks"], [(0, 1, "company")])
    examples = [gold_only, taught_only, both, neither]
    scores = numpy.asarray(
        [[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.25, 0.5, 0.25], [0.6, 0.2, 0.2]], dtype="f"
    )
    lam = 0.3

    def onehot(label):
        return numpy.asarray([float(label == name) for name in labels])

    t = numpy.asarray([teacher[name] for name in labels])
    targets = [onehot("positive"), t, lam * onehot("neutral") + (1 - lam) * t]
    weights = [1.0, 0.4, 1.0]
    expected_loss = sum(
        -w * (y * numpy.log(s)).sum() for w, y, s in zip(weights, targets, scores)
    ) / sum(weights)
    expected_grad = numpy.zeros_like(scores)
    for i, (w, y) in enumerate(zip(weights, targets)):
        expected_grad[i] = w * (scores[i] - y)
    loss, d_scores = textcat.get_loss(examples, scores, gold_share=lam)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    numpy.testing.assert_allclose(d_scores, expected_grad, rtol=1e-5, atol=1e-7)


def test_teacher_targets_never_replace_gold(make_nlp):
    """At λ = 1 (no annealing) a gold doc learns its gold whatever the teacher says."""
    nlp, _ = make_nlp()
    textcat = nlp.get_pipe("textcat")
    plain = cats_example(nlp, "I love it", "positive")
    taught = cats_example(nlp, "I love it", "positive")
    set_teacher_cats(taught.reference, {"negative": 0.9, "neutral": 0.05, "positive": 0.05})
    scores = numpy.asarray([[0.1, 0.2, 0.7]], dtype="f")
    assert textcat.get_loss([taught], scores)[0] == pytest.approx(
        textcat.get_loss([plain], scores)[0]
    )
    numpy.testing.assert_array_equal(
        textcat.get_loss([taught], scores)[1], textcat.get_loss([plain], scores)[1]
    )
    assert taught.reference.cats == {"negative": 0.0, "neutral": 0.0, "positive": 1.0}


def test_annealing_takes_one_value_per_optimizer_step(make_nlp):
    """With annealing over 4 steps, the loss of a doc with gold and teacher targets
    follows λ = 0, 0.25, 0.5 over three optimizer steps, and keeps λ over the batches
    of one step (`accumulate_gradient`). The steps have learn rate 0, so the
    predictions stay the same."""
    nlp, _ = make_nlp()
    randomize_head(nlp, "textcat")
    textcat = nlp.get_pipe("textcat")
    teacher = {"negative": 0.6, "neutral": 0.3, "positive": 0.1}
    eg = cats_example(nlp, "not sure about this", "positive")
    set_teacher_cats(eg.reference, teacher)
    probs = textcat.predict(list(nlp.get_pipe("transformer").pipe([eg.predicted.copy()])))[0]
    labels = list(textcat.labels)
    gold = numpy.asarray([float(name == "positive") for name in labels])
    t = numpy.asarray([teacher[name] for name in labels])
    textcat.configure_teaching(teacher_weight=1.0, annealing=linear(steps=4))
    frozen = Adam(0.0)
    for lam in (0.0, 0.25, 0.5):
        target = lam * gold + (1 - lam) * t
        for _ in range(2):  # two accumulated batches, one step
            losses = nlp.update([eg], sgd=False, drop=0.0)
            assert losses["textcat"] == pytest.approx(
                float(-(target * numpy.log(probs)).sum()), rel=1e-4
            )
        for _, pipe in nlp.pipeline:
            pipe.finish_update(frozen)


def test_without_teacher_data_heads_learn_exactly_as_before(make_nlp):
    """Teacher targets that the heads ignore (weight 0, no annealing) change no gradient."""
    nlp, examples = make_nlp()
    randomize_head(nlp, "textcat")

    def head_grads():
        nlp.update(examples, sgd=False, drop=0.0)
        grads = [
            node.get_grad(name).copy()
            for pipe in ("textcat", "ner")
            for node in nlp.get_pipe(pipe).model.walk()
            for name in node.param_names
            if node.has_grad(name)
        ]
        for pipe in ("textcat", "ner"):
            for node in nlp.get_pipe(pipe).model.walk():
                for name in node.param_names:
                    if node.has_grad(name):
                        node.set_grad(name, node.get_grad(name) * 0)
        return grads, dict(nlp.get_pipe("transformer").last_step)

    before, step_before = head_grads()
    for eg in examples:
        set_teacher_cats(eg.reference, {"negative": 0.5, "neutral": 0.25, "positive": 0.25})
        set_teacher_ents(eg.reference, [])
    nlp.get_pipe("textcat").teacher_weight = 0.0
    nlp.get_pipe("ner").teacher_weight = 0.0
    after, step_after = head_grads()
    assert len(before) > 0
    for a, b in zip(after, before):
        numpy.testing.assert_array_equal(a, b)
    assert {t: s["loss"] for t, s in step_after.items()} == {
        t: s["loss"] for t, s in step_before.items()
    }


def test_ner_learns_teacher_entities_where_it_has_no_gold(make_nlp):
    """A sentiment doc with teacher entities trains NER as that doc with those entities
    as gold would; teacher_weight scales its gradient, not its reported mean loss."""
    nlp, _ = make_nlp()
    ner = nlp.get_pipe("ner")
    words = ["Obama", "loves", "Paris"]
    ents = [(0, 1, "person"), (2, 3, "geo-loc")]

    def ner_grads(examples):
        for node in ner.model.walk():
            for name in node.param_names:
                if node.has_grad(name):
                    node.set_grad(name, node.get_grad(name) * 0)
        losses = nlp.update(examples, sgd=False, drop=0.0)
        return losses["ner"], [
            node.get_grad(n).copy()
            for node in ner.model.walk()
            for n in node.param_names
            if node.has_grad(n)
        ]

    gold_loss, gold_grads = ner_grads([ner_example(nlp, words, ents)])
    taught = cats_example(nlp, "Obama loves Paris", "positive")
    set_teacher_ents(
        taught.reference, [Span(taught.reference, s, e, label=label) for s, e, label in ents]
    )
    assert ner.has_task_gold([taught])
    taught_loss, taught_grads = ner_grads([taught])
    assert taught_loss == pytest.approx(gold_loss, rel=1e-5)
    for a, b in zip(taught_grads, gold_grads):
        numpy.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    ner.teacher_weight = 0.5
    half_loss, half_grads = ner_grads([taught])
    assert half_loss == pytest.approx(gold_loss, rel=1e-5)
    assert nlp.get_pipe("transformer").last_step["ner"]["loss"] == pytest.approx(
        gold_loss, rel=1e-5
    )
    assert any(numpy.abs(g).max() > 0 for g in gold_grads)
    for a, b in zip(half_grads, gold_grads):
        numpy.testing.assert_allclose(a, 0.5 * b, rtol=1e-4, atol=1e-7)


def test_ner_keeps_gold_over_the_teacher_and_leaves_unknown_labels_missing(make_nlp):
    nlp, _ = make_nlp()
    ner = nlp.get_pipe("ner")
    gold = ner_example(nlp, ["Obama", "visited", "Paris"], [(0, 1, "person")])
    set_teacher_ents(gold.reference, [Span(gold.reference, 2, 3, label="geo-loc")])
    assert not ner.is_taught(gold)
    plain = cats_example(nlp, "Obama visited Paris", "neutral")
    set_teacher_ents(
        plain.reference,
        [
            Span(plain.reference, 0, 1, label="person"),
            Span(plain.reference, 2, 3, label="not-a-label"),
        ],
    )
    reference = ner.with_teacher_reference(plain).reference
    assert [(e.start, e.end, e.label_) for e in reference.ents] == [(0, 1, "person")]
    assert [t.ent_iob_ for t in reference] == ["B", "O", ""]  # the unknown label's token is missing
    assert plain.reference.ents == () and teacher_ents(plain.reference)[1].label_ == "not-a-label"


def test_teacher_targets_survive_a_docbin_and_the_reader(tmp_path, tiny_encoder):
    from spacy_mtl.corpus.reader import MultiTaskCorpus

    nlp = spacy.blank("en")
    doc = nlp("Obama loves Paris")
    doc.cats = {name: float(name == "positive") for name in SENTIMENT}
    set_teacher_ents(doc, [Span(doc, 0, 1, label="person")])
    DocBin(docs=[doc], store_user_data=True).to_disk(tmp_path / "taught.spacy")
    corpus = MultiTaskCorpus({"textcat": str(tmp_path / "taught.spacy")}, sampling="none")
    (eg,) = list(corpus(nlp))
    assert eg.reference.cats["positive"] == 1.0
    assert [(e.start, e.end, e.label_) for e in teacher_ents(eg.reference)] == [(0, 1, "person")]
    assert teacher_cats(eg.reference) is None


def test_bad_teacher_settings_are_named(make_nlp):
    nlp, _ = make_nlp()
    doc = nlp.make_doc("fine")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        set_teacher_cats(doc, {"positive": 1.5})
    with pytest.raises(ValueError, match=r"teacher_weight must be >= 0"):
        nlp.get_pipe("textcat").configure_teaching(-1.0, None)
    textcat = nlp.get_pipe("textcat")
    eg = cats_example(nlp, "ok", "neutral")
    set_teacher_cats(eg.reference, {"negative": 0.5, "neutral": 0.5, "positive": 0.0})
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        textcat.targets([eg], gold_share=1.5)
    assert not math.isnan(textcat.get_loss([eg], numpy.full((1, 3), 1 / 3, dtype="f"))[0])


def test_ner_weighs_every_cut_of_a_long_taught_doc(make_nlp):
    """The parser cuts a doc longer than its oracle cut size into several states;
    each cut of a taught doc is weighted `teacher_weight` and a gold doc in the same
    batch keeps weight 1, so the batch gradient is affine in the weight."""
    nlp, _ = make_nlp()
    ner = nlp.get_pipe("ner")
    cut = ner.cfg["update_with_oracle_cut_size"]
    words = [f"w{i}" for i in range(2 * cut + 40)]  # longer than the largest cut, 2 * cut
    ents = [(i, i + 1, "person") for i in range(0, len(words), 17)]
    taught = cats_example(nlp, " ".join(words), "neutral")
    set_teacher_ents(
        taught.reference, [Span(taught.reference, s, e, label=label) for s, e, label in ents]
    )
    gold = ner_example(
        nlp, ["Barack", "Obama", "visited", "Paris"], [(0, 2, "person"), (3, 4, "geo-loc")]
    )

    def ner_grads(weight):
        ner.teacher_weight = weight
        for node in ner.model.walk():
            for name in node.param_names:
                if node.has_grad(name):
                    node.set_grad(name, node.get_grad(name) * 0)
        random.seed(0)  # the parser draws its cut length from `random`
        nlp.update([taught, gold], sgd=False, drop=0.0)
        return [
            node.get_grad(n).copy()
            for node in ner.model.walk()
            for n in node.param_names
            if node.has_grad(n)
        ]

    alone, full, half = ner_grads(0.0), ner_grads(1.0), ner_grads(0.5)
    assert any(not numpy.allclose(a, f) for a, f in zip(alone, full))  # the long doc trains
    for a, f, h in zip(alone, full, half):
        numpy.testing.assert_allclose(h, (a + f) / 2, rtol=1e-4, atol=1e-6)
