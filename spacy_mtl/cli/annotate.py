"""`spacy mtl annotate`: a stream of posts in, one JSON line per post out.

    spacy mtl annotate en_mtl_tweets posts.jsonl annotated.jsonl --n-process 2
    cat posts.txt | spacy mtl annotate en_mtl_tweets - - --format text > annotated.jsonl
    spacy mtl annotate en_mtl_tweets posts.jsonl annotated.jsonl --resume   # after a kill
    spacy mtl annotate en_mtl_tweets posts/ annotated.parquet --format jsonl --ray --n-process 8

The reading, checking, annotating and resuming are spacy_mtl.annotate's; `--ray`
is spacy_mtl.annotate.ray's. Messages go to stderr: stdout may be the annotated stream.
"""

import sys
from concurrent.futures.process import BrokenProcessPool
from contextlib import redirect_stdout
from pathlib import Path
from typing import Optional, Union

import typer
from wasabi import msg

from ..annotate import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_RUN,
    STDIO,
    Stats,
    annotate_file,
)
from ..annotate.output import problem_file
from ..device import check_device, describe_device, resolve_gpu_id
from ..errors import Errors
from . import mtl_cli
from ._util import CODE_HELP, GPU_HELP, check_gpu_id, import_code, one_line


def _say(kind: str, text: str, exits: Optional[int] = None) -> None:
    # wasabi prints to stdout, which may carry the annotated stream.
    with redirect_stdout(sys.stderr):
        getattr(msg, kind)(text, exits=exits)


@mtl_cli.command("annotate")
def annotate_cli(
    # fmt: off
    model: str = typer.Argument(..., help="Pipeline directory or installed package name"),
    input_path: str = typer.Argument(
        ...,
        help="Posts: .jsonl/.ndjson, .csv (with a header) or .txt (one post a line); '-': stdin (give --format)",
    ),
    output_path: str = typer.Argument(
        ...,
        help="JSONL file to write; '-': stdout. With --ray a directory of JSONL files, or of Parquet files if it ends in .parquet",
    ),
    input_format: Optional[str] = typer.Option(
        None,
        "--format",
        "-f",
        help="Input format where the extension does not say: jsonl, csv or text",
    ),
    text_field: str = typer.Option(
        "text", "--text-field", "-t", help="Field (JSONL) or column (CSV) that holds the post"
    ),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE,
        "--batch-size",
        "-b",
        min=1,
        help="Posts per batch: per nlp.pipe call, memory zone and write",
    ),
    n_process: int = typer.Option(
        1,
        "--n-process",
        "-n",
        min=1,
        help="Processes (with --ray: actors), each loading the pipeline once; more than 1: one torch thread each",
    ),
    max_chars: int = typer.Option(
        DEFAULT_MAX_CHARS,
        "--max-chars",
        min=0,
        help="Annotate a longer post on its first MAX_CHARS characters (reported, not skipped); 0: no limit",
    ),
    max_run: int = typer.Option(
        DEFAULT_MAX_RUN,
        "--max-run",
        min=0,
        help="Skip (and report) a post that would stall spaCy's tokenizer: runs without whitespace full of symbols (5,000 '#' or emoji) cost it time that grows with a run's length times its symbols, and the post's runs may cost at most as much as one run of MAX_RUN symbols; 0: no limit",
    ),
    errors_path: Optional[str] = typer.Option(
        None,
        "--errors",
        help="Where skipped and truncated lines are reported, a JSON line each (default OUTPUT.errors.jsonl; stderr when OUTPUT is '-'); '-': stderr",
    ),
    line_field: Optional[str] = typer.Option(
        None, "--line-field", help="Also write each post's input line number in this field"
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        "-R",
        help="Continue an OUTPUT a killed run left: its torn last line is cut, and as many valid input lines skipped as it holds",
    ),
    gpu_id: str = typer.Option("auto", "--gpu-id", "-g", help=GPU_HELP, callback=check_gpu_id),
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help=CODE_HELP),
    use_ray: bool = typer.Option(
        False,
        "--ray",
        help="Annotate in a pool of Ray actors (spacy-mtl[ray]), reading and writing with Ray Data",
    ),
    ray_address: Optional[str] = typer.Option(
        None,
        "--ray-address",
        help="Ray cluster to join ('auto': the one this machine is part of); default: RAY_ADDRESS, else a new local instance",
    ),
    ray_cpus: float = typer.Option(
        1.0, "--ray-cpus", help="CPUs per Ray actor (its torch threads)"
    ),
    ray_gpus: float = typer.Option(
        0.0, "--ray-gpus", help="GPUs per Ray actor; above 0 the pipeline runs on the actor's GPU"
    ),
    # fmt: on
) -> None:
    """
    Annotate a stream of posts with a pipeline: one JSON line per post with its
    input fields, "cats" (every class's probability) and "ents" (text, label,
    start_char, end_char), in input order, with bounded memory, in strict JSON. A
    bad line (not UTF-8, malformed JSON or CSV, NaN or Infinity, nested too deep,
    no text, an empty post, a post that would stall the tokenizer: see --max-run)
    is skipped and reported with its line number; a post longer than --max-chars
    is annotated on its first MAX_CHARS characters. Nothing is written before the
    pipeline has loaded, and an output that is the input (or the other output) is
    refused. After a kill, the same command with --resume finishes the output
    with no line missing or twice; it changes nothing unless the output's last
    line is the annotation of the matching input post.
    """
    if use_ray:
        if resume or errors_path or line_field or STDIO in (input_path, output_path):
            _say("fail", Errors.E276, 1)
        _annotate_with_ray(
            model,
            input_path,
            output_path,
            input_format,
            text_field,
            batch_size,
            n_process,
            max_chars,
            max_run,
            ray_address,
            ray_cpus,
            ray_gpus,
        )
        return
    import_code(code_path)
    device = resolve_gpu_id(gpu_id)
    try:
        check_device(device)
    except ValueError as error:
        _say("fail", one_line(error), 1)
    where = (
        describe_device(device)
        if n_process == 1
        else f"{n_process} processes on {describe_device(device)}"
    )
    _say("info", f"Annotating with {model} on {where}")
    try:
        stats = annotate_file(
            model,
            input_path,
            output_path,
            input_format=input_format,
            text_field=text_field,
            batch_size=batch_size,
            n_process=n_process,
            gpu_id=device,
            max_chars=max_chars,
            max_run=max_run,
            line_field=line_field,
            errors_path=errors_path,
            resume=resume,
            progress=sys.stderr.isatty(),
            code_path=code_path,
        )
    except KeyboardInterrupt:
        _say(
            "warn",
            f"Interrupted: {output_path} ends with whole lines; the same command with --resume goes on",
            130,
        )
    except (OSError, ValueError, BrokenProcessPool) as error:
        _say("fail", one_line(error), 1)
    _say("good", _summary(stats, problem_file(output_path, errors_path)))


def _summary(stats: Stats, problems: Optional[Union[str, Path]]) -> str:
    """The line that ends a run: posts, speed, skipped and truncated lines and where
    they were reported (`problems`; None: stderr)."""
    where_problems = "stderr" if problems is None else str(problems)
    resumed = f" after the {stats.resumed:,} already there" if stats.resumed else ""
    seconds = max(stats.seconds, 1e-9)
    return (
        f"{stats.posts:,} posts annotated{resumed} in {stats.seconds:.1f} s, loading included "
        f"({stats.posts / seconds:,.1f} posts/s, {stats.words / seconds:,.0f} words/s); skipped lines: "
        f"{stats.skipped:,}, truncated posts: {stats.problems['truncated']:,} (reported: {where_problems})"
    )


def _annotate_with_ray(
    model: str,
    input_path: str,
    output_path: str,
    input_format: Optional[str],
    text_field: str,
    batch_size: int,
    concurrency: int,
    max_chars: int,
    max_run: int,
    address: Optional[str],
    num_cpus: float,
    num_gpus: float,
) -> None:
    from ..annotate.ray import annotate_files, error_message

    try:
        annotate_files(
            model,
            input_path,
            output_path,
            input_format=input_format,
            text_field=text_field,
            batch_size=batch_size,
            concurrency=concurrency,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            max_chars=max_chars,
            max_run=max_run,
            address=address,
        )
    except Exception as error:
        # What Ray raises while it runs (an actor that died loading the pipeline, a
        # task's error) holds a traceback in its message: its cause's line is enough.
        if not isinstance(error, (ImportError, OSError, ValueError)) and not type(
            error
        ).__module__.startswith("ray."):
            raise
        _say("fail", one_line(error_message(error)), 1)
    _say("good", f"Annotated {input_path} into {output_path} with {concurrency} Ray actor(s)")
