"""Bad configs fail early, with a message naming the key or component."""

import pytest
import spacy

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
    with pytest.raises(ValueError, match=r"\[components\.transformer\.weighting\].*'sentiment'"):
        initialize(nlp)


def test_weighting_missing_a_task(tiny_encoder):
    config = load_config(
        "mtl.cfg",
        tiny_encoder,
        {"@mtl_weightings": "spacy_mtl.static.v1", "weights": {"textcat": 1.0}},
    )
    with pytest.raises(ValueError, match=r"\[components\.transformer\.weighting\].*\['ner'\]"):
        initialize(build(config))


def test_negative_static_weight_in_config(tiny_encoder):
    config = load_config(
        "mtl.cfg",
        tiny_encoder,
        {"@mtl_weightings": "spacy_mtl.static.v1", "weights": {"textcat": 1.0, "ner": -1.0}},
    )
    with pytest.raises(ValueError, match=r"weights\.ner = -1\.0.*finite number >= 0"):
        build(config)


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), "1"])
def test_non_finite_static_weight(weight):
    # JSON configs cannot carry NaN; the Python API can.
    with pytest.raises(ValueError, match=r"weights\.ner = .*finite number >= 0"):
        StaticWeighting({"textcat": 1.0, "ner": weight})


def test_empty_task_list(tiny_encoder):
    config = load_config(
        "mtl.cfg", tiny_encoder, {"@mtl_weightings": "spacy_mtl.static.v1", "weights": {}}
    )
    with pytest.raises(ValueError, match="'weights' is empty"):
        build(config)


def test_no_task_heads(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder, pipeline=["transformer"])
    nlp = build(config)
    with pytest.raises(ValueError, match=r"\[components\.transformer\.weighting\].*no task heads"):
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
    with pytest.raises(
        ValueError, match="Component 'textcat' does not listen to a shared transformer"
    ):
        initialize(nlp)


def test_stock_component_listening_to_the_shared_transformer(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["textcat"]["factory"] = "textcat"
    for setting in ("teacher_weight", "annealing"):  # mtl_textcat's own
        del config["components"]["textcat"][setting]
    with pytest.raises(
        ValueError,
        match="Component 'textcat' listens to the shared transformer 'transformer' but is not a multi-task head",
    ):
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
    with pytest.raises(ValueError, match=r"\[components.transformer\] max_batch_items = 0"):
        build(config)
