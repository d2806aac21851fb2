"""Bad configs fail early, with a message naming the key or component."""

import pytest
import spacy

from spacy_mtl import TaskLoss, Weighting, register_weighting
from spacy_mtl.weighting.static import StaticWeighting

from helpers import load_config, mixed_examples


def build(config):
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


def initialize(nlp):
    examples = mixed_examples(nlp)
    nlp.initialize(lambda: examples)


def test_weighting_naming_an_unknown_task(tiny_encoder):
    config = load_config(
        "mtl.cfg",
        tiny_encoder,
        {"@mtl_weightings": "spacy_mtl.static.v1", "weights": {"textcat": 1.0, "sentiment": 1.0}},
    )
    nlp = build(config)
    with pytest.raises(
        ValueError,
        match=r"\[E057\] \[components\.transformer\.weighting\] spacy_mtl\.static\.v1: .*'sentiment'",
    ):
        initialize(nlp)


def test_weighting_missing_a_task(tiny_encoder):
    config = load_config(
        "mtl.cfg",
        tiny_encoder,
        {"@mtl_weightings": "spacy_mtl.static.v1", "weights": {"textcat": 1.0}},
    )
    with pytest.raises(
        ValueError, match=r"\[E058\] \[components\.transformer\.weighting\] .*\['ner'\]"
    ):
        initialize(build(config))


def test_negative_static_weight_in_config(tiny_encoder):
    config = load_config(
        "mtl.cfg",
        tiny_encoder,
        {"@mtl_weightings": "spacy_mtl.static.v1", "weights": {"textcat": 1.0, "ner": -1.0}},
    )
    with pytest.raises(ValueError, match=r"\[E056\] spacy_mtl\.static\.v1: weights\.ner = -1\.0"):
        build(config)


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), "1"])
def test_non_finite_static_weight(weight):
    # JSON configs cannot carry NaN; the Python API can.
    with pytest.raises(ValueError, match=r"\[E056\] spacy_mtl\.static\.v1: weights\.ner = "):
        StaticWeighting({"textcat": 1.0, "ner": weight})


def test_empty_task_list(tiny_encoder):
    config = load_config(
        "mtl.cfg", tiny_encoder, {"@mtl_weightings": "spacy_mtl.static.v1", "weights": {}}
    )
    with pytest.raises(ValueError, match=r"\[E055\] spacy_mtl\.static\.v1: "):
        build(config)


def test_no_task_heads(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder, pipeline=["transformer"])
    nlp = build(config)
    with pytest.raises(ValueError, match=r"\[E053\] \[components\.transformer\.weighting\] "):
        initialize(nlp)


def test_head_that_does_not_listen(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["textcat"]["model"]["tok2vec"] = {
        "@architectures": "spacy.HashEmbedCNN.v2",
        "pretrained_vectors": None,
        "width": 16,
        "depth": 1,
        "embed_size": 500,
        "window_size": 1,
        "maxout_pieces": 2,
        "subword_features": True,
    }
    nlp = build(config)
    with pytest.raises(ValueError, match=r"\[E003\] Component 'textcat' "):
        initialize(nlp)


def test_stock_component_listening_to_the_shared_transformer(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["textcat"]["factory"] = "textcat"
    for setting in ("teacher_weight", "annealing"):  # mtl_textcat's own
        del config["components"]["textcat"][setting]
    with pytest.raises(ValueError, match=r"\[E009\] Component 'textcat' .* 'transformer'"):
        build(config)


def test_weighting_that_is_not_a_weighting(tiny_encoder):
    config = load_config(
        "mtl.cfg", tiny_encoder, {"@misc": "spacy.LookupsDataLoader.v1", "lang": "en", "table": "x"}
    )
    with pytest.raises(Exception, match="weighting"):
        build(config)


def test_max_batch_items_below_one(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["max_batch_items"] = 0
    with pytest.raises(
        ValueError, match=r"\[E006\] \[components\.transformer\] max_batch_items = 0"
    ):
        build(config)


@register_weighting("tests.refuses_every_task.v1")
class RefusesEveryTask(Weighting):
    """A user's strategy whose own message has no code."""

    def initialize(self, tasks):
        raise ValueError(f"{self.name}: refuses {list(tasks)}")


def test_a_user_weightings_error_names_the_config_section(tiny_encoder):
    config = load_config(
        "mtl.cfg", tiny_encoder, {"@mtl_weightings": "tests.refuses_every_task.v1"}
    )
    with pytest.raises(
        ValueError,
        match=r"\[E008\] \[components\.transformer\.weighting\] tests\.refuses_every_task\.v1: refuses",
    ):
        initialize(build(config))


def test_a_task_loss_is_a_mean_over_some_terms():
    with pytest.raises(ValueError, match=r"\[E001\]"):
        TaskLoss(1.0, 0.0)


def test_a_report_outside_an_update_is_refused(make_nlp):
    nlp, _ = make_nlp()
    with pytest.raises(RuntimeError, match=r"\[E015\] Task head 'textcat'"):
        nlp.get_pipe("transformer").report("textcat", TaskLoss(1.0, 1.0))


@pytest.mark.parametrize(
    "loss,error,code", [(float("nan"), ValueError, "E002"), (1.0, RuntimeError, "E016")]
)
def test_a_head_that_breaks_the_contract_is_refused(make_nlp, monkeypatch, loss, error, code):
    """update_task must return a finite loss, or None; and a loss only after its
    listener sent the gradient (this one backpropagates nothing)."""
    nlp, examples = make_nlp()
    textcat = nlp.get_pipe("textcat")
    monkeypatch.setattr(
        type(textcat), "update_task", lambda self, examples, *, drop: TaskLoss(loss, 1.0)
    )
    with pytest.raises(error, match=rf"\[{code}\] .*textcat"):
        nlp.update(examples, sgd=False)


def test_a_gradient_that_does_not_cover_the_batch_is_refused(make_nlp):
    """A listener sends one gradient per doc that has the encoder's output: the
    transformer cuts the combined gradient by doc for its sub-batches."""
    nlp, examples = make_nlp()
    transformer = nlp.get_pipe("transformer")
    transformer.update(examples)
    listener = transformer.listener_map["textcat"][0]
    with pytest.raises(RuntimeError, match=r"\[E025\] Task head 'textcat' sent 0 gradients"):
        listener.backprop_and_clear([])
