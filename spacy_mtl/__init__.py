"""spacy-mtl: multi-task training for spaCy.

One shared transformer (`mtl_transformer`), several task heads (`mtl_textcat`,
`mtl_textcat_multilabel`, `mtl_ner`) and a weighting from the `mtl_weightings`
registry that decides how the heads' gradients combine in the encoder. The kinds of
task that the data and evaluation layers know are in one table, the `mtl_tasks`
registry (`spacy_mtl.tasks`); a user's own head registers its kind there.

The components import torch and spacy-transformers; they are loaded on first use
(spaCy finds them through entry points), so that the data tools start fast.
"""

from importlib import import_module
from typing import Any

from . import (
    registry,  # noqa: F401  (creates the mtl_weightings registry first)
    tasks,  # noqa: F401  (creates the mtl_tasks registry, registers the package's kinds)
    weighting,  # noqa: F401  (registers the strategies)
)
from .registry import register_weighting
from .tasks import ReadOptions, TaskKind, register_task
from .weighting import TaskGradients, Weighting

__version__ = "0.1.0"

_LAZY = {
    "MultiTaskEntityRecognizer": "spacy_mtl.pipeline.ner",
    "MultiTaskMultiLabelTextCategorizer": "spacy_mtl.pipeline.textcat",
    "MultiTaskTextCategorizer": "spacy_mtl.pipeline.textcat",
    "MultiTaskTransformer": "spacy_mtl.pipeline.shared_transformer",
    "SharedEncoder": "spacy_mtl.pipeline.task_head",
    "TaskHead": "spacy_mtl.pipeline.task_head",
    "TaskLoss": "spacy_mtl.pipeline.task_head",
}

__all__ = [
    "ReadOptions",
    "TaskGradients",
    "TaskKind",
    "Weighting",
    "register_task",
    "register_weighting",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spacy_mtl' has no attribute {name!r}")
