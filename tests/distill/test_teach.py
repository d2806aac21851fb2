"""`spacy mtl teach`, per-doc test records and the paired bootstrap."""
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import DocBin

from helpers import mixed_examples
from spacy_mtl.bootstrap import ner_f, paired_bootstrap, textcat_macro_f
from spacy_mtl.cli.evaluate import evaluate
from spacy_mtl.teacher import teach_docs, teacher_cats, teacher_ents

SPACY = Path(sys.executable).parent / "spacy"


def write_task_corpora(directory: Path) -> dict:
    """The tiny sentiment and entity docs of tests/helpers.py, one .spacy file per task."""
    references = [eg.reference for eg in mixed_examples(spacy.blank("en"))]
    paths = {"textcat": directory / "textcat.spacy", "ner": directory / "ner.spacy"}
    DocBin(docs=[d for d in references if d.cats]).to_disk(paths["textcat"])
    DocBin(docs=[d for d in references if d.has_annotation("ENT_IOB")]).to_disk(paths["ner"])
    return paths


def teach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SPACY), "mtl", "teach", *args], capture_output=True, text=True)


def one_line(text: str) -> str:
    """wasabi wraps long messages; compare their words."""
    return " ".join(text.split())


def test_teach_adds_teacher_targets_keeps_gold_and_is_byte_identical(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    first, second = tmp_path / "taught.spacy", tmp_path / "again.spacy"
    for output in (first, second):
        result = teach(str(paths["textcat"]), str(output), "--teacher", tiny_pipeline)
        assert result.returncode == 0, result.stdout + result.stderr
    assert "Saved 5 docs with teacher targets" in one_line(result.stdout) and "5 / 5 docs" in result.stdout
    assert first.read_bytes() == second.read_bytes()
    assert not list(tmp_path.glob("*.partial"))
    nlp = spacy.load(tiny_pipeline)
    gold = list(DocBin().from_disk(paths["textcat"]).get_docs(nlp.vocab))
    taught = list(DocBin().from_disk(first).get_docs(nlp.vocab))
    expected = list(nlp.pipe(doc.text for doc in gold))
    for before, after, predicted in zip(gold, taught, expected):
        assert after.cats == before.cats  # gold untouched
        assert [(e.start, e.end, e.label_) for e in after.ents] == [(e.start, e.end, e.label_) for e in before.ents]
        assert teacher_cats(after) == pytest.approx(predicted.cats)
        assert [(e.start, e.end, e.label_) for e in teacher_ents(after)] == [
            (e.start, e.end, e.label_) for e in predicted.ents]


def test_teach_refuses_teachers_that_cannot_teach_or_overlap(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    result = teach(str(paths["ner"]), str(tmp_path / "out.spacy"), "--teacher", str(blank))
    assert result.returncode == 1 and "has no textcat or NER component" in one_line(result.stdout)
    result = teach(str(paths["ner"]), str(tmp_path / "out.spacy"), "--teacher", tiny_pipeline, "--teacher", tiny_pipeline)
    assert result.returncode == 1 and "is taught twice" in one_line(result.stdout)
    (tmp_path / "bad.spacy").write_bytes(b"not a docbin")
    result = teach(str(tmp_path / "bad.spacy"), str(tmp_path / "out.spacy"), "--teacher", tiny_pipeline)
    assert result.returncode == 1 and "bad.spacy is not a readable .spacy file" in one_line(result.stdout)
    assert not (tmp_path / "out.spacy").exists()


def test_two_ner_teachers_are_refused(tiny_pipeline):
    nlp = spacy.load(tiny_pipeline)
    only_ner = spacy.load(tiny_pipeline, exclude=["textcat"])
    with pytest.raises(ValueError, match="more than one NER teacher"):
        list(teach_docs([only_ner, spacy.load(tiny_pipeline, exclude=["textcat"])], [nlp.make_doc("hi")]))


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
    assert textcat_macro_f(gold, pred, len(labels), everything)[0] == pytest.approx(scores["textcat"]["cats_macro_f"])
    counts = numpy.asarray([[r["tp"], r["fp"], r["fn"]] for r in ents], dtype=float)
    assert (counts[:, 0] + counts[:, 2]).sum() == 6  # tp + fn: the gold entities of the four entity docs
    assert ner_f(counts, numpy.arange(len(ents))[None, :])[0] == pytest.approx(scores["ner"].get("ents_f", 0.0))


def test_bootstrap_of_a_setup_against_itself_is_zero_and_against_a_better_one_is_above():
    cats = [{"task": "textcat", "doc": i, "gold": "a" if i % 2 else "b", "pred": "a"} for i in range(50)]
    same = paired_bootstrap("textcat", [cats], [cats], n_resamples=200)
    assert same.delta == same.low == same.high == 0.0 and same.n_docs == 50
    perfect = [dict(r, pred=r["gold"]) for r in cats]
    better = paired_bootstrap("textcat", [perfect], [cats], n_resamples=200)
    # macro-F1: perfect 1.0; all "a": F1(a) = 2/3, F1(b) = 0, mean 1/3.
    assert better.delta == pytest.approx(1 - 1 / 3)
    assert 0 < better.low <= better.delta <= better.high
    # Seeds are pooled: two runs, one perfect and one not, average to half the gain.
    pooled = paired_bootstrap("textcat", [perfect, cats], [cats], n_resamples=200)
    assert pooled.delta == pytest.approx((1 - 1 / 3) / 2)
    with pytest.raises(ValueError, match="same test docs"):
        paired_bootstrap("textcat", [cats[:10]], [cats])
