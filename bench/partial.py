"""python -m bench.partial: full against partial sharing, dev scores and serving words/s, write bench/PARTIAL.md.

Partial sharing (`configs/mtl-partial.cfg`, `spacy_mtl.TaskLayersListener.v1`): the
shared transformer runs the encoder's lower N layers once per post, each head its own
copy of the layers above them. This measures, for trained pipelines of each setting
(full sharing, N-1 and N-2; trained on gold, and distilled from the single-task
teachers), against the two single-task pipelines that the shared one replaces:

- the layer passes per post: the shared layers plus every head's own (two single-task
  pipelines: both encoders);
- words/s of `nlp.pipe` at batch size 64 (torch, one process, every pipeline loaded
  once), over the same unseen dev and test tweets, rounds interleaved and their order
  rotated; the ratio to the single-task pair per round (both pipelines run over the
  texts one after the other), median;
- sentiment macro-F1 and entity F1 on the dev sets (`nlp.evaluate`, batch 64); for the
  pair, each task's own pipeline.

Train the pipelines first, from project/ (after `spacy project run corpus .`, and for
the distilled ones `spacy project run train-teachers .` and `spacy project run teach .`,
which also give the single-task pair):

    COMMON="--gpu-id auto --system.seed 0 --training.max_steps 250 --training.eval_frequency 125"
    TAUGHT="--paths.textcat_train corpus/taught/textcat-train.spacy --paths.ner_train corpus/taught/ner-train.spacy"
    python -m spacy mtl train ../configs/mtl.cfg --output training/partial/full $COMMON
    python -m spacy mtl train ../configs/mtl-partial.cfg --output training/partial/n-1 $COMMON
    N2="--sharing.shared_layers [0,1,2,3] --sharing.task_layers [4,5]"
    python -m spacy mtl train ../configs/mtl-partial.cfg --output training/partial/n-2 $COMMON $N2
    # the same three with $TAUGHT, into training/partial/full-distilled, n-1-distilled, n-2-distilled

then `python -m bench.partial` from the checkout. A setting whose pipeline is missing
is left out, and says so.
"""

import argparse
import datetime
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import spacy
import torch
from spacy.language import Language
from spacy.training import Corpus

from spacy_mtl.models.int8 import component_model, encoder_components
from spacy_mtl.models.task_layers import task_layers_shim

from .common import Device, count_words, inference_texts, interleave, log, select_device

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "project"
#: The settings, in the report's order: label -> pipeline under project/.
SETTINGS = {
    f"{sharing}{suffix}": f"training/partial/{sharing}{suffix}/model-best"
    for suffix in ("", "-distilled")
    for sharing in ("full", "n-1", "n-2")
}
#: The single-task pipelines (the distill workflow's teachers, configs/textcat.cfg and
#: configs/ner.cfg), under project/.
SINGLE = {
    "textcat": "training/teacher-textcat/model-best",
    "ner": "training/teacher-ner/model-best",
}
PAIR = "two single-task pipelines"


@dataclass
class Measured:
    """One row of the report."""

    label: str
    shared: int
    per_head: Dict[str, int]
    passes: int
    sentiment: float
    entities: float


def encoder_layers(nlp: Language) -> int:
    """Layers of the pipeline's shared (torch) encoder."""
    names = encoder_components(nlp)
    if len(names) != 1:
        raise SystemExit(f"expected one spacy_mtl.TransformerModel.v1 encoder, found {names}")
    return int(component_model(nlp, names[0]).transformer.config.num_hidden_layers)


def task_layers(nlp: Language) -> Dict[str, int]:
    """Per head: the layers of its own (0 under full sharing)."""
    layers = {}
    for name, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if name in encoder_components(nlp) or model is None:
            continue
        try:
            layers[name] = len(task_layers_shim(model).module.encoder.layer)
        except TypeError:
            layers[name] = 0
    return layers


def dev_scores(
    nlp: Language, corpus: Path, batch_size: int, tasks: Sequence[str]
) -> Dict[str, float]:
    """Sentiment macro-F1 and entity F1 (×100) on the dev sets of `tasks`."""
    scores = {}
    if "textcat" in tasks:
        found = nlp.evaluate(
            list(Corpus(corpus / "textcat" / "dev.spacy")(nlp)), batch_size=batch_size
        )
        scores["textcat"] = 100 * float(found["cats_macro_f"])
    if "ner" in tasks:
        found = nlp.evaluate(list(Corpus(corpus / "ner" / "dev.spacy")(nlp)), batch_size=batch_size)
        scores["ner"] = 100 * float(found["ents_f"] or 0.0)
    return scores


def resolve(path: str, base: Path) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else base / candidate


def parse_pipeline(value: str) -> Tuple[str, str]:
    label, sep, path = value.partition("=")
    if not sep or not label or not path:
        raise argparse.ArgumentTypeError(
            f"{value!r}: give LABEL=PATH, e.g. n-1=training/partial/n-1/model-best"
        )
    return label, path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.partial", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--pipeline",
        type=parse_pipeline,
        action="append",
        metavar="LABEL=PATH",
        help="a multi-task pipeline to measure, repeatable; default: "
        + ", ".join(f"{k}={v}" for k, v in SETTINGS.items())
        + " (paths relative to --project)",
    )
    parser.add_argument(
        "--textcat",
        default=SINGLE["textcat"],
        help=f"single-task sentiment pipeline ({SINGLE['textcat']})",
    )
    parser.add_argument(
        "--ner", default=SINGLE["ner"], help=f"single-task entity pipeline ({SINGLE['ner']})"
    )
    parser.add_argument(
        "--project", type=Path, default=PROJECT, help="where relative paths start (project/)"
    )
    parser.add_argument(
        "--corpus", type=Path, default=PROJECT / "corpus", help="corpus dir (project/corpus)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="nlp.pipe and evaluate batch size (64)"
    )
    parser.add_argument(
        "--texts", type=int, default=768, help="unseen tweets timed, an even number (768)"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed passes over the texts per pipeline (1)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (3)")
    parser.add_argument(
        "--gpu-id", type=int, default=-1, help="GPU to serve on, -1 for the CPU (-1)"
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench" / "PARTIAL.md", help="report to write"
    )
    settings = parser.parse_args(argv)

    requested = settings.pipeline or list(SETTINGS.items())
    found = [(label, resolve(path, settings.project)) for label, path in requested]
    missing = [(label, path) for label, path in found if not (path / "config.cfg").is_file()]
    present = [(label, path) for label, path in found if (path / "config.cfg").is_file()]
    singles = {
        task: resolve(path, settings.project)
        for task, path in (("textcat", settings.textcat), ("ner", settings.ner))
    }
    for task, path in singles.items():
        if not (path / "config.cfg").is_file():
            parser.error(
                f"{path}: no single-task {task} pipeline there (spacy project run train-teachers project/)"
            )
    if not present:
        parser.error("no multi-task pipeline found: " + ", ".join(str(path) for _, path in found))
    for label, path in missing:
        log(f"{label}: no pipeline at {path}, left out")

    device: Device = select_device(settings.gpu_id)
    texts = inference_texts(settings.corpus, settings.texts)
    words = count_words(texts)
    started = time.perf_counter()

    pipelines: Dict[str, Language] = {}
    rows: List[Measured] = []
    for label, path in present:
        log(f"{label}: loading {path}")
        nlp = spacy.load(path)
        pipelines[label] = nlp
        heads = task_layers(nlp)
        shared = encoder_layers(nlp)
        log(f"{label}: dev scores")
        scores = dev_scores(nlp, settings.corpus, settings.batch_size, ("textcat", "ner"))
        rows.append(
            Measured(
                label, shared, heads, shared + sum(heads.values()), scores["textcat"], scores["ner"]
            )
        )
    log("single-task pipelines: loading and dev scores")
    single = {task: spacy.load(path) for task, path in singles.items()}
    pair_scores = {
        **dev_scores(single["textcat"], settings.corpus, settings.batch_size, ("textcat",)),
        **dev_scores(single["ner"], settings.corpus, settings.batch_size, ("ner",)),
    }
    rows.append(
        Measured(
            PAIR,
            0,
            {task: encoder_layers(nlp) for task, nlp in single.items()},
            sum(encoder_layers(nlp) for nlp in single.values()),
            pair_scores["textcat"],
            pair_scores["ner"],
        )
    )

    def serve(nlps: Sequence[Language]):
        def run(_: int) -> None:
            for nlp in nlps:
                for _doc in nlp.pipe(texts, batch_size=settings.batch_size):
                    pass

        return run

    contestants = [(PAIR, serve([single["textcat"], single["ner"]]))] + [
        (label, serve([nlp])) for label, nlp in pipelines.items()
    ]
    times = interleave(
        {"serving": contestants},
        warmup=settings.warmup,
        rounds=settings.rounds,
        device=device,
        section="partial",
        unit="round",
    )["serving"]

    lines = [
        "# Partial sharing: dev scores and serving speed",
        "",
        f"`python -m bench.partial {' '.join(sys.argv[1:] if argv is None else argv)}` on "
        f"{datetime.date.today()}, {platform.machine()}, {device.describe()}, torch {torch.__version__}; "
        f"{time.perf_counter() - started:.0f} s. Method: bench/README.md.",
        "",
        "Pipelines: "
        + "; ".join(f"`{label}` {path}" for label, path in present)
        + f"; {PAIR}: `textcat` {singles['textcat']}, `ner` {singles['ner']}."
        + (
            " Left out (not found): " + ", ".join(f"`{label}`" for label, _ in missing) + "."
            if missing
            else ""
        ),
        "",
        f"`nlp.pipe` over {len(texts)} unseen dev and test tweets ({words:,} words, half sentiment, half entity) "
        f"at batch size {settings.batch_size}, {settings.rounds} rounds after {settings.warmup} untimed pass(es), "
        f"all pipelines in one process, their order rotated each round; {PAIR}: both run over the texts, one "
        "after the other. Ratio: words/s over the pair's in the same round, median. Layer passes: encoder layers "
        "each post goes through (shared + every head's own; the pair: both encoders). Dev: sentiment macro-F1 and "
        f"entity F1 on the dev sets, `nlp.evaluate` at batch size {settings.batch_size}.",
        "",
        "| setting | shared layers | own layers per head | layer passes per post | words/s | vs the pair "
        "| dev sentiment F1 | dev entity F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        seconds = times[row.label]
        ratio = statistics.median(p / s for p, s in zip(times[PAIR], seconds))
        if row.label == PAIR:
            shared, own = "-", "-"
        else:
            shared, own = str(row.shared), ", ".join(f"{h} {n}" for h, n in row.per_head.items())
        lines.append(
            f"| `{row.label}` | {shared} | {own} | {row.passes} | {words / statistics.median(seconds):,.0f} "
            f"| **{ratio:.2f}x** | {row.sentiment:.2f} | {row.entities:.2f} |"
        )
    lines.append("")
    text = "\n".join(lines)
    settings.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
