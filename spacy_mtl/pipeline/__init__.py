"""The pipeline components: the shared transformer and the task heads."""
from .ner import MultiTaskEntityRecognizer
from .shared_transformer import MultiTaskTransformer
from .task_head import TaskHead
from .textcat import MultiTaskMultiLabelTextCategorizer, MultiTaskTextCategorizer

__all__ = [
    "MultiTaskEntityRecognizer",
    "MultiTaskMultiLabelTextCategorizer",
    "MultiTaskTextCategorizer",
    "MultiTaskTransformer",
    "TaskHead",
]
