"""Evaluate a multi-task pipeline on each task's own test set.

Each task is scored on the corpus labelled for it (sentiment on the sentiment test
tweets, entities on the entity test tweets), with spaCy's own scorers. The scores are
printed, written to JSON, and can be written into the pipeline's meta.json so that the
packaged wheel carries them. `--per-doc` also writes what each test doc contributes to
its task's score (gold and predicted class; entity tp / fp / fn), for paired
bootstrap intervals between two pipelines on the same test docs.
"""
import json
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

import spacy
import srsly
import typer
from spacy.language import Language
from spacy.pipeline import MultiLabel_TextCategorizer, TextCategorizer
from spacy.scorer import Scorer
from spacy.training import Corpus, Example
from wasabi import msg

from ..device import resolve_gpu_id, use_device
from . import mtl_cli
from ._util import CODE_HELP, GPU_HELP, check_gpu_id, import_code

#: The scores of each task that are reported, in spaCy's names.
TASK_SCORES = {
    "textcat": ["cats_score", "cats_macro_f", "cats_micro_f", "cats_macro_auc"],
    "ner": ["ents_f", "ents_p", "ents_r"],
}


@mtl_cli.command("evaluate")
def evaluate_cli(
    # fmt: off
    model: str = typer.Argument(..., help="Pipeline directory or installed package name"),
    textcat: Optional[Path] = typer.Option(None, "--textcat", help="Test .spacy file for the textcat head"),
    ner: Optional[Path] = typer.Option(None, "--ner", help="Test .spacy file for the ner head"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the scores here as JSON"),
    meta_output: Optional[Path] = typer.Option(None, "--meta-output", help="Write meta.json with the test scores here (for spacy package --meta-path)"),
    per_doc: Optional[Path] = typer.Option(None, "--per-doc", help="Write each test doc's part of its task's score here (JSONL), for paired bootstrap intervals"),
    code_path: Optional[Path] = typer.Option(None, "--code", "-c", help=CODE_HELP),
    gpu_id: str = typer.Option("-1", "--gpu-id", "-g", help=GPU_HELP, callback=check_gpu_id),
    # fmt: on
) -> None:
    """
    Score a pipeline on each task's own test set with spaCy's scorers: sentiment
    on the sentiment test docs, entities on the entity test docs.
    """
    test_sets = {task: path for task, path in (("textcat", textcat), ("ner", ner)) if path}
    if not test_sets:
        msg.fail("Give at least one of --textcat, --ner", exits=1)
    import_code(code_path)
    try:
        results = evaluate(model, test_sets, gpu_id, per_doc=per_doc)
    except ValueError as error:
        msg.fail(str(error), exits=1)
    for task, scores in results.items():
        msg.table([(key, f"{value:.4f}" if key != "n_docs" else int(value)) for key, value in scores.items()],
                  title=f"{task} test scores", header=("score", "value"), divider=True)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
    if meta_output:
        meta_output.parent.mkdir(parents=True, exist_ok=True)
        write_meta(Path(model), results, meta_output)


def evaluate(
    model: Union[str, Path],
    test_sets: Dict[str, Path],
    gpu_id: Union[int, str] = -1,
    per_doc: Optional[Path] = None,
) -> Dict[str, Dict[str, float]]:
    """Score a pipeline on each task's own test set.

    model (Union[str, Path]): a pipeline directory or an installed package's name.
    test_sets (Dict[str, Path]): a .spacy file per task, {"textcat": ..., "ner": ...}.
    gpu_id (Union[int, str]): -1 for the CPU, a GPU id, or "auto".
    per_doc (Optional[Path]): write `per_doc_records` of every task here (JSONL).
    RETURNS (Dict[str, Dict[str, float]]): scores per task, {"textcat": {"cats_score":
        ..., "n_docs": ...}, "ner": {"ents_f": ..., "n_docs": ...}}.
    """
    for task, path in test_sets.items():
        if task not in TASK_SCORES:
            raise ValueError(f"Unknown task {task!r}: expected one of {sorted(TASK_SCORES)}")
        if not Path(path).exists():
            raise ValueError(f"Test set for {task} not found: {path}")
    use_device(resolve_gpu_id(gpu_id))
    nlp = spacy.load(model)
    results: Dict[str, Dict[str, float]] = {}
    records: List[dict] = []
    for task, path in test_sets.items():
        examples = list(Corpus(path)(nlp))
        # nlp.evaluate annotates copies of the examples; the scorer sees those.
        scorer = KeepingScorer(nlp=nlp)
        scores = nlp.evaluate(examples, scorer=scorer)
        results[task] = {key: float(scores[key]) for key in TASK_SCORES[task] if scores.get(key) is not None}
        results[task]["n_docs"] = len(examples)
        if per_doc is not None:
            records.extend(per_doc_records(nlp, task, scorer.examples))
    if per_doc is not None:
        per_doc.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_jsonl(per_doc, records)
    return results


class KeepingScorer(Scorer):
    """spaCy's `Scorer`, keeping the annotated examples it scored."""

    examples: List[Example] = []

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        self.examples = list(examples)
        return super().score(self.examples, **kwargs)


def per_doc_records(nlp: Language, task: str, examples: List[Example]) -> Iterator[dict]:
    """What each scored doc contributes to its task's score, from examples whose
    predicted docs are annotated (those `KeepingScorer` kept), as spaCy's scorers count it.

    textcat: {"task", "doc", "gold", "pred"}, the gold and the predicted class of each
        doc with cats (exclusive classes: the highest value of each; macro-F1 over
        the labels follows from these pairs). ner: {"task", "doc", "tp", "fp", "fn"} of
        each doc with entity annotation (spaCy's `get_ner_prf`, doc by doc).
    YIELDS (dict): one record per scored doc; "doc" is its index in the test set.
    """
    if task == "textcat":
        labels = {label for _, pipe in nlp.pipeline if isinstance(pipe, TextCategorizer)
                  and not isinstance(pipe, MultiLabel_TextCategorizer) for label in pipe.labels}  # fmt: skip
        for i, eg in enumerate(examples):
            gold = {label: value for label, value in eg.reference.cats.items() if label in labels}
            if gold:
                pred = {label: eg.predicted.cats.get(label, 0.0) for label in gold}
                yield {"task": task, "doc": i, "gold": max(gold, key=gold.get), "pred": max(pred, key=pred.get)}
        return
    for i, eg in enumerate(examples):
        if not eg.reference.has_annotation("ENT_IOB"):
            continue
        golds = {(e.label_, e.start, e.end) for e in eg.reference.ents}
        tp = fp = 0
        x2y = eg.alignment.x2y
        for ent in eg.predicted.ents:
            indices = x2y[ent.start : ent.end]
            # As spaCy's scorer: a prediction over tokens without gold annotation counts as neither.
            if len(indices) and all(token.ent_iob != 0 for token in eg.reference[indices[0] : indices[-1] + 1]):
                key = (ent.label_, indices[0], indices[-1] + 1)
                if key in golds:
                    tp += 1
                    golds.remove(key)
                else:
                    fp += 1
        yield {"task": task, "doc": i, "tp": tp, "fp": fp, "fn": len(golds)}


def write_meta(model: Path, results: Dict[str, Dict[str, float]], meta_out: Path) -> None:
    """Write the pipeline's meta.json with the test scores added to `performance`.

    model (Path): the pipeline directory, whose meta.json is read.
    results (Dict[str, Dict[str, float]]): what `evaluate` returned.
    meta_out (Path): the file to write.
    """
    meta = srsly.read_json(Path(model) / "meta.json")
    for task_scores in results.values():
        for key, value in task_scores.items():
            if key != "n_docs":
                meta.setdefault("performance", {})[f"test_{key}"] = value
    srsly.write_json(meta_out, meta)
