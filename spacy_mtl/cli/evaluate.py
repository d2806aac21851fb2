"""Evaluate a multi-task pipeline on each task's own test set.

Each task is scored on the corpus labelled for it (sentiment on the sentiment test
tweets, entities on the entity test tweets), with spaCy's own scorers. The scores are
printed, written to JSON, and can be written into the pipeline's meta.json so that the
packaged wheel carries them.
"""
import json
from pathlib import Path
from typing import Dict, List

import spacy
import srsly
from spacy.training import Corpus
from wasabi import msg

from .train import gpu_id_option

#: The scores of each task that are reported, in spaCy's names.
TASK_SCORES = {
    "textcat": ["cats_score", "cats_macro_f", "cats_micro_f", "cats_macro_auc"],
    "ner": ["ents_f", "ents_p", "ents_r"],
}


def evaluate(model: Path, test_sets: Dict[str, Path], gpu_id: int = -1) -> Dict[str, Dict[str, float]]:
    """Scores per task: {"textcat": {"cats_score": ...}, "ner": {"ents_f": ...}}."""
    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    results: Dict[str, Dict[str, float]] = {}
    for task, path in test_sets.items():
        if task not in TASK_SCORES:
            raise ValueError(f"Unknown task {task!r}: expected one of {sorted(TASK_SCORES)}")
        if not Path(path).exists():
            raise ValueError(f"Test set for {task} not found: {path}")
        examples = list(Corpus(path)(nlp))
        scores = nlp.evaluate(examples)
        results[task] = {key: float(scores[key]) for key in TASK_SCORES[task] if scores.get(key) is not None}
        results[task]["n_docs"] = len(examples)
    return results


def write_meta(model: Path, results: Dict[str, Dict[str, float]], meta_out: Path) -> None:
    """The pipeline's meta.json with the test scores added under `performance`."""
    meta = srsly.read_json(Path(model) / "meta.json")
    for task_scores in results.values():
        for key, value in task_scores.items():
            if key != "n_docs":
                meta.setdefault("performance", {})[f"test_{key}"] = value
    srsly.write_json(meta_out, meta)


def main(args: List[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m spacy_mtl evaluate",
        description="Score a pipeline on each task's own test set (spaCy's scorers).",
    )
    parser.add_argument("model", type=Path, help="pipeline directory or package name")
    parser.add_argument("--textcat", type=Path, help="test .spacy file for the textcat head")
    parser.add_argument("--ner", type=Path, help="test .spacy file for the ner head")
    parser.add_argument("--output", "-o", type=Path, help="write the scores as JSON here")
    parser.add_argument("--meta-output", type=Path, help="write meta.json with the test scores here (for spacy package --meta-path)")
    parser.add_argument("--gpu-id", "-g", type=gpu_id_option, default=-1,
                        help="-1 for the CPU (default), a GPU id, or 'auto'")
    ns = parser.parse_args(args)
    test_sets = {task: path for task, path in (("textcat", ns.textcat), ("ner", ns.ner)) if path}
    if not test_sets:
        parser.error("give at least one of --textcat, --ner")
    results = evaluate(ns.model, test_sets, ns.gpu_id)
    for task, scores in results.items():
        msg.table([(key, f"{value:.4f}" if key != "n_docs" else int(value)) for key, value in scores.items()],
                  title=f"{task} test scores", header=("score", "value"), divider=True)
    if ns.output:
        ns.output.parent.mkdir(parents=True, exist_ok=True)
        ns.output.write_text(json.dumps(results, indent=2) + "\n")
    if ns.meta_output:
        ns.meta_output.parent.mkdir(parents=True, exist_ok=True)
        write_meta(ns.model, results, ns.meta_output)
