"""`spacy mtl evaluate`: each task scored on its own test set (`spacy_mtl.evaluation`).

The scores are printed, written to JSON, and can be written into the pipeline's
meta.json so that the packaged wheel carries them; `--per-doc` also writes what
each test doc contributes to its task's score, for paired bootstrap intervals.
"""

import json
from pathlib import Path
from typing import Dict, List, Optional

import typer
from wasabi import msg

from ..errors import Errors
from ..evaluation.scores import evaluate, model_path, test_set_kinds, write_meta
from ..files import atomic_file, check_outputs
from . import mtl_cli
from ._util import CODE_HELP, GPU_HELP, check_gpu_id, import_code

TASK_HELP = (
    "A task's test .spacy file as NAME=FILE, NAME a kind of task (textcat, "
    "textcat_multilabel, ner, or one a --code file registers), e.g. --task tagger=test.spacy; "
    "NAME/LABEL=FILE for several test sets of one kind. Repeatable"
)


def test_sets_of(textcat: Optional[Path], ner: Optional[Path], tasks: List[str]) -> Dict[str, Path]:
    """The test sets the options name, in order: --textcat, --ner, then each --task.

    RAISES (ValueError): a --task that is not NAME=FILE, or a task given twice.
    """
    given: Dict[str, Path] = {}
    pairs = [("textcat", textcat), ("ner", ner)]
    for spec in tasks:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path:
            raise ValueError(
                Errors.E135.format(
                    option="--task", value=spec, expected="NAME=FILE, e.g. tagger=test.spacy"
                )
            )
        pairs.append((name.strip(), Path(path)))
    for name, file in pairs:
        if file is None:
            continue
        if name in given:
            raise ValueError(Errors.E179.format(task=name, path=given[name], other=file))
        given[name] = file
    return given


@mtl_cli.command("evaluate")
def evaluate_cli(
    # fmt: off
    model: str = typer.Argument(..., help="Pipeline directory or installed package name"),
    textcat: Optional[Path] = typer.Option(
        None, "--textcat", help="Test .spacy file for the textcat head (--task textcat=FILE)"
    ),
    ner: Optional[Path] = typer.Option(
        None, "--ner", help="Test .spacy file for the ner head (--task ner=FILE)"
    ),
    tasks: List[str] = typer.Option([], "--task", "-t", help=TASK_HELP, metavar="NAME=FILE"),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Write the scores here as JSON"
    ),
    meta_output: Optional[Path] = typer.Option(
        None,
        "--meta-output",
        help="Write meta.json with the test scores here (for spacy package --meta-path)",
    ),
    per_doc: Optional[Path] = typer.Option(
        None,
        "--per-doc",
        help="Write each test doc's part of its task's score here (JSONL), for paired bootstrap intervals",
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="Fail when a task has nothing to score (no doc of its test set has gold for it) instead of warning",
    ),
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help=CODE_HELP),
    gpu_id: str = typer.Option("-1", "--gpu-id", "-g", help=GPU_HELP, callback=check_gpu_id),
    # fmt: on
) -> None:
    """
    Score a pipeline on each task's own test set with spaCy's scorers: sentiment
    on the sentiment test docs, entities on the entity test docs, a tagger's tags
    on its tagged test docs (--task tagger=FILE, the kind registered in a --code
    file). The files are written only once everything is scored, and never over
    an input.
    """
    import_code(code_path)
    try:
        test_sets = test_sets_of(textcat, ner, tasks)
        if not test_sets:
            raise ValueError(Errors.E170)
        test_set_kinds(test_sets)
        outputs = [path for path in (output, meta_output, per_doc) if path is not None]
        found = model_path(model)
        inputs = [
            *test_sets.values(),
            *([found] if found else []),
            *([code_path] if code_path else []),
        ]
        check_outputs(outputs, inputs)
        results = evaluate(model, test_sets, gpu_id, per_doc=per_doc, strict=strict)
        for task, scores in results.items():
            if len(scores) == 1:  # n_docs only: the warning said why
                msg.warn(f"{task}: nothing to score in {scores['n_docs']} docs")
                continue
            msg.table(
                [
                    (key, f"{value:.4f}" if key != "n_docs" else int(value))
                    for key, value in scores.items()
                ],
                title=f"{task} test scores",
                header=("score", "value"),
                divider=True,
            )
        if output:
            with atomic_file(output, "w") as file:
                file.write(json.dumps(results, indent=2) + "\n")
        if meta_output:
            write_meta(model, results, meta_output)
    except (ValueError, OSError) as error:
        # spaCy's own errors on loading (E050 and the like) are OSErrors.
        msg.fail(" ".join(str(error).split()), exits=1)
