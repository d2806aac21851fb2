"""The text classification heads: missing annotation is missing, the loss is the NLL."""

import numpy
import pytest
import spacy
from spacy.training import Example
from thinc.api import fix_random_seed

from helpers import cats_example, load_config, mixed_examples, ner_example, randomize_head


def textcat_param_grads(textcat):
    return [
        node.get_grad(name).copy()
        for node in textcat.model.walk()
        for name in node.param_names
        if node.has_grad(name)
    ]


def test_docs_without_cats_teach_textcat_nothing(make_nlp):
    nlp, _ = make_nlp()
    randomize_head(nlp, "textcat")
    textcat = nlp.get_pipe("textcat")
    with_cats = [cats_example(nlp, "I love it", "positive")]
    without = [ner_example(nlp, ["Obama", "visited", "Paris"], [(0, 1, "person")])]
    nlp.update(with_cats, sgd=False, drop=0.0)
    alone = textcat_param_grads(textcat)
    for node in textcat.model.walk():
        for name in node.param_names:
            if node.has_grad(name):
                node.set_grad(name, node.get_grad(name) * 0)
    nlp.update(with_cats + without, sgd=False, drop=0.0)
    mixed = textcat_param_grads(textcat)
    assert len(alone) > 0
    for a, m in zip(alone, mixed):
        numpy.testing.assert_allclose(m, a, rtol=1e-4, atol=1e-6)
    assert not textcat.has_task_gold(without)


def test_multilabel_head_loss_is_binary_cross_entropy(tiny_encoder):
    fix_random_seed(0)
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["textcat"] = {
        "factory": "mtl_textcat_multilabel",
        "model": {**config["components"]["textcat"]["model"], "exclusive_classes": False},
    }
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    doc = nlp.make_doc("great phone , awful battery")
    ref = doc.copy()
    ref.cats = {"praise": 1.0, "complaint": 1.0}  # "question" is missing for this doc
    ref.set_ents([], default="missing")
    examples = [
        Example(doc, ref),
        Example(nlp.make_doc("is it any good ?"), nlp.make_doc("is it any good ?")),
    ]
    examples[1].reference.cats = {"question": 1.0, "praise": 0.0, "complaint": 0.0}
    examples[1].reference.set_ents([], default="missing")
    nlp.initialize(lambda: examples)
    randomize_head(nlp, "textcat")
    textcat = nlp.get_pipe("textcat")
    encoded = list(nlp.get_pipe("transformer").pipe([eg.predicted.copy() for eg in examples]))
    probs = textcat.predict(encoded)
    expected = 0.0
    for i, eg in enumerate(examples):
        for j, label in enumerate(textcat.labels):
            if label in eg.reference.cats:
                y = eg.reference.cats[label]
                expected -= y * numpy.log(probs[i, j]) + (1 - y) * numpy.log(1 - probs[i, j])
    losses = {}
    nlp.update(examples, sgd=False, drop=0.0, losses=losses)
    assert losses["textcat"] == pytest.approx(expected / 2, rel=1e-5)


def test_scores_ignore_docs_without_cats(make_nlp):
    nlp, examples = make_nlp()
    randomize_head(nlp, "textcat")
    annotated = [eg for eg in examples if eg.reference.cats]
    assert len(annotated) < len(examples)
    mixed_scores = nlp.evaluate(examples)
    annotated_scores = nlp.evaluate(annotated)
    for key in ("cats_score", "cats_macro_f", "cats_micro_p", "cats_macro_auc"):
        assert mixed_scores[key] == pytest.approx(annotated_scores[key])


TOPICS = ["sports", "politics", "music"]


def topics_example(nlp, text, positives):
    doc = nlp.make_doc(text)
    ref = doc.copy()
    ref.cats = {topic: float(topic in positives) for topic in TOPICS}
    ref.set_ents([], default="missing")
    return Example(doc, ref)


def two_cats_heads(tiny_encoder, init_labels):
    """ner + exclusive sentiment + multi-label topics, each head under its own name."""
    config = load_config("mtl.cfg", tiny_encoder)
    config["nlp"]["pipeline"] = ["transformer", "sentiment", "topics", "ner"]
    config["components"]["sentiment"] = config["components"].pop("textcat")
    config["components"]["topics"] = {
        "factory": "mtl_textcat_multilabel",
        "model": {**config["components"]["sentiment"]["model"], "exclusive_classes": False},
    }
    config["training"]["score_weights"] = {}
    if init_labels:
        config["initialize"]["components"] = {
            "sentiment": {"labels": ["negative", "neutral", "positive"]},
            "topics": {"labels": TOPICS},
        }
    fix_random_seed(0)
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


def three_task_examples(nlp):
    return mixed_examples(nlp) + [
        topics_example(nlp, "the match and the election", {"sports", "politics"}),
        topics_example(nlp, "a new album tonight", {"music"}),
    ]


def test_two_textcat_heads_keep_their_own_labels(tiny_encoder):
    """Labels from [initialize.components.*], validated as spaCy validates them; each
    head learns from the docs that carry its labels and ignores the others'."""
    nlp = two_cats_heads(tiny_encoder, init_labels=True)
    examples = three_task_examples(nlp)
    nlp.initialize(lambda: examples)
    sentiment, topics = nlp.get_pipe("sentiment"), nlp.get_pipe("topics")
    assert sentiment.labels == ("negative", "neutral", "positive")
    assert topics.labels == tuple(TOPICS)
    for name in ("sentiment", "topics"):
        randomize_head(nlp, name)
    optimizer = nlp.create_optimizer()
    losses = nlp.update(examples, sgd=optimizer)
    assert set(nlp.get_pipe("transformer").last_step) == {"sentiment", "topics", "ner"}
    assert all(
        numpy.isfinite(losses[name]) and losses[name] > 0 for name in ("sentiment", "topics", "ner")
    )
    only_topics = [eg for eg in examples if set(eg.reference.cats) == set(TOPICS)]
    assert topics.has_task_gold(only_topics) and not sentiment.has_task_gold(only_topics)
    truths, known = topics.truths(only_topics)
    numpy.testing.assert_array_equal(truths, [[1, 1, 0], [0, 0, 1]])
    assert known.all()


def test_labels_from_docs_with_disjoint_label_sets_are_refused(tiny_encoder):
    nlp = two_cats_heads(tiny_encoder, init_labels=False)
    examples = three_task_examples(nlp)
    with pytest.raises(
        ValueError,
        match=r"\[E020\] Component 'sentiment'.*\[initialize\.components\.sentiment\] labels",
    ):
        nlp.initialize(lambda: examples)


def test_init_labels_are_validated_like_spacys(tiny_encoder):
    nlp = two_cats_heads(tiny_encoder, init_labels=True)
    nlp.config["initialize"]["components"]["sentiment"]["lables"] = ["x"]
    with pytest.raises(Exception, match="lables"):
        nlp.initialize(lambda: three_task_examples(nlp))


def test_exclusive_head_refuses_docs_whose_labels_do_not_sum_to_one(make_nlp):
    nlp, examples = make_nlp()
    textcat = nlp.get_pipe("textcat")
    bad = cats_example(nlp, "so so", "neutral")
    bad.reference.cats = {"negative": 1.0, "neutral": 1.0, "positive": 0.0}
    with pytest.raises(ValueError, match=r"\[E022\] Component 'textcat', training example 0 "):
        textcat.initialize(lambda: [bad], nlp=nlp)


def test_each_heads_gradient_is_the_gradient_of_the_loss_it_reports(tiny_encoder):
    """Through each head's real output layer (softmax for sentiment, logistic for the
    multi-label topics), the gradient of the output bias is the derivative of the
    reported mean loss, times the number of annotated docs (heads backpropagate the
    sum), by central differences."""
    nlp = two_cats_heads(tiny_encoder, init_labels=True)
    examples = three_task_examples(nlp)
    nlp.initialize(lambda: examples)
    for name in ("sentiment", "topics"):
        randomize_head(nlp, name, scale=1.0)
    nlp.update(examples, sgd=False, drop=0.0)
    encoded = list(nlp.get_pipe("transformer").pipe([eg.predicted.copy() for eg in examples]))
    for name in ("sentiment", "topics"):
        head = nlp.get_pipe(name)
        annotated = sum(head.is_annotated(eg) for eg in examples)
        output = head.model.get_ref("output_layer")
        bias = output.get_param("b").copy()
        numeric = numpy.zeros_like(bias)
        step = 1e-2
        for k in range(len(bias)):
            sides = []
            for sign in (1, -1):
                shifted = bias.copy()
                shifted[k] += sign * step
                output.set_param("b", shifted)
                sides.append(head.get_loss(examples, head.predict(encoded))[0])
            numeric[k] = annotated * (sides[0] - sides[1]) / (2 * step)
        output.set_param("b", bias)
        numpy.testing.assert_allclose(
            output.get_grad("b"), numeric, rtol=2e-2, atol=1e-3, err_msg=name
        )
