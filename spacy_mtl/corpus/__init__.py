"""The data layer: converting annotated files to ``.spacy`` files and reading them for training.

* :func:`convert_files` (CLI: ``spacy mtl convert``) writes ``<out>/ner/<split>.spacy``
  from CoNLL/IOB files and ``<out>/textcat/<split>.spacy`` from CSV/JSONL files.
* :func:`create_multitask_corpus`, registered as ``spacy_mtl.MultiTaskCorpus.v1`` in
  spaCy's ``readers`` registry, mixes several such corpora for training and marks the
  annotation each one lacks as missing.
"""

from .convert import convert_files, convert_reads
from .reader import MultiTaskCorpus, create_multitask_corpus
from .sources import CatsExample, CorpusError, NerExample, ReadResult, read_cats_file, read_iob

__all__ = [
    "CatsExample",
    "CorpusError",
    "MultiTaskCorpus",
    "NerExample",
    "ReadResult",
    "convert_files",
    "convert_reads",
    "create_multitask_corpus",
    "read_cats_file",
    "read_iob",
]
