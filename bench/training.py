"""python -m bench.training: training steps with length-grouped encoder passes against one
encoder call per batch; write bench/TRAINING.md.

The encoder pads every call to its longest doc. `mtl_transformer` runs a training batch
either in one call (`max_train_batch_items = null`) or sorted by word pieces and cut into
sub-batches of at most `max_train_batch_items` padded word pieces, whose gradients add up
to one optimizer step. This times, in one process, training steps of configs/mtl.cfg
(the real encoder, static weighting) both ways on the same random batches of 32 sentiment
+ 32 entity tweets of the shipped training corpora: the two pipelines start from the same
seed and take their steps in turns, the order rotating every round; tweets/s and real
word pieces/s per way, the per-round ratio of step times (median and spread), and the
padded word pieces each way runs per real one, over the timed batches and over many more.

With `--train`, it also runs `spacy mtl train` for `--max-steps` steps both ways, one after
the other and alone, on the project's corpus, and reports their wall times and test scores.
"""

import argparse
import datetime
import json
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from spacy.language import Language
from spacy.training import Corpus, Example
from spacy.util import fix_random_seed, load_config, load_model_from_config, registry

from spacy_mtl.models.wordpieces import group_by_length
from spacy_mtl.pipeline.shared_transformer import MultiTaskTransformer

from .common import CONFIGS, Spread, log, the_transformer, timed
from .common import Device as _Device

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "project"
#: The transformer's setting that cuts a training batch into encoder calls.
SETTING = "max_train_batch_items"
#: Tweets of each task in a batch: 32 sentiment + 32 entity tweets, as `make demo` trains.
PER_TASK = 32
CPU = _Device(-1)


def corpus_dir(given: Optional[Path]) -> Path:
    """The project's corpus (`spacy project run corpus project/` writes it), or `given`."""
    path = given or PROJECT / "corpus"
    if not (path / "textcat" / "train.spacy").is_file():
        raise SystemExit(
            f"{path} holds no textcat/train.spacy: run `spacy project run corpus project/` first"
        )
    return path


def random_batches(nlp: Language, corpus: Path, n: int, seed: int) -> List[List[Example]]:
    """`n` batches of PER_TASK random sentiment and PER_TASK random entity training tweets."""
    textcat = list(Corpus(corpus / "textcat" / "train.spacy")(nlp))
    ner = list(Corpus(corpus / "ner" / "train.spacy")(nlp))
    rng = random.Random(seed)
    return [rng.sample(textcat, PER_TASK) + rng.sample(ner, PER_TASK) for _ in range(n)]


class Trainer:
    """configs/mtl.cfg initialised as `spacy train` would, stepping on given batches."""

    def __init__(self, budget: Optional[int], corpus: Path) -> None:
        config = load_config(CONFIGS / "mtl.cfg", interpolate=True)
        config["components"]["transformer"][SETTING] = budget
        fix_random_seed(config["training"]["seed"])
        self.nlp = load_model_from_config(config, auto_fill=True)
        self.optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})[
            "optimizer"
        ]
        self.dropout = float(config["training"]["dropout"])
        warm = random_batches(self.nlp, corpus, 4, seed=12345)
        self.nlp.initialize(lambda: (eg for batch in warm for eg in batch), sgd=self.optimizer)

    def step(self, batch: List[Example]) -> None:
        """One step of spacy.training.loop: update without stepping, then finish_update."""
        self.nlp.update(batch, drop=self.dropout, sgd=False, losses={})  # type: ignore[arg-type]
        for _, proc in self.nlp.pipeline:
            if getattr(proc, "is_trainable", False):
                proc.finish_update(self.optimizer)  # type: ignore[attr-defined]
        self.optimizer.step_schedules()


def padded_per_real(
    transformer: MultiTaskTransformer, batches: Sequence[List[Example]], budget: Optional[int]
) -> Tuple[float, int]:
    """Padded word pieces per real one when each batch runs as `budget` cuts it (None: one
    call); and the real word pieces of all batches."""
    real = padded = 0
    for batch in batches:
        pieces = transformer.wordpiece_counts([eg.predicted for eg in batch])
        groups = [list(range(len(pieces)))] if budget is None else group_by_length(pieces, budget)
        padded += sum(len(group) * max(pieces[i] for i in group) for group in groups)
        real += sum(pieces)
    return padded / real, real


def time_steps(settings: argparse.Namespace, corpus: Path) -> Dict[str, object]:
    """Interleaved step times of both ways on the same batches."""
    ways = {"one call": None, f"grouped, {settings.budget}": settings.budget}
    log("loading both pipelines")
    trainers = {name: Trainer(budget, corpus) for name, budget in ways.items()}
    first = next(iter(trainers.values()))
    batches = random_batches(first.nlp, corpus, settings.warmup + settings.rounds, seed=0)
    log(f"warm-up: {settings.warmup} steps each")
    for trainer in trainers.values():
        for batch in batches[: settings.warmup]:
            trainer.step(batch)
    seconds: Dict[str, List[float]] = {name: [] for name in ways}
    names = list(ways)
    for r, batch in enumerate(batches[settings.warmup :]):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            seconds[name].append(timed(lambda t=trainers[name], b=batch: t.step(b), CPU))
        log(
            f"round {r + 1}/{settings.rounds}: "
            + ", ".join(f"{n} {seconds[n][-1]:.2f} s" for n in names)
        )
    transformer = the_transformer(first.nlp)
    timed_batches = batches[settings.warmup :]
    many = random_batches(first.nlp, corpus, settings.padding_batches, seed=1)
    result: Dict[str, object] = {"seconds": seconds, "ways": ways}
    result["padding"] = {n: padded_per_real(transformer, timed_batches, b) for n, b in ways.items()}
    result["padding_many"] = {n: padded_per_real(transformer, many, b)[0] for n, b in ways.items()}
    return result


def run_training(
    settings: argparse.Namespace, corpus: Path, budget: Optional[int]
) -> Dict[str, float]:
    """`spacy mtl train` for max_steps steps on the project corpus, then its test scores."""
    out = settings.output_dir / ("one-call" if budget is None else f"grouped-{budget}")
    command = [
        sys.executable,
        "-m",
        "spacy",
        "mtl",
        "train",
        str(CONFIGS / "mtl.cfg"),
        "--output",
        str(out),
        "--gpu-id",
        "-1",
        "--paths.textcat_train",
        str(corpus / "textcat" / "train.spacy"),
        "--paths.textcat_dev",
        str(corpus / "textcat" / "dev.spacy"),
        "--paths.ner_train",
        str(corpus / "ner" / "train.spacy"),
        "--paths.ner_dev",
        str(corpus / "ner" / "dev.spacy"),
        "--training.max_steps",
        str(settings.max_steps),
        "--training.eval_frequency",
        str(settings.max_steps // 2),
        "--corpora.train.sampling",
        "uniform",
        f"--components.transformer.{SETTING}",
        "null" if budget is None else str(budget),
    ]
    log(f"training: {' '.join(command[3:])}")
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - start
    scores = out / "test-scores.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "mtl",
            "evaluate",
            str(out / "model-best"),
            "--textcat",
            str(corpus / "textcat" / "test.spacy"),
            "--ner",
            str(corpus / "ner" / "test.spacy"),
            "--output",
            str(scores),
        ],
        check=True,
        capture_output=True,
    )
    found = json.loads(scores.read_text())
    return {
        "wall": wall,
        "sentiment": 100 * found["textcat"]["cats_macro_f"],
        "entities": 100 * found["ner"]["ents_f"],
    }


def report(steps: Dict[str, object], trainings: Dict[str, Dict[str, float]], settings) -> str:
    seconds: Dict[str, List[float]] = steps["seconds"]  # type: ignore[assignment]
    padding: Dict[str, Tuple[float, int]] = steps["padding"]  # type: ignore[assignment]
    many: Dict[str, float] = steps["padding_many"]  # type: ignore[assignment]
    names = list(seconds)
    base = names[0]
    real = padding[base][1]
    rows = []
    for name in names:
        median = statistics.median(seconds[name])
        ratio = Spread.of([b / s for b, s in zip(seconds[base], seconds[name])])
        rows.append(
            f"| {name} | {2 * PER_TASK / median:.1f} | {real / settings.rounds / median:,.0f} | "
            f"{median:.3f} | **{ratio.median:.2f}x** ({ratio.q1:.2f}–{ratio.q3:.2f}) | "
            f"{padding[name][0]:.2f} | {many[name]:.2f} |"
        )
    lines = [
        "# Training steps: length-grouped encoder passes against one call per batch",
        "",
        f"`python -m bench.training {' '.join(sys.argv[1:])}` on {datetime.date.today()}, "
        f"{platform.processor() or platform.machine()} ({_cpu_model()}), "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}. Each way a copy "
        f"of configs/mtl.cfg (real encoder, static weighting) from the same seed; "
        f"{settings.warmup} warm-up steps each, then {settings.rounds} rounds in which each "
        f"takes one step on the same random batch of {PER_TASK} sentiment + {PER_TASK} "
        "entity training tweets, the order rotating. Ratio: one-call step time over this "
        "way's, per round; median (quartiles).",
        "",
        "| way | tweets/s | real word pieces/s | s/step (median) | speed vs one call | "
        f"padded / real word pieces (timed batches) | padded / real ({settings.padding_batches} batches) |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    if trainings:
        lines += [
            "",
            f"`spacy mtl train configs/mtl.cfg` for {settings.max_steps} steps on the project "
            "corpus (seed 0, uniform sampling, batches of 64), each run alone, then `spacy mtl "
            "evaluate` on the test sets:",
            "",
            "| way | wall time | sentiment macro-F1 (test) | entity F1 (test) |",
            "|---|---|---|---|",
        ]
        for name, found in trainings.items():
            minutes, secs = divmod(round(found["wall"]), 60)
            lines.append(
                f"| {name} | {minutes} min {secs} s | {found['sentiment']:.2f} | {found['entities']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.training", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--corpus", type=Path, default=None, help="corpus directory (project/corpus)"
    )
    parser.add_argument(
        "--budget", type=int, default=512, help=f"{SETTING} of the grouped way (512)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per way (3)")
    parser.add_argument("--rounds", type=int, default=20, help="timed steps per way (20)")
    parser.add_argument(
        "--padding-batches",
        type=int,
        default=500,
        help="batches the padding ratio is also counted on (500)",
    )
    parser.add_argument("--train", action="store_true", help="also run spacy mtl train both ways")
    parser.add_argument(
        "--max-steps", type=int, default=250, help="steps of each training run (250)"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("/tmp/bench-training"),
        help="where the training runs write",
    )
    parser.add_argument(
        "--report", type=Path, default=REPO / "bench" / "TRAINING.md", help="the report to write"
    )
    settings = parser.parse_args(argv)
    corpus = corpus_dir(settings.corpus)
    steps = time_steps(settings, corpus)
    trainings: Dict[str, Dict[str, float]] = {}
    if settings.train:
        for name, budget in steps["ways"].items():  # type: ignore[attr-defined]
            trainings[name] = run_training(settings, corpus, budget)
    text = report(steps, trainings, settings)
    settings.report.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
