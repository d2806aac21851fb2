"""python -m bench.ner_targets: the training step cost of soft NER teacher targets
against hard ones; writes bench/NER-TARGETS.md and prints it.

Three students of configs/mtl.cfg, built from the same seed, train on the same
batches (16 sentiment + 16 entity tweets), in which every sentiment tweet carries the
NER teacher's entities (`spacy_mtl.distill.teach.teach_docs`, as `spacy mtl teach`
writes them). They differ only in `[components.ner] teacher_targets`:

- `hard`: the teacher's entities, as if gold (no teacher at training time);
- `soft`: the teacher pipeline (configs/ner.cfg, saved to a temporary directory and
  loaded beside the student) scores the student's states at every transition;
- `confident`: the same scores, kept where the teacher is at least
  `teacher_confidence` sure.

Ratio: soft / hard and confident / hard per round (one step of each on the same
batch, the order rotating), median over the rounds, with the interquartile range and
min–max; method as bench/README.md. The teacher is initialised, not trained: a step's
cost depends on which docs it scores, not on what it says. The report also gives the
seconds the soft student spends per step in the teacher: its encoder on the taught
tweets (`NERTeacher.steps`) and its scoring of the states (`TeacherSteps.distribution`).
"""

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed, load_config, load_model_from_config, registry

from spacy_mtl.distill.ner_teacher import NERTeacher, TeacherSteps
from spacy_mtl.distill.targets import TEACHER_ENTS

from .common import (
    CONFIGS,
    PER_TASK,
    Contestant,
    Device,
    Pipeline,
    Spread,
    Times,
    interleave,
    log,
    make_corpus,
    mixed_batches,
    ratios,
    select_device,
    taught_batches,
    timed,
)
from .run import cpu_model, package_version

GROUP = "ner teacher targets"
TARGETS = ("hard", "soft", "confident")
PRESETS = {"full": {"warmup": 3, "pairs": 16}, "quick": {"warmup": 1, "pairs": 2}}


def build(config_name: str, encoder: Optional[str], ner: Optional[Dict[str, Any]] = None):
    """A pipeline of configs/<config_name> as `spacy train` builds it, and its config:
    the seed fixed first, so that every student starts from the same parameters."""
    config = load_config(CONFIGS / config_name, interpolate=True)
    if encoder is not None:
        config["components"]["transformer"]["model"]["name"] = encoder
    if ner:
        config["components"]["ner"].update(ner)
    fix_random_seed(config["training"]["seed"])
    return load_model_from_config(config, auto_fill=True), config


def initialised(nlp: Language, config, batches: List[List[Example]]) -> Pipeline:
    """`nlp` initialised on the batches, with the config's optimizer and dropout."""
    optimizer = registry.resolve({"optimizer": config["training"]["optimizer"]})["optimizer"]
    nlp.initialize(lambda: (eg for batch in batches for eg in batch), sgd=optimizer)
    return Pipeline("mtl", nlp, optimizer, float(config["training"]["dropout"]), batches)


def save_teacher(corpus: Path, out_dir: Path, encoder: Optional[str]) -> Language:
    """configs/ner.cfg initialised on the entity tweets and saved to out_dir."""
    nlp, config = build("ner.cfg", encoder)
    initialised(nlp, config, mixed_batches(nlp, corpus))
    nlp.to_disk(out_dir)
    return nlp


def with_teacher_ents(
    batches: Sequence[Sequence[Example]], taught: Sequence[Sequence[Example]]
) -> List[List[Example]]:
    """Copies of `batches` whose references carry the teacher entities of `taught`, the
    same batches taught once already (`taught_batches`)."""
    out = []
    for batch, taught_batch in zip(batches, taught):
        copies = [Example(eg.predicted.copy(), eg.reference.copy()) for eg in batch]
        for eg, source in zip(copies, taught_batch):
            eg.reference._.set(TEACHER_ENTS, source.reference._.get(TEACHER_ENTS))
        out.append(copies)
    return out


class TeacherClock:
    """Seconds the soft student spends in its teacher, per training step: the
    teacher's encoder and step model (`steps`) and its scoring of the states
    (`distribution`), summed over the step's transitions."""

    def __init__(self, teacher: NERTeacher, device: Device) -> None:
        self.device = device
        self.current = {"encoder": 0.0, "scoring": 0.0}
        self.steps: List[Dict[str, float]] = []
        steps = teacher.steps

        def timed_steps(*args, **kwargs) -> TeacherSteps:
            out: List[TeacherSteps] = []
            self.current["encoder"] += timed(lambda: out.append(steps(*args, **kwargs)), device)
            self._wrap(out[0])
            return out[0]

        teacher.steps = timed_steps

    def _wrap(self, teacher_steps: TeacherSteps) -> None:
        distribution = teacher_steps.distribution

        def timed_distribution(*args, **kwargs):
            out: list = []
            self.current["scoring"] += timed(
                lambda: out.append(distribution(*args, **kwargs)), self.device
            )
            return out[0]

        teacher_steps.distribution = timed_distribution

    def step(self, train_step: Callable[[int], None]) -> Callable[[int], None]:
        """`train_step`, recording the teacher's seconds of each call."""

        def act(index: int) -> None:
            self.current = {"encoder": 0.0, "scoring": 0.0}
            train_step(index)
            self.steps.append(dict(self.current))

        return act


def contestants(
    corpus: Path, teacher_dir: Path, encoder: Optional[str], confidence: float, device: Device
) -> tuple:
    """The three students on the same taught batches, and the soft one's teacher clock."""
    teacher_nlp = save_teacher(corpus, teacher_dir, encoder)
    entries: List[Contestant] = []
    clock = None
    taught: Optional[List[List[Example]]] = None
    for targets in TARGETS:
        log(f"[ner-targets] loading the {targets} student")
        nlp, config = build(
            "mtl.cfg",
            encoder,
            {
                "teacher_targets": targets,
                "teacher": str(teacher_dir),
                "teacher_confidence": confidence,
            },
        )
        if taught is None:
            batches = taught = taught_batches(mixed_batches(nlp, corpus), [teacher_nlp])
        else:  # the teacher's entities once, copied onto each student's own docs
            batches = with_teacher_ents(mixed_batches(nlp, corpus), taught)
        student = initialised(nlp, config, batches)
        act = student.train_step
        if targets == "soft":
            clock = TeacherClock(nlp.get_pipe("ner").ner_teacher(), device)
            act = clock.step(act)
        entries.append((targets, act))
    return entries, clock


def report(
    times: Times,
    clock: Optional[TeacherClock],
    settings: argparse.Namespace,
    device: Device,
    command: str,
    wall: float,
) -> str:
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("spacy-mtl", "spacy", "spacy-transformers", "thinc", "torch", "transformers")
    )
    group = times[GROUP]
    median = {name: Spread.of(values).median for name, values in group.items()}
    rows = []
    for targets in TARGETS[1:]:
        spread = ratios(group[targets], group["hard"])
        rows.append(
            f"| {targets} | {median['hard']:.3f} | {median[targets]:.3f} | **{spread.median:.3f}x** | "
            f"{spread.q1:.3f}–{spread.q3:.3f} | {spread.low:.3f}–{spread.high:.3f} |"
        )
    lines = [
        "# spacy-mtl benchmark: soft NER teacher targets"
        + (" (quick smoke run: too few repetitions to trust)" if settings.quick else ""),
        "",
        f"- Date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- Command: `{command}` (total wall time {wall / 60:.1f} min)",
        f"- Machine: {cpu_model()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- Device: {device.describe()}",
        f"- Versions: {versions}",
        f"- Encoder: {settings.encoder or 'the one configs/mtl.cfg names'}, the same in teacher and students",
        f"- Settings: {settings.warmup} warm-up steps, {settings.pairs} rounds, teacher_confidence "
        f"{settings.confidence}. Method: bench/README.md",
        "",
        "## Training step cost of soft NER teacher targets",
        "",
        f"configs/mtl.cfg (static weighting), three students from the same seed on the same batches of "
        f"{2 * PER_TASK} tweets ({PER_TASK} sentiment tweets taught the NER teacher's entities + {PER_TASK} gold "
        "entity tweets), differing only in `[components.ner] teacher_targets`. Per step: "
        "`nlp.update(batch, sgd=False)` + `finish_update` on every trainable component. Ratio: median over "
        f"{settings.pairs} rounds (the same batch within a round, the order rotating) after {settings.warmup} "
        "warm-up steps; step times are medians.",
        "",
        "| teacher_targets | hard s/step | s/step | ratio to hard | IQR | min–max |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    if clock is not None and clock.steps:
        timed_steps = clock.steps[-settings.pairs :]
        encoder = Spread.of([s["encoder"] for s in timed_steps]).median
        scoring = Spread.of([s["scoring"] for s in timed_steps]).median
        lines += [
            "",
            f"Of the soft student's step (median over the timed rounds): {encoder:.3f} s in the teacher's encoder "
            f"and step model over the taught tweets (`NERTeacher.steps`), {scoring:.3f} s scoring the student's "
            "states (`TeacherSteps.distribution`, every transition of the step).",
        ]
    return "\n".join(lines) + "\n"


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ner_targets", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 1 warm-up step, 2 rounds"
    )
    parser.add_argument("--warmup", type=int, help="untimed steps per student (3; --quick: 1)")
    parser.add_argument("--pairs", type=int, help="timed rounds (16; --quick: 2)")
    parser.add_argument(
        "--confidence", type=float, default=0.9, help="the confident student's teacher_confidence"
    )
    parser.add_argument(
        "--encoder",
        help="encoder name or directory for teacher and students (default: the configs')",
    )
    parser.add_argument(
        "--gpu-id",
        type=int,
        help="GPU to use, -1 for the CPU; default: GPU 0 if cupy and torch both see one",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="default bench/NER-TARGETS.md (--quick: bench/NER-TARGETS-quick.md)",
    )
    args = parser.parse_args(argv)
    preset = PRESETS["quick" if args.quick else "full"]
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.warmup < 0 or args.pairs < 1:
        parser.error("--warmup must be >= 0 and --pairs >= 1")
    if args.output is None:
        name = "NER-TARGETS-quick.md" if args.quick else "NER-TARGETS.md"
        args.output = Path(__file__).resolve().parent / name
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    start = time.perf_counter()
    settings = parse_args(argv)
    command = " ".join(["python -m bench.ner_targets", *(sys.argv[1:] if argv is None else argv)])
    device = select_device(settings.gpu_id)
    log(f"[ner-targets] {device.describe()}")
    with tempfile.TemporaryDirectory(prefix="spacy-mtl-ner-targets-") as tmp:
        log("[ner-targets] writing the corpus")
        corpus = make_corpus(Path(tmp))
        entries, clock = contestants(
            corpus, Path(tmp) / "teacher", settings.encoder, settings.confidence, device
        )
        times = interleave(
            {GROUP: entries},
            warmup=settings.warmup,
            rounds=settings.pairs,
            device=device,
            section="ner-targets",
            unit="round",
        )
    text = report(times, clock, settings, device, command, time.perf_counter() - start)
    settings.output.write_text(text, encoding="utf-8")
    print(text)
    log(f"[ner-targets] wrote {settings.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
