"""The data layer: converting annotated files to ``.spacy`` files and reading them for training.

* :func:`convert_files` (CLI: ``spacy mtl convert``) writes ``<out>/ner/<split>.spacy``
  from CoNLL/IOB files, ``<out>/textcat/<split>.spacy`` from CSV/JSONL files, and
  ``<out>/<task>/<split>.spacy`` for any other kind of task (:mod:`spacy_mtl.tasks`).
* :func:`create_multitask_corpus`, registered as ``spacy_mtl.MultiTaskCorpus.v1`` in
  spaCy's ``readers`` registry, mixes several such corpora for training and marks the
  annotation each one lacks as missing.
"""

from .convert import convert_files, convert_reads
from .reader import MultiTaskCorpus, create_multitask_corpus
from .sources import (
    CatsExample,
    CorpusError,
    NerExample,
    ReadResult,
    TokenExample,
    read_cats_file,
    read_iob,
    read_tags,
)

__all__ = [
    "CatsExample",
    "CorpusError",
    "MultiTaskCorpus",
    "NerExample",
    "ReadResult",
    "TokenExample",
    "convert_files",
    "convert_reads",
    "create_multitask_corpus",
    "read_cats_file",
    "read_iob",
    "read_tags",
]
