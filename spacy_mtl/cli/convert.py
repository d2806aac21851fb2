"""`spacy mtl convert`: your annotated files to per-task .spacy files."""

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import typer
from wasabi import msg

from ..corpus.convert import convert_files
from ..errors import Errors
from . import mtl_cli
from ._util import CODE_HELP, import_code

_ENTITY_FILE = "CoNLL/IOB file"
_CATS_FILE = "CSV or JSONL file"


def _file(flag: str, help: str) -> Optional[Path]:
    return typer.Option(None, flag, help=help, exists=True, dir_okay=False)


def task_files(specs: List[str]) -> Dict[str, Dict[str, Path]]:
    """{task: {split: file}} from --task TASK:SPLIT=FILE options.

    RAISES (ValueError): a spec of another form, or a file given twice.
    """
    files: Dict[str, Dict[str, Path]] = {}
    for spec in specs:
        target, sep, path = spec.partition("=")
        task, colon, split = target.partition(":")
        if not (sep and colon and task.strip() and split.strip() and path):
            raise ValueError(
                Errors.E135.format(
                    option="--task",
                    value=spec,
                    expected="TASK:SPLIT=FILE, e.g. tagger:train=train.conll",
                )
            )
        task, split = task.strip(), split.strip()
        if split in files.get(task, {}):
            raise ValueError(
                Errors.E132.format(task=task, split=split, path=files[task][split], other=path)
            )
        files.setdefault(task, {})[split] = Path(path)
    return files


def tag_columns(specs: List[str]) -> Dict[str, int]:
    """{task: column} from --column TASK=N options.

    RAISES (ValueError): a spec of another form.
    """
    columns: Dict[str, int] = {}
    for spec in specs:
        task, sep, number = spec.partition("=")
        if not sep or not task.strip() or not number.strip().isdigit():
            raise ValueError(
                Errors.E135.format(option="--column", value=spec, expected="TASK=N, e.g. tagger=2")
            )
        columns[task.strip()] = int(number)
    return columns


@mtl_cli.command("convert")
def convert_cli(
    # fmt: off
    output_dir: Path = typer.Argument(
        ...,
        help="Output directory: gets <task>/<split>.spacy, e.g. ner/train.spacy and textcat/train.spacy",
        file_okay=False,
    ),
    ner_train: Optional[Path] = _file("--ner-train", f"{_ENTITY_FILE} of training entities"),
    ner_dev: Optional[Path] = _file("--ner-dev", f"{_ENTITY_FILE} of development entities"),
    ner_test: Optional[Path] = _file("--ner-test", f"{_ENTITY_FILE} of test entities"),
    cats_train: Optional[Path] = _file("--cats-train", f"{_CATS_FILE} of training categories"),
    cats_dev: Optional[Path] = _file("--cats-dev", f"{_CATS_FILE} of development categories"),
    cats_test: Optional[Path] = _file("--cats-test", f"{_CATS_FILE} of test categories"),
    tasks: List[str] = typer.Option(
        [],
        "--task",
        "-t",
        metavar="TASK:SPLIT=FILE",
        help="A file of any kind of task as TASK:SPLIT=FILE, e.g. tagger:train=train.conll (the kind registered in a --code file); repeatable",
    ),
    columns: List[str] = typer.Option(
        [],
        "--column",
        metavar="TASK=N",
        help="Which column of a task's token files holds its tag, as TASK=N (1-based; the token is column 1), e.g. tagger=2; default: the last; repeatable",
    ),
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
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help=CODE_HELP),
    # fmt: on
) -> None:
    """
    Convert your annotated files into per-task .spacy files.

    CoNLL/IOB files hold entities (ner), CSV/JSONL files categories (textcat);
    the files of any other kind of task (--task, e.g. a tagger's CoNLL files)
    are read by that kind, which a --code file registers. Each input file becomes
    OUTPUT_DIR/<task>/<split>.spacy with every example, in file order; a task or
    split without a file is not written. Each doc carries its task's gold and
    every other task's annotation marked missing (entity docs get empty cats,
    category docs their entities marked missing).

    Entity files: a token and its IOB2 tag per line (B-PER, I-PER, O), tab or
    space separated, a blank line after each sentence; with more columns
    (CoNLL-2003) the token is the first and the tag the last. Category files: CSV
    with a header row (text,label; with --multilabel also one 0/1 column per
    label) or JSON lines ({"text": …, "label": …}, "labels": […] or "cats": {…}).

    Token files of other tasks: as entity files, the tag in the last column or in
    the one --column names (CoNLL-2003's POS: --column tagger=2).

    Example: spacy mtl convert corpus --ner-train train.iob --ner-dev dev.iob
    --cats-train train.csv --cats-dev dev.csv
    """
    import_code(code_path)
    ner = {"train": ner_train, "dev": ner_dev, "test": ner_test}
    cats = {"train": cats_train, "dev": cats_dev, "test": cats_test}
    try:
        convert_files(
            output_dir,
            ner={name: path for name, path in ner.items() if path},
            cats={name: path for name, path in cats.items() if path},
            tasks=task_files(tasks),
            columns=tag_columns(columns),
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
