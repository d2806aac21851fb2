"""python -m bench.train_split: where the wall time of a `spacy mtl train` run goes.

Runs `spacy mtl train` in this process, as the command does, on the project's corpus,
and times each phase of spaCy's training loop: initialising the pipeline (the
pretrained encoder, the corpora read for the labels), drawing the training batches
(the corpus reader), the training steps (`nlp.update` and the optimizer steps), the
dev evaluations and saving model-best and model-last. The rest is start-up and the
logger. Then the test scores of model-best. Run it alone: it times.

    python -m bench.train_split --output /tmp/split [--max-train-batch-items null] [--max-steps 250]
"""

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence

import spacy.training.loop as loop
from spacy.language import Language

import spacy_mtl.cli.train as mtl_train
from spacy_mtl.evaluation import evaluate

from .common import CONFIGS

REPO = Path(__file__).resolve().parent.parent
SECONDS: Dict[str, float] = defaultdict(float)
COUNTS: Dict[str, int] = defaultdict(int)


def timing(phase: str, fn: Callable) -> Callable:
    """`fn`, its time added to `phase` (calls within a timed call are not counted twice)."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        if timed.busy:  # type: ignore[attr-defined]
            return fn(*args, **kwargs)
        timed.busy = True  # type: ignore[attr-defined]
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SECONDS[phase] += time.perf_counter() - start
            COUNTS[phase] += 1
            timed.busy = False  # type: ignore[attr-defined]

    timed.busy = False  # type: ignore[attr-defined]
    return timed


def timed_batches(create: Callable) -> Callable:
    """spaCy's `create_train_batches`, each batch's drawing timed."""

    def create_timed(*args: Any, **kwargs: Any):
        batches = iter(create(*args, **kwargs))
        while True:
            start = time.perf_counter()
            try:
                item = next(batches)
            except StopIteration:
                return
            finally:
                SECONDS["drawing batches (corpus reader)"] += time.perf_counter() - start
            yield item

    return create_timed


def instrument() -> None:
    mtl_train.init_nlp = timing("initialize (encoder, corpora read for labels)", mtl_train.init_nlp)
    loop.create_train_batches = timed_batches(loop.create_train_batches)
    Language.evaluate = timing("dev evaluations", Language.evaluate)  # type: ignore[method-assign]
    Language.to_disk = timing("saving model-best and model-last", Language.to_disk)  # type: ignore[method-assign]
    Language.update = timing("training steps: nlp.update", Language.update)  # type: ignore[method-assign]
    original = loop.train_while_improving

    def steps_with_optimizer(nlp, optimizer, *args, **kwargs):
        # finish_update of every component: the rest of a training step.
        for _, proc in nlp.pipeline:
            if hasattr(proc, "finish_update"):
                proc.finish_update = timing("training steps: optimizer", proc.finish_update)
        return original(nlp, optimizer, *args, **kwargs)

    loop.train_while_improving = steps_with_optimizer


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.train_split", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--output", type=Path, required=True, help="the training's output directory"
    )
    parser.add_argument("--corpus", type=Path, default=REPO / "project" / "corpus")
    parser.add_argument("--max-steps", type=int, default=250)
    parser.add_argument("--eval-frequency", type=int, default=125)
    parser.add_argument(
        "--max-train-batch-items", default="512", help="an integer, or null for one call"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    corpus = args.corpus
    overrides = {
        "paths.textcat_train": str(corpus / "textcat" / "train.spacy"),
        "paths.textcat_dev": str(corpus / "textcat" / "dev.spacy"),
        "paths.ner_train": str(corpus / "ner" / "train.spacy"),
        "paths.ner_dev": str(corpus / "ner" / "dev.spacy"),
        "system.seed": args.seed,
        "training.max_steps": args.max_steps,
        "training.eval_frequency": args.eval_frequency,
        "corpora.train.sampling": "uniform",
        "components.transformer.max_train_batch_items": None
        if args.max_train_batch_items == "null"
        else int(args.max_train_batch_items),
    }
    instrument()
    start = time.perf_counter()
    mtl_train.train(CONFIGS / "mtl.cfg", args.output, gpu_id=-1, overrides=overrides)
    wall = time.perf_counter() - start
    phases = dict(SECONDS)
    phases["start-up, logger and the rest"] = wall - sum(phases.values())
    calls = dict(COUNTS)
    scores = evaluate(
        args.output / "model-best",
        {"textcat": corpus / "textcat" / "test.spacy", "ner": corpus / "ner" / "test.spacy"},
        -1,
    )
    result = {
        "max_train_batch_items": overrides["components.transformer.max_train_batch_items"],
        "wall_seconds": wall,
        "phases": phases,
        "calls": calls,
        "test": {
            "sentiment_macro_f": 100 * scores["textcat"]["cats_macro_f"],
            "entity_f": 100 * scores["ner"]["ents_f"],
        },
    }
    (args.output / "split.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
