"""`annotate_file`: a file (or stdin) of posts in, one JSON line per post out.

This is what `spacy mtl annotate` runs: `read` turns the input's lines into posts
and problems, `workers` annotates the posts a batch at a time, `output` writes the
lines, reports the problems and resumes a killed run.

Nothing is written before everything has been checked: the outputs against the
inputs (`spacy_mtl.files.check_outputs`: neither OUTPUT nor the problem file may be,
hold or lie inside the input, the pipeline or each other), the pipeline loaded, the
input opened (a CSV header read) and, with `resume`, the output found to be a run's
over this input. Only then is the output opened, or cut back to its whole lines.
"""

import sys
import time
import warnings
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Union

from tqdm import tqdm

from ..errors import Errors, Warnings
from ..files import check_outputs
from .output import ProblemLog, added_fields, prepare_resume, problem_file, record_line
from .read import (
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_RUN,
    STDIO,
    Item,
    Post,
    Problem,
    input_format_of,
    read_posts,
)
from .workers import DEFAULT_BATCH_SIZE, Annotator, Model


@dataclass
class Stats:
    """What a run did.

    posts (int): posts annotated (this run).
    words (int): their tokens.
    problems (Counter): problems reported, by kind.
    resumed (int): output lines that were already there (with `resume`).
    seconds (float): the run's wall time, loading the pipeline included.
    """

    posts: int = 0
    words: int = 0
    problems: Counter = field(default_factory=Counter)
    resumed: int = 0
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        return sum(n for kind, n in self.problems.items() if kind != "truncated")


def _batches(
    items: Iterable[Item], size: int, report: Callable[[Problem], None]
) -> Iterator[List[Post]]:
    batch: List[Post] = []
    for item in items:
        if isinstance(item, Problem):
            report(item)
            continue
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def annotate_file(
    model: Model,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    input_format: Optional[str] = None,
    text_field: str = "text",
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    gpu_id: int = -1,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_run: int = DEFAULT_MAX_RUN,
    line_field: Optional[str] = None,
    errors_path: Optional[Union[str, Path]] = None,
    resume: bool = False,
    progress: bool = False,
    code_path: Optional[Path] = None,
) -> Stats:
    """Annotate the posts of a file (or stdin) into a JSONL file (or stdout).

    model (Model): an installed package's name or a pipeline directory.
    input_path (Union[str, Path]): the posts; "-" for stdin.
    output_path (Union[str, Path]): the JSONL file to write; "-" for stdout.
    input_format (Optional[str]): "jsonl", "csv" or "text"; None: by extension.
    text_field (str): the field (JSONL) or column (CSV) that holds the post.
    batch_size (int): posts per batch: per nlp.pipe call, memory zone and write.
    n_process (int): processes that annotate (see `Annotator`).
    gpu_id (int): a resolved GPU id, -1 for the CPU.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    max_run (int): skip a post whose runs without whitespace would cost spaCy's
        tokenizer more than one run of this many symbols (reported, see
        `read.run_problem`); 0: no limit.
    line_field (Optional[str]): also write each post's input line number in this field.
    errors_path (Optional[Union[str, Path]]): the problem file (JSON lines); None:
        `default_errors_path(output_path)`; "-": stderr.
    resume (bool): continue an output file that a killed run left: refused, with
        nothing changed, unless its last line annotates the input's matching post.
    progress (bool): draw a progress bar (posts, posts/s) on stderr.
    code_path (Optional[Path]): a file with registered functions the pipeline needs
        (imported by workers; with n_process 1 the caller imports it).
    RETURNS (Stats): what the run did.
    RAISES (ValueError): a bad argument, an output that would overwrite an input, an
        output that `resume` cannot continue; (OSError): a pipeline or input that
        cannot be read.
    """
    start = time.perf_counter()
    input_format = input_format_of(input_path, input_format)
    if batch_size < 1 or n_process < 1 or max_chars < 0 or max_run < 0:
        raise ValueError(
            Errors.E206.format(
                batch_size=batch_size, n_process=n_process, max_chars=max_chars, max_run=max_run
            )
        )
    output = None if str(output_path) == STDIO else Path(output_path)
    if output is None and resume:
        raise ValueError(Errors.E207)
    problems_path = problem_file(output_path, errors_path)
    problems = None if problems_path is None else Path(problems_path)
    inputs = [Path(p) for p in (input_path, model, code_path) if p is not None and str(p) != STDIO]
    check_outputs(
        [path for path in (output, problems) if path is not None],
        [path for path in inputs if path.exists()],
    )
    stats = Stats()
    with ExitStack() as stack:
        # The input first (a missing file, a CSV header without the text column fail
        # at once), then the pipeline, then the outputs.
        source = (
            sys.stdin.buffer
            if str(input_path) == STDIO
            else stack.enter_context(open(input_path, "rb"))
        )
        items = read_posts(
            source, input_format, text_field=text_field, max_chars=max_chars, max_run=max_run
        )
        annotator = stack.enter_context(
            Annotator(
                model,
                batch_size=batch_size,
                n_process=n_process,
                gpu_id=gpu_id,
                code_path=code_path,
            )
        )
        if resume and output is not None:
            stats.resumed = prepare_resume(output, problems, items, line_field)
        mode = "ab" if resume else "wb"
        log = ProblemLog(None if problems is None else stack.enter_context(open(problems, mode)))
        out = sys.stdout.buffer if output is None else stack.enter_context(open(output, mode))
        bar = stack.enter_context(
            tqdm(disable=not progress, unit=" posts", file=sys.stderr, dynamic_ncols=True)
        )
        batches = _batches(items, batch_size, log.report)
        replaced = added_fields(line_field)
        for batch, annotations in annotator.annotate(batches):
            if replaced:
                for post in batch:
                    for name in replaced & post.record.keys():
                        warnings.warn(Warnings.W020.format(line=post.line, name=name), stacklevel=2)
                        replaced.discard(name)
            lines = [
                record_line(post, annotation, line_field)
                for post, annotation in zip(batch, annotations)
            ]
            # Problems first: the problem file then always covers the output.
            log.flush()
            out.write(b"".join(lines))
            out.flush()
            stats.posts += len(batch)
            stats.words += sum(annotation.words for annotation in annotations)
            bar.update(len(batch))
        log.flush()
    stats.problems = log.counts
    stats.seconds = time.perf_counter() - start
    return stats
