"""Running a training batch's forward and backward pass through the encoder in
sub-batches of similar length (cut by `spacy_mtl.models.wordpieces.group_by_length`),
so that the encoder, which pads every call to its longest doc, pads little."""

import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, List

import torch
from spacy.tokens import Doc
from spacy_transformers.data_classes import FullTransformerBatch, TransformerData

from ..types import DocTensors, EncoderBackprop, EncoderModel


@dataclass
class EncoderCall:
    """One call of the encoder on some docs of a training batch.

    indices (List[int]): the docs it ran, by their position in the batch, in the
        order it ran them.
    output (FullTransformerBatch): its output.
    backprop (EncoderBackprop): its backward pass.
    """

    indices: List[int]
    output: FullTransformerBatch
    backprop: EncoderBackprop


class GroupedEncoding:
    """The encoder's forward pass over a training batch, run as one or several calls
    (see `begin_update_grouped`): the output per doc in the batch's order, as one
    call would give it, and the backward pass that sends each call its docs' slice
    of the gradient.

    n_docs (int): the docs of the batch.
    calls (List[EncoderCall]): the calls; every doc with tokens is in exactly one.
    parameters (List[torch.Tensor]): the encoder's parameters, whose gradients the
        backward passes accumulate.
    """

    def __init__(
        self, n_docs: int, calls: List[EncoderCall], parameters: List[torch.Tensor]
    ) -> None:
        self.n_docs = n_docs
        self.calls = calls
        self.parameters = parameters
        doc_data = [TransformerData.empty() for _ in range(n_docs)]
        for call in calls:
            for i, data in zip(call.indices, call.output.doc_data):
                doc_data[i] = data
        #: Per doc of the batch, in its order: the encoder's output (empty for a doc
        #: without tokens).
        self.doc_data = doc_data
        #: The docs that have output, in the batch's order: those a listener sends a
        #: gradient for.
        self.with_output = [i for i, data in enumerate(doc_data) if _has_output(data)]

    def backprop(self, d_tensors: DocTensors) -> None:
        """Run the backward pass of every call on the gradient of its docs.

        d_tensors (DocTensors): per doc that has output (`with_output`), in the
            batch's order, the gradient of its output.
        """
        position = {doc: k for k, doc in enumerate(self.with_output)}
        for call in self.calls:
            grads = [d_tensors[position[i]] for i in call.indices if i in position]
            with gradients_of_one_call(self.parameters):
                call.backprop(call.output.unsplit_by_doc(grads))


def begin_update_grouped(
    model: EncoderModel, docs: List[Doc], groups: List[List[int]], parameters: List[torch.Tensor]
) -> GroupedEncoding:
    """Run the encoder's forward pass on each group of `docs`, for training.

    model (EncoderModel): the encoder.
    docs (List[Doc]): the batch.
    groups (List[List[int]]): positions in `docs`, one list per call; each doc with
        tokens in one of them.
    parameters (List[torch.Tensor]): the encoder's parameters.
    RETURNS (GroupedEncoding): the output per doc, and the backward pass.
    """
    calls = []
    after_one_call = None
    for indices in groups:
        output, backprop = model.begin_update([docs[i] for i in indices])
        calls.append(EncoderCall(indices, output, backprop))
        if after_one_call is None:
            after_one_call = random.getstate()
    # spacy-transformers' forward pass flips a coin from Python's `random` (whether to
    # flush the CUDA cache). Leave the stream where one call leaves it, so that the
    # rest of training (NER's oracle cuts, the corpus's shuffles) draws what it would
    # without sub-batches.
    if after_one_call is not None:
        random.setstate(after_one_call)
    return GroupedEncoding(len(docs), calls, parameters)


@contextmanager
def gradients_of_one_call(parameters: List[torch.Tensor]) -> Iterator[None]:
    """Let one backward pass find the parameters' gradients empty, then add back what
    they held.

    thinc's PyTorch shim scales the gradient of each backward call for mixed
    precision and afterwards unscales every gradient the parameters hold: a
    gradient accumulated by an earlier call (another sub-batch, or another batch of
    spaCy's `accumulate_gradient`) would be unscaled a second time. Without a
    gradient scaler the sums are the same ones the backward pass would make.

    parameters (List[torch.Tensor]): the encoder's parameters.
    """
    held = [p.grad for p in parameters]
    for p in parameters:
        p.grad = None
    try:
        yield
    finally:
        for p, grad in zip(parameters, held):
            if grad is None:
                continue
            if p.grad is None:
                p.grad = grad
            else:
                p.grad.add_(grad)


def _has_output(data: TransformerData) -> bool:
    """Whether the encoder gave the doc output (a doc without tokens gets none)."""
    return "last_hidden_state" in data.model_output
