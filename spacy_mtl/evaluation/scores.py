"""Scoring a pipeline on each task's own test set, and what each test doc contributes.

Each task is scored on the corpus labelled for it (sentiment on the sentiment test
tweets, entities on the entity test tweets), with spaCy's own scorers; which scores
and which per-doc records a task has is its kind's business (:mod:`spacy_mtl.tasks`).
The per-doc records (gold and predicted class; entity tp / fp / fn; a user's kind's
counts) are what paired bootstrap intervals between two pipelines on the same test
docs resample (`bootstrap`). A record's "doc" is the doc's index in the test set's
DocBin (its files in sorted order, for a directory), empty docs included: spaCy
skips those when it scores, and a warning says how many it skipped.
"""

import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import spacy
import srsly
from spacy.language import Language
from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.corpus import walk_corpus
from spacy.vocab import Vocab

from ..corpus.reader import make_example
from ..device import resolve_gpu_id, use_device
from ..errors import Errors, Warnings
from ..files import atomic_file, check_outputs
from ..tasks import TaskKind, get_task, kind_of, scores_of

#: The scores of the package's own kinds, in spaCy's names (each kind's `scores`).
TASK_SCORES = {name: list(get_task(name).scores) for name in ("textcat", "ner")}


def model_path(model: Union[str, Path]) -> Optional[Path]:
    """The directory a pipeline loads from: `model` itself, or an installed package's.

    RETURNS (Optional[Path]): None if `model` is neither.
    """
    if Path(model).exists():
        return Path(model)
    if spacy.util.is_package(str(model)):
        return spacy.util.get_package_path(str(model))
    return None


def read_test_docs(path: Union[str, Path], vocab: Vocab) -> List[Tuple[int, Doc]]:
    """Every doc of a test set with its index: a .spacy file, or a directory of them
    read in sorted order (as spaCy's `Corpus` reads it).

    RETURNS (List[Tuple[int, Doc]]): (index in the DocBin(s), doc), empty docs included.
    RAISES (ValueError): a file is not a DocBin.
    """
    files = [Path(path)] if Path(path).is_file() else walk_corpus(path, ".spacy")
    docs: List[Doc] = []
    for file in files:
        try:
            doc_bin = DocBin().from_disk(file)
        except (ValueError, TypeError, OSError) as err:
            raise ValueError(Errors.E174.format(path=file, error=err)) from None
        docs.extend(doc_bin.get_docs(vocab))
    return list(enumerate(docs))


def test_set_kinds(test_sets: Mapping[str, Union[str, Path]]) -> Dict[str, TaskKind]:
    """The kind of every test set's key (``TASK`` or ``TASK/NAME``), its file checked.

    RAISES (ValueError): an unknown kind, or a test set that is not there.
    """
    kinds = {}
    for key, path in test_sets.items():
        kinds[key] = kind_of(key)
        if not Path(path).exists():
            raise ValueError(Errors.E171.format(task=key, path=path))
    return kinds


def evaluate(
    model: Union[str, Path],
    test_sets: Mapping[str, Union[str, Path]],
    gpu_id: Union[int, str] = -1,
    per_doc: Optional[Path] = None,
    *,
    strict: bool = False,
) -> Dict[str, Dict[str, float]]:
    """Score a pipeline on each task's own test set.

    model (Union[str, Path]): a pipeline directory or an installed package's name.
    test_sets (Mapping[str, Union[str, Path]]): a .spacy file (or a directory of them)
        per task, keyed by its kind, e.g. {"textcat": ..., "ner": ..., "tagger": ...};
        ``KIND/NAME`` keys score several test sets of one kind.
    gpu_id (Union[int, str]): -1 for the CPU, a GPU id, or "auto".
    per_doc (Optional[Path]): write every task's per-doc records here (JSONL).
    strict (bool): a task with nothing to score (no doc of its test set has gold for
        it) is an error; without it, a warning, and the task gets no scores.
    RETURNS (Dict[str, Dict[str, float]]): scores per task, {"textcat": {"cats_score":
        ..., "n_docs": ...}, "ner": {"ents_f": ..., "n_docs": ...}}; "n_docs" counts
        the docs scored (the non-empty ones).
    RAISES (ValueError): a bad task or test set, nothing to score with `strict`.
    RAISES (OSError): the model is not there.
    """
    kinds = test_set_kinds(test_sets)
    if per_doc is not None:
        for kind in kinds.values():
            kind.require("give per-doc records", "records")
    found = model_path(model)
    if found is None:
        raise OSError(Errors.E172.format(model=model))
    if per_doc is not None:
        check_outputs([per_doc], [*test_sets.values(), found])
    # Gold is checked before the model loads: a wrong test set fails at once.
    for key, path in test_sets.items():
        _check_gold(key, path, kinds[key], strict)
    use_device(resolve_gpu_id(gpu_id))
    nlp = spacy.load(model)
    results: Dict[str, Dict[str, float]] = {}
    records: List[dict] = []
    for key, path in test_sets.items():
        kind = kinds[key]
        kept = _non_empty_docs(key, path, nlp.vocab)
        examples = [make_example(nlp, doc) for _, doc in kept]
        if not any(kind.has_gold(eg.reference) for eg in examples):
            results[key] = {"n_docs": len(examples)}
            continue
        # nlp.evaluate annotates copies of the examples; the scorer sees those.
        keep = None if not kind.can("scores_component") else kind.scores_component
        scorer = KeepingScorer(nlp=nlp, keep=keep)
        scores = nlp.evaluate(examples, scorer=scorer)
        results[key] = scores_of(kind, scores)
        results[key]["n_docs"] = len(examples)
        if per_doc is not None:
            indices = [i for i, _ in kept]
            records.extend(per_doc_records(nlp, key, scorer.examples, indices))
    if per_doc is not None:
        with atomic_file(per_doc, "w") as file:
            file.writelines(srsly.json_dumps(record) + "\n" for record in records)
    return results


def _check_gold(key: str, path: Union[str, Path], kind: TaskKind, strict: bool) -> None:
    """Raise (strict) or warn (evaluate's caller) when no doc of a test set has gold
    for its task."""
    docs = [doc for _, doc in read_test_docs(path, Vocab()) if len(doc)]
    if not any(kind.has_gold(doc) for doc in docs):
        if strict:
            raise ValueError(Errors.E173.format(task=key, path=path, n=len(docs)))
        warnings.warn(Warnings.W048.format(task=key, path=path, n=len(docs)), stacklevel=3)


def _non_empty_docs(key: str, path: Union[str, Path], vocab: Vocab) -> List[Tuple[int, Doc]]:
    """The docs of a test set that spaCy scores (the non-empty ones), with their
    index; a warning to evaluate's caller says how many were left out."""
    indexed = read_test_docs(path, vocab)
    kept = [(i, doc) for i, doc in indexed if len(doc)]
    if len(kept) < len(indexed):
        first = next(i for i, doc in indexed if not len(doc))
        warnings.warn(
            Warnings.W049.format(task=key, path=path, n=len(indexed) - len(kept), first=first),
            stacklevel=3,
        )
    return kept


class KeepingScorer(Scorer):
    """spaCy's `Scorer`, keeping the annotated examples it scored, and scoring only the
    components `keep` picks (all of them without it)."""

    examples: List[Example] = []

    def __init__(
        self, nlp: Optional[Language] = None, keep: Optional[Callable[[Any], bool]] = None, **cfg
    ) -> None:
        super().__init__(nlp=nlp, **cfg)
        self.keep = keep

    def score(self, examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        self.examples = list(examples)
        if self.keep is None:
            return super().score(self.examples, **kwargs)
        scores: Dict[str, Any] = {}
        for name, component in self.nlp.pipeline:
            if hasattr(component, "score") and self.keep(component):
                if kwargs.get("per_component"):
                    scores[name] = component.score(self.examples, **self.cfg)
                else:
                    scores.update(component.score(self.examples, **self.cfg))
        return scores


def per_doc_records(
    nlp: Language, task: str, examples: List[Example], indices: Optional[List[int]] = None
) -> Iterator[dict]:
    """What each scored doc contributes to its task's score, from examples whose
    predicted docs are annotated (those `KeepingScorer` kept), as its kind counts it
    (:mod:`spacy_mtl.tasks`).

    textcat: {"task", "doc", "gold", "pred"}, the gold and the predicted class of each
        doc with cats (exclusive classes: the highest value of each; macro-F1 over
        the labels follows from these pairs). textcat_multilabel: {"task", "doc",
        "gold", "pred"}, the labels that apply and those predicted. ner: {"task",
        "doc", "tp", "fp", "fn"} of each doc with entity annotation (spaCy's
        `get_ner_prf`, doc by doc). A user's kind: what its `records` gives.
    task (str): the task's key (``TASK`` or ``TASK/NAME``), written as "task".
    indices (Optional[List[int]]): each example's index in its test set; None: 0, 1, ...
    YIELDS (dict): one record per doc with gold for the task; "doc" is its index.
    """
    kind = kind_of(task)
    positions = indices if indices is not None else list(range(len(examples)))
    for i, record in zip(positions, kind.records(nlp, examples)):
        if record is not None:
            yield {"task": task, "doc": i, **record}


def write_meta(
    model: Union[str, Path], results: Dict[str, Dict[str, float]], meta_out: Path
) -> None:
    """Write the pipeline's meta.json with the test scores added to `performance`.

    model (Union[str, Path]): the pipeline directory or installed package whose meta.json is read.
    results (Dict[str, Dict[str, float]]): what `evaluate` returned.
    meta_out (Path): the file to write.
    """
    found = model_path(model)
    meta_path = (found or Path(model)) / "meta.json"
    if not meta_path.exists():
        raise ValueError(Errors.E175.format(model=model, path=meta_path))
    meta = srsly.read_json(meta_path)
    for task_scores in results.values():
        for key, value in task_scores.items():
            if key != "n_docs":
                meta.setdefault("performance", {})[f"test_{key}"] = value
    with atomic_file(meta_out, "w") as file:
        file.write(srsly.json_dumps(meta, indent=2))
