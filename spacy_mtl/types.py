"""The types at spacy-mtl's boundaries, and the model attributes they carry.

docs/design.md describes the training step these types cross, in order: the shared
transformer runs its encoder (`EncoderModel`, whose backward pass is an
`EncoderBackprop`) and hands each task head's listener the output per doc
(`ListenerInput`); the head backpropagates into the callback its listener holds
(`GradientCallback`), which sends the transformer the gradient per doc
(`DocTensors`), and reports its loss (`TaskReport`); the weighting combines the task
gradients (`spacy_mtl.weighting.TaskGradients`).

Array types are thinc's, which stand for numpy arrays on the CPU and cupy arrays on a
GPU alike. spacy-transformers' classes are named for the type checker only, so that
importing this module does not import torch.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, TypedDict

from spacy.tokens import Doc
from thinc.api import Model
from thinc.types import Floats3d

from .errors import Errors

if TYPE_CHECKING:
    from spacy_transformers.data_classes import FullTransformerBatch, TransformerData

#: The shared encoder: a batch of docs in, the transformer's output for the batch
#: out (`spacy_mtl.TransformerModel.v1`).
EncoderModel = Model[List[Doc], "FullTransformerBatch"]

#: The encoder's backward pass: the gradient of its output, shaped like the output
#: (see `FullTransformerBatch.unsplit_by_doc`), in; it adds to the gradients of the
#: encoder's parameters.
EncoderBackprop = Callable[["FullTransformerBatch"], Any]

#: What a listener hands its head: the encoder's output for each doc of the batch,
#: in the batch's order (`FullTransformerBatch.doc_data`).
ListenerInput = List["TransformerData"]

#: The callback a head's listener backpropagates into: the gradient with respect to
#: the encoder's output, one `TransformerData` for each doc that has output (a doc
#: without tokens has none), in the batch's order.
GradientCallback = Callable[[List["TransformerData"]], List[Any]]

#: Per doc that has output, per array of the encoder's output (`TransformerData.tensors`):
#: a gradient shaped like that array, (spans, word pieces, width).
DocTensors = List[List[Floats3d]]


@dataclass(frozen=True)
class TaskLoss:
    """What a head reports for one batch: its loss.

    loss (float): the mean negative log-likelihood over `n_terms` terms (annotated
        docs for textcat, transitions for NER), comparable across steps and tasks.
        Where terms are weighted (teacher targets weigh the head's `teacher_weight`),
        the weighted mean.
    n_terms (float): how many terms the loss is the mean of (their total weight,
        where they are weighted); the head backpropagated the gradient of their
        (weighted) sum. docs/design.md, "Scale", says what the transformer does
        with it.
    """

    loss: float
    n_terms: float

    def __post_init__(self) -> None:
        if not self.n_terms > 0:
            raise ValueError(Errors.E001.format(n_terms=self.n_terms))


#: A head's report for a batch: its loss, or None when its loss or gradient was not
#: finite (it then sits the step out).
TaskReport = Optional[TaskLoss]


class StepRecord(TypedDict):
    """One task's part in a combined training step: what
    `MultiTaskTransformer.last_step` holds per task and the weight trace records
    (`spacy_mtl.WeightTraceLogger.v1`, one JSON line per task and step)."""

    #: The task's true loss (`TaskLoss.loss`).
    loss: float
    #: The weight the weighting gave the task.
    weight: float
    #: The norm of the gradient of the task's mean loss at the shared representation.
    grad_norm: float
    #: The cosine between this task's gradient and each other task's of the step.
    cosine: Dict[str, float]


#: The key of a transformer model's `attrs` that says it runs inference only; its
#: value says what it is (e.g. 'int8 (quantize = "int8")'). Training such a
#: model is refused.
INFERENCE_ONLY = "inference_only"
