"""The output files: one JSON line per post, the problem file, and resuming after a kill.

The output is written a batch at a time, each line whole, and flushed: a killed
run leaves whole lines, and at most one torn last line. With `resume=True` that
line is cut away, the N lines left are counted and the first N valid posts of the
input skipped, so that the output ends as an uninterrupted run's would. Problems
are reported as they are read, so the problem file may run ahead of the output;
a resumed run first cuts it back to the last post the output holds.
"""

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from tqdm import tqdm

from .read import STDIO, Item, Post, Problem
from .workers import Annotation

#: The fields the annotation adds to each record.
ANNOTATION_FIELDS = ("cats", "ents")


def record_line(post: Post, annotation: Annotation, line_field: Optional[str] = None) -> bytes:
    """A post's output line: its input fields, "cats", "ents" (and its line number).

    post (Post): the post.
    annotation (Annotation): what the pipeline said about it.
    line_field (Optional[str]): write the input line number in this field; None: not at all.
    RETURNS (bytes): one line of JSON, ending in a newline.
    """
    record = dict(post.record)
    record["cats"] = annotation.cats
    record["ents"] = annotation.ents
    if line_field is not None:
        record[line_field] = post.line
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


def default_errors_path(output: Union[str, Path]) -> Optional[Path]:
    """Where problems go by default: OUTPUT.errors.jsonl beside a file, stderr (None) for stdout."""
    if str(output) == STDIO:
        return None
    output = Path(output)
    return output.with_name(f"{output.stem if output.suffix else output.name}.errors.jsonl")


def repair_output(path: Path) -> int:
    """Cut a torn last line (a write that a kill cut short) off an output file.

    path (Path): the output file.
    RETURNS (int): the whole lines left.
    """
    lines, end, offset = 0, 0, 0
    with Path(path).open("r+b") as file:
        while True:
            chunk = file.read(1 << 20)
            if not chunk:
                break
            count = chunk.count(b"\n")
            if count:
                lines += count
                end = offset + chunk.rindex(b"\n") + 1
            offset += len(chunk)
        if end != offset:
            file.truncate(end)
    return lines


def _last_line(path: Path) -> bytes:
    with path.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        block = 1 << 16
        while True:
            start = max(0, size - block)
            file.seek(start)
            tail = file.read(size - start)
            cut = tail.rfind(b"\n", 0, len(tail) - 1)
            if cut >= 0 or start == 0:
                return tail[cut + 1 :]
            block *= 4


def skip_posts(items: Iterator[Item], n: int, output: Path) -> Post:
    seen = 0
    for item in items:
        if isinstance(item, Post):
            seen += 1
            if seen == n:
                return item
    raise ValueError(
        f"{output} has {n:,} lines but the input only {seen:,} valid posts: resume with the input of the run "
        "that wrote it"
    )


def check_resume(output: Path, last: Post, key: str) -> None:
    """Refuse to resume an output whose last line is not the annotation of `last`."""
    try:
        record = json.loads(_last_line(output))
    except ValueError:
        record = None
    if not isinstance(record, dict) or record.get(key) != last.record.get(key):
        raise ValueError(
            f"{output}: its last line's {key!r} is not that of input line {last.line}, the last post it should "
            "hold: resume with the input and --text-field of the run that wrote it"
        )


def trim_problems(path: Path, last_line: int) -> None:
    """Cut the problems after input line `last_line` (and a torn last line) off a problem file."""
    if not path.exists():
        return
    with path.open("r+b") as file:
        end = 0
        for raw in file:
            try:
                line = json.loads(raw)["line"] if raw.endswith(b"\n") else None
            except (ValueError, KeyError, TypeError):
                line = None
            if line is None or line > last_line:
                break
            end += len(raw)
        file.truncate(end)


class ProblemLog:
    """Counts problems and reports each: a JSON line to a file, or a line on stderr.

    stream (Optional[Any]): a file opened "ab"/"wb"; None for stderr.
    """

    def __init__(self, stream: Optional[Any]) -> None:
        self.stream = stream
        self.counts: Counter = Counter()

    def report(self, problem: Problem) -> None:
        self.counts[problem.kind] += 1
        if self.stream is None:
            tqdm.write(f"line {problem.line}: {problem.kind}: {problem.message}", file=sys.stderr)
        else:
            self.stream.write(
                json.dumps(problem.to_json(), ensure_ascii=False).encode("utf-8") + b"\n"
            )

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()
