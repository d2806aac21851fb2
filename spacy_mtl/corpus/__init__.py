"""The data layer: converting raw corpora to ``.spacy`` files and reading them for training.

* :func:`convert_corpora` (CLI: ``python -m spacy_mtl.corpus.convert``) writes
  ``<out>/ner/{train,dev,test}.spacy`` and ``<out>/textcat/{train,dev,test}.spacy``.
* :func:`create_multitask_corpus`, registered as ``spacy_mtl.MultiTaskCorpus.v1`` in
  spaCy's ``readers`` registry, mixes several such corpora for training and marks the
  annotation each one lacks as missing.
"""
from typing import Any

from .reader import MultiTaskCorpus, create_multitask_corpus
from .sources import CorpusError


def __getattr__(name: str) -> Any:
    # ``convert`` is imported lazily so that ``python -m spacy_mtl.corpus.convert`` does
    # not find the module already imported by its package (runpy warns about that).
    if name in ("convert_corpora", "print_stats"):
        from . import convert

        return getattr(convert, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CorpusError", "MultiTaskCorpus", "convert_corpora", "create_multitask_corpus", "print_stats"]
