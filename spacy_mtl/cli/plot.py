"""`spacy mtl plot`: the curves of a weight trace (`spacy_mtl.training.plot`).

spacy mtl plot training/weights.jsonl --output weights.png
"""

from pathlib import Path

import typer
from wasabi import msg

from ..training.plot import plot
from . import mtl_cli


@mtl_cli.command("plot")
def plot_cli(
    # fmt: off
    trace: Path = typer.Argument(
        ...,
        help="Weight trace (JSON lines) written by spacy_mtl.WeightTraceLogger.v1",
        exists=True,
        dir_okay=False,
    ),
    output: Path = typer.Option(Path("weights.png"), "--output", "-o", help="PNG file to write"),
    window: int = typer.Option(20, "--window", min=1, help="Steps in the moving average"),
    # fmt: on
) -> None:
    """
    Draw the per-task true loss, weight and encoder gradient norm of every
    training step from a weight trace, and the cosine between each pair of task
    gradients at the shared representation (below 0: the tasks conflict), as
    moving averages.
    """
    try:
        msg.good(f"Saved {plot(trace, output, window)}")
    except (ImportError, ValueError) as error:
        msg.fail(str(error), exits=1)
