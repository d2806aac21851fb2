"""`spacy mtl evaluate`: each task scored on its own test set (`spacy_mtl.evaluation`).

The scores are printed, written to JSON, and can be written into the pipeline's
meta.json so that the packaged wheel carries them; `--per-doc` also writes what
each test doc contributes to its task's score, for paired bootstrap intervals.
"""

import json
from pathlib import Path
from typing import Optional

import typer
from wasabi import msg

from ..evaluation.scores import evaluate, write_meta
from . import mtl_cli
from ._util import CODE_HELP, GPU_HELP, check_gpu_id, import_code


@mtl_cli.command("evaluate")
def evaluate_cli(
    # fmt: off
    model: str = typer.Argument(..., help="Pipeline directory or installed package name"),
    textcat: Optional[Path] = typer.Option(
        None, "--textcat", help="Test .spacy file for the textcat head"
    ),
    ner: Optional[Path] = typer.Option(None, "--ner", help="Test .spacy file for the ner head"),
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
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help=CODE_HELP),
    gpu_id: str = typer.Option("-1", "--gpu-id", "-g", help=GPU_HELP, callback=check_gpu_id),
    # fmt: on
) -> None:
    """
    Score a pipeline on each task's own test set with spaCy's scorers: sentiment
    on the sentiment test docs, entities on the entity test docs.
    """
    test_sets = {task: path for task, path in (("textcat", textcat), ("ner", ner)) if path}
    if not test_sets:
        msg.fail("Give at least one of --textcat, --ner", exits=1)
    import_code(code_path)
    try:
        results = evaluate(model, test_sets, gpu_id, per_doc=per_doc)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    for task, scores in results.items():
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
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
    if meta_output:
        meta_output.parent.mkdir(parents=True, exist_ok=True)
        write_meta(Path(model), results, meta_output)
