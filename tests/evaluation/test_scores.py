"""Per-doc test records: what each doc contributes to its task's score, as spaCy's scorers count it."""

import json

import numpy
import pytest
import spacy

from spacy_mtl.evaluation import evaluate
from spacy_mtl.evaluation.bootstrap import ner_f, textcat_macro_f

from helpers import write_task_corpora


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
