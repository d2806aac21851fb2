"""The int8 encoder: what it quantises, its save/load round trip, training refused,
and `spacy mtl quantize` on a saved pipeline."""

import numpy
import pytest
import spacy
import torch
from thinc.api import Config, fix_random_seed

from spacy_mtl.models.int8 import is_quantized, quantize_pipeline

from helpers import encoder_module, load_config, mixed_examples

TEXTS = [
    "Obama visited Paris",
    "Apple hates Netflix , awful",
    "Messi met Coldplay in London",
    "so tired today",
]


def outputs(nlp):
    """Per text: the cats, the entities and the transformer's token vectors."""
    docs = list(nlp.pipe(TEXTS))
    return (
        [doc.cats for doc in docs],
        [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs],
        [numpy.asarray(doc._.trf_data.tensors[0]) for doc in docs],
    )


@pytest.fixture(scope="module")
def int8_dir(tiny_pipeline, tmp_path_factory):
    path = tmp_path_factory.mktemp("int8") / "tiny_int8"
    assert quantize_pipeline(tiny_pipeline, path) == ["transformer"]
    return path


def test_linear_layers_and_word_embeddings_are_int8(int8_dir):
    nlp = spacy.load(int8_dir)
    module = encoder_module(nlp)
    kept = [n for n, m in module.named_modules() if type(m) is torch.nn.Linear]
    dynamic = [m for m in module.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    # Per layer: q, k, v, attention output and intermediate in int8, the feed-forward
    # output in fp32; and the pooler in int8.
    assert kept == ["encoder.layer.0.output.dense", "encoder.layer.1.output.dense"]
    assert len(dynamic) == 2 * 5 + 1
    assert all(m.weight().qscheme() == torch.per_channel_affine for m in dynamic)
    assert isinstance(module.get_input_embeddings(), torch.ao.nn.quantized.Embedding)
    assert isinstance(module.embeddings.position_embeddings, torch.nn.Embedding)
    assert is_quantized(nlp.get_pipe("transformer").model)
    assert (
        Config().from_disk(int8_dir / "config.cfg")["components"]["transformer"]["model"][
            "quantize"
        ]
        == "int8"
    )


def test_round_trip_gives_identical_outputs(int8_dir, tmp_path):
    first = spacy.load(int8_dir)
    expected = outputs(first)
    first.to_disk(tmp_path / "again")
    for nlp in (spacy.load(int8_dir), spacy.load(tmp_path / "again")):
        cats, ents, vectors = outputs(nlp)
        assert cats == expected[0] and ents == expected[1]
        for got, want in zip(vectors, expected[2]):
            numpy.testing.assert_array_equal(got, want)


def test_int8_is_close_to_fp32_but_not_equal(tiny_pipeline, int8_dir):
    _, _, fp32 = outputs(spacy.load(tiny_pipeline))
    _, _, int8 = outputs(spacy.load(int8_dir))
    for a, b in zip(fp32, int8):
        assert a.shape == b.shape and not numpy.array_equal(a, b)
        cosine = (a * b).sum(-1) / (numpy.linalg.norm(a, axis=-1) * numpy.linalg.norm(b, axis=-1))
        assert cosine.min() > 0.95


def test_the_int8_encoder_is_less_than_half_the_size(tiny_pipeline, int8_dir):
    """A quarter for the weights; at the tiny encoder's width of 32 the word pieces'
    8-byte row scales and the tokenizer files (saved with the encoder) weigh more
    than they do at MiniLM's 384."""
    from pathlib import Path

    fp32 = (Path(tiny_pipeline) / "transformer" / "model").stat().st_size
    int8 = (int8_dir / "transformer" / "model").stat().st_size
    assert int8 < 0.5 * fp32


def test_training_an_int8_encoder_is_refused(tiny_encoder):
    fix_random_seed(0)
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["model"]["quantize"] = "int8"
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    examples = mixed_examples(nlp)
    nlp.initialize(lambda: examples)  # the pretrained encoder is quantised as it loads
    assert isinstance(encoder_module(nlp).get_input_embeddings(), torch.ao.nn.quantized.Embedding)
    with pytest.raises(
        ValueError, match=r"Component 'transformer': its encoder is int8.*spacy mtl quantize"
    ):
        nlp.update(examples, sgd=nlp.create_optimizer())


def test_an_unknown_mode_is_named(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["model"]["quantize"] = "int4"
    with pytest.raises(ValueError, match=r"\[E080\]"):
        spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


def test_the_torch_int8_fallback_warns(int8_dir):
    """PyTorch's eager int8 is deprecated, and its per-batch scales make outputs
    depend on the batch: loading such a pipeline says so, and what to use instead."""
    with pytest.warns(UserWarning, match=r"\[W050\].*spacy mtl quantize"):
        spacy.load(int8_dir)
