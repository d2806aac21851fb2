"""The shipped configs are valid for spaCy's own tooling."""

import subprocess
import sys

import pytest

from helpers import CONFIGS


@pytest.mark.parametrize("name", ["mtl.cfg", "textcat.cfg", "ner.cfg", "stock.cfg"])
def test_spacy_debug_config_passes(name):
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "debug", "config", str(CONFIGS / name)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config is valid" in result.stdout
