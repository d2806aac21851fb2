"""Evaluation: each task on its own test set (`scores`) and paired bootstrap intervals
between two setups on the same test docs (`bootstrap`)."""

from .bootstrap import Interval, paired_bootstrap
from .scores import TASK_SCORES, KeepingScorer, evaluate, per_doc_records, write_meta

__all__ = [
    "Interval",
    "KeepingScorer",
    "TASK_SCORES",
    "evaluate",
    "paired_bootstrap",
    "per_doc_records",
    "write_meta",
]
