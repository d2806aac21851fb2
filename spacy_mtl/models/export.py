"""`spacy mtl quantize`: a trained pipeline's serving twin, written safely.

`export_pipeline` loads a trained pipeline, exports the encoder of each component
whose model is `spacy_mtl.TransformerModel.v1` (to ONNX Runtime, `onnx.py`; or, the
deprecated fallback, to PyTorch's eager int8, `int8.py`), and writes the pipeline
with `engine = "onnxruntime"` in its config and onnxruntime in its meta's
requirements, so that `spacy package` makes a wheel that installs what it needs.

The output may neither be, hold nor lie inside the input or a calibration file; it
is written to a temporary directory beside it, loaded back and compared with the
torch pipeline, and only then moved into place (replacing what was there only with
`force`).
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from thinc.api import Config, Model

from ..compat import encoder_shim
from ..errors import Errors
from ..files import atomic_dir, check_outputs
from .int8 import component_model, encoder_components, load_for_conversion, quantize_pipeline
from .onnx import (
    ACTIVATIONS,
    ENGINES,
    FFN_OUTPUT,
    PRECISIONS,
    check_choice,
    export_encoder,
    hf_config_dict,
    make_onnx,
    set_onnx_encoder,
)

#: What a pipeline served on ONNX Runtime requires (meta.json, so `spacy package`
#: writes it into the wheel): the version spacy-mtl's export and tests use, or newer.
ONNXRUNTIME_REQUIREMENT = "onnxruntime>=1.20,<2"
#: Posts the export runs through both pipelines to compare them, when no calibration
#: posts are given.
CHECK_TEXTS = (
    "Just landed in Paris , can't wait to see the Eiffel Tower !",
    "Apple support kept me on hold for two hours . Never again .",
    "Watching the Lakers game with @mike tonight #NBA",
    "so tired today",
)


@dataclass
class ExportReport:
    """What `export_pipeline` did, for the command to print."""

    components: List[str]
    engine: str
    precision: str
    settings: Dict[str, Any] = field(default_factory=dict)
    #: Largest absolute difference of the encoder's token vectors from torch fp32,
    #: over the posts checked.
    max_abs_diff: float = 0.0
    #: Share of the checked posts whose most probable class, and whose entities,
    #: are those of torch fp32.
    same_class: float = 1.0
    same_entities: float = 1.0
    checked_posts: int = 0


def read_texts(paths: Sequence[Union[str, Path]], limit: int) -> List[str]:
    """Up to `limit` post texts from .spacy files, taken in turn from each file so
    that every task's posts are represented."""
    per_file = []
    for path in paths:
        texts = [doc.text for doc in DocBin().from_disk(path).get_docs(spacy.blank("xx").vocab)]
        texts = [t for t in texts if t.strip()]
        if not texts:
            raise ValueError(Errors.E098.format(path=path))
        per_file.append(texts)
    merged: List[str] = []
    for row in range(max((len(t) for t in per_file), default=0)):
        merged.extend(texts[row] for texts in per_file if row < len(texts))
    return merged[:limit]


def _outputs(nlp: Language, texts: Sequence[str]):
    """Per text: the top class, the entity set and the first transformer's vectors."""
    top, ents, vectors = [], [], []
    for doc in nlp.pipe(texts):
        top.append(max(doc.cats, key=doc.cats.__getitem__) if doc.cats else None)
        ents.append(sorted((e.start_char, e.end_char, e.label_) for e in doc.ents))
        vectors.append(numpy.asarray(doc._.trf_data.model_output.last_hidden_state))
    return top, ents, vectors


def export_pipeline(
    input_dir: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    engine: str = "onnxruntime",
    precision: str = "int8",
    activations: str = "static",
    ffn_output: str = "int8",
    calibration: Sequence[Union[str, Path]] = (),
    calibration_size: int = 512,
    force: bool = False,
) -> ExportReport:
    """Write the serving twin of the trained pipeline in `input_dir` to `output_dir`.

    engine (str): "onnxruntime", or "torch" for PyTorch's deprecated eager int8.
    precision (str): "fp32" or "int8" (torch: int8 only).
    activations (str): int8 on ONNX Runtime: "static" scales, calibrated on the posts
        of `calibration`, or "per-token" ones (see `spacy_mtl.models.onnx`).
    ffn_output (str): int8 on ONNX Runtime: each layer's feed-forward output
        projection in "int8", or kept in "fp32".
    calibration (Sequence[Path]): .spacy files of training posts (static int8).
    calibration_size (int): the most posts calibrated on.
    force (bool): replace `output_dir` if it exists and is not empty.
    RETURNS (ExportReport): what was exported and how close it is to torch fp32.
    """
    check_choice("--engine", engine, ENGINES)
    check_choice("--precision", precision, PRECISIONS)
    check_choice("--activations", activations, ACTIVATIONS)
    check_choice("--ffn-output", ffn_output, FFN_OUTPUT)
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    check_outputs([output_dir], [input_dir, *calibration])
    if engine == "torch":
        if precision != "int8":
            raise ValueError(Errors.E099.format(component=input_dir))
        names = quantize_pipeline(input_dir, output_dir, force=force)
        return ExportReport(names, engine, precision)
    static = precision == "int8" and activations == "static"
    if static and not calibration:
        raise ValueError(Errors.E097)
    with atomic_dir(output_dir, replace=force) as staging:
        nlp = load_for_conversion(input_dir)
        texts = read_texts(calibration, calibration_size) if calibration else []
        check_texts = list(texts[:64]) or list(CHECK_TEXTS)
        reference = _outputs(nlp, check_texts)
        config = Config(nlp.config)
        names = encoder_components(nlp)
        settings: Dict[str, Any] = {}
        for name in names:
            settings = _serve_on_onnx(
                component_model(nlp, name),
                precision=precision,
                activations=activations,
                ffn_output=ffn_output,
                calibration_texts=texts if static else (),
            )
            section = config["components"][name]["model"]
            section["engine"] = "onnxruntime"
            section.pop("quantize", None)
        requirements = [r for r in nlp.meta.get("requirements", []) if "onnxruntime" not in r]
        nlp.meta["requirements"] = [*requirements, ONNXRUNTIME_REQUIREMENT]
        nlp.to_disk(staging)
        config.to_disk(staging / "config.cfg")
        # What a user will run next: it fails here rather than there.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            served = _outputs(spacy.load(staging), check_texts)
    return ExportReport(
        names,
        engine,
        precision,
        settings,
        max_abs_diff=max(
            float(numpy.abs(a - b).max()) if a.shape == b.shape and a.size else float("inf")
            for a, b in zip(reference[2], served[2])
        ),
        same_class=_share(reference[0], served[0]),
        same_entities=_share(reference[1], served[1]),
        checked_posts=len(check_texts),
    )


def _serve_on_onnx(
    model: Model,
    *,
    precision: str,
    activations: str,
    ffn_output: str,
    calibration_texts: Sequence[str],
) -> Dict[str, Any]:
    """Export the torch encoder of a transformer model (see `export_encoder`) and make
    the model run the export on ONNX Runtime. RETURNS the export's settings."""
    onnx_bytes, settings = export_encoder(
        model,
        precision=precision,
        activations=activations,
        ffn_output=ffn_output,
        calibration_texts=calibration_texts,
    )
    hf_config = hf_config_dict(model)
    hf_objects = encoder_shim(model)._hfmodel
    tokenizer, vocab = hf_objects.tokenizer, hf_objects.vocab_file_contents
    make_onnx(model)
    set_onnx_encoder(model, onnx_bytes, tokenizer, vocab, hf_config, settings)
    return settings


def _share(expected: Sequence[Any], got: Sequence[Any]) -> float:
    return sum(a == b for a, b in zip(expected, got)) / max(len(expected), 1)
