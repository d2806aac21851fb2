"""Fixtures of the annotate tests: the stream (the pipeline is tests/conftest.py's tiny_pipeline)."""
import pytest

from stream_helpers import Stream, write_stream


@pytest.fixture
def stream(tmp_path) -> Stream:
    return write_stream(tmp_path)
