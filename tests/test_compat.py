"""The assumptions spacy_mtl/compat.py makes about spaCy's internals.

Each test fails loudly when a release of a pinned dependency changes one of them.
"""

import pytest
import spacy
from spacy.pipeline._parser_internals.ner import BiluoPushDown
from spacy.pipeline.ner import EntityRecognizer
from thinc.api import ConfigValidationError

from spacy_mtl.compat import parse_config_overrides, show_validation_error


def test_overrides_are_parsed_and_typed_as_spacy_train_parses_them():
    args = [
        "--training.max_steps",
        "3",
        "--paths.train",
        "x.spacy",
        "--nlp.lang=en",
        "--training.dropout",
        "0.5",
    ]
    assert parse_config_overrides(args, env_var=None) == {
        "training.max_steps": 3,
        "paths.train": "x.spacy",
        "nlp.lang": "en",
        "training.dropout": 0.5,
    }


def test_ner_hooks_the_head_relies_on_are_there():
    """mtl_ner overrides `get_batch_loss`, which the parser's update calls once per
    transition step (tests/pipeline/test_ner.py checks the calls and their gradient),
    and reads gold actions through the transition system's public `get_cost`."""
    assert callable(getattr(EntityRecognizer, "get_batch_loss", None))
    assert callable(getattr(BiluoPushDown, "get_cost", None))
    assert spacy.__version__.startswith("3.8.")


def test_config_errors_are_shown_as_spacy_train_shows_them(capsys):
    """`spacy mtl train` shows config errors through spaCy's own context manager: it
    must catch ConfigValidationError, print one `✘` line and the bad keys, exit with 1."""
    error = ConfigValidationError(
        config={"training": {"dropout": "much"}},
        title="Config validation error",
        errors=[
            {
                "loc": ["training", "dropout"],
                "msg": "Input should be a valid number",
                "type": "float_parsing",
            }
        ],
    )
    with pytest.raises(SystemExit) as exited:
        with show_validation_error("config.cfg", hint_fill=False):
            raise error
    out = capsys.readouterr().out
    assert exited.value.code == 1
    assert out.count("✘") == 1 and "Config validation error" in out and "training -> dropout" in out


def test_the_encoder_shim_loads_through_model_cls_and_sets_through_the_hook(tiny_encoder):
    """The int8 encoder swaps the shim's `model_cls` (what `from_bytes` builds a saved
    encoder from) and the model's `set_transformer` hook (what `initialize` sets a
    pretrained encoder through)."""
    from spacy_transformers.layers import TransformerModel
    from spacy_transformers.span_getters import configure_strided_spans
    from transformers import AutoModel

    from spacy_mtl.compat import encoder_shim, set_pytorch_transformer

    def make():
        return TransformerModel(
            tiny_encoder, configure_strided_spans(window=16, stride=12), {"use_fast": True}
        )

    trained = make()
    assert trained.attrs["set_transformer"] is set_pytorch_transformer
    set_calls = []
    trained.attrs["set_transformer"] = lambda model, hf: (
        set_calls.append(hf),
        set_pytorch_transformer(model, hf),
    )
    trained.initialize()
    assert len(set_calls) == 1 and encoder_shim(trained)._model is set_calls[0].transformer

    built = []

    class Recording:
        @staticmethod
        def from_config(config):
            built.append(config.num_hidden_layers)
            return AutoModel.from_config(config)

    loaded = make()
    encoder_shim(loaded).model_cls = Recording
    loaded.from_bytes(trained.to_bytes())
    assert built == [2] and encoder_shim(loaded)._model is loaded.transformer
