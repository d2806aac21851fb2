"""python -m bench.annotate: throughput and memory of `spacy mtl annotate`, write bench/ANNOTATE.md.

Runs the packaged pipeline over a stream of the embedded tweets (repeated to
--posts) in four ways, each in a fresh process, one after the other:
- `nlp.pipe`: spacy.load, then `nlp.pipe(texts, batch_size=B)` over the stream in
  one process (torch's default threads): the 1.00 every ratio is against;
- `annotate -n 1` and `annotate -n 2`: `python -m spacy_mtl annotate` itself;
- `ray, 2 actors`: `spacy_mtl.annotate.ray.annotate` on a local `ray.init(num_cpus=2)`, the
  driver iterating the results.
Then one of them (--long-run) runs again over a stream --long-posts long, to show
whether memory grows with the stream. While each runs, its whole process tree is sampled (see `Sampler`): per-process
peak RSS (VmHWM), the sum of PSS, and CPU time. Then `nlp.pipe`'s stages are timed
at 1 and 2 torch threads, to show where the time goes. Method: bench/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from itertools import accumulate, islice
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO / "project" / "training" / "mtl" / "model-best"
PREPARE = REPO / "project" / "scripts" / "prepare_tweets.py"
#: How often the process tree is sampled, and its PSS (smaps_rollup costs more).
SAMPLE_SECONDS = 0.25
PSS_EVERY = 4
#: Below this many times one process's speed, two processes are said not to scale
#: (the issue's bar), and the report says where the time goes.
SCALING_BAR = 1.6


def log(message: str) -> None:
    print(f"[bench.annotate] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- data ---------------------------------------------------------------------------


def tweet_texts(corpus: Optional[Path]) -> List[str]:
    """Every distinct embedded tweet (entity and sentiment tweets, all splits), shuffled
    with seed 0, from `corpus` (project/corpus after `make demo`) or written afresh by
    project/scripts/prepare_tweets.py."""
    import spacy
    from spacy.tokens import DocBin

    with tempfile.TemporaryDirectory(prefix="bench-annotate-corpus-") as tmp:
        if corpus is None or not corpus.is_dir():
            corpus = Path(tmp)
            subprocess.run(
                [sys.executable, str(PREPARE), str(corpus), "--max-ner", "0", "--max-textcat", "0"],
                check=True,
                capture_output=True,
            )
        vocab = spacy.blank("en").vocab
        texts = [
            doc.text
            for path in sorted(corpus.glob("*/*.spacy"))
            for doc in DocBin().from_disk(path).get_docs(vocab)
        ]
    texts = list(dict.fromkeys(text for text in texts if text.strip()))
    random.Random(0).shuffle(texts)
    return texts


def write_stream(texts: Sequence[str], n: int, path: Path) -> List[int]:
    """Write `n` posts {"id", "text"}, cycling through `texts`; return each post's words
    (spaCy's English tokens, the words of words/s)."""
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    words = [len(tokenizer(text)) for text in texts]
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            out.write(
                json.dumps({"id": i, "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n"
            )
    return [words[i % len(texts)] for i in range(n)]


# --- the measured processes ----------------------------------------------------------


def pipe_worker(model: str, stream: Path, batch_size: int) -> None:
    """nlp.pipe over the stream's texts; prints the posts done after every batch."""
    import spacy

    nlp = spacy.load(model)
    with stream.open(encoding="utf-8") as lines:
        texts = (json.loads(line)["text"] for line in lines)
        for done, _ in enumerate(nlp.pipe(texts, batch_size=batch_size), 1):
            if done % batch_size == 0:
                print(done, flush=True)
    print(done, flush=True)


def ray_worker(model: str, stream: Path, batch_size: int, concurrency: int) -> None:
    """spacy_mtl.annotate.ray.annotate on a local Ray instance of `concurrency` CPUs; prints the
    posts done after every block that reaches the driver."""
    import ray

    from spacy_mtl.annotate.ray import annotate

    ray.init(num_cpus=concurrency, include_dashboard=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    # As `spacy mtl annotate --ray` reads (spacy_mtl.annotate.ray.read: no CPU for the read
    # tasks), in blocks of 8 batches. Ray's default cuts this file into blocks of
    # ~10,000 posts; an actor returns a block when it is done with all of it, so
    # the first posts would reach the driver only after thousands were annotated.
    blocks = max(1, sum(1 for _ in stream.open("rb")) // (8 * batch_size))
    posts = ray.data.read_json(
        str(stream), num_cpus=0, file_extensions=None, override_num_blocks=blocks
    )
    annotated = annotate(posts, model, batch_size=batch_size, concurrency=concurrency)
    done = 0
    for block in annotated.iter_batches(batch_size=None, batch_format="pyarrow"):
        done += block.num_rows
        print(done, flush=True)
    ray.shutdown()


def stages_worker(model: str, stream: Path, batch_size: int, threads: int, n: int) -> None:
    """The seconds of each stage of nlp.pipe over the first `n` posts, at `threads`
    torch threads: `make_doc`, then every pipe; printed as JSON."""
    import spacy
    import torch

    torch.set_num_threads(threads)
    nlp = spacy.load(model)
    with stream.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in islice(lines, n)]
    list(nlp.pipe(texts[: 2 * batch_size], batch_size=batch_size))  # warm-up
    seconds = {"make_doc": 0.0, **{name: 0.0 for name in nlp.pipe_names}}
    for start in range(0, len(texts), batch_size):
        with nlp.memory_zone():
            began = time.perf_counter()
            docs = [nlp.make_doc(text) for text in texts[start : start + batch_size]]
            seconds["make_doc"] += time.perf_counter() - began
            for name, proc in nlp.pipeline:
                began = time.perf_counter()
                docs = list(proc.pipe(docs, batch_size=batch_size))
                seconds[name] += time.perf_counter() - began
    print(json.dumps(seconds))


# --- sampling a process tree ---------------------------------------------------------


def _children_map() -> Dict[int, List[int]]:
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def _tree(root: int) -> List[int]:
    children, tree, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _status_kib(pid: int, keys: Sequence[str]) -> Dict[str, int]:
    found = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key = line.split(":", 1)[0]
                if key in keys:
                    found[key] = int(line.split()[1])
    except OSError:
        pass
    return found


def _cpu_seconds(pid: int) -> Optional[float]:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Snapshot:
    """The tree so far: Σ per-process peak RSS and the highest Σ PSS sampled (MiB), and
    its CPU seconds."""

    seconds: float
    posts: int
    hwm_mib: float
    pss_mib: float
    cpu_seconds: float


@dataclass
class Sampler:
    """Samples a process and all its descendants every SAMPLE_SECONDS.

    Per process: its VmHWM (its own peak RSS, which /proc keeps), kept at the last
    value seen, and its CPU time. The tree's peak RSS is the sum of its processes'
    VmHWM: processes that peak at different times make it an upper bound, and pages
    they share (libraries, Ray's object store) count once per process. So the
    highest sum of PSS (shared pages split between their sharers) is kept as well,
    sampled every PSS_EVERY samples.
    """

    root: int
    hwm_kib: Dict[int, int] = field(default_factory=dict)
    cpu: Dict[int, float] = field(default_factory=dict)
    pss_max_kib: int = 0
    samples: int = 0

    def sample(self) -> None:
        pss = 0
        for pid in _tree(self.root):
            status = _status_kib(pid, ("VmHWM",))
            if "VmHWM" in status:
                self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), status["VmHWM"])
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu)
            if self.samples % PSS_EVERY == 0:
                pss += _pss_kib(pid)
        self.pss_max_kib = max(self.pss_max_kib, pss)
        self.samples += 1

    def snapshot(self, seconds: float, posts: int) -> Snapshot:
        return Snapshot(
            seconds,
            posts,
            sum(self.hwm_kib.values()) / 1024,
            self.pss_max_kib / 1024,
            sum(self.cpu.values()),
        )


@dataclass
class Run:
    """One measured run."""

    name: str
    processes: str
    wall: float
    first: Snapshot
    mark: Snapshot
    end: Snapshot
    n_processes: int

    @property
    def steady(self) -> float:
        """Seconds from the first posts out to the last."""
        return self.end.seconds - self.first.seconds


def measure(
    name: str,
    processes: str,
    command: List[str],
    n: int,
    mark: int,
    timeout: float,
    output: Optional[Path] = None,
) -> Run:
    """Run `command`, sampling its tree until it exits. The posts done are the lines
    of `output`, or (None) the last count the command printed. After `timeout`
    seconds its process group is killed."""
    log(f"{name}: {' '.join(command)}")
    start = time.perf_counter()
    # A session of its own: a run that hangs is killed whole, Ray's processes included.
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL if output else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    stderr: List[str] = []
    threading.Thread(target=lambda: stderr.extend(proc.stderr), daemon=True).start()
    if output is None:
        printed = PrintedCount()
        threading.Thread(target=printed.follow, args=(proc,), daemon=True).start()
    progress: Callable[[], int] = printed if output is None else LineCounter(output)
    sampler = Sampler(proc.pid)
    first = mark_snapshot = end = None
    done = 0
    while proc.poll() is None:
        sampler.sample()
        now = time.perf_counter() - start
        done = progress()
        if first is None and done:
            first = sampler.snapshot(now, done)
        if mark_snapshot is None and done >= mark:
            mark_snapshot = sampler.snapshot(now, done)
        if end is None and done >= n:
            end = sampler.snapshot(now, done)
        if now > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
            stderr.append(f"killed after {timeout:.0f} s\n")
        time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or first is None or mark_snapshot is None or end is None:
        raise RuntimeError(
            f"{name} failed ({proc.returncode}, {done} of {n} posts):\n{''.join(stderr)[-4000:]}"
        )
    if end.seconds <= first.seconds:
        raise RuntimeError(
            f"{name}: every post came out at once ({n} posts): too few to time; give more --posts"
        )
    # The peaks reached while shutting down count as the end's too; the CPU does not.
    final = sampler.snapshot(end.seconds, end.posts)
    final.cpu_seconds = end.cpu_seconds
    log(
        f"{name}: {(end.posts - first.posts) / (end.seconds - first.seconds):.1f} posts/s, wall {wall:.0f} s"
    )
    return Run(name, processes, wall, first, mark_snapshot, final, len(sampler.hwm_kib))


class LineCounter:
    """Counts the lines of a file another process is writing, reading only what is new."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.lines = path, 0, 0

    def __call__(self) -> int:
        if self.path.exists():
            with self.path.open("rb") as file:
                file.seek(self.offset)
                chunk = file.read()
            self.offset += len(chunk)
            self.lines += chunk.count(b"\n")
        return self.lines


class PrintedCount:
    """The last count a process printed on stdout, read in a thread."""

    def __init__(self) -> None:
        self.count = 0

    def follow(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.count = int(line)

    def __call__(self) -> int:
        return self.count


# --- report -------------------------------------------------------------------------


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(header: List[str], rows: List[List[str]]) -> List[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def report(
    runs: List[Run],
    stages: Dict[int, Dict[str, float]],
    words: List[int],
    settings: argparse.Namespace,
    header: List[str],
) -> str:
    """The Markdown report: the runs against `runs[0]` (nlp.pipe), then the stages."""
    prefix = [0, *accumulate(words)]

    def posts_per_second(run: Run) -> float:
        return (run.end.posts - run.first.posts) / run.steady

    base, long_run = runs[0], runs[-1] if settings.long_posts else None
    two_marks = settings.mark < settings.posts
    rows = []
    for run in runs[:-1] if long_run else runs:
        words_per_second = (prefix[run.end.posts] - prefix[run.first.posts]) / run.steady
        rows.append(
            [
                f"`{run.name}`",
                run.processes,
                f"{posts_per_second(run):,.1f}",
                f"{words_per_second:,.0f}",
                f"**{posts_per_second(run) / posts_per_second(base):.2f}x**",
                f"{run.wall:,.0f}",
                f"{(run.end.cpu_seconds - run.first.cpu_seconds) / run.steady:.2f}",
                *(
                    [f"{run.mark.hwm_mib:,.0f} ({run.mark.hwm_mib / base.mark.hwm_mib:.2f}x)"]
                    if two_marks
                    else []
                ),
                f"{run.end.hwm_mib:,.0f} ({run.end.hwm_mib / base.end.hwm_mib:.2f}x)",
                f"{run.end.pss_mib:,.0f} ({run.end.pss_mib / base.end.pss_mib:.2f}x)",
                str(run.n_processes),
            ]
        )
    lines = [
        *header,
        "",
        "## Throughput and peak memory",
        "",
        "posts/s and words/s: from the first posts out to the last, so start-up (imports, loading the pipeline, "
        "starting workers or Ray) is left out; it is in the wall time. Cores busy: the tree's CPU seconds over that "
        "time. Peak RSS: Σ of each process's VmHWM (its own peak), "
        + (
            f"at {settings.mark:,} posts and at the end ({settings.posts:,}); "
            if two_marks
            else "at the end; "
        )
        + "peak PSS: the highest Σ PSS sampled (shared pages split between their processes). "
        "Ratios against `nlp.pipe`.",
        "",
        *table(
            [
                "run",
                "processes",
                "posts/s",
                "words/s",
                "× nlp.pipe",
                "wall s",
                "cores busy",
                *([f"peak RSS MiB at {_k(settings.mark)}"] if two_marks else []),
                f"peak RSS MiB at {_k(settings.posts)}",
                f"peak PSS MiB at {_k(settings.posts)}",
                "processes seen",
            ],
            rows,
        ),
    ]
    if long_run:
        lines += [
            "",
            *long_report(long_run, settings, posts_per_second(long_run) / posts_per_second(base)),
        ]
    if stages:
        speeds = {run.name: posts_per_second(run) for run in (runs[:-1] if long_run else runs)}
        lines += ["", *stages_report(stages, settings, speeds)]
    return "\n".join(lines) + "\n"


def _k(n: int) -> str:
    return f"{n / 1000:g}k"


def long_report(run: Run, settings: argparse.Namespace, speed_ratio: float) -> List[str]:
    """Memory along the long stream: the tree's peaks at --mark posts and at the end."""
    mark, end = run.mark, run.end
    rows = [
        [f"{_k(settings.mark)} posts", f"{mark.hwm_mib:,.0f}", f"{mark.pss_mib:,.0f}"],
        [f"{_k(settings.long_posts)} posts", f"{end.hwm_mib:,.0f}", f"{end.pss_mib:,.0f}"],
        [
            "growth",
            f"{end.hwm_mib - mark.hwm_mib:+,.0f} ({100 * (end.hwm_mib / mark.hwm_mib - 1):+.1f}%)",
            f"{end.pss_mib - mark.pss_mib:+,.0f} ({100 * (end.pss_mib / mark.pss_mib - 1):+.1f}%)",
        ],
    ]
    return [
        "## Memory along a long stream",
        "",
        f"`{run.name}` again, over {settings.long_posts:,} posts (the same tweets repeated further), its tree's "
        f"peak RSS (Σ VmHWM) and peak Σ PSS read when {settings.mark:,} posts were out and at the end. It ran at "
        f"{(end.posts - run.first.posts) / run.steady:,.1f} posts/s ({speed_ratio:.2f}x `nlp.pipe` above), wall "
        f"{run.wall:,.0f} s.",
        "",
        *table(["posts out", "peak RSS MiB", "peak PSS MiB"], rows),
    ]


def stages_report(
    stages: Dict[int, Dict[str, float]], settings: argparse.Namespace, speeds: Dict[str, float]
) -> List[str]:
    """nlp.pipe's stages at 1 and 2 torch threads, and what they imply for 2 processes."""
    n_batches = settings.stage_batches
    total = {threads: sum(seconds.values()) for threads, seconds in stages.items()}
    rows = [
        [
            f"`{name}`",
            f"{1000 * stages[1][name] / n_batches:.0f}",
            f"{100 * stages[1][name] / total[1]:.0f}%",
            f"{1000 * stages[2][name] / n_batches:.0f}",
            f"{stages[1][name] / stages[2][name]:.2f}x",
        ]
        for name in stages[1]
    ] + [
        [
            "total",
            f"{1000 * total[1] / n_batches:.0f}",
            "100%",
            f"{1000 * total[2] / n_batches:.0f}",
            f"{total[1] / total[2]:.2f}x",
        ]
    ]
    serial = (
        sum(seconds for name, seconds in stages[1].items() if seconds / stages[2][name] < 1.2)
        / total[1]
    )
    lines = [
        "## Where the time goes",
        "",
        f"`nlp.pipe` in one process, stage by stage (`make_doc`, then each pipe's `pipe`), over the first "
        f"{n_batches * settings.batch_size:,} posts of the stream at batch size {settings.batch_size}, at 1 and at 2 "
        "torch threads (each a fresh process, after two warm-up batches).",
        "",
        *table(["stage", "ms/batch, 1 thread", "share", "ms/batch, 2 threads", "speed-up"], rows),
        "",
        f"A second torch thread makes one process {total[1] / total[2]:.2f}x as fast; the stages that gain less than "
        f"1.2x from it take {100 * serial:.0f}% of the 1-thread time. Two processes of one thread each can at best "
        f"reach 2 × t(2 threads) / t(1 thread) = {2 * total[2] / total[1]:.2f}x one process of two threads.",
    ]
    if "annotate -n 1" in speeds and "annotate -n 2" in speeds:
        ratio = speeds["annotate -n 2"] / speeds["annotate -n 1"]
        verdict = "below" if ratio < SCALING_BAR else "at or above"
        lines += [
            "",
            f"Measured: `annotate -n 2` runs {ratio:.2f}x as fast as `annotate -n 1`, {verdict} {SCALING_BAR}x.",
        ]
    return lines


def header_lines(
    settings: argparse.Namespace,
    command: str,
    wall: float,
    loads: Sequence[float],
    unique: int,
    n_words: int,
) -> List[str]:
    import torch

    meta = json.loads((settings.model / "meta.json").read_text(encoding="utf-8"))
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in (
            "spacy-mtl",
            "spacy",
            "spacy-transformers",
            "thinc",
            "torch",
            "transformers",
            "ray",
        )
    )
    return [
        "# spacy mtl annotate: throughput and memory",
        "",
        f"- Date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Command: `{command}` (total wall time {wall / 60:.1f} min)",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; CPU only (torch's default: {torch.get_num_threads()} threads)",
        f"- Versions: {versions}",
        f"- Pipeline: `{settings.model}` ({meta.get('lang')}_{meta.get('name')} {meta.get('version')}: "
        f"{', '.join(meta.get('pipeline', []))})",
        f"- Stream: {settings.posts:,} posts, {n_words:,} words ({n_words / settings.posts:.1f} a post): the "
        f'{unique:,} distinct embedded tweets shuffled (seed 0) and repeated, as JSONL {{"id", "text"}}; '
        f"batch size {settings.batch_size} everywhere",
        f"- Load average (1 min): {loads[0]:.2f} before the run, {loads[1]:.2f} at its end (its own processes "
        "included)",
        "- Method: bench/README.md, section `bench.annotate`",
    ]


# --- command line -------------------------------------------------------------------


RUNS = ("pipe", "annotate-1", "annotate-2", "ray-2")


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("pipe-worker", "ray-worker", "stages-worker"):
        kind, model, stream, *numbers = argv
        {"pipe-worker": pipe_worker, "ray-worker": ray_worker, "stages-worker": stages_worker}[
            kind
        ](model, Path(stream), *map(int, numbers))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m bench.annotate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help=f"pipeline directory ({DEFAULT_MODEL.relative_to(REPO)}, from make demo)",
    )
    parser.add_argument(
        "--posts", type=int, default=20_000, help="posts in the stream of every run (20,000)"
    )
    parser.add_argument(
        "--mark", type=int, default=20_000, help="posts at which peak memory is read too (20,000)"
    )
    parser.add_argument(
        "--long-posts",
        type=int,
        default=100_000,
        help="posts of the long run's stream (100,000; 0: no long run)",
    )
    parser.add_argument(
        "--long-run",
        choices=RUNS,
        default="annotate-2",
        help="the run repeated over --long-posts (annotate-2)",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="batch size of every run (64)")
    parser.add_argument(
        "--runs", nargs="+", choices=RUNS, default=list(RUNS), help="what to run (all; pipe always)"
    )
    parser.add_argument(
        "--stage-batches", type=int, default=32, help="batches timed stage by stage (32; 0: none)"
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=REPO / "project" / "corpus",
        help="corpus dir (project/corpus; made afresh if absent)",
    )
    parser.add_argument(
        "--timeout", type=float, default=3600, help="seconds after which a run is killed (3600)"
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench" / "ANNOTATE.md", help="report to write"
    )
    settings = parser.parse_args(argv)
    if not (settings.model / "config.cfg").exists():
        parser.error(f"no pipeline at {settings.model}: run `make demo` first, or give --model")
    if not 0 < settings.mark <= settings.posts:
        parser.error("--mark must be between 1 and --posts")
    if settings.long_posts and settings.long_posts <= settings.mark:
        parser.error("--long-posts must be above --mark (or 0)")
    command = " ".join(["python -m bench.annotate", *argv])
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    if load_start > 0.5:
        log(f"warning: load average {load_start:.2f}: other processes will slow the runs")
    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as tmp:
        log("writing the stream")
        texts = tweet_texts(settings.corpus)
        stream, long_stream = Path(tmp) / "posts.jsonl", Path(tmp) / "long.jsonl"
        words = write_stream(texts, settings.posts, stream)
        model, n, mark, b = (
            str(settings.model),
            settings.posts,
            settings.mark,
            str(settings.batch_size),
        )
        me = [sys.executable, "-m", "bench.annotate"]
        timeout = settings.timeout

        def run(name: str, posts: Path, n: int) -> Run:
            if name == "pipe":
                return measure(
                    "nlp.pipe", "1", [*me, "pipe-worker", model, str(posts), b], n, mark, timeout
                )
            if name == "ray-2":
                ray = [*me, "ray-worker", model, str(posts), b, "2"]
                return measure("ray, 2 actors", "2 actors", ray, n, mark, timeout)
            processes = name.split("-")[1]
            out = Path(tmp) / f"annotated-{processes}.jsonl"
            cli = [
                sys.executable,
                "-m",
                "spacy_mtl",
                "annotate",
                model,
                str(posts),
                str(out),
                "-b",
                b,
                "-n",
                processes,
                "--gpu-id",
                "-1",
            ]
            try:
                return measure(
                    f"annotate -n {processes}", processes, cli, n, mark, timeout, output=out
                )
            finally:
                out.unlink(missing_ok=True)

        runs = [run(name, stream, n) for name in RUNS if name == "pipe" or name in settings.runs]
        if settings.long_posts:
            write_stream(texts, settings.long_posts, long_stream)
            runs.append(run(settings.long_run, long_stream, settings.long_posts))
            long_stream.unlink()
        stages: Dict[int, Dict[str, float]] = {}
        for threads in (1, 2) if settings.stage_batches else ():
            log(f"stages at {threads} torch thread(s)")
            posts = str(settings.stage_batches * settings.batch_size)
            result = subprocess.run(
                [*me, "stages-worker", model, str(stream), b, str(threads), posts],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            )
            stages[threads] = json.loads(result.stdout.strip().splitlines()[-1])
    header = header_lines(
        settings,
        command,
        time.perf_counter() - start,
        (load_start, os.getloadavg()[0]),
        len(texts),
        sum(words),
    )
    text = report(runs, stages, words, settings, header)
    settings.output.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {settings.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
