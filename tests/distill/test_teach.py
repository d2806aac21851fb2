"""`spacy mtl teach`, per-doc test records and the paired bootstrap."""

import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin, Span

from spacy_mtl.distill import teach_docs, teacher_cats, teacher_ents

from helpers import write_task_corpora

SPACY = Path(sys.executable).parent / "spacy"


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
    assert (
        "Saved 5 docs with teacher targets" in one_line(result.stdout)
        and "5 / 5 docs" in result.stdout
    )
    assert first.read_bytes() == second.read_bytes()
    assert not list(tmp_path.glob("*.partial"))
    nlp = spacy.load(tiny_pipeline)
    gold = list(DocBin().from_disk(paths["textcat"]).get_docs(nlp.vocab))
    taught = list(DocBin().from_disk(first).get_docs(nlp.vocab))
    expected = list(nlp.pipe(doc.text for doc in gold))
    for before, after, predicted in zip(gold, taught, expected):
        assert after.cats == before.cats  # gold untouched
        assert [(e.start, e.end, e.label_) for e in after.ents] == [
            (e.start, e.end, e.label_) for e in before.ents
        ]
        assert teacher_cats(after) == pytest.approx(predicted.cats)
        assert [(e.start, e.end, e.label_) for e in teacher_ents(after)] == [
            (e.start, e.end, e.label_) for e in predicted.ents
        ]


def test_teach_refuses_teachers_that_cannot_teach_or_overlap(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    result = teach(str(paths["ner"]), str(tmp_path / "out.spacy"), "--teacher", str(blank))
    assert result.returncode == 1 and "[E252] teacher 1" in one_line(result.stdout)
    result = teach(
        str(paths["ner"]),
        str(tmp_path / "out.spacy"),
        "--teacher",
        tiny_pipeline,
        "--teacher",
        tiny_pipeline,
    )
    assert result.returncode == 1 and "[E253] label" in one_line(result.stdout)
    (tmp_path / "bad.spacy").write_bytes(b"not a docbin")
    result = teach(
        str(tmp_path / "bad.spacy"), str(tmp_path / "out.spacy"), "--teacher", tiny_pipeline
    )
    assert result.returncode == 1 and "[E278]" in one_line(result.stdout)
    assert "bad.spacy is not a readable .spacy file" in one_line(result.stdout)
    assert not (tmp_path / "out.spacy").exists()


def test_two_ner_teachers_are_refused(tiny_pipeline):
    nlp = spacy.load(tiny_pipeline)
    only_ner = spacy.load(tiny_pipeline, exclude=["textcat"])
    with pytest.raises(ValueError, match=r"\[E254\] more than one NER teacher"):
        list(
            teach_docs(
                [only_ner, spacy.load(tiny_pipeline, exclude=["textcat"])], [nlp.make_doc("hi")]
            )
        )


def test_teach_refuses_to_write_over_its_corpus_or_a_teacher(tiny_pipeline, tmp_path):
    # With OUTPUT the corpus itself, teach overwrote it without a word (issue 28).
    paths = write_task_corpora(tmp_path)
    corpus = paths["textcat"]
    before = corpus.read_bytes()
    (tmp_path / "link.spacy").symlink_to(corpus)
    for output in (corpus, tmp_path / "link.spacy", Path(tiny_pipeline) / "taught.spacy"):
        result = teach(str(corpus), str(output), "--teacher", tiny_pipeline)
        assert result.returncode == 1, result.stdout
        assert "[E270]" in one_line(result.stdout) and "Traceback" not in result.stderr
    assert corpus.read_bytes() == before
    assert not (Path(tiny_pipeline) / "taught.spacy").exists()


def test_teacher_targets_out_of_range_have_codes(tiny_pipeline):
    from spacy_mtl.distill import set_teacher_cats, set_teacher_ents

    nlp = spacy.load(tiny_pipeline)
    doc = nlp.make_doc("two words")
    with pytest.raises(ValueError, match=r"\[E250\]"):
        set_teacher_cats(doc, {"positive": 1.5})
    other = nlp.make_doc("three words here")
    with pytest.raises(ValueError, match=r"\[E251\]"):
        set_teacher_ents(doc, [Span(other, 2, 3, label="x")])
