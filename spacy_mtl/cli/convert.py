"""`spacy mtl convert`: your annotated files to per-task .spacy files."""

from pathlib import Path
from typing import Optional, Tuple

import typer
from wasabi import msg

from ..corpus.convert import convert_files
from . import mtl_cli

_ENTITY_FILE = "CoNLL/IOB file"
_CATS_FILE = "CSV or JSONL file"


def _file(flag: str, help: str) -> Optional[Path]:
    return typer.Option(None, flag, help=help, exists=True, dir_okay=False)


@mtl_cli.command("convert")
def convert_cli(
    # fmt: off
    output_dir: Path = typer.Argument(
        ...,
        help="Output directory: gets ner/<split>.spacy and textcat/<split>.spacy",
        file_okay=False,
    ),
    ner_train: Optional[Path] = _file("--ner-train", f"{_ENTITY_FILE} of training entities"),
    ner_dev: Optional[Path] = _file("--ner-dev", f"{_ENTITY_FILE} of development entities"),
    ner_test: Optional[Path] = _file("--ner-test", f"{_ENTITY_FILE} of test entities"),
    cats_train: Optional[Path] = _file("--cats-train", f"{_CATS_FILE} of training categories"),
    cats_dev: Optional[Path] = _file("--cats-dev", f"{_CATS_FILE} of development categories"),
    cats_test: Optional[Path] = _file("--cats-test", f"{_CATS_FILE} of test categories"),
    multilabel: bool = typer.Option(
        False,
        "--multilabel",
        "-M",
        help="Category files are multi-label: several or no labels per text",
    ),
    text_field: str = typer.Option(
        "text", "--text-field", help="Text column (CSV) or field (JSONL) of the category files"
    ),
    label_field: str = typer.Option(
        "label", "--label-field", help="Label column of CSV category files"
    ),
    lowercase_labels: bool = typer.Option(
        False, "--lowercase-labels", help="Lower-case entity and category labels (B-PER -> B-per)"
    ),
    dedup: bool = typer.Option(
        False,
        "--dedup",
        help="Drop repeated texts (case and whitespace ignored; majority annotation kept), and texts of dev/test from the earlier splits",
    ),
    split: Optional[Tuple[float, float, float]] = typer.Option(
        None,
        "--split",
        help="Pool each task's files and re-split them by these train/dev/test fractions, e.g. 0.8 0.1 0.1",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of --split; the same seed gives the same bytes"
    ),
    lang: str = typer.Option(
        "en", "--lang", "-l", help="Language whose tokenizer splits the category texts"
    ),
    # fmt: on
) -> None:
    """
    Convert your annotated files into per-task .spacy files.

    CoNLL/IOB files hold entities (ner), CSV/JSONL files categories (textcat). Each
    input file becomes OUTPUT_DIR/<task>/<split>.spacy with every example, in file
    order; a task or split without a file is not written. Entity docs get empty
    cats, category docs get their entities marked missing.

    Entity files: a token and its IOB2 tag per line (B-PER, I-PER, O), tab or
    space separated, a blank line after each sentence; with more columns
    (CoNLL-2003) the token is the first and the tag the last. Category files: CSV
    with a header row (text,label; with --multilabel also one 0/1 column per
    label) or JSON lines ({"text": …, "label": …}, "labels": […] or "cats": {…}).

    Example: spacy mtl convert corpus --ner-train train.iob --ner-dev dev.iob
    --cats-train train.csv --cats-dev dev.csv
    """
    ner = {"train": ner_train, "dev": ner_dev, "test": ner_test}
    cats = {"train": cats_train, "dev": cats_dev, "test": cats_test}
    try:
        convert_files(
            output_dir,
            ner={name: path for name, path in ner.items() if path},
            cats={name: path for name, path in cats.items() if path},
            multilabel=multilabel,
            text_field=text_field,
            label_field=label_field,
            lowercase_labels=lowercase_labels,
            dedup=dedup,
            split=split,
            seed=seed,
            lang=lang,
            printer=msg,
        )
    except ValueError as err:  # CorpusError included: one line naming the file and line
        msg.fail(str(err), exits=1)
