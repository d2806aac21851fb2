"""The output files: one JSON line per post, the problem file, and resuming after a kill.

The output is written a batch at a time, each line whole, and flushed: a killed
run leaves whole lines, and at most one torn last line. With `resume=True` the N
whole lines are counted and the first N valid posts of the input skipped, once the
last of those lines is found to be the annotation of the N-th post (every input
field equal); only then is the torn line cut away, so that the output ends as an
uninterrupted run's would. Problems are reported as they are read, so the problem
file may run ahead of the output; a resumed run then cuts it back to the last post
the output holds. Every line is strict JSON: no NaN or Infinity.
"""

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Set, Tuple, Union

from tqdm import tqdm

from ..errors import Errors
from .read import STDIO, Item, Post, Problem
from .workers import Annotation

#: The fields the annotation adds to each record.
ANNOTATION_FIELDS = ("cats", "ents")


def added_fields(line_field: Optional[str] = None) -> Set[str]:
    """The fields a run writes into every record: the annotation's, and `line_field`."""
    return set(ANNOTATION_FIELDS) | ({line_field} if line_field else set())


def record_line(post: Post, annotation: Annotation, line_field: Optional[str] = None) -> bytes:
    """A post's output line: its input fields, "cats", "ents" (and its line number).

    post (Post): the post.
    annotation (Annotation): what the pipeline said about it.
    line_field (Optional[str]): write the input line number in this field; None: not at all.
    RETURNS (bytes): one line of strict JSON, ending in a newline.
    """
    record = dict(post.record)
    record["cats"] = annotation.cats
    record["ents"] = annotation.ents
    if line_field is not None:
        record[line_field] = post.line
    # The reader lets no NaN or Infinity in, and the workers write a non-finite
    # probability as null: a ValueError here would be a bug, not bad input.
    return json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"


def default_errors_path(output: Union[str, Path]) -> Optional[Path]:
    """Where problems go by default: OUTPUT.errors.jsonl beside a file, stderr (None) for stdout."""
    if str(output) == STDIO:
        return None
    output = Path(output)
    return output.with_name(f"{output.stem if output.suffix else output.name}.errors.jsonl")


def problem_file(
    output: Union[str, Path], errors: Optional[Union[str, Path]] = None
) -> Optional[Union[str, Path]]:
    """The problem file of a run: `errors` as given, else `default_errors_path(output)`;
    None where problems go to stderr ("-", or the default for stdout)."""
    path = default_errors_path(output) if errors is None else errors
    return None if path is None or str(path) == STDIO else path


def whole_lines(path: Path) -> Tuple[int, int]:
    """The whole lines of a file, and where they end: a torn last line (a write that
    a kill cut short) is not counted. Nothing is changed.

    path (Path): the output file.
    RETURNS (Tuple[int, int]): the whole lines, and the byte offset after the last.
    """
    lines, end, offset = 0, 0, 0
    with Path(path).open("rb") as file:
        while True:
            chunk = file.read(1 << 20)
            if not chunk:
                break
            count = chunk.count(b"\n")
            if count:
                lines += count
                end = offset + chunk.rindex(b"\n") + 1
            offset += len(chunk)
    return lines, end


def repair_output(path: Path) -> int:
    """Cut a torn last line (a write that a kill cut short) off an output file.

    path (Path): the output file.
    RETURNS (int): the whole lines left.
    """
    lines, end = whole_lines(path)
    if end != Path(path).stat().st_size:
        os.truncate(path, end)
    return lines


def _last_line(path: Path, end: int) -> bytes:
    """The last whole line of a file whose whole lines end at byte `end`."""
    with path.open("rb") as file:
        block = 1 << 16
        while True:
            start = max(0, end - block)
            file.seek(start)
            tail = file.read(end - start)
            cut = tail.rfind(b"\n", 0, len(tail) - 1)
            if cut >= 0 or start == 0:
                return tail[cut + 1 :]
            block *= 4


def skip_posts(items: Iterator[Item], n: int, output: Path) -> Post:
    """Read the first `n` valid posts of the input: the n-th, which the output's last line annotates.

    RAISES (ValueError): the input has fewer.
    """
    seen = 0
    for item in items:
        if isinstance(item, Post):
            seen += 1
            if seen == n:
                return item
    raise ValueError(Errors.E208.format(output=output, lines=n, posts=seen))


def _differences(record: Any, post: Post, line_field: Optional[str]) -> Optional[str]:
    """What keeps an output line from being the annotation of `post`, or None."""
    if not isinstance(record, dict):
        return "it is not a JSON object"
    if not isinstance(record.get("cats"), dict) or not isinstance(record.get("ents"), list):
        return "it has no 'cats' and 'ents': it is not an annotated record"
    added = added_fields(line_field)
    if line_field is not None and record.get(line_field) != post.line:
        return f"its {line_field!r} is {record.get(line_field)!r}, not {post.line}"
    given: Dict[str, Any] = {k: v for k, v in post.record.items() if k not in added}
    written: Dict[str, Any] = {k: v for k, v in record.items() if k not in added}
    for name in list(given) + [k for k in written if k not in given]:
        if name not in written:
            return f"it has no field {name!r}"
        if name not in given:
            return f"it has a field {name!r} that the input line has not"
        if written[name] != given[name]:
            return f"its {name!r} differs"
    return None


def check_resume(output: Path, end: int, last: Post, line_field: Optional[str] = None) -> None:
    """Refuse to resume an output whose last whole line is not the annotation of `last`:
    every input field is compared, not only the text.

    output (Path): the output file.
    end (int): where its whole lines end (see `whole_lines`).
    last (Post): the input's post that its last line should annotate.
    line_field (Optional[str]): the field the run wrote line numbers in, if any.
    RAISES (ValueError): naming the line and what differs.
    """
    try:
        record = json.loads(_last_line(output, end))
    except (ValueError, RecursionError):
        record = None
    why = _differences(record, last, line_field)
    if why is not None:
        raise ValueError(Errors.E209.format(output=output, line=last.line, why=why))


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


def prepare_resume(
    output: Path,
    problems: Optional[Path],
    items: Iterator[Item],
    line_field: Optional[str] = None,
) -> int:
    """Check that `output` is what a run over `items` wrote, then cut its torn last
    line and the problems after its last post: nothing is changed before the checks pass.

    output (Path): the output a killed run left (it may not exist).
    problems (Optional[Path]): its problem file, None for stderr.
    items (Iterator[Item]): the input; its first posts, those the output holds, are read.
    line_field (Optional[str]): the field the run wrote line numbers in, if any.
    RETURNS (int): the output's whole lines: the posts already annotated.
    RAISES (ValueError): the output is not a run's over this input.
    """
    done, end, last_line = 0, 0, 0
    if output.exists():
        done, end = whole_lines(output)
        if done:
            last = skip_posts(items, done, output)
            check_resume(output, end, last, line_field)
            last_line = last.line
        if end != output.stat().st_size:
            os.truncate(output, end)
    if problems is not None:
        trim_problems(problems, last_line)
    return done


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
