"""Every private spaCy / spacy-transformers name spacy-mtl uses, in one place.

Each import here is an assumption about a pinned dependency's internals;
tests/test_compat.py checks them, so that a release that changes one fails loudly
instead of silently changing what spacy-mtl computes.
"""
# spaCy's own commands parse `--section.key value` overrides with this function; it is
# not exported from `spacy.cli`, and parsing overrides any other way would differ from
# `spacy train` in how values are typed.
from spacy.cli._util import parse_config_overrides

# spaCy's own commands print config errors through this context manager (one `✘` line,
# then each bad section and key); `spacy mtl train` uses it so that its config errors
# read as `spacy train`'s do.
from spacy.cli._util import show_validation_error

__all__ = ["parse_config_overrides", "show_validation_error"]
