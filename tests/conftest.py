"""Fixtures shared by the test suite (helpers live in tests/helpers.py), and the order
the test files start in."""

from typing import List, Optional

import pytest
import spacy
from thinc.api import fix_random_seed

from helpers import build_tiny_encoder, load_config, mixed_examples, randomize_head
from stream_helpers import Stream, write_stream


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> str:
    return str(build_tiny_encoder(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture
def make_nlp(tiny_encoder):
    """Build and initialise a pipeline from a config in configs/ on the tiny encoder."""

    def make(
        name: str = "mtl.cfg",
        weighting: Optional[dict] = None,
        pipeline: Optional[List[str]] = None,
        seed: int = 0,
    ):
        fix_random_seed(seed)
        config = load_config(name, tiny_encoder, weighting, pipeline)
        nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
        examples = mixed_examples(nlp)
        nlp.initialize(lambda: examples)
        return nlp, examples

    return make


@pytest.fixture(scope="session")
def tiny_pipeline(tiny_encoder, tmp_path_factory) -> str:
    """configs/mtl.cfg on the tiny encoder, initialised and saved with nlp.to_disk."""
    fix_random_seed(0)
    nlp = spacy.util.load_model_from_config(
        load_config("mtl.cfg", tiny_encoder), auto_fill=True, validate=True
    )
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
    """A stream of posts with bad lines of every kind (tests/stream_helpers.py)."""
    return write_stream(tmp_path)


#: The test files that take longest, started first so that, on `make test`'s two
#: workers, no long file is left to run alone at the end. Order only: nothing else
#: depends on it.
LONGEST_FIRST = (
    "tests/project/test_workflow.py",
    "tests/project/test_compare.py",
    "tests/test_end_to_end.py",
    "tests/annotate/test_ray.py",
    "tests/project/test_official.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order stays
