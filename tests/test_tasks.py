"""Kinds of task in one table (`spacy_mtl.tasks`): the registry, and a user's third task,
a part-of-speech tagger registered outside the package (tests/tagger_task.py), followed
from its CoNLL column to bootstrap intervals: convert -> spacy train with three corpora
-> spacy mtl evaluate -> per-doc records -> paired bootstrap."""

import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import spacy
import tagger_task  # noqa: F401  (registers the kind "tagger" and the factory user_tagger_head)
from spacy.tokens import Doc, DocBin
from thinc.api import Config
from wasabi import Printer

import spacy_mtl
from spacy_mtl.corpus import MultiTaskCorpus, convert_files, read_cats_file, read_iob
from spacy_mtl.evaluation.bootstrap import paired_bootstrap
from spacy_mtl.tasks import get_task, key_tasks, kind_of, task_kinds

from helpers import CONFIGS, REPO

CODE = REPO / "tests" / "tagger_task.py"
QUIET = Printer(no_print=True)

# token, part of speech, entity: a CoNLL-2003-like file whose second column is the
# tagger's gold and whose last is the entity recogniser's.
SENTENCES = [
    [("Obama", "NNP", "B-person"), ("met", "VBD", "O"), ("Coldplay", "NNP", "B-musicartist")],
    [("the", "DT", "O"), ("band", "NN", "O"), ("played", "VBD", "O"), ("in", "IN", "O"),
     ("Paris", "NNP", "B-geo-loc")],
    [("a", "DT", "O"), ("new", "JJ", "O"), ("iPhone", "NN", "B-product")],
    [("Apple", "NNP", "B-company"), ("sells", "VBZ", "O"), ("phones", "NNS", "O")],
]  # fmt: skip
TEXTS = [
    ("what a lovely day", "positive"),
    ("worst service ever", "negative"),
    ("the meeting is at noon", "neutral"),
    ("I love this band", "positive"),
    ("never again", "negative"),
    ("the train leaves at six", "neutral"),
]


def write_conll(path: Path, sentences) -> Path:
    path.write_text(
        "\n\n".join("\n".join(" ".join(row) for row in s) for s in sentences) + "\n",
        encoding="utf-8",
    )
    return path


def write_csv(path: Path, rows) -> Path:
    path.write_text("text,label\n" + "".join(f"{t},{label}\n" for t, label in rows))
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spacy", *args], cwd=cwd, capture_output=True, text=True
    )


# --- the registry -----------------------------------------------------------------------


def test_the_package_kinds_and_a_users_are_in_one_table():
    kinds = task_kinds()
    assert {"textcat", "textcat_multilabel", "ner", "tagger"} <= set(kinds)
    assert kinds["tagger"].annotation == "tags" and kinds["tagger"].scores == ("tag_acc",)
    assert get_task("tagger") is kinds["tagger"]
    assert key_tasks("ner+tagger/conll") == ["ner", "tagger"]
    assert kind_of("textcat/sentiment") is get_task("textcat")
    assert spacy_mtl.register_task is spacy_mtl.tasks.register_task


def test_the_package_kinds_are_entry_points_as_a_users_package_would_add_its_own():
    points = spacy_mtl.tasks.mtl_tasks.get_entry_points()
    assert {name: cls for name, cls in points.items() if name in ("textcat", "ner")} == {
        "textcat": type(get_task("textcat")),
        "ner": type(get_task("ner")),
    }


@pytest.mark.parametrize(
    "name, cls, code",
    [
        ("ner/wnut", spacy_mtl.TaskKind, "E150"),
        ("a+b", spacy_mtl.TaskKind, "E150"),
        ("tagger:x", spacy_mtl.TaskKind, "E150"),
        ("not_a_kind", object, "E151"),
        ("no_annotation", spacy_mtl.TaskKind, "E152"),
        ("no_missing_mark", spacy_mtl.TaskKind, "E157"),
    ],
)
def test_register_task_refuses_what_the_table_cannot_hold(name, cls, code):
    attributes = {"annotation": "x"} if code == "E157" else {}
    with pytest.raises(ValueError, match=rf"\[{code}\]"):
        spacy_mtl.register_task(name)(type("Kind", (cls,), attributes))
    assert name not in task_kinds()


def test_an_unknown_kind_is_refused_with_the_registered_ones():
    with pytest.raises(ValueError, match=r"\[E153\].*'parser'.*ner.*tagger") as err:
        get_task("parser")
    assert "register_task" in str(err.value)
    with pytest.raises(ValueError, match=r"\[E156\]"):
        kind_of("ner+tagger")
    with pytest.raises(ValueError, match=r"\[E155\]"):
        key_tasks("ner+/x")


def test_a_kind_that_cannot_read_files_is_refused_before_anything_is_read(tmp_path):
    @spacy_mtl.register_task("test_gold_only")
    class GoldOnly(spacy_mtl.TaskKind):
        annotation = "test_gold_only"

        def has_gold(self, doc):
            return False

        def mark_missing(self, doc):
            pass

    path = write_conll(tmp_path / "train.conll", SENTENCES)
    with pytest.raises(
        ValueError, match=r"\[E154\].*'test_gold_only' cannot convert files.*read_file, make_docs"
    ):
        convert_files(tmp_path / "out", tasks={"test_gold_only": {"train": path}}, printer=QUIET)
    assert not (tmp_path / "out").exists()


# --- the data layer with a third kind -------------------------------------------------


def old_ner_docs(nlp, path: Path) -> List[Doc]:
    """spacy_mtl.corpus.convert as it was before the table (commit ee8fa02): entity docs."""
    return [
        Doc(
            nlp.vocab,
            words=list(e.words),
            spaces=[True] * (len(e.words) - 1) + [False],
            ents=list(e.tags),
        )
        for e in read_iob(path).examples
    ]


def old_cats_docs(nlp, path: Path) -> List[Doc]:
    """The same for category docs: cats with every label of the file, entities missing."""
    examples = read_cats_file(path).examples
    labels = sorted({label for e in examples for label, _ in e.cats})
    docs = []
    for doc, e in zip(nlp.tokenizer.pipe(e.text for e in examples), examples):
        doc.cats = dict(e.with_labels(labels).cats)
        doc.set_ents([], default="missing")
        docs.append(doc)
    return docs


def test_ner_and_textcat_files_are_the_bytes_they_were(tmp_path):
    """A registered third kind changes nothing in the other tasks' files."""
    conll = write_conll(tmp_path / "train.conll", SENTENCES)
    csv = write_csv(tmp_path / "train.csv", TEXTS)
    written = convert_files(
        tmp_path / "out", ner={"train": conll}, cats={"train": csv}, printer=QUIET
    )
    nlp = spacy.blank("en")
    expected = {
        "ner": DocBin(docs=old_ner_docs(nlp, conll), store_user_data=False).to_bytes(),
        "textcat": DocBin(docs=old_cats_docs(nlp, csv), store_user_data=False).to_bytes(),
    }
    assert {task: paths["train"].read_bytes() for task, paths in written.items()} == expected


def test_the_reader_marks_every_other_kind_missing(tmp_path):
    conll = write_conll(tmp_path / "train.conll", SENTENCES)
    convert_files(
        tmp_path / "corpus",
        ner={"train": conll},
        cats={"train": write_csv(tmp_path / "train.csv", TEXTS)},
        tasks={"tagger": {"train": conll}},
        columns={"tagger": 2},
        printer=QUIET,
    )
    # Every corpus carries every annotation, so the missing marks can only come from the reader.
    both = DocBin()
    for doc in (
        DocBin()
        .from_disk(tmp_path / "corpus" / "ner" / "train.spacy")
        .get_docs(spacy.blank("en").vocab)
    ):
        doc.cats = {"positive": 1.0}
        for token, (_, pos, _) in zip(doc, SENTENCES[len(both)]):
            token.tag_ = pos
        both.add(doc)
    both.to_disk(tmp_path / "all.spacy")
    paths = {
        key: str(tmp_path / "all.spacy") for key in ("textcat", "ner", "tagger", "ner+tagger/both")
    }
    examples = {
        key: list(MultiTaskCorpus({key: path}, sampling="none")(spacy.blank("en")))
        for key, path in paths.items()
    }
    for key, egs in examples.items():
        assert len(egs) == len(SENTENCES)
        for eg in egs:
            ref = eg.reference
            assert bool(ref.cats) == (key == "textcat"), key
            assert ref.has_annotation("ENT_IOB") == key.startswith("ner"), key
            assert ref.has_annotation("TAG") == ("tagger" in key), key
    # A tagger corpus without tags is the wrong file under the wrong key.
    with pytest.raises(
        ValueError, match=r"\[E149\].*labels tagger, but none of its 6 docs has tags"
    ):
        list(
            MultiTaskCorpus(
                {"tagger": str(tmp_path / "corpus" / "textcat" / "train.spacy")}, sampling="none"
            )(spacy.blank("en"))
        )


# --- end to end -------------------------------------------------------------------------


def three_task_config(directory: Path, encoder: str) -> Path:
    """configs/mtl.cfg with the user's tagger head and a tagger corpus beside textcat and ner."""
    config = Config().from_disk(CONFIGS / "mtl.cfg", interpolate=False)
    config["nlp"]["pipeline"] = ["transformer", "textcat", "tagger", "ner"]
    config["components"]["tagger"] = {"factory": "user_tagger_head"}
    config["components"]["transformer"]["model"]["name"] = encoder
    for split in ("train", "dev"):
        config["paths"].update(
            {
                f"{task}_{split}": f"corpus/{task}/{split}.spacy"
                for task in ("textcat", "ner", "tagger")
            }
        )
        config["corpora"][split]["paths"]["tagger"] = f"${{paths.tagger_{split}}}"
    config["training"]["score_weights"].update({"cats_score": 0.3, "ents_f": 0.3, "tag_acc": 0.4})
    path = directory / "three.cfg"
    config.to_disk(path)
    return path


def test_a_users_tagger_end_to_end(tmp_path, tiny_encoder):
    splits = {"train": SENTENCES, "dev": SENTENCES[:2], "test": SENTENCES[1:]}
    text_splits = {"train": TEXTS, "dev": TEXTS[:3], "test": TEXTS[3:]}
    convert = ["mtl", "convert", "corpus", "--code", str(CODE), "--column", "tagger=2"]
    for split, sentences in splits.items():
        conll = write_conll(tmp_path / f"{split}.conll", sentences)
        csv = write_csv(tmp_path / f"{split}.csv", text_splits[split])
        convert += [f"--ner-{split}", conll.name, f"--cats-{split}", csv.name]
        convert += ["--task", f"tagger:{split}={conll.name}"]

    # 1. convert: the tags from the CoNLL column the option names, the entities from the last.
    result = run(*convert, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    vocab = spacy.blank("en").vocab
    tagged = list(DocBin().from_disk(tmp_path / "corpus/tagger/train.spacy").get_docs(vocab))
    assert [[t.tag_ for t in doc] for doc in tagged] == [
        [pos for _, pos, _ in s] for s in SENTENCES
    ]
    assert all(not doc.has_annotation("ENT_IOB") and doc.cats == {} for doc in tagged)
    entities = list(DocBin().from_disk(tmp_path / "corpus/ner/train.spacy").get_docs(vocab))
    assert [e.label_ for e in entities[0].ents] == ["person", "musicartist"]
    assert "tags NNP" in result.stdout  # the summary counts the tagger's labels

    # 2. spacy train: three heads from three corpora, the tagger's kind and head from --code.
    config = three_task_config(tmp_path, tiny_encoder)
    result = run(
        "train", str(config), "--output", "out", "--code", str(CODE),
        "--training.max_steps", "4", "--training.eval_frequency", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    trained = {
        json.loads(line)["task"]
        for line in (tmp_path / "out/weights.jsonl").read_text().splitlines()
    }
    assert trained == {"textcat", "tagger", "ner"}

    # 3. spacy mtl evaluate: all three scored on their own test sets.
    result = run(
        "mtl", "evaluate", "out/model-last", "--code", str(CODE),
        "--textcat", "corpus/textcat/test.spacy", "--ner", "corpus/ner/test.spacy",
        "--task", "tagger=corpus/tagger/test.spacy",
        "--output", "scores.json", "--per-doc", "docs.jsonl",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert list(scores) == ["textcat", "ner", "tagger"]
    assert set(scores["tagger"]) == {"tag_acc", "n_docs"} and scores["tagger"]["n_docs"] == 3
    assert "cats_macro_f" in scores["textcat"] and "ents_f" in scores["ner"]

    # 4. per-doc records: the tagger's counts give back spaCy's tag_acc.
    records = [json.loads(line) for line in (tmp_path / "docs.jsonl").read_text().splitlines()]
    tags = [r for r in records if r["task"] == "tagger"]
    assert [r["doc"] for r in tags] == [0, 1, 2]
    assert sum(r["total"] for r in tags) == sum(len(s) for s in SENTENCES[1:])
    kind = get_task("tagger")
    summed = kind.counts(tags).sum(axis=0, keepdims=True)
    assert kind.score(summed)[0] == pytest.approx(scores["tagger"]["tag_acc"])
    assert 0 < sum(r["correct"] for r in tags) < sum(r["total"] for r in tags)

    # 5. bootstrap over them: a run against itself differs by nothing; against a perfect
    # tagger, by exactly the accuracy it misses.
    same = paired_bootstrap("tagger", [records], [records], n_resamples=200)
    assert (same.delta, same.low, same.high, same.n_docs) == (0.0, 0.0, 0.0, 3)
    perfect = [dict(r, correct=r["total"]) for r in tags]
    gap = paired_bootstrap("tagger", [records], [perfect], n_resamples=200)
    assert gap.delta == pytest.approx(scores["tagger"]["tag_acc"] - 1.0)
    assert gap.low <= gap.delta <= gap.high < 0
    for task in ("textcat", "ner"):
        assert paired_bootstrap(task, [records], [records], n_resamples=50).n_docs == 3
