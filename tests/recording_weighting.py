"""A test-only weighting that reads both the losses and the gradients it is given.

It proves the `mtl_weightings` contract is enough for loss- and gradient-based
strategies without touching the components: it records every step, keeps a step
counter as saved state, and returns the plain sum of the task gradients.
"""

from typing import Any, Dict, List

import numpy

from spacy_mtl.registry import register_weighting
from spacy_mtl.weighting import TaskGradients, Weighting


@register_weighting("tests.recording.v1")
class RecordingWeighting(Weighting):
    def __init__(self) -> None:
        super().__init__()
        self.steps: List[TaskGradients] = []
        self.n_steps = 0

    def combine(self, step: TaskGradients):
        self.steps.append(TaskGradients(list(step.tasks), step.losses.copy(), step.grads.copy()))
        self.n_steps += 1
        return step.grads.sum(axis=0), numpy.ones(len(step.tasks))

    def get_state(self) -> Dict[str, Any]:
        return {"n_steps": self.n_steps}

    def set_state(self, state: Dict[str, Any]) -> None:
        self.n_steps = state["n_steps"]
