"""PyTorch's eager int8 encoder: kept as a fallback, deprecated, and warned about.

`quantize = "int8"` on `spacy_mtl.TransformerModel.v1` runs the encoder with
PyTorch's dynamic quantisation (`torch.ao.quantization.quantize_dynamic`, which
PyTorch deprecates): the linear layers hold int8 weights (one scale per output
channel) and quantise their input batch by batch; the word-embedding table holds
one 8-bit row per word piece. Position embeddings, layer norms, the task heads and
each layer's feed-forward output projection stay in fp32: that projection reads the
GELU activations, whose few large values leave one per-batch scale too coarse for
the rest (it cost entity F1 on the shipped tweets' dev set). Per-tensor weight
scales, PyTorch's default, move MiniLM's token vectors further from fp32 than
per-channel ones.

One activation scale per encoder call makes a post's output depend on the posts it
is batched with; building such an encoder warns (W050). Serve int8 with ONNX
Runtime instead (`spacy_mtl.models.onnx`, `spacy mtl quantize`, the default
engine), whose int8 scales do not depend on the batch.

Quantised encoders run inference only, on the CPU: PyTorch's dynamic int8 kernels
have neither gradients nor GPU versions. `quantize_pipeline` (`spacy mtl quantize
--engine torch`) converts a trained fp32 pipeline.
"""

import warnings
from pathlib import Path
from typing import List, Optional, Union

import spacy
import torch
from spacy.language import Language
from thinc.api import Config, Model
from transformers import AutoModel, PretrainedConfig

from ..compat import encoder_shim, set_pytorch_transformer
from ..errors import Errors, Warnings
from ..files import atomic_dir, check_outputs
from ..types import INFERENCE_ONLY

#: The values `quantize` may take (None: fp32).
QUANTIZE_MODES = ("int8",)
#: The architecture whose `quantize` setting the conversion sets.
ARCHITECTURE = "spacy_mtl.TransformerModel.v1"


def check_quantize(quantize: Optional[str]) -> Optional[str]:
    """The `quantize` setting, or a ValueError that names it and its values."""
    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ValueError(Errors.E080.format(value=quantize, values=list(QUANTIZE_MODES)))
    return quantize


def quantize_encoder(module: torch.nn.Module) -> torch.nn.Module:
    """Quantise a Hugging Face encoder to int8 in place; RETURNS the same module."""
    if next(module.parameters()).device.type != "cpu":
        raise ValueError(Errors.E085)
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
        # PyTorch's own deprecation warning: W050 has said it in spacy-mtl's words,
        # with what to use instead.
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
    encoder; one that already holds an fp32 encoder is quantised now. Warns (W050):
    the eager int8 path is deprecated.

    RETURNS (Model): the same model.
    """
    warnings.warn(Warnings.W050.format(component=ARCHITECTURE), stacklevel=2)
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


def converted(model: Model) -> Optional[str]:
    """What a transformer model was converted to for serving (e.g. 'int8 (quantize =
    "int8")'), or None for a trainable torch encoder."""
    return model.attrs.get(INFERENCE_ONLY)


def encoder_components(nlp: Language) -> List[str]:
    """The components whose model is `spacy_mtl.TransformerModel.v1`."""
    return [
        name
        for name in nlp.pipe_names
        if nlp.config["components"][name].get("model", {}).get("@architectures") == ARCHITECTURE
    ]


def component_model(nlp: Language, name: str) -> Model:
    """The thinc model of component `name`."""
    model = getattr(nlp.get_pipe(name), "model", None)
    if not isinstance(model, Model):
        raise ValueError(Errors.E087.format(path=name))
    return model


def load_for_conversion(input_dir: Path) -> Language:
    """The trained pipeline in `input_dir`, checked: it has an fp32 torch encoder
    (`spacy_mtl.TransformerModel.v1`) that was not converted before."""
    if not (input_dir / "config.cfg").is_file():
        raise ValueError(Errors.E086.format(path=input_dir))
    nlp = spacy.load(input_dir)
    names = encoder_components(nlp)
    if not names:
        raise ValueError(Errors.E087.format(path=input_dir))
    for name in names:
        what = converted(component_model(nlp, name))
        if what:
            raise ValueError(Errors.E088.format(path=input_dir, component=name, what=what))
    return nlp


def quantize_pipeline(
    input_dir: Union[str, Path], output_dir: Union[str, Path], *, force: bool = False
) -> List[str]:
    """Write the PyTorch int8 twin of the pipeline saved in `input_dir` to `output_dir`
    (deprecated: `spacy_mtl.models.onnx.export_pipeline` serves int8 on ONNX Runtime).

    The output may neither be, hold nor lie inside the input. The pipeline is written
    to a temporary directory beside `output_dir`, loaded back, and only then moved
    into place, so a failed conversion leaves nothing behind and an existing
    `output_dir` is replaced only with `force`.

    RETURNS (List[str]): the components whose encoder was quantised.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    check_outputs([output_dir], [input_dir])
    with atomic_dir(output_dir, replace=force) as staging:
        nlp = load_for_conversion(input_dir)
        names = encoder_components(nlp)
        config = Config(nlp.config)
        for name in names:
            make_int8(component_model(nlp, name))
            config["components"][name]["model"]["quantize"] = "int8"
        nlp.to_disk(staging)
        config.to_disk(staging / "config.cfg")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # W050 again, said above
            spacy.load(staging)  # what a user will run next; fails here rather than there
    return names
