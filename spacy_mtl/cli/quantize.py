"""`spacy mtl quantize`: a trained pipeline's serving twin, on ONNX Runtime.

spacy mtl quantize training/mtl/model-best training/mtl-int8 --calibration corpus/textcat/train.spacy --calibration corpus/ner/train.spacy
spacy mtl quantize training/mtl/model-best training/mtl-onnx --precision fp32
"""

from pathlib import Path
from typing import List

import typer
from wasabi import msg

from . import mtl_cli


@mtl_cli.command("quantize")
def quantize_cli(
    # fmt: off
    input_dir: Path = typer.Argument(
        ...,
        help="A trained pipeline directory (e.g. training/mtl/model-best)",
        exists=True,
        file_okay=False,
    ),
    output_dir: Path = typer.Argument(
        ...,
        help="Directory to write the serving pipeline to (not inside the input)",
        file_okay=False,
    ),
    precision: str = typer.Option("int8", "--precision", "-p", help="fp32 or int8"),
    activations: str = typer.Option(
        "static",
        "--activations",
        "-a",
        help="int8: 'static' scales calibrated on --calibration posts, or 'per-token' scales taken at run time",
    ),
    ffn_output: str = typer.Option(
        "int8",
        "--ffn-output",
        help="int8: each layer's feed-forward output projection in 'int8' or kept in 'fp32'",
    ),
    calibration: List[Path] = typer.Option(
        [],
        "--calibration",
        "-c",
        help="A .spacy file of training posts to calibrate static int8 scales on (repeat for each task)",
        exists=True,
        dir_okay=False,
    ),
    calibration_size: int = typer.Option(
        512, "--calibration-size", help="The most posts calibrated on, taken in turn from each file"
    ),
    engine: str = typer.Option(
        "onnxruntime",
        "--engine",
        "-e",
        help="onnxruntime, or torch for PyTorch's deprecated eager int8",
    ),
    force: bool = typer.Option(False, "--force", "-F", help="Replace OUTPUT_DIR if it exists"),
    # fmt: on
) -> None:
    """
    Write the serving twin of a trained pipeline: its shared encoder exported to
    ONNX Runtime and graph-optimised, in fp32 or int8 (the heads as they are). int8
    weights have one scale per output channel; activation scales are calibrated on
    training posts (static) or taken per token, so that a post's output does not
    depend on the posts batched with it. The pipeline loads with spacy.load (with
    onnxruntime installed: pip install "spacy-mtl[onnx]"), packages with spacy
    package, runs on ONNX Runtime's GPU provider where there is one, and cannot be
    trained further (train the torch pipeline).
    """
    # Imported here: spaCy imports every plugin's commands at start-up, and the
    # exporter pulls in transformers, which no other command needs before loading.
    from ..models.export import export_pipeline

    try:
        with msg.loading(f"Exporting {input_dir} ..."):
            report = export_pipeline(
                input_dir,
                output_dir,
                engine=engine,
                precision=precision,
                activations=activations,
                ffn_output=ffn_output,
                calibration=calibration,
                calibration_size=calibration_size,
                force=force,
            )
    except (OSError, ValueError, ImportError) as error:
        msg.fail(str(error), exits=1)
    size = sum(f.stat().st_size for f in output_dir.rglob("*") if f.is_file())
    what = f"{report.engine} {report.precision}"
    if report.precision == "int8" and report.engine == "onnxruntime":
        what += f", {report.settings['activations']} activations, feed-forward output in {report.settings['ffn_output']}"
    msg.good(
        f"Saved the {what} pipeline to {output_dir} ({size / 1e6:.1f} MB; encoder: {', '.join(report.components)})"
    )
    if report.checked_posts:
        msg.info(
            f"Against the torch pipeline on {report.checked_posts} posts: token vectors at most "
            f"{report.max_abs_diff:.2g} apart; same top class {100 * report.same_class:.0f}%, "
            f"same entities {100 * report.same_entities:.0f}%"
        )
