"""A user's own head: a tagger implementing the `TaskHead` contract trains beside the
textcat and NER heads, three tasks under one weighting."""

from typing import List, Optional

import numpy
import pytest
import recording_weighting  # noqa: F401  (registers tests.recording.v1)
import spacy
from spacy.language import Language
from spacy.pipeline.tagger import Tagger
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Config, set_dropout_rate

from spacy_mtl import TaskHead, TaskLoss
from spacy_mtl.pipeline.task_head import LISTENER_CONFIG
from spacy_mtl.weighting import StaticWeighting

from helpers import clear_encoder_grads, encoder_grads, load_config, mixed_examples, randomize_head

# A head's default model: spaCy's architecture with the shared listener as its tok2vec.
TAGGER_MODEL = Config().from_str(
    '[model]\n@architectures = "spacy.Tagger.v2"\nnO = null\n' + LISTENER_CONFIG
)["model"]


class TaggerHead(TaskHead, Tagger):
    """Part-of-speech tags; the loss is the mean NLL over the tagged tokens."""

    def has_task_gold(self, examples) -> bool:
        return any(len(eg.predicted) and eg.reference.has_annotation("TAG") for eg in examples)

    def update_task(self, examples: List[Example], *, drop: float) -> Optional[TaskLoss]:
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        d_scores, total, n_tokens = [], 0.0, 0
        for eg, probs in zip(examples, scores):
            d = probs.copy()
            for i, tag in enumerate(eg.get_aligned("TAG", as_string=True)):
                if tag in self.labels:
                    j = self.labels.index(tag)
                    total -= float(numpy.log(probs[i, j]))
                    d[i, j] -= 1.0
                    n_tokens += 1
                else:
                    d[i] = 0.0
            d_scores.append(d)
        if n_tokens == 0 or not numpy.isfinite(total):
            return None
        backprop(d_scores)
        return TaskLoss(total / n_tokens, n_tokens)

    def initialize(self, get_examples, *, nlp=None, labels=None):
        self.require_encoder(nlp)
        super().initialize(get_examples, nlp=nlp, labels=labels)


@Language.factory("test_tagger_head", default_config={"model": TAGGER_MODEL})
def make_tagger_head(nlp, name, model):
    return TaggerHead(nlp.vocab, model, name=name)


def tagged_example(nlp, words, tags) -> Example:
    predicted = Doc(nlp.vocab, words=words)
    reference = Doc(nlp.vocab, words=words, tags=tags)
    reference.set_ents([], default="missing")
    return Example(predicted, reference)


@pytest.fixture
def three_heads(tiny_encoder):
    config = load_config(
        "mtl.cfg", tiny_encoder, weighting={"@mtl_weightings": "tests.recording.v1"}
    )
    config["nlp"]["pipeline"] = ["transformer", "textcat", "tagger", "ner"]
    config["components"]["tagger"] = {"factory": "test_tagger_head"}
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    examples = mixed_examples(nlp) + [
        tagged_example(nlp, ["the", "cat", "sat"], ["DT", "NN", "VBD"]),
        tagged_example(nlp, ["dogs", "bark", "loudly"], ["NNS", "VBP", "RB"]),
    ]
    nlp.initialize(lambda: examples)
    # spaCy initialises both output layers to zeros, which send no gradient back.
    randomize_head(nlp, "textcat")
    randomize_head(nlp, "tagger", seed=2)
    return nlp, examples


def test_three_heads_report_to_one_weighting(three_heads):
    nlp, examples = three_heads
    transformer = nlp.get_pipe("transformer")
    assert transformer.tasks == ["textcat", "tagger", "ner"]
    optimizer = nlp.create_optimizer()
    for _ in range(3):
        losses = nlp.update(examples, sgd=optimizer)
        assert set(transformer.last_step) == {"textcat", "tagger", "ner"}
    step = transformer.weighting.steps[-1]
    assert step.tasks == ["textcat", "tagger", "ner"]
    assert all(numpy.abs(row).sum() > 0 for row in step.grads)
    assert step.losses[1] == pytest.approx(losses["tagger"]) and step.losses[1] > 0


def test_three_task_gradients_add_up_in_the_encoder(three_heads):
    nlp, examples = three_heads
    transformer = nlp.get_pipe("transformer")

    def grads_with(weights):
        weighting = StaticWeighting(weights)
        weighting.initialize(transformer.tasks)
        transformer.weighting = weighting
        clear_encoder_grads(nlp)
        nlp.update(examples, sgd=False, drop=0.0)
        return encoder_grads(nlp)

    tasks = transformer.tasks
    alone = {t: grads_with({u: float(u == t) for u in tasks}) for t in tasks}
    mixed = grads_with({"textcat": 0.5, "tagger": 2.0, "ner": 1.0})
    for task in tasks:
        assert sum(float(numpy.abs(g).sum()) for g in alone[task]) > 0, task
    for i, g in enumerate(mixed):
        expected = 0.5 * alone["textcat"][i] + 2.0 * alone["tagger"][i] + alone["ner"][i]
        numpy.testing.assert_allclose(
            g, expected, rtol=1e-4, atol=1e-5 * float(numpy.abs(expected).max()) + 1e-9
        )


class HeadWithoutUpdateTask(TaskHead, Tagger):
    """Leaves out half of the contract."""

    def has_task_gold(self, examples) -> bool:
        return True


@Language.factory("test_head_without_update_task", default_config={"model": TAGGER_MODEL})
def make_head_without_update_task(nlp, name, model):
    return HeadWithoutUpdateTask(nlp.vocab, model, name=name)


def tagger_pipeline(tiny_encoder, factory: str):
    config = load_config("mtl.cfg", tiny_encoder)
    config["nlp"]["pipeline"] = ["transformer", "textcat", "tagger", "ner"]
    config["components"]["tagger"] = {"factory": factory}
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


def test_a_head_without_update_task_is_refused_when_created(tiny_encoder):
    with pytest.raises(TypeError, match="update_task"):
        tagger_pipeline(tiny_encoder, "test_head_without_update_task")


def test_a_head_that_escaped_the_abstract_check_is_refused_when_bound(tiny_encoder, monkeypatch):
    """A spaCy component is a Cython extension type, whose constructor need not run
    Python's check for abstract methods: the transformer checks when it binds the
    head. Emptying `__abstractmethods__` lets the constructor through, as such a
    constructor would; the methods stay abstract."""
    monkeypatch.setattr(HeadWithoutUpdateTask, "__abstractmethods__", frozenset())
    head = spacy.blank("en").add_pipe("test_head_without_update_task")
    assert getattr(type(head).update_task, "__isabstractmethod__", False)
    with pytest.raises(TypeError, match=r"\[E004\] HeadWithoutUpdateTask .* update_task$"):
        tagger_pipeline(tiny_encoder, "test_head_without_update_task")


class NotAComponent(TaskHead):
    def has_task_gold(self, examples) -> bool:
        return True

    def update_task(self, examples, *, drop):
        return None


def test_a_head_that_is_not_a_spacy_component_is_refused():
    head = NotAComponent()
    with pytest.raises(TypeError, match=r"\[E005\] NotAComponent "):
        head.bind_encoder(spacy.blank("en").add_pipe("mtl_transformer"))
    with pytest.raises(TypeError, match=r"\[E005\] NotAComponent "):
        head.update([])
