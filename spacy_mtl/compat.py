"""Every private spaCy / spacy-transformers name spacy-mtl uses, in one place.

Each import here is an assumption about a pinned dependency's internals;
tests/test_compat.py checks them, so that a release that changes one fails loudly
instead of silently changing what spacy-mtl computes.
"""

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Dict, Sequence

import srsly

# spaCy's own commands parse `--section.key value` overrides with this function; it is
# not exported from `spacy.cli`, and parsing overrides any other way would differ from
# `spacy train` in how values are typed.
# spaCy's own commands print config errors through this context manager (one `✘` line,
# then each bad section and key); `spacy mtl train` uses it so that its config errors
# read as `spacy train`'s do.
from spacy.cli._util import parse_config_overrides, show_validation_error

# spaCy 3.8's transition-based model (`spacy.TransitionBasedParser.v2`) returns, for a
# batch of docs, this step model: its `predict(states)` scores the actions of parser
# states over those docs. spaCy's own parser update and rehearsal score states with it;
# mtl_ner's soft teacher targets make a teacher's NER score the student's states with
# it. spaCy v4 replaces it.
from spacy.ml.parser_model import ParserStepModel
from spacy.tokens import Doc
from spacy_transformers.align import get_alignment_via_offset_mapping
from spacy_transformers.data_classes import HFObjects, WordpieceBatch
from spacy_transformers.layers.hf_shim import HFShim
from spacy_transformers.layers.transformer_model import (
    huggingface_tokenize,
    set_pytorch_transformer,
)
from spacy_transformers.truncate import truncate_oversize_splits
from thinc.api import Model

from .errors import Errors

#: The tokenizer settings a saved encoder may carry (spacy-transformers writes
#: `{"use_fast": ...}`); anything else, trust_remote_code above all, is refused.
SAVED_TOKENIZER_KWARGS = frozenset({"use_fast"})


def encoder_shim(model: Model) -> HFShim:
    """The shim that holds a spacy-transformers `TransformerModel`'s torch encoder.

    The int8 encoder (spacy_mtl/models/int8.py) relies on three of its internals:
    `_model` is the torch module it runs, `model_cls.from_config(config)` builds the
    module a saved encoder's weights load into (`from_bytes`), and the model's
    `set_transformer` attribute (`set_pytorch_transformer`) sets a freshly loaded
    pretrained encoder. `_hfmodel` holds the tokenizer (`HFObjects`).
    """
    shim = model.layers[0].shims[0]
    if not isinstance(shim, HFShim):
        raise TypeError(Errors.E301.format(name=model.name, shim=type(shim).__name__))
    return shim


def parser_step_model(model: Model, docs: Sequence[Doc]) -> ParserStepModel:
    """A transition-based parser model's step model over `docs`, with no dropout: it
    scores the actions of parser states over the same docs in the same order.

    A state finds its tokens through the offset that `TransitionSystem.init_batch`
    gave it (the tokens of the docs before its own in that batch), so it can be
    scored by the step model of any parser built on docs of the same lengths in the
    same order: that is how a teacher scores a student's states.

    model (Model): the `model` of an `EntityRecognizer` (or any transition parser).
    docs (Sequence[Doc]): the docs, each already annotated by the components the
        parser listens to.
    RETURNS (ParserStepModel): the step model; `clear_memory()` frees it.
    """
    step = model.predict(list(docs))
    if not isinstance(step, ParserStepModel):
        raise TypeError(Errors.E032.format(name=model.name, type=type(step).__name__))
    return step


def is_plain_file_name(name: str) -> bool:
    """Whether `name` names a file directly inside a directory: not absolute, no
    folder part, not "." or "..", on POSIX and on Windows alike."""
    if not name or name in (".", "..") or "\x00" in name:
        return False
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.anchor or len(pure.parts) != 1 or pure.name != name:
            return False
    return True


def check_saved_encoder(msg: Dict[str, Any]) -> None:
    """Refuse a saved spacy-transformers encoder (the msgpack of `HFShim.to_bytes`)
    that would write outside its temporary directory or run code when loaded.

    spacy-transformers 1.4's `HFShim.from_bytes` joins every tokenizer file name to a
    temporary directory unchecked, and passes the saved tokenizer settings to
    `from_pretrained`: a crafted pipeline could write any file, or ask for remote code.

    msg (Dict[str, Any]): the decoded message.
    RAISES (ValueError): E089 for a file name that is not a plain one, E090 for code.
    """
    tokenizer = msg.get("tokenizer") or {}
    if not isinstance(tokenizer, dict):
        raise ValueError(Errors.E090.format(what="a tokenizer that is not a table of files"))
    kwargs = tokenizer.get("kwargs") or {}
    if not isinstance(kwargs, dict) or set(kwargs) - SAVED_TOKENIZER_KWARGS:
        extra = sorted(set(kwargs) - SAVED_TOKENIZER_KWARGS) if isinstance(kwargs, dict) else kwargs
        raise ValueError(Errors.E090.format(what=f"tokenizer settings {extra}"))
    for name, data in tokenizer.items():
        if name == "kwargs":
            continue
        if not isinstance(name, str) or not is_plain_file_name(name):
            raise ValueError(Errors.E089.format(name=name))
        if name.endswith(".json") and isinstance(data, bytes) and b'"auto_map"' in data:
            raise ValueError(Errors.E090.format(what=f"auto_map in {name}"))
    config = msg.get("config") or {}
    if isinstance(config, dict) and ("auto_map" in config or config.get("trust_remote_code")):
        raise ValueError(Errors.E090.format(what="auto_map in the encoder's config"))


class CheckedHFShim(HFShim):
    """`HFShim` whose `from_bytes` checks the saved encoder first (`check_saved_encoder`)."""

    def from_bytes(self, bytes_data):
        check_saved_encoder(srsly.msgpack_loads(bytes_data))
        return super().from_bytes(bytes_data)


def guard_encoder_loading(model: Model) -> Model:
    """Make a spacy-transformers `TransformerModel` check its saved encoder before
    spacy-transformers reads it (see `check_saved_encoder`). RETURNS the same model."""
    shim = encoder_shim(model)
    if type(shim) is HFShim:
        shim.__class__ = CheckedHFShim
    return model


__all__ = [
    "CheckedHFShim",
    "HFObjects",
    "ParserStepModel",
    "WordpieceBatch",
    "check_saved_encoder",
    "encoder_shim",
    "get_alignment_via_offset_mapping",
    "guard_encoder_loading",
    "huggingface_tokenize",
    "is_plain_file_name",
    "parse_config_overrides",
    "parser_step_model",
    "set_pytorch_transformer",
    "show_validation_error",
    "truncate_oversize_splits",
]
