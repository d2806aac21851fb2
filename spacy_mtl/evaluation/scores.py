"""Scoring a pipeline on each task's own test set, and what each test doc contributes.

Each task is scored on the corpus labelled for it (sentiment on the sentiment test
tweets, entities on the entity test tweets), with spaCy's own scorers. The per-doc
records (gold and predicted class; entity tp / fp / fn) are what paired bootstrap
intervals between two pipelines on the same test docs resample (`bootstrap`).
"""

from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

import spacy
import srsly
from spacy.language import Language
from spacy.pipeline import MultiLabel_TextCategorizer, TextCategorizer
from spacy.scorer import Scorer
from spacy.training import Corpus, Example

from ..device import resolve_gpu_id, use_device

#: The scores of each task that are reported, in spaCy's names.
TASK_SCORES = {
    "textcat": ["cats_score", "cats_macro_f", "cats_micro_f", "cats_macro_auc"],
    "ner": ["ents_f", "ents_p", "ents_r"],
}


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
        results[task] = {
            key: float(scores[key]) for key in TASK_SCORES[task] if scores.get(key) is not None
        }
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
        labels = {
            label
            for _, pipe in nlp.pipeline
            if isinstance(pipe, TextCategorizer)
            and not isinstance(pipe, MultiLabel_TextCategorizer)
            for label in pipe.labels
        }
        for i, eg in enumerate(examples):
            gold = {label: value for label, value in eg.reference.cats.items() if label in labels}
            if gold:
                pred = {label: eg.predicted.cats.get(label, 0.0) for label in gold}
                yield {
                    "task": task,
                    "doc": i,
                    "gold": max(gold, key=gold.get),
                    "pred": max(pred, key=pred.get),
                }
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
            if len(indices) and all(
                token.ent_iob != 0 for token in eg.reference[indices[0] : indices[-1] + 1]
            ):
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
