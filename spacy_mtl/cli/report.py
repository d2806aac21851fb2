"""`spacy mtl report`: the entity × sentiment table and chart of an annotated stream.

spacy mtl annotate en_mtl_tweets posts.jsonl annotated.jsonl
spacy mtl report annotated.jsonl --output report/
"""

from pathlib import Path

import typer
from wasabi import msg

from ..annotate.report import write_report
from ..errors import Errors
from . import mtl_cli
from ._util import one_line


@mtl_cli.command("report")
def report_cli(
    # fmt: off
    annotated: str = typer.Argument(
        ...,
        help="JSONL written by spacy mtl annotate, a directory of them (--ray), or '-' for stdin",
    ),
    output_dir: Path = typer.Option(
        Path("report"),
        "--output",
        "-o",
        help="Directory for entities.csv, entities.md and entities.png",
        file_okay=False,
    ),
    top: int = typer.Option(
        20, "--top", min=1, help="Entities in the Markdown table and the chart"
    ),
    # fmt: on
) -> None:
    """
    Tally annotated posts per entity and sentiment: entities.csv (every entity:
    the posts that mention it, per class), entities.md (the most mentioned, with
    shares) and entities.png (their bars, split by sentiment). A post counts once
    per entity; its sentiment is its most probable class. Lines that are not
    annotated records (not JSON, "cats" that are not numbers) are counted and left
    out. The files are written whole or not at all, never over the input; a CSV
    cell that a spreadsheet would run as a formula gets a ' in front.
    """
    if annotated != "-" and not Path(annotated).exists():
        msg.fail(Errors.E277.format(path=annotated), exits=1)
    try:
        tally, files = write_report(annotated, output_dir, top)
    except (ImportError, OSError, ValueError) as error:
        msg.fail(one_line(error), exits=1)
    rows = [
        (row.text, row.label, row.posts, *(row.classes[label] for label in tally.classes))
        for row in tally.rows[:10]
    ]
    msg.table(
        rows,
        header=("entity", "label", "posts", *tally.classes),
        divider=True,
        title=f"{tally.posts:,} posts, {len(tally.rows):,} entities",
    )
    if tally.bad_lines:
        msg.warn(f"{tally.bad_lines:,} lines were not annotated records and were left out")
    msg.good(f"Saved {', '.join(str(path) for path in files.values())}")
