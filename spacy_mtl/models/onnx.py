"""The shared encoder on ONNX Runtime, for inference.

`engine = "onnxruntime"` on `spacy_mtl.TransformerModel.v1` runs the encoder that
`spacy mtl quantize` (`export_pipeline`) exported from a trained pipeline: the torch
encoder traced to ONNX, graph-optimised by ONNX Runtime's transformer optimizer
(embeddings and layer norm, attention, bias and GELU, residual and layer norm each
fused into one operator), and for int8 quantised. The ONNX model is saved inside the
pipeline directory, in the transformer's `model` file beside the tokenizer, so
`spacy.load`, `spacy package` and `spacy mtl annotate` need nothing else than
spacy-mtl and onnxruntime (`pip install "spacy-mtl[onnx]"`).

int8 (`precision = "int8"`) is made so that a post's output does not depend on the
posts batched with it, which PyTorch's dynamic int8 (one activation scale per call)
cannot give:

- weights: per output channel (static activations) or per block of 32 input
  values of each output channel (per-token activations);
- activations, a choice (`activations`): "static", one scale per tensor calibrated
  on training posts and stored with the model; or "per-token", each token's row
  quantised on its own, by blocks, at run time (ONNX Runtime's `MatMulNBits` at
  accuracy level 4);
- each layer's feed-forward output projection, which reads the GELU activations,
  in int8 or kept in fp32 (`ffn_output`): dev scores decide
  (project/scripts/compare_int8.py);
- the word-embedding table in 8 bits per block of each row.

On x86 CPUs without VNNI, ONNX Runtime's default int8 kernels (u8 x s8) add pairs of
products in saturating 16-bit arithmetic; `saturation_guard` (on by default) sets
`session.x64quantprecision`, with which ONNX Runtime converts the weights to u8 and
multiplies exactly on every x86 CPU that has the problem or might: correct with or
without VNNI, and decided where the pipeline is served, not where it was exported.

Everything here imports onnxruntime, onnx and the exporter only when called:
spacy-mtl itself does not need them.
"""

import tempfile
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
import srsly
from spacy.util import SimpleFrozenDict
from thinc.api import Model, Shim, get_torch_default_device
from transformers import AutoTokenizer

from ..compat import HFObjects, WordpieceBatch, check_saved_encoder, encoder_shim
from ..errors import Errors
from ..types import INFERENCE_ONLY

#: What `engine` may be.
ENGINES = ("torch", "onnxruntime")
#: What an exported encoder computes in.
PRECISIONS = ("fp32", "int8")
#: How int8 activations are scaled: one calibrated scale per tensor, or each token's
#: row on its own.
ACTIVATIONS = ("static", "per-token")
#: Each layer's feed-forward output projection: in int8 or kept in fp32.
FFN_OUTPUT = ("int8", "fp32")
#: The saved encoder's format, checked when it loads.
FORMAT = "spacy-mtl-onnx/1"
#: The encoder's inputs and outputs, as spacy-transformers feeds and reads them.
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAMES = ("last_hidden_state", "pooler_output")
#: ONNX opset of the export: the one ONNX Runtime's transformer fusions know.
OPSET = 17
#: Block length (input values) of per-token int8: the scale of a token's activations
#: and of each output channel's weights is taken per block of this many.
BLOCK_SIZE = 32


def check_engine(engine: str) -> str:
    """The `engine` setting, or a ValueError that names it and its values."""
    if engine not in ENGINES:
        raise ValueError(Errors.E092.format(value=engine, values=list(ENGINES)))
    return engine


def check_choice(option: str, value: str, values: Sequence[str]) -> str:
    """`value` if it is one of `values`, else a ValueError naming `option`."""
    if value not in values:
        raise ValueError(Errors.E096.format(option=option, value=value, values=list(values)))
    return value


def import_onnxruntime():
    """The onnxruntime module, or an ImportError that says how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(Errors.E093) from None
    return onnxruntime


def providers(ort) -> List[str]:
    """ONNX Runtime's CUDA provider where this onnxruntime has it, then the CPU's."""
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


# --- the tokenizer, saved as spacy-transformers saves it -----------------------------


def tokenizer_files(tokenizer, vocab_file_contents: Optional[bytes]) -> Dict[str, Any]:
    """The tokenizer's files by name, and its settings under "kwargs", as
    spacy-transformers' `HFShim.to_bytes` writes them."""
    files: Dict[str, Any] = {"kwargs": {"use_fast": bool(tokenizer.is_fast)}}
    with tempfile.TemporaryDirectory() as tmp:
        if hasattr(tokenizer, "vocab_file") and vocab_file_contents is not None:
            vocab = Path(tmp) / tokenizer.vocab_files_names["vocab_file"]
            vocab.write_bytes(vocab_file_contents)
            tokenizer.vocab_file = str(vocab)
        tokenizer.save_pretrained(tmp)
        for path in Path(tmp).glob("**/*"):
            if path.is_file():
                files[path.name] = path.read_bytes()
    return files


def load_tokenizer(files: Dict[str, Any]) -> Tuple[Any, Optional[bytes]]:
    """The tokenizer saved by `tokenizer_files` (checked by the caller), and its
    vocabulary file's contents."""
    files = dict(files)
    kwargs = files.pop("kwargs", {})
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        tokenizer = AutoTokenizer.from_pretrained(tmp, **kwargs)
        vocab = None
        if hasattr(tokenizer, "vocab_file"):
            path = Path(tmp) / tokenizer.vocab_files_names["vocab_file"]
            vocab = path.read_bytes() if path.is_file() else None
    return tokenizer, vocab


# --- the shim: an ONNX Runtime session where thinc expects a framework's model ------


class OnnxShim(Shim):
    """Holds the exported encoder (ONNX bytes), its tokenizer and Hugging Face config,
    and runs it in an ONNX Runtime session, opened on first use.

    `_hfmodel` is spacy-transformers' `HFObjects`, so that `TransformerModel.tokenizer`
    finds the tokenizer where it looks for it; its `transformer` is None.
    """

    def __init__(self, *, saturation_guard: bool = True) -> None:
        super().__init__(None)
        self._hfmodel = HFObjects(None, None, None, SimpleFrozenDict(), SimpleFrozenDict())
        self.saturation_guard = saturation_guard
        self.onnx_bytes: Optional[bytes] = None
        self.hf_config: Dict[str, Any] = {}
        self.settings: Dict[str, Any] = {}
        self._session = None

    @property
    def tokenizer(self):
        return self._hfmodel.tokenizer

    def set_encoder(
        self,
        onnx_bytes: bytes,
        tokenizer,
        vocab_file_contents: Optional[bytes],
        hf_config: Dict[str, Any],
        settings: Dict[str, Any],
    ) -> None:
        """Hold a freshly exported encoder (replacing any held before)."""
        self._hfmodel = HFObjects(
            tokenizer, None, vocab_file_contents, SimpleFrozenDict(), SimpleFrozenDict()
        )
        self.onnx_bytes = onnx_bytes
        self.hf_config = dict(hf_config)
        self.settings = dict(settings)
        self._session = None

    @property
    def session(self):
        """The ONNX Runtime session, opened on first use."""
        if self._session is None:
            if self.onnx_bytes is None:
                raise ValueError(Errors.E094)
            ort = import_onnxruntime()
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if self.saturation_guard:
                options.add_session_config_entry("session.x64quantprecision", "1")
            self._session = ort.InferenceSession(self.onnx_bytes, options, providers=providers(ort))
        return self._session

    def __call__(self, inputs: WordpieceBatch, is_train: bool):
        if is_train:
            raise ValueError(Errors.E095)
        import torch
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        session = self.session
        feeds = {}
        given: Dict[str, Any] = {
            "input_ids": inputs.input_ids,
            "attention_mask": inputs.attention_mask,
            "token_type_ids": inputs.token_type_ids,
        }
        for spec in session.get_inputs():
            value = given.get(spec.name)
            if value is None:  # no token types: all zeros, as the torch encoder takes them
                value = numpy.zeros(inputs.input_ids.shape, dtype="int64")
            feeds[spec.name] = numpy.ascontiguousarray(_to_numpy(value), dtype="int64")
        arrays = dict(zip(OUTPUT_NAMES, session.run(list(OUTPUT_NAMES), feeds)))
        device = get_torch_default_device()
        tensors = {name: torch.from_numpy(a).to(device) for name, a in arrays.items()}
        output = BaseModelOutputWithPooling(**tensors)

        def backprop(d_output):
            raise ValueError(Errors.E095)

        return output, backprop

    def finish_update(self, optimizer) -> None:
        raise ValueError(Errors.E095)

    def to_device(self, device_type: str, device_id: int) -> None:
        """Nothing to move: ONNX Runtime chose its provider when the session opened."""

    def to_bytes(self) -> bytes:
        tokenizer = self._hfmodel.tokenizer
        msg = {
            "format": FORMAT,
            "config": self.hf_config,
            "settings": self.settings,
            "tokenizer": (
                {}
                if tokenizer is None
                else tokenizer_files(tokenizer, self._hfmodel.vocab_file_contents)
            ),
            "onnx": self.onnx_bytes or b"",
        }
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, bytes_data: bytes) -> "OnnxShim":
        msg = srsly.msgpack_loads(bytes_data)
        if not isinstance(msg, dict) or msg.get("format") != FORMAT:
            found = msg.get("format", "a torch encoder") if isinstance(msg, dict) else "?"
            raise ValueError(Errors.E300.format(found=found, expected=FORMAT))
        check_saved_encoder(msg)
        if not msg["onnx"]:
            return self
        tokenizer, vocab = load_tokenizer(msg["tokenizer"])
        self.set_encoder(msg["onnx"], tokenizer, vocab, msg["config"], msg["settings"])
        return self


def _to_numpy(array) -> numpy.ndarray:
    """A numpy array from numpy or cupy."""
    return array.get() if hasattr(array, "get") else numpy.asarray(array)


def _onnx_forward(model: Model, wordpieces: WordpieceBatch, is_train: bool):
    return model.shims[0](wordpieces, is_train)


def OnnxEncoder(shim: OnnxShim) -> Model:
    """The layer that replaces spacy-transformers' `HFWrapper`: word pieces in, the
    encoder's `ModelOutput` (torch tensors, as the torch encoder gives) out."""
    return Model("onnx-encoder", _onnx_forward, shims=[shim], dims={"nI": None, "nO": None})


def onnx_shim(model: Model) -> OnnxShim:
    """The ONNX Runtime shim of a transformer model made by `make_onnx`."""
    shim = model.layers[0].shims[0]
    if not isinstance(shim, OnnxShim):
        raise TypeError(Errors.E301.format(name=model.name, shim=type(shim).__name__))
    return shim


def _refuse_init(model: Model, X=None, Y=None) -> None:
    """`initialize` of an ONNX Runtime encoder: one that holds its exported encoder
    (loaded from disk) has nothing to do; one without has nothing to start from."""
    if not model.attrs["has_transformer"]:
        raise ValueError(Errors.E094)


def _refuse_set_transformer(model: Model, hf_model) -> None:
    raise ValueError(Errors.E094)


def make_onnx(model: Model, *, saturation_guard: bool = True) -> Model:
    """Make a spacy-transformers `TransformerModel` run its encoder on ONNX Runtime:
    its torch wrapper is replaced by an `OnnxEncoder`, filled by `from_bytes` (a
    saved pipeline) or `set_onnx_encoder` (an export). It runs inference only.

    RETURNS (Model): the same model.
    """
    model.layers[0] = OnnxEncoder(OnnxShim(saturation_guard=saturation_guard))
    model.init = _refuse_init
    model.attrs["set_transformer"] = _refuse_set_transformer
    model.attrs["engine"] = "onnxruntime"
    model.attrs[INFERENCE_ONLY] = 'ONNX Runtime (engine = "onnxruntime")'
    return model


def set_onnx_encoder(
    model: Model,
    onnx_bytes: bytes,
    tokenizer,
    vocab_file_contents: Optional[bytes],
    hf_config: Dict[str, Any],
    settings: Dict[str, Any],
) -> None:
    """Put an exported encoder into a model made by `make_onnx`."""
    onnx_shim(model).set_encoder(onnx_bytes, tokenizer, vocab_file_contents, hf_config, settings)
    model.attrs["has_transformer"] = True
    model.set_dim("nO", int(hf_config["hidden_size"]))


# --- export -----------------------------------------------------------------------


def is_feed_forward_output_node(name: str) -> bool:
    """Whether an exported MatMul is a layer's feed-forward output projection
    (`/encoder/layer.N/output/dense/MatMul`, not `.../attention/output/dense/...`)."""
    return "/output/dense/" in name and "/attention/" not in name


def export_onnx(module, tokenizer, path: Path) -> None:
    """Trace a Hugging Face encoder to ONNX at `path`, with the batch and sequence
    axes left free.

    The TorchScript exporter (`dynamo=False`) is used because ONNX Runtime's
    transformer optimizer recognises the attention it writes and fuses it; the
    graph of the torch.export-based exporter keeps attention unfused.
    """
    import torch

    sample = tokenizer(
        ["a short post", "a somewhat longer post with #hashtags and @handles"],
        padding="longest",
        return_tensors="pt",
    )
    names = [n for n in INPUT_NAMES if n in sample]
    axes = {name: {0: "batch", 1: "sequence"} for name in (*names, OUTPUT_NAMES[0])}
    axes[OUTPUT_NAMES[1]] = {0: "batch"}
    module = module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's and the exporter's own notices (deprecation, traced constants).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tuple(sample[n] for n in names),
            str(path),
            input_names=names,
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def optimize_onnx(source: Path, target: Path, hf_config, *, fuse_attention: bool) -> None:
    """Fuse the exported graph with ONNX Runtime's transformer optimizer.

    fuse_attention (bool): fuse each layer's attention into one operator (fp32);
        int8 leaves it unfused, so that its query, key and value projections are
        MatMuls the quantiser can reach. The embeddings and their layer norm are
        fused only for fp32: int8 quantises the word-embedding table.
    """
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    options.enable_attention = fuse_attention
    options.enable_embed_layer_norm = fuse_attention
    optimized = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=int(hf_config.num_attention_heads),
        hidden_size=int(hf_config.hidden_size),
        optimization_options=options,
        opt_level=0,
    )
    optimized.save_model_to_file(str(target))


def weight_matmuls(model) -> List[str]:
    """The MatMul nodes of an ONNX model whose second input is a weight (an
    initializer): the linear layers, not attention's products of activations."""
    weights = {init.name for init in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in weights]


def word_embedding_gathers(model) -> List[str]:
    """The Gather nodes that look word pieces up in the word-embedding table."""
    weights = {init.name: init for init in model.graph.initializer}
    return [
        n.name
        for n in model.graph.node
        if n.op_type == "Gather" and n.input[0] in weights and "word_embeddings" in n.input[0]
    ]


class _Feeds:
    """ONNX Runtime's calibration reader: one feed per batch of posts."""

    def __init__(self, feeds: Iterable[Dict[str, numpy.ndarray]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> Optional[Dict[str, numpy.ndarray]]:
        return next(self._feeds, None)

    def rewind(self) -> None:  # read once; ONNX Runtime asks only after it is spent
        pass


def calibration_feeds(
    tokenizer, texts: Sequence[str], input_names: Sequence[str], batch_size: int = 16
) -> List[Dict[str, numpy.ndarray]]:
    """The encoder's inputs for `texts`, `batch_size` posts at a time."""
    feeds = []
    max_length = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    for start in range(0, len(texts), batch_size):
        encoded = tokenizer(
            list(texts[start : start + batch_size]),
            padding="longest",
            truncation=True,
            max_length=max_length,
            return_tensors="np",
        )
        feeds.append({n: encoded[n].astype("int64") for n in input_names if n in encoded})
    return feeds


def quantize_onnx(
    source: Path,
    target: Path,
    *,
    activations: str,
    ffn_output: str,
    feeds: Optional[List[Dict[str, numpy.ndarray]]],
) -> Dict[str, Any]:
    """Quantise the linear layers and word embeddings of the fp32 graph `source` to
    int8 at `target` (see the module's docstring). RETURNS what was quantised."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    from onnxruntime.quantization.shape_inference import quant_pre_process

    graph = onnx.load(str(source))
    linear = weight_matmuls(graph)
    kept = [n for n in linear if ffn_output == "fp32" and is_feed_forward_output_node(n)]
    quantized = [n for n in linear if n not in kept]
    embeddings = word_embedding_gathers(graph)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "static.onnx"
        if activations == "static":
            if not feeds:
                raise ValueError(Errors.E097)
            # Types and shapes of every tensor, the fused operators' included: the
            # quantiser leaves a tensor it cannot type unquantised.
            typed = Path(tmp) / "typed.onnx"
            quant_pre_process(str(source), str(typed), skip_optimization=True, auto_merge=True)
            quantize_static(
                str(typed),
                str(staged),
                _Feeds(feeds),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_quantize=quantized,
                calibrate_method=CalibrationMethod.MinMax,
                extra_options={"MatMulConstBOnly": True},
            )
            graph = onnx.load(str(staged))
        if activations == "per-token":
            # Block-wise 8-bit weights; activations quantised per token at run time.
            quantizer = MatMulNBitsQuantizer(
                graph,
                bits=8,
                block_size=BLOCK_SIZE,
                is_symmetric=True,
                accuracy_level=4,
                nodes_to_include=quantized,
                op_types_to_quantize=("MatMul",),
                quant_axes=(("MatMul", 0),),
            )
            quantizer.process()
            graph = quantizer.model.model
        quantize_embedding_rows(graph, embeddings)
        onnx.save(graph, str(target))
    return {
        "int8": quantized,
        "fp32": kept,
        "embeddings": embeddings,
    }


def quantize_embedding_rows(graph, gathers: Sequence[str]) -> None:
    """Store the tables the `gathers` nodes read in int8, one scale per row, in place.

    Each row (a word piece's vector) is scaled by its own largest magnitude, as
    PyTorch's weight-only embedding quantisation does; the lookup gathers the int8
    rows and their scales and multiplies them back to fp32.
    """
    from onnx import helper, numpy_helper

    initializers = {init.name: init for init in graph.graph.initializer}
    nodes = []
    for node in graph.graph.node:
        if node.name not in set(gathers):
            nodes.append(node)
            continue
        base, ids, out = node.input[0], node.input[1], node.output[0]
        table = numpy_helper.to_array(initializers[base]).astype("float32")
        scales = numpy.abs(table).max(axis=1, keepdims=True) / 127.0
        scales[scales == 0] = 1.0
        rows = numpy.clip(numpy.round(table / scales), -127, 127).astype("int8")
        graph.graph.initializer.remove(initializers[base])
        graph.graph.initializer.extend(
            [
                numpy_helper.from_array(rows, f"{base}_int8"),
                numpy_helper.from_array(scales.astype("float32"), f"{base}_scale"),
            ]
        )
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        nodes += [
            helper.make_node("Gather", [f"{base}_int8", ids], [f"{out}_int8"], axis=axis),
            helper.make_node("Gather", [f"{base}_scale", ids], [f"{out}_scale"], axis=axis),
            helper.make_node("Cast", [f"{out}_int8"], [f"{out}_float"], to=1),
            helper.make_node("Mul", [f"{out}_float", f"{out}_scale"], [out]),
        ]
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)


class _quiet_logs:
    """ONNX Runtime's optimizer and quantisers log every step, at INFO and WARNING,
    on their own loggers and on the root one: only errors are shown while they run."""

    def __enter__(self) -> None:
        import logging

        names = ("", "onnxruntime", "fusion_base", "onnx_model", "onnx_model_bert")
        self._loggers = [logging.getLogger(name) for name in names]
        self._loggers += [
            logging.getLogger(name)
            for name in list(logging.root.manager.loggerDict)
            if name.startswith(("onnxruntime", "fusion_", "onnx_model"))
        ]
        self._levels = [logger.level for logger in self._loggers]
        for logger in self._loggers:
            logger.setLevel(logging.ERROR)

    def __exit__(self, *exc) -> None:
        for logger, level in zip(self._loggers, self._levels):
            logger.setLevel(level)


def export_encoder(
    model: Model,
    *,
    precision: str = "fp32",
    activations: str = "static",
    ffn_output: str = "int8",
    calibration_texts: Sequence[str] = (),
) -> Tuple[bytes, Dict[str, Any]]:
    """Export the torch encoder of a trained `TransformerModel` to ONNX Runtime.

    model (Model): a spacy-transformers `TransformerModel` holding a torch encoder.
    precision (str): "fp32" or "int8".
    activations (str): int8 only: "static" (calibrated on `calibration_texts`) or
        "per-token".
    ffn_output (str): int8 only: the feed-forward output projections in "int8" or
        kept in "fp32".
    calibration_texts (Sequence[str]): posts to calibrate static scales on.
    RETURNS (Tuple[bytes, Dict[str, Any]]): the ONNX model, and its settings.
    """
    check_choice("--precision", precision, PRECISIONS)
    check_choice("--activations", activations, ACTIVATIONS)
    check_choice("--ffn-output", ffn_output, FFN_OUTPUT)
    import_onnxruntime()
    shim = encoder_shim(model)
    module, tokenizer = shim._model, shim._hfmodel.tokenizer
    if precision == "int8" and activations == "static" and not calibration_texts:
        raise ValueError(Errors.E097)
    settings: Dict[str, Any] = {"precision": precision}
    with tempfile.TemporaryDirectory() as tmp, _quiet_logs():
        traced, fused = Path(tmp) / "traced.onnx", Path(tmp) / "fused.onnx"
        export_onnx(module, tokenizer, traced)
        optimize_onnx(traced, fused, module.config, fuse_attention=precision == "fp32")
        if precision == "int8":
            import onnx

            inputs = [i.name for i in onnx.load(str(fused)).graph.input]
            feeds = (
                calibration_feeds(tokenizer, calibration_texts, inputs)
                if activations == "static"
                else None
            )
            final = Path(tmp) / "int8.onnx"
            report = quantize_onnx(
                fused, final, activations=activations, ffn_output=ffn_output, feeds=feeds
            )
            settings.update(
                activations=activations,
                ffn_output=ffn_output,
                calibration_posts=len(calibration_texts) if activations == "static" else 0,
                int8_linear_layers=len(report["int8"]),
                fp32_linear_layers=len(report["fp32"]),
            )
        else:
            final = fused
        return final.read_bytes(), settings


def hf_config_dict(model: Model) -> Dict[str, Any]:
    """The torch encoder's Hugging Face config, as a dict."""
    return encoder_shim(model)._model.config.to_dict()


__all__ = [
    "ACTIVATIONS",
    "ENGINES",
    "FFN_OUTPUT",
    "OnnxShim",
    "PRECISIONS",
    "check_engine",
    "export_encoder",
    "make_onnx",
    "set_onnx_encoder",
]
