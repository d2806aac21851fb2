"""Static weighting: L = sum_t w_t L_t with fixed, non-negative w_t."""

import math
import warnings
from typing import Dict, Optional, Sequence

import numpy

from ..errors import Errors, Warnings
from ..registry import register_weighting
from .base import TaskGradients, Weighting


@register_weighting("spacy_mtl.static.v1")
class StaticWeighting(Weighting):
    """A fixed weight per task; every task weighs 1.0 when none are given."""

    def __init__(self, weights: Optional[Dict[str, float]] = None) -> None:
        super().__init__()
        if weights is not None:
            if not weights:
                raise ValueError(Errors.E055.format(name=self.name))
            for task, weight in weights.items():
                if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
                    raise ValueError(Errors.E056.format(name=self.name, task=task, value=weight))
            if not any(weights.values()):
                warnings.warn(Warnings.W003.format(name=self.name), stacklevel=2)
        # From the config, which a loaded pipeline is rebuilt from: nothing to save.
        self.configured = dict(weights) if weights is not None else None

    def initialize(self, tasks: Sequence[str]) -> None:
        super().initialize(tasks)
        if self.configured is None:
            return
        unknown = sorted(set(self.configured) - set(tasks))
        if unknown:
            raise ValueError(Errors.E057.format(name=self.name, unknown=unknown, tasks=list(tasks)))
        missing = sorted(set(tasks) - set(self.configured))
        if missing:
            raise ValueError(Errors.E058.format(name=self.name, missing=missing))

    def weights(self, step: TaskGradients) -> numpy.ndarray:
        if self.configured is None:
            return numpy.ones(len(step.tasks), dtype="float64")
        return numpy.asarray([self.configured[task] for task in step.tasks], dtype="float64")
