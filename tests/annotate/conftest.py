"""Fixtures of the annotate tests: a small trained-shape pipeline on disk, and the stream."""
import pytest
import spacy
from thinc.api import fix_random_seed

from helpers import load_config, mixed_examples, randomize_head
from stream_helpers import Stream, write_stream


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_encoder, tmp_path_factory) -> str:
    """configs/mtl.cfg on the tiny encoder, initialised and saved with nlp.to_disk."""
    fix_random_seed(0)
    nlp = spacy.util.load_model_from_config(load_config("mtl.cfg", tiny_encoder), auto_fill=True, validate=True)
    nlp.initialize(lambda: mixed_examples(nlp))
    # spaCy starts both heads' output layers at zero: every post would get the same
    # cats and no entities, and every comparison would hold trivially.
    randomize_head(nlp, "textcat", scale=1.0)
    randomize_head(nlp, "ner", scale=1.0)
    path = tmp_path_factory.mktemp("pipeline") / "tiny_mtl"
    nlp.to_disk(path)
    return str(path)


@pytest.fixture
def stream(tmp_path) -> Stream:
    return write_stream(tmp_path)
