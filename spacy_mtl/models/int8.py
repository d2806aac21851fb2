"""An int8 shared encoder for CPU inference.

`quantize = "int8"` on `spacy_mtl.TransformerModel.v1` runs the encoder with
PyTorch's dynamic quantisation: the linear layers hold int8 weights (one scale per
output channel) and quantise their input batch by batch; the word-embedding table
holds one 8-bit row per word piece. Position embeddings, layer norms, the task heads
and each layer's feed-forward output projection stay in fp32. That projection reads
the GELU activations, whose few large values leave one per-batch int8 scale too
coarse for the rest: on the shipped tweets' dev set, quantising it too cost 2.2
entity F1 points where keeping it cost 0.5. Per-tensor weight scales, PyTorch's
default, move MiniLM's token vectors about twice as far from fp32 as per-channel ones.

Quantised encoders run inference only, on the CPU: PyTorch's dynamic int8 kernels
have neither gradients nor GPU versions. Train in fp32 and convert the trained
pipeline (`spacy mtl quantize`, `quantize_pipeline`); the int8 pipeline is saved,
packaged and opened with `spacy.load` like any other, its config saying
`quantize = "int8"`.
"""

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import List, Optional, Union

import spacy
import torch
from spacy.language import Language
from thinc.api import Config, Model
from transformers import AutoModel, PretrainedConfig

from ..compat import encoder_shim, set_pytorch_transformer
from ..types import INFERENCE_ONLY

#: The values `quantize` may take (None: fp32).
QUANTIZE_MODES = ("int8",)
#: The architecture whose `quantize` setting the conversion sets.
ARCHITECTURE = "spacy_mtl.TransformerModel.v1"


def check_quantize(quantize: Optional[str]) -> Optional[str]:
    """The `quantize` setting, or a ValueError that names it and its values."""
    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ValueError(
            f"{ARCHITECTURE}: quantize = {quantize!r}; use one of {list(QUANTIZE_MODES)}, or null for fp32"
        )
    return quantize


def quantize_encoder(module: torch.nn.Module) -> torch.nn.Module:
    """Quantise a Hugging Face encoder to int8 in place; RETURNS the same module."""
    if next(module.parameters()).device.type != "cpu":
        raise ValueError(
            "An int8 encoder runs on the CPU only (PyTorch's dynamic int8 kernels have no "
            "GPU version): load the pipeline without spacy.require_gpu(), or use the fp32 pipeline"
        )
    embeddings = module.get_input_embeddings()
    names = {child: name for name, child in module.named_modules()}
    qconfig_spec = {
        name: torch.ao.quantization.per_channel_dynamic_qconfig
        for name, child in module.named_modules()
        if isinstance(child, torch.nn.Linear) and not is_feed_forward_output(name)
    }
    qconfig_spec[names[embeddings]] = torch.ao.quantization.float_qparams_weight_only_qconfig
    module.eval()
    with warnings.catch_warnings():
        # Eager-mode quantisation is deprecated in favour of torchao, whose int8 CPU
        # kernels need torch.compile to be fast; it still ships with the pinned torch,
        # and tests/test_quantize.py fails when it stops working.
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(
            module, qconfig_spec, dtype=torch.qint8, inplace=True
        )


def is_feed_forward_output(name: str) -> bool:
    """Whether a BERT-style module name is a layer's feed-forward output projection
    (`encoder.layer.N.output.dense`, not the attention's `attention.output.dense`)."""
    return name.endswith(".output.dense") and ".attention." not in name


class Int8AutoModel:
    """What spacy-transformers builds a saved encoder from before loading its
    weights (`model_cls.from_config`): here the int8 form, for int8 weights."""

    @staticmethod
    def from_config(config: PretrainedConfig) -> torch.nn.Module:
        return quantize_encoder(AutoModel.from_config(config))


def _set_int8_transformer(model: Model, hf_model) -> None:
    """The transformer model's `set_transformer` hook: quantise a freshly loaded
    pretrained encoder before it is set."""
    quantize_encoder(hf_model.transformer)
    set_pytorch_transformer(model, hf_model)


def make_int8(model: Model) -> Model:
    """Make a spacy-transformers `TransformerModel` hold, load and save an int8
    encoder; one that already holds an fp32 encoder is quantised now.

    RETURNS (Model): the same model.
    """
    shim = encoder_shim(model)
    if model.attrs["has_transformer"]:
        quantize_encoder(shim._model)
    shim.model_cls = Int8AutoModel
    model.attrs["set_transformer"] = _set_int8_transformer
    model.attrs["quantize"] = "int8"
    model.attrs[INFERENCE_ONLY] = 'int8 (quantize = "int8")'
    return model


def is_quantized(model: Model) -> bool:
    """Whether a transformer model runs an int8 encoder."""
    return model.attrs.get("quantize") is not None


def encoder_components(nlp: Language) -> List[str]:
    """The components whose model is `spacy_mtl.TransformerModel.v1`."""
    return [
        name
        for name in nlp.pipe_names
        if nlp.config["components"][name].get("model", {}).get("@architectures") == ARCHITECTURE
    ]


def quantize_pipeline(
    input_dir: Union[str, Path], output_dir: Union[str, Path], *, force: bool = False
) -> List[str]:
    """Write the int8 twin of the pipeline saved in `input_dir` to `output_dir`.

    The pipeline is written to a temporary directory beside `output_dir`, loaded
    back, and only then moved into place, so a failed conversion leaves nothing
    behind and an existing `output_dir` is replaced only with `force`.

    RETURNS (List[str]): the components whose encoder was quantised.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not (input_dir / "config.cfg").is_file():
        raise ValueError(f"{input_dir}: not a saved pipeline (no config.cfg)")
    if output_dir.resolve() == input_dir.resolve():
        raise ValueError(f"{output_dir}: the output must not be the input pipeline")
    if output_dir.exists() and any(output_dir.iterdir()) and not force:
        raise ValueError(f"{output_dir} exists and is not empty; pass --force to replace it")
    nlp = spacy.load(input_dir)
    names = encoder_components(nlp)
    if not names:
        raise ValueError(
            f"{input_dir}: no component's model is {ARCHITECTURE}; only its encoders can be quantised"
        )
    config = Config(nlp.config)
    for name in names:
        model = nlp.get_pipe(name).model
        if is_quantized(model):
            raise ValueError(
                f"{input_dir}: component '{name}' is already quantized ({model.attrs['quantize']})"
            )
        make_int8(model)
        config["components"][name]["model"]["quantize"] = "int8"
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        nlp.to_disk(staging)
        config.to_disk(staging / "config.cfg")
        spacy.load(staging)  # what a user will run next; fails here rather than there
        if output_dir.exists():
            shutil.rmtree(output_dir)
        os.replace(staging, output_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return names
