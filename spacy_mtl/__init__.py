"""spacy-mtl: multi-task training for spaCy.

One shared transformer (`mtl_transformer`), several task heads (`mtl_textcat`,
`mtl_textcat_multilabel`, `mtl_ner`) and a weighting from the `mtl_weightings`
registry that decides how the heads' gradients combine in the encoder.
"""
from . import registry  # noqa: F401  (creates the mtl_weightings registry first)
from . import encoder, weighting  # noqa: F401  (registers their functions)
from .pipeline import (
    MultiTaskEntityRecognizer,
    MultiTaskMultiLabelTextCategorizer,
    MultiTaskTextCategorizer,
    MultiTaskTransformer,
    TaskHead,
)
from .weighting import TaskGradients, Weighting

__version__ = "0.1.0"

__all__ = [
    "MultiTaskEntityRecognizer",
    "MultiTaskMultiLabelTextCategorizer",
    "MultiTaskTextCategorizer",
    "MultiTaskTransformer",
    "TaskGradients",
    "TaskHead",
    "Weighting",
]
