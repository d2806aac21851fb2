"""The shared transformer: one encoder, several task heads, one backward pass per batch.

`MultiTaskTransformer` is spacy-transformers' `Transformer` with a new training step.
Stock, every listener but the last adds its gradient to a buffer and the last one runs
the backward pass; if that last head has no gold in the batch it never calls back, and
the other heads' gradients are lost. Here the transformer and its heads follow the
contract of docs/design.md ("One step, one backward pass"), and the configured
weighting combines the heads' gradients into that of the single backward pass.

The encoder pads every call to its longest doc, and posts vary widely in length. So
`pipe` sorts each batch by word-piece count and runs the encoder in sub-batches of at
most `max_batch_items` padded word pieces; with `max_train_batch_items`, `update` does
the same with each training batch (`batching.py`), and the heads still see one batch.
"""

import re
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Union, cast

import numpy
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from spacy_transformers.annotation_setters import null_annotation_setter
from spacy_transformers.data_classes import FullTransformerBatch, TransformerData
from spacy_transformers.layers import TransformerListener, TransformerModel
from spacy_transformers.pipeline_component import Transformer, install_extensions
from thinc.api import Config, Optimizer, get_array_module, set_dropout_rate
from thinc.types import Floats1d, Floats3d

from .. import registry as _registry  # noqa: F401  (creates `mtl_weightings` before the factory's config is read)
from ..errors import Errors, Warnings
from ..models.transformer import DEFAULT_ENCODER
from ..models.wordpieces import (
    can_pretokenize,
    group_by_length,
    predict_tokenized,
    tokenize_docs,
)
from ..types import (
    INFERENCE_ONLY,
    DocTensors,
    EncoderModel,
    StepRecord,
    TaskReport,
)
from ..weighting import TaskGradients, Weighting
from ..weighting.numerics import cosines
from .batching import GroupedEncoding, begin_update_grouped
from .task_head import TaskHead

DEFAULT_CONFIG = Config().from_str(
    f"""
[transformer]
max_batch_items = 512
max_train_batch_items = null

[transformer.set_extra_annotations]
@annotation_setters = "spacy-transformers.null_annotation_setter.v1"

[transformer.weighting]
@mtl_weightings = "spacy_mtl.static.v1"
weights = null

[transformer.model]
@architectures = "spacy_mtl.TransformerModel.v1"
name = "{DEFAULT_ENCODER}"
tokenizer_config = {{"use_fast": true}}
transformer_config = {{}}
mixed_precision = false
grad_scaler_config = {{}}

[transformer.model.get_spans]
@span_getters = "spacy-transformers.strided_spans.v1"
window = 128
stride = 96
"""
)


@dataclass
class PendingBackward:
    """One training batch from the encoder's forward pass to its backward pass: what
    the heads send and report in between (docs/design.md, steps 2 to 4)."""

    #: The encoder's forward pass over the batch, and its backward pass.
    encoded: GroupedEncoding
    #: The heads with gold in the batch: the step waits for each one's report.
    expected: Set[str]
    losses_log: Dict[str, float]
    #: Per head: the gradient its listener sent, of the sum of its loss terms.
    grads: Dict[str, DocTensors] = field(default_factory=dict)
    #: What each head reported: its loss, or None if it sat the batch out.
    reports: Dict[str, TaskReport] = field(default_factory=dict)
    sgd: Optional[Optimizer] = None

    @property
    def complete(self) -> bool:
        """Whether every expected head has reported."""
        return self.expected <= set(self.reports)


@Language.factory(
    "mtl_transformer",
    assigns=["doc._.trf_data"],
    default_config=DEFAULT_CONFIG["transformer"],
)
def make_multitask_transformer(
    nlp: Language,
    name: str,
    model: EncoderModel,
    set_extra_annotations: Callable[[List[Doc], FullTransformerBatch], None],
    max_batch_items: int,
    max_train_batch_items: Optional[int],
    weighting: Weighting,
) -> "MultiTaskTransformer":
    """A transformer shared by several task heads, whose gradients are combined by
    `weighting` (a strategy from the `mtl_weightings` registry).

    max_batch_items (int): the most word pieces, padding included, that the encoder
        runs in one call of `pipe` (stock spacy-transformers counts spaCy tokens).
    max_train_batch_items (Optional[int]): the same for `update`, which runs each
        training batch in sub-batches of similar length; None: one call per batch.
    """
    return MultiTaskTransformer(
        nlp.vocab,
        model,
        set_extra_annotations,
        max_batch_items=max_batch_items,
        max_train_batch_items=max_train_batch_items,
        name=name,
        weighting=weighting,
    )


class MultiTaskTransformer(Transformer):
    """A `Transformer` whose listeners are task heads trained under a weighting."""

    def __init__(
        self,
        vocab: Vocab,
        model: EncoderModel,
        set_extra_annotations: Callable = null_annotation_setter,
        *,
        name: str = "transformer",
        max_batch_items: int = 512,
        max_train_batch_items: Optional[int] = None,
        weighting: Weighting,
    ) -> None:
        if max_batch_items < 1:
            raise ValueError(Errors.E006.format(name=name, value=max_batch_items))
        if max_train_batch_items is not None and max_train_batch_items < 1:
            raise ValueError(Errors.E024.format(name=name, value=max_train_batch_items))
        super().__init__(
            vocab, model, set_extra_annotations, name=name, max_batch_items=max_batch_items
        )
        #: The most word pieces, padding included, of one encoder call in `update`;
        #: None: one call per batch.
        self.max_train_batch_items = max_train_batch_items
        if not isinstance(weighting, Weighting):
            raise ValueError(Errors.E007.format(name=name, type=type(weighting).__name__))
        self.weighting = weighting
        self.task_heads: Dict[str, TaskHead] = {}
        self.frozen_tasks: Set[str] = set()
        #: Per task of the last combined step: loss, weight, gradient norm, cosines.
        self.last_step: Dict[str, StepRecord] = {}
        self._pending: Optional[PendingBackward] = None

    @property
    def tasks(self) -> List[str]:
        """The heads this transformer trains, in pipeline order."""
        return [name for name in self.listener_map if name not in self.frozen_tasks]

    def find_listeners(self, component) -> None:
        """Register `component` if it listens, and check that it is a task head."""
        super().find_listeners(component)
        # spaCy empties listener_map and asks again for every component whenever the
        # pipeline changes; keep only the heads that are still listening.
        for name in [name for name in self.task_heads if name not in self.listener_map]:
            head = self.task_heads.pop(name)
            if head.encoder is self:
                head.bind_encoder(None)
        name = component.name
        if name not in self.listener_map:
            return
        if not isinstance(component, TaskHead):
            raise ValueError(Errors.E009.format(name=name, encoder=self.name))
        if len(self.listener_map[name]) > 1:
            raise ValueError(
                Errors.E010.format(name=name, n=len(self.listener_map[name]), encoder=self.name)
            )
        component.bind_encoder(self)
        self.task_heads[name] = component

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
    ) -> None:
        """Load the encoder, find the task heads and set up the weighting for them."""
        super().initialize(get_examples, nlp=nlp)
        if nlp is not None:
            frozen = nlp.config.get("training", {}).get("frozen_components", [])
            self.frozen_tasks = set(frozen) & set(self.listener_map)
        try:
            self.weighting.initialize(self.tasks)
        except ValueError as err:
            raise ValueError(_in_section(str(err), self.name)) from None

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate a stream of docs, `batch_size` at a time, in order.

        Within each batch the docs are sorted by word-piece count and encoded in
        sub-batches of at most `max_batch_items` padded word pieces, so that short
        posts are not padded to the longest one in their batch. Word pieces, not spaCy
        tokens, because that is what the encoder pads, and on social-media text the
        two differ most: a hashtag, handle, emoji or URL is one token, many pieces.

        The word pieces counted to sort a batch are the ones the encoder runs: each
        batch is tokenised once (`spacy_mtl.models.wordpieces`), where the model's
        tokenizer allows it.

        stream (Iterable[Doc]): the docs.
        batch_size (int): the docs buffered and sorted at a time.
        YIELDS (Doc): each doc, with `doc._.trf_data` set.
        """
        install_extensions()
        for batch in util.minibatch(stream, batch_size):
            batch = list(batch)
            # Without pre-tokenised pieces, spacy-transformers' own path tokenises again.
            pieces = tokenize_docs(self.model, batch) if can_pretokenize(self.model) else None
            if pieces is None:
                counts = self.wordpiece_counts(batch)
            else:
                counts = [doc.n_pieces for doc in pieces]
            for indices in group_by_length(counts, self.cfg["max_batch_items"]):
                sub_batch = [batch[i] for i in indices]
                if pieces is None:
                    output = self.predict(sub_batch)
                elif any(len(doc) for doc in sub_batch):
                    output = predict_tokenized(self.model, sub_batch, [pieces[i] for i in indices])
                else:
                    output = FullTransformerBatch.empty(len(sub_batch))
                self.set_annotations(sub_batch, output)
            yield from batch

    def wordpiece_counts(self, docs: Sequence[Doc]) -> List[int]:
        """The encoder tokenizer's word pieces in each doc's text, special tokens
        included: what sorting needs. A doc longer than the span getter's window runs
        as several shorter rows, so for it the count only ranks it as long.

        docs (Sequence[Doc]): the docs.
        RETURNS (List[int]): one count per doc.
        """
        encoded = self.transformer_model().tokenizer(
            [doc.text for doc in docs],
            add_special_tokens=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def transformer_model(self) -> TransformerModel:
        """The encoder as spacy-transformers' `TransformerModel`, whose tokenizer
        counts word pieces."""
        if not isinstance(self.model, TransformerModel):
            raise TypeError(Errors.E011.format(name=self.name, type=type(self.model).__name__))
        return self.model

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Run the transformer on the batch and hand its output to the task heads.

        The backward pass runs once every head with gold in the batch has reported
        (see `report`). With `sgd`, the transformer and the weighting are stepped
        right after it.
        """
        # A batch whose heads were not all updated (excluded from nlp.update) is
        # finished now, before its activations are replaced.
        self._run_backward()
        self.last_step = {}
        inference_only = self.model.attrs.get(INFERENCE_ONLY)
        if inference_only:
            raise ValueError(Errors.E012.format(name=self.name, what=inference_only))
        if losses is None:
            losses = {}
        examples = list(examples)
        validate_examples(examples, "MultiTaskTransformer.update")
        losses.setdefault(self.name, 0.0)
        docs = [eg.predicted for eg in examples]
        if not any(len(doc) for doc in docs):
            return losses
        expected = {task for task in self.tasks if self.task_heads[task].has_task_gold(examples)}
        if not expected:
            return losses
        set_dropout_rate(self.model, drop)
        encoded = begin_update_grouped(
            self.model,
            docs,
            self.training_groups(docs),
            list(self.transformer_model().transformer.parameters()),
        )
        self._pending = PendingBackward(encoded, expected, losses, sgd=sgd)
        # Listeners know the batch by its docs, and read its output per doc in order.
        batch_id = TransformerListener.get_batch_id(docs)
        for task, listeners in self.listener_map.items():
            for listener in listeners:
                listener.receive(batch_id, encoded.doc_data, partial(self._receive_gradient, task))
        return losses

    def training_groups(self, docs: Sequence[Doc]) -> List[List[int]]:
        """Which docs of a training batch the encoder runs together.

        Without `max_train_batch_items`, or when the batch fits it, all of them in one
        call, in the batch's order. Otherwise the docs with tokens, sorted by word
        pieces and cut where a call would pad to more than `max_train_batch_items`
        word pieces, as `pipe` does; a doc longer than that runs alone (still cut
        into the span getter's strided spans).

        docs (Sequence[Doc]): the batch.
        RETURNS (List[List[int]]): per call, the positions of its docs in `docs`.
        """
        budget = self.max_train_batch_items
        everything = [list(range(len(docs)))]
        if budget is None:
            return everything
        with_tokens = [i for i, doc in enumerate(docs) if len(doc)]
        counts = self.wordpiece_counts([docs[i] for i in with_tokens])
        groups = group_by_length(counts, budget)
        if len(groups) <= 1:
            return everything
        return [[with_tokens[j] for j in group] for group in groups]

    def _receive_gradient(self, task: str, d_trf_datas: List[TransformerData]) -> list:
        """The callback each listener backpropagates into (a `GradientCallback`):
        keep the task's gradient."""
        pending = self._pending
        if pending is None or task not in pending.expected:
            raise RuntimeError(Errors.E013.format(task=task))
        if task in pending.grads:
            raise RuntimeError(Errors.E014.format(task=task))
        if len(d_trf_datas) != len(pending.encoded.with_output):
            raise RuntimeError(
                Errors.E025.format(
                    task=task, n=len(d_trf_datas), expected=len(pending.encoded.with_output)
                )
            )
        # The listener's gradient has the encoder output's arrays, (spans, pieces, width).
        pending.grads[task] = [[cast(Floats3d, t) for t in d.tensors] for d in d_trf_datas]
        return []

    def report(self, task: str, result: TaskReport) -> None:
        """Close `task` for the pending batch; run the backward pass after the last.

        task (str): the head's name.
        result (Optional[TaskLoss]): its loss, or None to leave it out of this step.
        """
        pending = self._pending
        if pending is None or task not in pending.expected:
            raise RuntimeError(Errors.E015.format(task=task))
        if result is not None and task not in pending.grads:
            raise RuntimeError(Errors.E016.format(task=task))
        if result is None:
            warnings.warn(Warnings.W001.format(name=self.name, task=task), stacklevel=2)
            pending.grads.pop(task, None)
        pending.reports[task] = result
        if pending.complete:
            self._run_backward()

    def _run_backward(self) -> None:
        """Combine the gradients received for the pending batch and run the one
        backward pass through the encoder (docs/design.md, step 4); step with the
        optimizer given to the update, if any."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        step = self._task_gradients(pending)
        if step is not None:
            combined, weights = self.weighting.combine(step)
            self.last_step = trace_step(step, weights)
            self._backprop(pending, combined, pending.grads[step.tasks[0]])
        if pending.sgd not in (None, False):
            self._step(pending.sgd)

    def _task_gradients(self, pending: PendingBackward) -> Optional[TaskGradients]:
        """The weighting's input: the mean loss and the gradient of that mean of each
        task that reported a loss, in pipeline order (docs/design.md, "Scale"); None
        if there is none. A head that never reported (left out of nlp.update) sits
        the step out too."""
        tasks: List[str] = []
        losses: List[float] = []
        rows: List[Floats1d] = []
        for task in self.tasks:
            result = pending.reports.get(task)
            if result is None:
                continue
            xp = get_array_module(pending.grads[task][0][0])
            row = _flatten(pending.grads[task], xp) / result.n_terms
            # A head checks its own loss and gradient; a NaN can still arise in the
            # listener's pooling, and must not reach the encoder.
            if not bool(xp.isfinite(row).all()):
                warnings.warn(Warnings.W002.format(name=self.name, task=task), stacklevel=3)
                continue
            tasks.append(task)
            losses.append(result.loss)
            rows.append(row)
        if not tasks:
            return None
        return TaskGradients(
            tasks=tasks,
            losses=numpy.asarray(losses, dtype="float64"),
            grads=get_array_module(rows[0]).stack(rows),
        )

    def _backprop(self, pending: PendingBackward, combined: Floats1d, template: DocTensors) -> None:
        """Run the encoder's backward pass on the combined gradient, scaled to the
        docs of the batch (docs/design.md, "Scale"); `template` is a task gradient,
        whose shapes the combined one takes."""
        combined = combined * pending.encoded.n_docs
        pending.losses_log[self.name] += float(get_array_module(combined).sum(combined**2))
        pending.encoded.backprop(_unflatten(combined, template))

    def finish_update(self, sgd: Optimizer) -> None:
        """Step the transformer and the weighting.

        `nlp.update(..., sgd=optimizer)` calls this right after the transformer's own
        update, before the heads have sent their gradients; the step then waits for
        the backward pass (stock spacy-transformers would step on the previous
        batch's gradient).
        """
        if self._pending is not None:
            self._pending.sgd = sgd
        else:
            self._step(sgd)

    def _step(self, sgd: Optimizer) -> None:
        self.model.finish_update(sgd)
        self.weighting.finish_update(sgd)

    def to_bytes(self, *, exclude: Iterable[str] = tuple()) -> bytes:
        serialize = {
            "cfg": lambda: util.srsly.json_dumps(self.cfg),
            "vocab": lambda: self.vocab.to_bytes(exclude=exclude),
            "model": lambda: self.model.to_bytes(),
            "weighting": lambda: self.weighting.to_bytes(),
        }
        return util.to_bytes(serialize, exclude)

    def from_bytes(
        self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()
    ) -> "MultiTaskTransformer":
        deserialize = {
            "cfg": lambda b: self.cfg.update(util.srsly.json_loads(b)),
            "vocab": lambda b: self.vocab.from_bytes(b, exclude=exclude),
            "model": lambda b: self.model.from_bytes(b),
            "weighting": lambda b: self.weighting.from_bytes(b),
        }
        util.from_bytes(bytes_data, deserialize, exclude)
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        super().to_disk(path, exclude=exclude)
        if "weighting" not in exclude:
            (Path(path) / "weighting").write_bytes(self.weighting.to_bytes())

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()
    ) -> "MultiTaskTransformer":
        super().from_disk(path, exclude=exclude)
        state = Path(path) / "weighting"
        if "weighting" not in exclude and state.exists():
            self.weighting.from_bytes(state.read_bytes())
        return self


#: The code in front of a spacy-mtl message (see `spacy_mtl.errors`).
_CODE = re.compile(r"\(spacy-mtl\) \[[EW]\d+\] ")


def _in_section(message: str, name: str) -> str:
    """A weighting's error from `initialize`, naming the config section of the
    transformer `name` that builds the weighting: right after the code of a spacy-mtl
    message (whose strategy's name follows), in front of a user strategy's."""
    section = f"[components.{name}.weighting]"
    code = _CODE.match(message)
    if code is None:
        return Errors.E008.format(name=name, error=message)
    return f"{code.group()}{section} {message[code.end() :]}"


def trace_step(step: TaskGradients, weights: numpy.ndarray) -> Dict[str, StepRecord]:
    """Per task of a combined step: its loss, weight, gradient norm and the cosine
    between its gradient and every other task's.

    step (TaskGradients): what the weighting combined.
    weights (numpy.ndarray): the weight it gave each task.
    RETURNS (Dict[str, StepRecord]): by task, in the step's order.
    """
    xp = get_array_module(step.grads)
    grad_norms = xp.sqrt((step.grads**2).sum(axis=1))
    pair_cosines = cosines(step.grads)
    return {
        task: {
            "loss": float(loss),
            "weight": float(w),
            "grad_norm": float(norm),
            "cosine": {
                other: float(pair_cosines[i, j]) for j, other in enumerate(step.tasks) if j != i
            },
        }
        for i, (task, loss, w, norm) in enumerate(zip(step.tasks, step.losses, weights, grad_norms))
    }


def _flatten(tensors: DocTensors, xp) -> Floats1d:
    return xp.concatenate([t.ravel() for doc in tensors for t in doc])


def _unflatten(flat: Floats1d, template: DocTensors) -> DocTensors:
    """Cut `flat` back into arrays shaped like `template`."""
    out: DocTensors = []
    start = 0
    for doc in template:
        arrays = []
        for t in doc:
            arrays.append(cast(Floats3d, flat[start : start + t.size].reshape(t.shape)))
            start += t.size
        out.append(arrays)
    return out
