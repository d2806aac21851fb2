"""Annotate a stream of posts: read them, run the pipeline, write one JSON line each.

This is what `spacy mtl annotate` runs; `spacy_mtl.ray` shares its text checks,
its annotation and its record fields.

Input, chosen by extension or `input_format`:
- JSON lines (.jsonl, .ndjson): the post in one field (`text_field`); every field
  is passed through unchanged.
- CSV with a header row (.csv): the post in one column; every column is passed
  through (as text).
- Plain text (.txt): one post a line, written out as {"text": line}.

Output: one JSON line per post, in input order: the input's fields, then "cats"
({label: probability} for every class) and "ents" ([{"text", "label",
"start_char", "end_char"}], offsets into the post). An input field called "cats"
or "ents" is replaced (with a warning).

Bad input never stops the stream. Every input line (a CSV record: every record)
gives exactly one output line or is skipped and reported with its line number
(a `Problem`): not UTF-8 (or a JSON escape of a lone surrogate), malformed JSON or
CSV, not a JSON object, no text field (or null), a text that is not a string, an
empty post. A post longer than `max_chars` is annotated on its first `max_chars`
characters and reported as "truncated"; its field is still passed through whole.

The output is written a batch at a time, each line whole, and flushed: a killed
run leaves whole lines, and at most one torn last line. With `resume=True` that
line is cut away, the N lines left are counted and the first N valid posts of the
input skipped, so that the output ends as an uninterrupted run's would. Problems
are reported as they are read, so the problem file may run ahead of the output;
a resumed run first cuts it back to the last post the output holds.
"""
import csv
import json
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import import_file
from tqdm import tqdm

from .device import use_device

#: Input formats, and the extensions that name them.
FORMATS = ("jsonl", "csv", "text")
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".txt": "text"}
DEFAULT_BATCH_SIZE = 64
DEFAULT_MAX_CHARS = 10_000
#: "-" as a path: stdin or stdout.
STDIO = "-"
#: The fields the annotation adds to each record.
ANNOTATION_FIELDS = ("cats", "ents")
#: The problem kinds; all but "truncated" skip their line.
PROBLEMS = ("not_utf8", "malformed_json", "not_an_object", "malformed_csv", "missing_text", "not_text", "empty",
            "truncated")  # fmt: skip
#: Characters of the offending line that a problem report quotes.
SNIPPET_CHARS = 200

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")

Model = Union[str, Path]


@dataclass(frozen=True)
class Post:
    """A valid input line.

    line (int): its 1-based line number (CSV: the line its record starts on).
    text (str): what is annotated: the post, cut to `max_chars`.
    record (Dict[str, Any]): the input's fields, written out with the annotation.
    """

    line: int
    text: str
    record: Dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """Something wrong with an input line.

    line (int): its 1-based line number (CSV: the line its record starts on).
    kind (str): one of PROBLEMS.
    message (str): what is wrong, for a person.
    snippet (str): the start of the line.
    """

    line: int
    kind: str
    message: str
    snippet: str = ""

    @property
    def skipped(self) -> bool:
        """Whether the line gives no output line (all problems but "truncated")."""
        return self.kind != "truncated"

    def to_json(self) -> Dict[str, Any]:
        return {"line": self.line, "kind": self.kind, "skipped": self.skipped, "message": self.message,
                "snippet": self.snippet}  # fmt: skip


Item = Union[Post, Problem]


class Annotation(NamedTuple):
    """What the pipeline says about one post.

    cats (Dict[str, float]): the probability of every class.
    ents (List[Dict[str, Any]]): {"text", "label", "start_char", "end_char"} per entity.
    words (int): the post's tokens.
    """

    cats: Dict[str, float]
    ents: List[Dict[str, Any]]
    words: int


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


# --- reading ------------------------------------------------------------------------


def input_format_of(path: Union[str, Path], given: Optional[str] = None) -> str:
    """The input format: `given`, else the one the extension names.

    path (Union[str, Path]): the input; "-" for stdin.
    given (Optional[str]): "jsonl", "csv" or "text", or None.
    RETURNS (str): the format.
    """
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"Unknown input format {given!r}: use one of {', '.join(FORMATS)}")
        return given
    if str(path) == STDIO:
        raise ValueError(f"Reading stdin needs its format: --format {', '.join(FORMATS)}")
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(
            f"{path}: extension {suffix or '(none)'!r} names no input format: use "
            f"{', '.join(EXTENSIONS)}, or give --format"
        )
    return EXTENSIONS[suffix]


def text_problem(value: Any, text_field: str) -> Optional[Tuple[str, str]]:
    """Why a text field's value cannot be annotated, or None if it can.

    value (Any): the value; None when the field is missing or null.
    text_field (str): the field's name, for the message.
    RETURNS (Optional[Tuple[str, str]]): (kind, message), or None for a valid post.
    """
    if value is None:
        return "missing_text", f"no {text_field!r} field, or it is null"
    if not isinstance(value, str):
        return "not_text", f"{text_field!r} is {type(value).__name__}, not a string"
    if not value.strip():
        return "empty", "empty post"
    return None


def truncate(text: str, max_chars: int) -> str:
    """The first `max_chars` characters of `text` (all of it for max_chars 0)."""
    return text[:max_chars] if max_chars else text


def read_posts(
    lines: Iterable[bytes], input_format: str, *, text_field: str = "text", max_chars: int = DEFAULT_MAX_CHARS
) -> Iterator[Item]:
    """The posts of an input, and the problems of its bad lines, in line order.

    A truncated post comes as its "truncated" problem, then the post.

    lines (Iterable[bytes]): the input's lines, as a file opened "rb" gives them.
    input_format (str): "jsonl", "csv" or "text".
    text_field (str): the field (JSONL) or column (CSV) that holds the post.
    max_chars (int): annotate at most this many characters of a post; 0: all.
    RETURNS (Iterator[Item]): Post or Problem per line. A CSV header without
        `text_field` raises ValueError at once.
    """
    if input_format == "jsonl":
        return _jsonl_items(lines, text_field, max_chars)
    if input_format == "csv":
        return _csv_items(lines, text_field, max_chars)
    if input_format == "text":
        return _text_items(lines, max_chars)
    raise ValueError(f"Unknown input format {input_format!r}: use one of {', '.join(FORMATS)}")


def _printable(text: str) -> str:
    # Lone surrogates (from bad bytes or JSON escapes) cannot be written as UTF-8.
    return text[:SNIPPET_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")


def _raw_snippet(raw: bytes) -> str:
    return raw[: SNIPPET_CHARS * 4].decode("utf-8", "backslashreplace")[:SNIPPET_CHARS].rstrip("\r\n")


def _checked(
    line: int, record: Dict[str, Any], value: Any, text_field: str, max_chars: int, snippet: Callable[[], str]
) -> Iterator[Item]:
    # `snippet` is a callable: only a bad line pays for its quote.
    problem = text_problem(value, text_field)
    if problem is not None:
        yield Problem(line, *problem, snippet())
        return
    if max_chars and len(value) > max_chars:
        message = f"{len(value):,} characters: annotated on the first {max_chars:,}"
        yield Problem(line, "truncated", message, _printable(value))
    yield Post(line, truncate(value, max_chars), record)


def _decode(number: int, raw: bytes) -> Union[str, Problem]:
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"byte 0x{raw[error.start]:02x} at byte {error.start + 1} of the line is not UTF-8"
        return Problem(number, "not_utf8", message, _raw_snippet(raw))


def _jsonl_items(lines: Iterable[bytes], text_field: str, max_chars: int) -> Iterator[Item]:
    for number, raw in enumerate(lines, 1):
        line = _decode(number, raw)
        if isinstance(line, Problem):
            yield line
            continue
        if not line.strip():
            yield Problem(number, "empty", "blank line")
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            yield Problem(number, "malformed_json", str(error), _printable(line.rstrip("\r\n")))
            continue
        if not isinstance(record, dict):
            yield Problem(number, "not_an_object", f"a JSON {type(record).__name__}, not an object", _printable(line))
            continue
        # Valid UTF-8 can still escape a lone surrogate ("\udc80"), which no UTF-8
        # output can hold; only lines with such an escape need the check.
        if _SURROGATE_ESCAPE.search(raw) and _holds_surrogate(record):
            yield Problem(number, "not_utf8", "a \\u escape encodes a lone surrogate, not a character", _printable(line))
            continue
        yield from _checked(number, record, record.get(text_field), text_field, max_chars,
                            lambda line=line: _printable(line.rstrip("\r\n")))  # fmt: skip


def _holds_surrogate(record: Dict[str, Any]) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_items(lines: Iterable[bytes], max_chars: int) -> Iterator[Item]:
    for number, raw in enumerate(lines, 1):
        line = _decode(number, raw)
        if isinstance(line, Problem):
            yield line
            continue
        # Only the line break goes: offsets of entities count from the line's start.
        text = line[:-1] if line.endswith("\n") else line
        text = text[:-1] if text.endswith("\r") else text
        yield from _checked(number, {"text": text}, text, "text", max_chars, lambda text=text: _printable(text))


def _csv_items(lines: Iterable[bytes], text_field: str, max_chars: int) -> Iterator[Item]:
    # Decoding cannot fail here, so that a bad byte does not split a quoted,
    # multi-line record: it becomes a lone surrogate, and its record is reported.
    decoded = (raw.decode("utf-8", "surrogateescape") for raw in lines)
    reader = csv.reader(decoded)
    try:
        header = next(reader)
    except StopIteration:
        return iter(())
    except csv.Error as error:
        raise ValueError(f"CSV header (line 1): {error}") from None
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if any(_SURROGATE.search(name) for name in header):
        raise ValueError("CSV header (line 1): not UTF-8")
    if text_field not in header:
        raise ValueError(f"CSV header has no column {text_field!r}: it has {', '.join(map(repr, header))}")
    return _csv_rows(reader, header, header.index(text_field), text_field, max_chars)


def _csv_rows(reader: Any, header: List[str], column: int, text_field: str, max_chars: int) -> Iterator[Item]:
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Problem(start, "malformed_csv", str(error))
            continue
        def snippet(row: List[str] = row) -> str:
            return _printable(",".join(row))

        if not row:
            yield Problem(start, "empty", "blank line")
        elif any(_SURROGATE.search(value) for value in row):
            yield Problem(start, "not_utf8", "the record holds bytes that are not UTF-8", snippet())
        elif len(row) != len(header):
            yield Problem(start, "malformed_csv", f"{len(row)} fields; the header has {len(header)}", snippet())
        else:
            yield from _checked(start, dict(zip(header, row)), row[column], text_field, max_chars, snippet)


# --- annotating ---------------------------------------------------------------------


def load_pipeline(model: Model, gpu_id: int = -1) -> Language:
    """spacy.load `model` on the device `gpu_id` (-1: the CPU).

    model (Model): an installed package's name or a pipeline directory.
    gpu_id (int): a resolved GPU id, as spacy_mtl.device.resolve_gpu_id returns.
    RETURNS (Language): the pipeline.
    """
    use_device(gpu_id)
    return spacy.load(model)


def entities(doc: Doc) -> List[Dict[str, Any]]:
    """The entities of `doc` as the output records hold them."""
    return [{"text": ent.text, "label": ent.label_, "start_char": ent.start_char, "end_char": ent.end_char}
            for ent in doc.ents]  # fmt: skip


def annotate_texts(nlp: Language, texts: List[str], batch_size: int = DEFAULT_BATCH_SIZE) -> List[Annotation]:
    """Annotate texts, inside one memory zone.

    nlp (Language): the pipeline.
    texts (List[str]): the posts.
    batch_size (int): nlp.pipe's batch size.
    RETURNS (List[Annotation]): one per text, in order.
    """
    # The strings and lexemes of words first seen here are freed when the zone ends:
    # on an endless stream the vocabulary would otherwise grow with every new word.
    with nlp.memory_zone():
        return [Annotation(dict(doc.cats), entities(doc), len(doc)) for doc in nlp.pipe(texts, batch_size=batch_size)]


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


# What a worker process holds: its settings, then its pipeline once loaded.
_worker: Dict[str, Any] = {}


def _start_worker(model: str, gpu_id: int, batch_size: int, code_path: Optional[str], parent: int) -> None:
    # One torch thread per process: n processes on n cores, none competing with the
    # others for cores. The HF tokenizer's own thread pool likewise.
    import torch

    torch.set_num_threads(1)
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # Ctrl-C is the parent's to handle: it stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    if code_path is not None:
        import_file("python_code", code_path)
    _worker.update(model=model, gpu_id=gpu_id, batch_size=batch_size)


def _exit_with_parent(parent: int) -> None:
    # A worker waits on its task queue; if the parent is killed (SIGKILL: no clean-up
    # runs), nothing else would ever end it.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _annotate_in_worker(texts: List[str]) -> List[Annotation]:
    # Loaded by the first task, not the initializer: an error (a model that does not
    # load) then reaches the parent as itself, not as a broken pool.
    if "nlp" not in _worker:
        _worker["nlp"] = load_pipeline(_worker["model"], _worker["gpu_id"])
    return annotate_texts(_worker["nlp"], texts, _worker["batch_size"])


def annotate_batches(
    batches: Iterable[List[Post]],
    model: Model,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    n_process: int = 1,
    gpu_id: int = -1,
    code_path: Optional[Path] = None,
) -> Iterator[Tuple[List[Post], List[Annotation]]]:
    """Annotate batches of posts, in order, in this process or in `n_process` workers.

    The workers are started with "spawn"; each loads the pipeline once and runs one
    torch thread. spaCy's own `nlp.pipe(n_process=...)` starts its children with
    multiprocessing's default, fork on Linux: each inherits the parent's torch
    threads (one per core), and a child forked after the parent has used torch's
    thread pool hangs in its first matrix product (so does `nlp.pipe(n_process=2)`
    with this pipeline, on torch 2.13's CPU build). It also sends whole Docs back
    for the parent to deserialise; a worker here sends back only the cats and
    entities. At most two batches per worker are in flight.

    batches (Iterable[List[Post]]): the posts, a batch at a time.
    model (Model): an installed package's name or a pipeline directory.
    batch_size (int): nlp.pipe's batch size.
    n_process (int): 1: annotate here, with torch's default threads; more: workers.
    gpu_id (int): the device, -1 for the CPU (every worker uses the same one).
    code_path (Optional[Path]): a file with registered functions the pipeline needs,
        imported in every worker (here, the caller imports it).
    YIELDS (Tuple[List[Post], List[Annotation]]): each batch with its annotations.
    """
    if n_process == 1:
        nlp = load_pipeline(model, gpu_id)
        for batch in batches:
            yield batch, annotate_texts(nlp, [post.text for post in batch], batch_size)
        return
    pool = ProcessPoolExecutor(
        n_process,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(str(model), gpu_id, batch_size, None if code_path is None else str(code_path), os.getpid()),
    )
    pending: Deque[Tuple[List[Post], "Future[List[Annotation]]"]] = deque()
    try:
        for batch in batches:
            pending.append((batch, pool.submit(_annotate_in_worker, [post.text for post in batch])))
            if len(pending) >= 2 * n_process:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _batches(items: Iterable[Item], size: int, report: Callable[[Problem], None]) -> Iterator[List[Post]]:
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


# --- files: output, problems, resume -------------------------------------------------


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


def _skip_posts(items: Iterator[Item], n: int, output: Path) -> Post:
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


def _check_resume(output: Path, last: Post, key: str) -> None:
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


def _trim_problems(path: Path, last_line: int) -> None:
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
            self.stream.write(json.dumps(problem.to_json(), ensure_ascii=False).encode("utf-8") + b"\n")

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()


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
    problems_path = None if problems_path is None or str(problems_path) == STDIO else Path(problems_path)
    done = repair_output(output) if resume and output is not None and output.exists() else 0
    stats = Stats(resumed=done)
    with ExitStack() as stack:
        source = sys.stdin.buffer if str(input_path) == STDIO else stack.enter_context(open(input_path, "rb"))
        items = read_posts(source, input_format, text_field=text_field, max_chars=max_chars)
        if resume and output is not None:
            last_line = 0
            if done:
                last = _skip_posts(items, done, output)
                _check_resume(output, last, "text" if input_format == "text" else text_field)
                last_line = last.line
            if problems_path is not None:
                _trim_problems(problems_path, last_line)
        mode = "ab" if resume else "wb"
        log = ProblemLog(None if problems_path is None else stack.enter_context(open(problems_path, mode)))
        out = sys.stdout.buffer if output is None else stack.enter_context(open(output, mode))
        bar = stack.enter_context(tqdm(disable=not progress, unit=" posts", file=sys.stderr, dynamic_ncols=True))
        batches = _batches(items, batch_size, log.report)
        replaced = set(ANNOTATION_FIELDS) | ({line_field} if line_field else set())
        for batch, annotations in annotate_batches(
            batches, model, batch_size=batch_size, n_process=n_process, gpu_id=gpu_id, code_path=code_path
        ):
            if replaced:
                for post in batch:
                    for name in replaced & post.record.keys():
                        warnings.warn(f"Input line {post.line} has a field {name!r}: the annotation replaces it, "
                                      "there and on every later line")  # fmt: skip
                        replaced.discard(name)
            lines = [record_line(post, annotation, line_field) for post, annotation in zip(batch, annotations)]
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
