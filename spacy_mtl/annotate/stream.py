"""`annotate_file`: a file (or stdin) of posts in, one JSON line per post out.

This is what `spacy mtl annotate` runs: `read` turns the input's lines into posts
and problems, `workers` annotates the posts a batch at a time, `output` writes the
lines, reports the problems and resumes a killed run.
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

from .output import (
    ANNOTATION_FIELDS,
    ProblemLog,
    check_resume,
    default_errors_path,
    record_line,
    repair_output,
    skip_posts,
    trim_problems,
)
from .read import DEFAULT_MAX_CHARS, STDIO, Item, Post, Problem, input_format_of, read_posts
from .workers import DEFAULT_BATCH_SIZE, Model, annotate_batches


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
    n_process (int): processes that annotate (see `annotate_batches`).
    gpu_id (int): a resolved GPU id, -1 for the CPU.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    line_field (Optional[str]): also write each post's input line number in this field.
    errors_path (Optional[Union[str, Path]]): the problem file (JSON lines); None:
        `default_errors_path(output_path)`; "-": stderr.
    resume (bool): continue an output file that a killed run left.
    progress (bool): draw a progress bar (posts, posts/s) on stderr.
    code_path (Optional[Path]): a file with registered functions the pipeline needs
        (imported by workers; with n_process 1 the caller imports it).
    RETURNS (Stats): what the run did.
    """
    start = time.perf_counter()
    input_format = input_format_of(input_path, input_format)
    if batch_size < 1 or n_process < 1 or max_chars < 0:
        raise ValueError("batch_size and n_process must be at least 1, max_chars at least 0")
    output = None if str(output_path) == STDIO else Path(output_path)
    if output is None and resume:
        raise ValueError("--resume needs an output file: it continues where the file ends")
    problems_path = default_errors_path(output_path) if errors_path is None else errors_path
    problems_path = (
        None if problems_path is None or str(problems_path) == STDIO else Path(problems_path)
    )
    done = repair_output(output) if resume and output is not None and output.exists() else 0
    stats = Stats(resumed=done)
    with ExitStack() as stack:
        source = (
            sys.stdin.buffer
            if str(input_path) == STDIO
            else stack.enter_context(open(input_path, "rb"))
        )
        items = read_posts(source, input_format, text_field=text_field, max_chars=max_chars)
        if resume and output is not None:
            last_line = 0
            if done:
                last = skip_posts(items, done, output)
                check_resume(output, last, "text" if input_format == "text" else text_field)
                last_line = last.line
            if problems_path is not None:
                trim_problems(problems_path, last_line)
        mode = "ab" if resume else "wb"
        log = ProblemLog(
            None if problems_path is None else stack.enter_context(open(problems_path, mode))
        )
        out = sys.stdout.buffer if output is None else stack.enter_context(open(output, mode))
        bar = stack.enter_context(
            tqdm(disable=not progress, unit=" posts", file=sys.stderr, dynamic_ncols=True)
        )
        batches = _batches(items, batch_size, log.report)
        replaced = set(ANNOTATION_FIELDS) | ({line_field} if line_field else set())
        for batch, annotations in annotate_batches(
            batches,
            model,
            batch_size=batch_size,
            n_process=n_process,
            gpu_id=gpu_id,
            code_path=code_path,
        ):
            if replaced:
                for post in batch:
                    for name in replaced & post.record.keys():
                        warnings.warn(
                            f"Input line {post.line} has a field {name!r}: the annotation replaces it, "
                            "there and on every later line",
                            stacklevel=2,
                        )
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
