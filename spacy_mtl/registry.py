"""The registry this package adds to spaCy's.

`mtl_weightings` holds the multi-task weighting strategies. A config picks one with
``@mtl_weightings = "spacy_mtl.static.v1"``; users add their own with
``@spacy.registry.mtl_weightings("my_weighting.v1")`` or through the entry-point group
``thinc_mtl_weightings``. Every other name this package registers is listed in the
entry points of ``pyproject.toml``.
"""
from spacy.util import registry

if not hasattr(registry, "mtl_weightings"):
    registry.create("mtl_weightings", entry_points=True)

mtl_weightings = registry.mtl_weightings
