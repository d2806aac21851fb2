"""The assumptions spacy_mtl/compat.py makes about spaCy's internals.

Each test fails loudly when a release of a pinned dependency changes one of them.
"""
import spacy
from spacy.pipeline._parser_internals.ner import BiluoPushDown
from spacy.pipeline.ner import EntityRecognizer

from spacy_mtl.compat import parse_config_overrides


def test_overrides_are_parsed_and_typed_as_spacy_train_parses_them():
    args = ["--training.max_steps", "3", "--paths.train", "x.spacy", "--nlp.lang=en", "--training.dropout", "0.5"]
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
