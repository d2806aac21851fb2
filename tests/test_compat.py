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


def test_the_saved_encoder_is_laid_out_as_check_saved_encoder_reads_it(tiny_encoder):
    """compat.check_saved_encoder reads HFShim.to_bytes's message: the tokenizer's
    files by name beside its "kwargs", and the encoder's config; spacy-mtl's ONNX
    shim finds the tokenizer where TransformerModel.tokenizer looks (`_hfmodel`),
    and replaces the model's `init` (what thinc's initialize calls)."""
    import srsly
    from spacy_transformers.layers import TransformerModel
    from spacy_transformers.span_getters import configure_strided_spans

    from spacy_mtl.compat import check_saved_encoder, encoder_shim

    model = TransformerModel(
        tiny_encoder, configure_strided_spans(window=16, stride=12), {"use_fast": True}
    )
    model.initialize()
    msg = srsly.msgpack_loads(encoder_shim(model).to_bytes())
    assert {"config", "state", "tokenizer"} <= set(msg)
    assert msg["tokenizer"]["kwargs"] == {"use_fast": True}
    assert "tokenizer.json" in msg["tokenizer"] and "hidden_size" in msg["config"]
    check_saved_encoder(msg)
    assert model.tokenizer is encoder_shim(model)._hfmodel.tokenizer
    assert callable(model.init)


def test_pretokenised_prediction_uses_spacy_transformers_alignment(tiny_pipeline):
    """models/wordpieces.py builds the batch spacy-transformers' forward builds, with
    its public-but-internal helpers: alignment by offsets and truncation of rows."""
    import inspect

    from spacy_mtl.compat import get_alignment_via_offset_mapping, truncate_oversize_splits

    assert list(inspect.signature(get_alignment_via_offset_mapping).parameters)[:2] == [
        "spans",
        "offset_mapping",
    ]
    assert list(inspect.signature(truncate_oversize_splits).parameters)[:3] == [
        "wordpieces",
        "align",
        "max_length",
    ]


def test_a_parser_scores_the_states_of_another_batch_by_their_offset(tiny_pipeline):
    """Soft NER teacher targets (spacy_mtl/distill/ner_teacher.py) let a teacher's NER
    score the student's states: spaCy 3.8's TransitionBasedParser gives a step model
    over a batch of docs, a state made by `init_batch` finds its tokens by its offset
    in that batch, and spacy-transformers' listener gives a doc the encoder did not
    run on zeros at prediction (so the teacher encodes only the docs it scores)."""
    import numpy
    from thinc.api import Model

    from spacy_mtl.compat import ParserStepModel, parser_step_model

    nlp = spacy.load(tiny_pipeline)
    ner = nlp.get_pipe("ner")
    first, second = (nlp.make_doc(t) for t in ("Barack Obama visited Paris today", "Apple rocks"))
    list(nlp.get_pipe("transformer").pipe([first, second]))
    both = parser_step_model(ner.model, [first, second])
    alone = parser_step_model(ner.model, [second])
    assert isinstance(both, ParserStepModel)
    state = ner.moves.init_batch([first, second])[1]
    scores = both.predict([state])
    assert scores.shape == (1, ner.moves.n_moves)
    numpy.testing.assert_allclose(
        scores, alone.predict(ner.moves.init_batch([second])), rtol=1e-5, atol=1e-6
    )
    unencoded = nlp.make_doc("Apple rocks")
    assert unencoded._.trf_data is None
    blind = parser_step_model(ner.model, [first, unencoded]).predict([state])
    assert numpy.isfinite(blind).all() and not numpy.allclose(blind, scores)
    with pytest.raises(TypeError, match=r"\[E032\]"):
        parser_step_model(Model("identity", lambda model, X, is_train: (X, None)), [first])
