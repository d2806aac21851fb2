"""The pipeline components: the shared transformer and the task heads."""

from .ner import MultiTaskEntityRecognizer
from .shared_transformer import MultiTaskTransformer
from .task_head import SharedEncoder, TaskHead, TaskLoss
from .textcat import MultiTaskMultiLabelTextCategorizer, MultiTaskTextCategorizer

__all__ = [
    "MultiTaskEntityRecognizer",
    "MultiTaskMultiLabelTextCategorizer",
    "MultiTaskTextCategorizer",
    "MultiTaskTransformer",
    "SharedEncoder",
    "TaskHead",
    "TaskLoss",
]
