"""Partial sharing from the command line: configs/mtl-partial.cfg, the overrides of
configs/mtl.cfg that give the same pipeline, `spacy mtl train` on it, and
`spacy mtl quantize` of the result (the shared encoder converted, the task layers
kept in torch fp32)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from spacy.util import load_config
from thinc.api import Config
from transformers import AutoConfig

from spacy_mtl.models.export import export_pipeline
from spacy_mtl.models.int8 import quantize_pipeline
from spacy_mtl.models.onnx import OnnxShim
from spacy_mtl.models.task_layers import task_layers_shim
from spacy_mtl.models.transformer import DEFAULT_ENCODER, resolve_encoder

from helpers import CONFIGS, write_task_corpora

HEADS = ("textcat", "ner")
TEXTS = ["Obama visited Paris", "so tired today", "Messi met Coldplay in London #concert"]


def mtl_overrides(shared, task, encoder: str = DEFAULT_ENCODER) -> dict:
    """The overrides that turn configs/mtl.cfg into partial sharing (the README's)."""
    overrides = {"components.transformer.model.layers": shared}
    for head in HEADS:
        overrides.update(
            {
                f"components.{head}.model.tok2vec.@architectures": "spacy_mtl.TaskLayersListener.v1",
                f"components.{head}.model.tok2vec.name": encoder,
                f"components.{head}.model.tok2vec.layers": task,
            }
        )
    return overrides


def test_spacy_debug_config_passes():
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "debug", "config", str(CONFIGS / "mtl-partial.cfg")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config is valid" in result.stdout


def test_the_shipped_split_is_minilm_n_minus_1():
    config = load_config(CONFIGS / "mtl-partial.cfg", interpolate=True)
    shared = config["components"]["transformer"]["model"]["layers"]
    n = AutoConfig.from_pretrained(resolve_encoder(DEFAULT_ENCODER)).num_hidden_layers
    assert shared == list(range(n - 1))
    for head in HEADS:
        tok2vec = config["components"][head]["model"]["tok2vec"]
        assert tok2vec["layers"] == [n - 1] and tok2vec["name"] == DEFAULT_ENCODER


@pytest.mark.parametrize(
    "shared,task", [([0, 1, 2, 3, 4], [5]), ([0, 1, 2, 3], [4, 5]), (None, [])]
)
def test_mtl_cfg_overrides_build_the_partial_config(shared, task):
    """configs/mtl-partial.cfg is configs/mtl.cfg and the partial-sharing settings,
    nothing else; N-2 and full sharing by its [sharing] overrides."""
    partial = load_config(
        CONFIGS / "mtl-partial.cfg",
        overrides={"sharing.shared_layers": shared, "sharing.task_layers": task},
        interpolate=True,
    )
    overridden = load_config(
        CONFIGS / "mtl.cfg", overrides=mtl_overrides(shared, task), interpolate=True
    )
    partial = Config(partial)
    del partial["sharing"]
    for head in HEADS:
        assert partial["components"][head]["model"]["tok2vec"].pop("max_batch_items") == 512
    assert partial == overridden


@pytest.fixture(scope="module")
def trained(tiny_encoder, tmp_path_factory) -> Path:
    """`spacy mtl train configs/mtl-partial.cfg` on the tiny encoder, layer 0 shared
    and a copy of layer 1 per head: the N-1 command line, on 2 layers."""
    directory = tmp_path_factory.mktemp("train")
    paths = write_task_corpora(directory)
    args = [
        *("spacy", "mtl", "train", str(CONFIGS / "mtl-partial.cfg")),
        *("--output", str(directory / "out"), "--gpu-id", "-1"),
        *(
            "--paths.textcat_train",
            str(paths["textcat"]),
            "--paths.textcat_dev",
            str(paths["textcat"]),
        ),
        *("--paths.ner_train", str(paths["ner"]), "--paths.ner_dev", str(paths["ner"])),
        *("--components.transformer.model.name", tiny_encoder),
        *("--sharing.shared_layers", "[0]", "--sharing.task_layers", "[1]"),
        *("--training.max_steps", "3", "--training.eval_frequency", "3"),
        *("--training.logger.path", "null"),
    ]
    result = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ANSI_COLORS_DISABLED": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory / "out" / "model-best"


def test_spacy_mtl_train_trains_a_partial_pipeline(trained, tiny_encoder):
    nlp = spacy.load(trained)
    config = nlp.config.interpolate()
    # The heads copy the encoder the command line named (interpolated after overrides).
    assert config["components"]["textcat"]["model"]["tok2vec"]["name"] == tiny_encoder
    assert len(nlp.get_pipe("transformer").model.transformer.encoder.layer) == 1
    for head in HEADS:
        assert len(task_layers_shim(nlp.get_pipe(head).model).module.encoder.layer) == 1
    docs = list(nlp.pipe(TEXTS))
    assert all(set(doc.cats) == {"negative", "neutral", "positive"} for doc in docs)


def outputs(nlp):
    docs = list(nlp.pipe(TEXTS))
    return [doc.cats for doc in docs], [
        [(e.start, e.end, e.label_) for e in doc.ents] for doc in docs
    ]


def test_quantize_to_onnx_converts_the_shared_encoder_and_keeps_the_task_layers(trained, tmp_path):
    report = export_pipeline(trained, tmp_path / "onnx", precision="fp32")
    assert report.components == ["transformer"]
    assert report.max_abs_diff < 1e-4 and report.same_class == 1.0 and report.same_entities == 1.0
    served = spacy.load(tmp_path / "onnx")
    assert isinstance(served.get_pipe("transformer").model.layers[0].shims[0], OnnxShim)
    module = task_layers_shim(served.get_pipe("textcat").model).module
    assert all(p.dtype == torch.float32 for p in module.parameters())
    cats, ents = outputs(spacy.load(trained))
    got_cats, got_ents = outputs(served)
    assert got_ents == ents
    for a, b in zip(got_cats, cats):
        numpy.testing.assert_allclose([a[k] for k in b], list(b.values()), atol=1e-4)


def test_torch_int8_quantizes_the_shared_encoder_only(trained, tmp_path):
    with pytest.warns(UserWarning, match=r"\[W050\]"):
        quantize_pipeline(trained, tmp_path / "int8")
        served = spacy.load(tmp_path / "int8")
    shared = served.get_pipe("transformer").model.transformer
    assert isinstance(
        shared.encoder.layer[0].intermediate.dense, torch.ao.nn.quantized.dynamic.Linear
    )
    module = task_layers_shim(served.get_pipe("ner").model).module
    assert type(module.encoder.layer[0].intermediate.dense) is torch.nn.Linear
    assert all(set(doc.cats) for doc in served.pipe(TEXTS))
