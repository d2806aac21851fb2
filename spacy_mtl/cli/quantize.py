"""`spacy mtl quantize`: the int8 twin of a trained pipeline, for CPU inference.

spacy mtl quantize training/mtl/model-best training/mtl-int8
"""

from pathlib import Path

import typer
from wasabi import msg

from ..models.int8 import quantize_pipeline
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
        ..., help="Directory to write the int8 pipeline to", file_okay=False
    ),
    force: bool = typer.Option(False, "--force", "-F", help="Replace OUTPUT_DIR if it exists"),
    # fmt: on
) -> None:
    """
    Write the int8 twin of a trained pipeline: the shared encoder's linear layers
    and word embeddings in int8 (PyTorch dynamic quantisation), the heads as they
    are. It runs inference on the CPU, loads with spacy.load and packages with
    spacy package; it cannot be trained further (train the fp32 pipeline).
    """
    try:
        with msg.loading(f"Quantizing {input_dir} ..."):
            names = quantize_pipeline(input_dir, output_dir, force=force)
    except (OSError, ValueError) as error:
        msg.fail(str(error), exits=1)
    size = sum(f.stat().st_size for f in output_dir.rglob("*") if f.is_file())
    msg.good(
        f"Saved the int8 pipeline to {output_dir} ({size / 1e6:.1f} MB; int8 encoder: {', '.join(names)})"
    )
