"""The text classification heads: missing annotation is missing, the loss is the NLL."""
import numpy
import pytest
import spacy
from spacy.training import Example
from thinc.api import fix_random_seed

from helpers import cats_example, load_config, ner_example, randomize_head


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
    config["components"]["textcat"] = {"factory": "mtl_textcat_multilabel", "model": {
        **config["components"]["textcat"]["model"], "exclusive_classes": False}}
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    doc = nlp.make_doc("great phone , awful battery")
    ref = doc.copy()
    ref.cats = {"praise": 1.0, "complaint": 1.0}  # "question" is missing for this doc
    ref.set_ents([], default="missing")
    examples = [Example(doc, ref), Example(nlp.make_doc("is it any good ?"), nlp.make_doc("is it any good ?"))]
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
