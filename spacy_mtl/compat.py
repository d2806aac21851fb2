"""Every private spaCy / spacy-transformers name spacy-mtl uses, in one place.

Each import here is an assumption about a pinned dependency's internals;
tests/test_compat.py checks them, so that a release that changes one fails loudly
instead of silently changing what spacy-mtl computes.
"""

# spaCy's own commands parse `--section.key value` overrides with this function; it is
# not exported from `spacy.cli`, and parsing overrides any other way would differ from
# `spacy train` in how values are typed.
# spaCy's own commands print config errors through this context manager (one `✘` line,
# then each bad section and key); `spacy mtl train` uses it so that its config errors
# read as `spacy train`'s do.
from spacy.cli._util import parse_config_overrides, show_validation_error
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import set_pytorch_transformer
from thinc.api import Model


def encoder_shim(model: Model) -> HFShim:
    """The shim that holds a spacy-transformers `TransformerModel`'s torch encoder.

    The int8 encoder (spacy_mtl/models/int8.py) relies on three of its internals:
    `_model` is the torch module it runs, `model_cls.from_config(config)` builds the
    module a saved encoder's weights load into (`from_bytes`), and the model's
    `set_transformer` attribute (`set_pytorch_transformer`) sets a freshly loaded
    pretrained encoder.
    """
    shim = model.layers[0].shims[0]
    if not isinstance(shim, HFShim):
        raise TypeError(
            f"expected a spacy-transformers TransformerModel, got {model.name!r} with {type(shim).__name__}"
        )
    return shim


__all__ = [
    "encoder_shim",
    "parse_config_overrides",
    "set_pytorch_transformer",
    "show_validation_error",
]
