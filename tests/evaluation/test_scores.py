"""Per-doc test records: what each doc contributes to its task's score, as spaCy's scorers count it."""

import json
import re
from typing import Iterator, List

import numpy
import pytest
import spacy
import srsly
from spacy.pipeline import MultiLabel_TextCategorizer, TextCategorizer
from spacy.scorer import Scorer
from spacy.tokens import DocBin
from spacy.training import Corpus, Example

from spacy_mtl.evaluation import evaluate
from spacy_mtl.evaluation.bootstrap import ner_f, textcat_macro_f

from helpers import load_config, mixed_examples, randomize_head, write_task_corpora


def test_per_doc_records_give_back_spacys_scores(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    records_path = tmp_path / "docs.jsonl"
    scores = evaluate(tiny_pipeline, paths, per_doc=records_path)
    records = [json.loads(line) for line in records_path.read_text().splitlines()]
    cats = [r for r in records if r["task"] == "textcat"]
    ents = [r for r in records if r["task"] == "ner"]
    assert len(cats) == scores["textcat"]["n_docs"] == 5 and len(ents) == 4
    labels = sorted(spacy.load(tiny_pipeline).get_pipe("textcat").labels)
    gold = numpy.asarray([labels.index(r["gold"]) for r in cats])
    pred = numpy.asarray([labels.index(r["pred"]) for r in cats])
    everything = numpy.arange(len(cats))[None, :]
    assert textcat_macro_f(gold, pred, len(labels), everything)[0] == pytest.approx(
        scores["textcat"]["cats_macro_f"]
    )
    counts = numpy.asarray([[r["tp"], r["fp"], r["fn"]] for r in ents], dtype=float)
    assert (
        counts[:, 0] + counts[:, 2]
    ).sum() == 6  # tp + fn: the gold entities of the four entity docs
    assert ner_f(counts, numpy.arange(len(ents))[None, :])[0] == pytest.approx(
        scores["ner"].get("ents_f", 0.0)
    )


# --- today's scores and records, as they were before the table of kinds ----------------


class OldKeepingScorer(Scorer):
    examples: List[Example] = []

    def score(self, examples, **kwargs):
        self.examples = list(examples)
        return super().score(self.examples, **kwargs)


def old_per_doc_records(nlp, task: str, examples: List[Example]) -> Iterator[dict]:
    """spacy_mtl.evaluation.scores.per_doc_records as it was at commit ee8fa02."""
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
                    "gold": max(gold, key=gold.__getitem__),
                    "pred": max(pred, key=pred.__getitem__),
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


def old_evaluate(model: str, test_sets: dict):
    """spacy_mtl.evaluation.scores.evaluate as it was at commit ee8fa02 (on the CPU)."""
    old_scores = {
        "textcat": ["cats_score", "cats_macro_f", "cats_micro_f", "cats_macro_auc"],
        "ner": ["ents_f", "ents_p", "ents_r"],
    }
    nlp = spacy.load(model)
    results, records = {}, []
    for task, path in test_sets.items():
        examples = list(Corpus(path)(nlp))
        scorer = OldKeepingScorer(nlp=nlp)
        scores = nlp.evaluate(examples, scorer=scorer)
        results[task] = {
            key: float(scores[key]) for key in old_scores[task] if scores.get(key) is not None
        }
        results[task]["n_docs"] = len(examples)
        records.extend(old_per_doc_records(nlp, task, scorer.examples))
    return results, records


def test_textcat_and_ner_scores_and_records_are_todays(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    per_doc = tmp_path / "docs.jsonl"
    scores = evaluate(tiny_pipeline, paths, per_doc=per_doc)
    old_scores, old_records = old_evaluate(tiny_pipeline, paths)
    assert scores == old_scores
    assert per_doc.read_text() == "".join(srsly.json_dumps(r) + "\n" for r in old_records)
    # The shorthand keys and a KIND/NAME key of the same kind score the same.
    named = evaluate(tiny_pipeline, {"textcat/sentiment": paths["textcat"]})
    assert named["textcat/sentiment"] == scores["textcat"]


def test_multilabel_records_give_back_spacys_macro_f(tiny_encoder, tmp_path):
    config = load_config("mtl.cfg", tiny_encoder)
    config["nlp"]["pipeline"] = ["transformer", "textcat", "topics", "ner"]
    config["components"]["topics"] = {"factory": "mtl_textcat_multilabel"}
    topics = ["music", "politics", "sports"]
    config["initialize"]["components"] = {
        "textcat": {"labels": ["negative", "neutral", "positive"]},
        "topics": {"labels": topics},
    }
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    texts = ["the band played", "the election", "the match and the vote", "a new album", "hi"]
    refs = []
    for i, text in enumerate(texts):
        doc = nlp.make_doc(text)
        doc.cats = {t: float((i + j) % 2 == 0) for j, t in enumerate(topics)}
        doc.set_ents([], default="missing")
        refs.append(doc)
    examples = mixed_examples(nlp) + [Example(nlp.make_doc(d.text), d) for d in refs]
    nlp.initialize(lambda: examples)
    randomize_head(nlp, "textcat", scale=1.0)
    randomize_head(nlp, "topics", scale=1.0, seed=3)
    nlp.to_disk(tmp_path / "model")
    DocBin(docs=refs).to_disk(tmp_path / "topics.spacy")
    per_doc = tmp_path / "docs.jsonl"
    scores = evaluate(
        tmp_path / "model", {"textcat_multilabel": tmp_path / "topics.spacy"}, per_doc=per_doc
    )
    records = [json.loads(line) for line in per_doc.read_text().splitlines()]
    assert [r["doc"] for r in records] == list(range(len(texts)))
    assert all(set(r["gold"]) <= set(topics) and set(r["pred"]) <= set(topics) for r in records)
    from spacy_mtl.tasks import get_task

    kind = get_task("textcat_multilabel")
    # spaCy's macro F1 counts an F1 of 0 for a label never gold nor predicted, which no
    # record holds: the data give every label.
    assert {label for r in records for label in r["gold"] + r["pred"]} == set(topics)
    summed = kind.counts(records).sum(axis=0, keepdims=True)
    # The exclusive head's scores (same keys) are not mixed in: only the multi-label head's.
    assert kind.score(summed)[0] == pytest.approx(scores["textcat_multilabel"]["cats_macro_f"])
    assert 0 < scores["textcat_multilabel"]["cats_macro_f"] < 1


# --- nothing to score, empty docs (issue 28, finding 11) ---------------------------------


def test_a_task_with_nothing_to_score_warns_and_strict_fails(tiny_pipeline, tmp_path):
    blank = spacy.blank("en")
    entities_only = tmp_path / "entities_only.spacy"
    references = [eg.reference for eg in mixed_examples(blank)]
    DocBin(docs=[doc for doc in references if not doc.cats]).to_disk(entities_only)
    empty_only = tmp_path / "empty.spacy"
    DocBin(docs=[blank.make_doc("")] * 2).to_disk(empty_only)
    per_doc = tmp_path / "docs.jsonl"
    # Docs without cats: nothing for textcat; only empty docs: nothing for ner.
    with pytest.warns(UserWarning) as caught:
        scores = evaluate(
            tiny_pipeline, {"textcat": entities_only, "ner": empty_only}, per_doc=per_doc
        )
    messages = [str(w.message) for w in caught]
    assert any("[W048] textcat: nothing to score" in m for m in messages), messages
    assert any("[W048] ner: nothing to score" in m for m in messages), messages
    # No 0.0 that reads like a score: the docs are counted, nothing else.
    assert scores == {"textcat": {"n_docs": 2}, "ner": {"n_docs": 0}}
    assert per_doc.read_text() == ""
    per_doc.write_text("kept")
    with pytest.raises(ValueError, match=r"\[E173\] textcat: nothing to score"):
        evaluate(tiny_pipeline, {"textcat": entities_only}, per_doc=per_doc, strict=True)
    assert per_doc.read_text() == "kept"


def test_per_doc_records_keep_the_docbin_indices_past_empty_docs(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    blank = spacy.blank("en")
    docs = list(DocBin().from_disk(paths["textcat"]).get_docs(blank.vocab))
    with_empty = [blank.make_doc(""), docs[0], blank.make_doc(""), *docs[1:]]
    DocBin(docs=with_empty).to_disk(tmp_path / "with_empty.spacy")
    plain, gapped = tmp_path / "plain.jsonl", tmp_path / "gapped.jsonl"
    scores = evaluate(tiny_pipeline, {"textcat": paths["textcat"]}, per_doc=plain)
    with pytest.warns(UserWarning, match=r"\[W049\] textcat: 2 empty docs .* first at index 0"):
        gapped_scores = evaluate(
            tiny_pipeline, {"textcat": tmp_path / "with_empty.spacy"}, per_doc=gapped
        )
    assert gapped_scores == scores
    records = [json.loads(line) for line in gapped.read_text().splitlines()]
    assert [r["doc"] for r in records] == [1, 3, 4, 5, 6]
    for record in records:  # each record names the doc it is about
        assert with_empty[record["doc"]].cats[record["gold"]] == 1.0
    expected = [json.loads(line) for line in plain.read_text().splitlines()]
    assert [dict(r, doc=None) for r in records] == [dict(r, doc=None) for r in expected]


def test_a_test_set_that_is_not_a_docbin_and_a_pipeline_without_meta_are_named(
    tiny_pipeline, tmp_path
):
    from spacy_mtl.evaluation import write_meta

    text = tmp_path / "test.spacy"
    text.write_text("not a DocBin")
    with pytest.raises(ValueError, match=rf"\[E174\] {re.escape(str(text))} is not a .spacy file"):
        evaluate(tiny_pipeline, {"textcat": text})
    with pytest.raises(ValueError, match=r"\[E175\] .*meta.json not found"):
        write_meta(tmp_path, {"ner": {"ents_f": 0.5}}, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()
