"""Partial sharing: each task head runs its own copy of the encoder's top layers.

Under full sharing the heads compete for every layer of one encoder. Under partial
sharing the shared transformer runs only the lower layers, once per batch
(`layers = [0, ..., N-1]` on `spacy_mtl.TransformerModel.v1`), and each head runs
its own copy of the layers above them, initialised from the pretrained ones, between
its listener and its pooling:

    shared encoder (layers 0..N-1) -> listener -> task layers (N..) -> pooling -> head

`spacy_mtl.TaskLayersListener.v1` is that tok2vec: `TransformerListener.v1` with the
task layers inserted before the pooling. It works on the word pieces of each span,
attending within the span under its attention mask, so the copied layers compute
what they computed inside the encoder. The contract between a head and the shared
transformer is unchanged: the listener still sends back the gradient at the shared
representation, which is now the head's gradient backpropagated through its own
layers (and then scaled by `grad_factor`); the weighting still combines the heads'
gradients there.

The layers are copied from the pretrained encoder `name` when the pipeline is
initialised, as `layers` on the shared transformer chooses its own; a saved pipeline
holds them, with the config they are rebuilt from, in the head's model, and loads
without the pretrained encoder. They always run on torch: `spacy mtl quantize`
converts the shared encoder only, and the task layers stay fp32.

At inference the heads get docs that the shared transformer encoded in sub-batches
of different padded widths; the task layers cut each span to its word pieces and run
them in groups of similar length, at most `max_batch_items` padded word pieces a
call, as the shared transformer does (`[components.transformer] max_batch_items`).
"""

import json
from io import BytesIO
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy
import srsly
import torch
from spacy.tokens import Doc
from spacy.util import registry
from spacy_transformers.data_classes import TransformerData
from spacy_transformers.layers import TransformerListener
from spacy_transformers.layers.trfs2arrays import trfs2arrays
from thinc.api import (
    ArgsKwargs,
    Model,
    PyTorchShim,
    chain,
    get_torch_default_device,
    to_numpy,
    torch2xp,
    xp2torch,
)
from thinc.types import Floats2d, Ragged
from transformers import CONFIG_MAPPING, AutoModel
from transformers.file_utils import ModelOutput

from ..errors import Errors
from .transformer import resolve_encoder
from .wordpieces import group_by_length

#: The architecture's name, as configs give it.
ARCHITECTURE = "spacy_mtl.TaskLayersListener.v1"


@registry.architectures(ARCHITECTURE)
def create_task_layers_listener(
    pooling: Model[Ragged, Floats2d],
    name: str,
    layers: List[int],
    grad_factor: float = 1.0,
    upstream: str = "*",
    max_batch_items: int = 512,
) -> Model[List[Doc], List[Floats2d]]:
    """`spacy-transformers.TransformerListener.v1` with the head's own copy of chosen
    layers of the pretrained encoder between the listener and the pooling.

    pooling (Model[Ragged, Floats2d]): how a token's vector is made from its word
        pieces' vectors, as for `TransformerListener.v1` (e.g. `reduce_mean.v1`).
    name (str): the pretrained encoder the layers are copied from when the pipeline is
        initialised: the shared transformer's own, `${components.transformer.model.name}`.
    layers (List[int]): the pretrained encoder's layers to copy, in increasing order:
        those above the ones the shared transformer keeps, e.g. [5] when it keeps
        [0, 1, 2, 3, 4] of MiniLM's six. [] copies none: the stock listener, full
        sharing.
    grad_factor (float): scales the gradient that the head sends to the shared
        transformer, after its task layers (which learn from the head's full gradient).
    upstream (str): the shared transformer component's name, or "*".
    max_batch_items (int): the most word pieces, padding included, that the task
        layers run in one call.
    """
    layers = check_task_layers(layers)
    if max_batch_items < 1:
        raise ValueError(Errors.E305.format(value=max_batch_items))
    listener = TransformerListener(upstream_name=upstream)
    if not layers:
        model: Model = chain(listener, trfs2arrays(pooling, grad_factor))
    else:
        task_layers = TaskLayers(name, layers, grad_factor, max_batch_items)
        model = chain(listener, task_layers, trfs2arrays(pooling, 1.0))
        model.set_ref("task_layers", task_layers)
    model.set_ref("listener", listener)
    return model


def check_task_layers(layers: Sequence[int]) -> List[int]:
    """The `layers` setting ([] allowed), or a ValueError that names it."""
    layers = list(layers)
    if (
        len(set(layers)) != len(layers)
        or any(not isinstance(i, int) or i < 0 for i in layers)
        or layers != sorted(layers)
    ):
        raise ValueError(Errors.E302.format(layers=layers))
    return layers


class TaskLayersModule(torch.nn.Module):
    """The copied layers, as the pretrained model's own encoder module (its
    `encoder.layer` cut to them), run on padded spans under their attention mask.

    encoder (Optional[torch.nn.Module]): the encoder module; None until loaded.
    """

    def __init__(self, encoder: Optional[torch.nn.Module] = None) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """hidden (spans, pieces, width) and mask (spans, pieces): 1 for a word piece,
        0 for padding. RETURNS (spans, pieces, width)."""
        if self.encoder is None:
            raise ValueError(Errors.E307)
        # The additive mask the pretrained model's forward builds from a 0/1 mask.
        extended = (1.0 - mask[:, None, None, :]) * torch.finfo(hidden.dtype).min
        return self.encoder(hidden, attention_mask=extended)[0]


class TaskLayersShim(PyTorchShim):
    """The `PyTorchShim` of the task layers: it also knows the Hugging Face config
    they were copied with, and saves it with their weights, so that a saved pipeline
    rebuilds them without the pretrained encoder."""

    def __init__(self) -> None:
        self.hf_config: Optional[Dict[str, Any]] = None
        super().__init__(
            TaskLayersModule(),
            serialize_model=self._serialize,
            deserialize_model=self._deserialize,
        )

    @property
    def module(self) -> TaskLayersModule:
        return self._model

    @property
    def is_loaded(self) -> bool:
        return self.module.encoder is not None

    @property
    def width(self) -> int:
        """The width of the vectors the layers take and give."""
        return int((self.hf_config or {})["hidden_size"])

    def set_layers(self, encoder: torch.nn.Module, hf_config: Dict[str, Any]) -> None:
        """Hold `encoder` (the copied layers) and the config they were copied with."""
        self._model = TaskLayersModule(encoder).to(get_torch_default_device())
        self.hf_config = hf_config

    def _serialize(self, module: TaskLayersModule) -> bytes:
        state = BytesIO()
        torch.save(module.state_dict(), state)
        config = None if self.hf_config is None else json.dumps(self.hf_config)
        return srsly.msgpack_dumps({"hf_config": config, "state": state.getvalue()})

    def _deserialize(self, module: Any, data: bytes, device: Any) -> TaskLayersModule:
        msg = srsly.msgpack_loads(data)
        if not isinstance(msg, dict) or "state" not in msg:
            raise ValueError(Errors.E308.format(what="is not a spacy-mtl task layer"))
        if msg.get("hf_config") is None:
            self.hf_config = None
            return TaskLayersModule().to(device)
        hf_config = json.loads(msg["hf_config"])
        encoder = build_encoder(hf_config)
        # weights_only: the saved tensors are read, never unpickled objects.
        state = torch.load(BytesIO(msg["state"]), map_location=device, weights_only=True)
        loaded = TaskLayersModule(encoder)
        loaded.load_state_dict(state, strict=True)
        self.hf_config = hf_config
        return loaded.to(device)


def build_encoder(hf_config: Dict[str, Any]) -> torch.nn.Module:
    """The encoder module of a Hugging Face config saved with task layers, with
    fresh weights: what a saved pipeline's weights load into.

    Only the library's own model types are built: a saved config that names code of
    its own (`auto_map`) is refused.
    """
    if not isinstance(hf_config, dict):
        raise ValueError(Errors.E308.format(what="has no encoder config"))
    model_type = hf_config.get("model_type")
    if "auto_map" in hf_config or hf_config.get("trust_remote_code"):
        raise ValueError(Errors.E308.format(what="asks to run code of its own (auto_map)"))
    if model_type not in CONFIG_MAPPING:
        raise ValueError(Errors.E308.format(what=f"names the unknown model type {model_type!r}"))
    settings = dict(hf_config)
    # Only the encoder is kept: the word-embedding table is built as small as it can be.
    settings["vocab_size"] = int(settings.get("pad_token_id") or 0) + 1
    config = CONFIG_MAPPING[model_type].from_dict(settings)
    skeleton = AutoModel.from_config(config)
    encoder = getattr(skeleton, "encoder", None)
    if not isinstance(getattr(encoder, "layer", None), torch.nn.ModuleList):
        raise ValueError(Errors.E308.format(what=f"names a {model_type!r} encoder without layers"))
    return encoder


def load_task_layers(name: str, layers: List[int]) -> Tuple[torch.nn.Module, Dict[str, Any]]:
    """Copy `layers` of the pretrained encoder `name` (resolved as the shared
    transformer resolves it). RETURNS the encoder module holding only those layers,
    and its Hugging Face config as a dict."""
    pretrained = AutoModel.from_pretrained(resolve_encoder(name))
    encoder = getattr(pretrained, "encoder", None)
    blocks = getattr(encoder, "layer", None)
    if encoder is None or not isinstance(blocks, torch.nn.ModuleList):
        raise ValueError(Errors.E303.format(name=name, module=type(pretrained).__name__))
    if layers[-1] >= len(blocks):
        raise ValueError(
            Errors.E304.format(layers=layers, name=name, n=len(blocks), last=len(blocks) - 1)
        )
    encoder.layer = torch.nn.ModuleList(blocks[i] for i in layers)
    pretrained.config.num_hidden_layers = len(layers)
    return encoder, pretrained.config.to_dict()


def TaskLayers(
    name: str, layers: List[int], grad_factor: float, max_batch_items: int
) -> Model[List[TransformerData], List[TransformerData]]:
    """The task layers as a thinc model: each doc's `TransformerData` in, the same
    with the layers' output as its `last_hidden_state` out."""
    return Model(
        "task_layers",
        _forward,
        init=_init,
        shims=[TaskLayersShim()],
        attrs={
            "name": name,
            "layers": list(layers),
            "grad_factor": grad_factor,
            "max_batch_items": max_batch_items,
        },
    )


def task_layers_shim(model: Model) -> TaskLayersShim:
    """The shim of the task layers in `model`: a head's model, its tok2vec, or the
    task layers themselves."""
    for node in model.walk():
        for shim in node.shims:
            if isinstance(shim, TaskLayersShim):
                return shim
    raise TypeError(Errors.E310.format(name=model.name))


def _init(model: Model, X: Optional[List[TransformerData]] = None, Y: Optional[Any] = None) -> None:
    shim = task_layers_shim(model)
    if not shim.is_loaded:
        shim.set_layers(*load_task_layers(model.attrs["name"], model.attrs["layers"]))
    for trf_data in X or []:
        if _has_pieces(trf_data):
            _check_width(model, shim, trf_data)


def _has_pieces(trf_data: TransformerData) -> bool:
    output = trf_data.model_output
    return "last_hidden_state" in output and output.last_hidden_state.size > 0


def _check_width(model: Model, shim: TaskLayersShim, trf_data: TransformerData) -> None:
    width = trf_data.model_output.last_hidden_state.shape[-1]
    if width != shim.width:
        raise ValueError(
            Errors.E306.format(name=model.attrs["name"], hidden=shim.width, width=width)
        )


def row_lengths(trf_data: TransformerData) -> numpy.ndarray:
    """Per span (row) of a doc: its word pieces up to the last one its attention
    mask keeps; the padding after them is not run."""
    width = trf_data.model_output.last_hidden_state.shape[1]
    mask = to_numpy(trf_data.wordpieces.attention_mask)[:, :width] != 0
    lengths = mask.shape[1] - numpy.argmax(mask[:, ::-1], axis=1)
    return numpy.where(mask.any(axis=1), lengths, 0)


def _forward(model: Model, trf_datas: List[TransformerData], is_train: bool):
    shim = task_layers_shim(model)
    if not shim.is_loaded:
        raise ValueError(Errors.E307)
    xp = model.ops.xp
    device = shim.device
    # Every span of every doc that has word pieces: (doc, row, length); and per such
    # doc, the array its output is written into.
    rows: List[Tuple[int, int, int]] = []
    hidden: Dict[int, Any] = {}
    for i, trf_data in enumerate(trf_datas):
        if _has_pieces(trf_data):
            _check_width(model, shim, trf_data)
            rows.extend((i, r, int(n)) for r, n in enumerate(row_lengths(trf_data)) if n > 0)
            source = trf_data.model_output.last_hidden_state
            hidden[i] = xp.zeros(source.shape, dtype=source.dtype)
    outputs = [
        _with_hidden(trf_data, hidden[i]) if i in hidden else trf_data
        for i, trf_data in enumerate(trf_datas)
    ]
    width = shim.width
    runs: List[Tuple[List[Tuple[int, int, int]], torch.Tensor, Callable]] = []
    groups = group_by_length([n for _, _, n in rows], model.attrs["max_batch_items"])
    for group in groups:
        members = [rows[k] for k in group]
        longest = max(n for _, _, n in members)
        X = xp.zeros((len(members), longest, width), dtype="float32")
        mask = xp.zeros((len(members), longest), dtype="float32")
        for k, (i, r, n) in enumerate(members):
            X[k, :n] = trf_datas[i].model_output.last_hidden_state[r, :n]
            mask[k, :n] = 1.0
        X_torch = xp2torch(X, requires_grad=is_train, device=device)
        Y_torch, backprop_group = shim(
            ArgsKwargs(args=(X_torch, xp2torch(mask, device=device)), kwargs={}), is_train
        )
        Y: Any = torch2xp(Y_torch.detach(), ops=model.ops)
        for k, (i, r, n) in enumerate(members):
            hidden[i][r, :n] = Y[k, :n]
        if is_train:
            runs.append((members, Y_torch, backprop_group))

    def backprop(d_outputs: List[TransformerData]) -> List[TransformerData]:
        # trfs2arrays sends one gradient per doc that has a last_hidden_state.
        with_output = [
            i for i, out in enumerate(outputs) if "last_hidden_state" in out.model_output
        ]
        if len(d_outputs) != len(with_output):
            raise ValueError(Errors.E309.format(got=len(d_outputs), expected=len(with_output)))
        d_hidden = dict(zip(with_output, (d.model_output.last_hidden_state for d in d_outputs)))
        d_inputs: Dict[int, Any] = {i: xp.zeros_like(array) for i, array in hidden.items()}
        for members, Y_torch, backprop_group in runs:
            dY = xp.zeros(tuple(Y_torch.shape), dtype="float32")
            for k, (i, r, n) in enumerate(members):
                dY[k, :n] = d_hidden[i][r, :n]
            grads = backprop_group(
                ArgsKwargs(args=(Y_torch,), kwargs={"grad_tensors": (xp2torch(dY, device=device),)})
            )
            dX: Any = torch2xp(grads.args[0], ops=model.ops)
            for k, (i, r, n) in enumerate(members):
                d_inputs[i][r, :n] = dX[k, :n] * model.attrs["grad_factor"]
        # A doc without word pieces: nothing ran, nothing changes.
        return [
            _with_hidden(trf_datas[i], d_inputs[i]) if i in d_inputs else d_output
            for i, d_output in zip(with_output, d_outputs)
        ]

    return outputs, backprop


def _with_hidden(trf_data: TransformerData, last_hidden_state: Any) -> TransformerData:
    """`trf_data`'s word pieces and alignment, with `last_hidden_state` as its output."""
    return TransformerData(
        wordpieces=trf_data.wordpieces,
        model_output=ModelOutput(last_hidden_state=last_hidden_state),
        align=trf_data.align,
    )


__all__ = [
    "ARCHITECTURE",
    "TaskLayersModule",
    "TaskLayersShim",
    "check_task_layers",
    "create_task_layers_listener",
    "load_task_layers",
    "task_layers_shim",
]
