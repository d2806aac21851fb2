"""The user-data converter: files kept as given, dedup and split when asked, readers and their errors."""

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Dict, List

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from wasabi import Printer

from spacy_mtl.corpus import CorpusError, convert_files, convert_reads, read_cats_file, read_iob
from spacy_mtl.corpus.split import deduplicate, normalise_text

QUIET = Printer(no_print=True)


def read_docs(path: Path) -> List[Doc]:
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def iob(*sentences: str) -> str:
    """Sentences as "token/TAG token/TAG ..." -> token<TAB>tag lines, a blank line between."""
    return (
        "\n\n".join("\n".join(item.replace("/", "\t", 1) for item in s.split()) for s in sentences)
        + "\n"
    )


def convert(out: Path, **kwargs) -> Dict[str, Dict[str, Path]]:
    return convert_files(out, printer=QUIET, **kwargs)


# --- kept as given -------------------------------------------------------------------


def test_pre_split_files_are_kept_as_given(tmp_path):
    files = {
        "train": write(
            tmp_path,
            "train.iob",
            iob("Peter/B-PER Blackburn/I-PER left/O", "hi/O", "hi/O", "Paris/B-LOC"),
        ),
        "dev": write(tmp_path, "dev.iob", iob("hi/O", "EU/B-ORG rejects/O")),
        "test": write(tmp_path, "test.iob", iob("Paris/B-LOC again/O")),
    }
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        written = convert_files(tmp_path / "out", ner=files, printer=Printer(pretty=False))
    assert "2 examples have their text in a later split too" in printed.getvalue()
    assert set(written) == {"ner"}, "no cats files given: no textcat files written"
    assert not (tmp_path / "out" / "textcat").exists()
    texts = {name: [d.text for d in read_docs(path)] for name, path in written["ner"].items()}
    # Every sentence, in file order, duplicates and the train/dev overlap included.
    assert texts == {
        "train": ["Peter Blackburn left", "hi", "hi", "Paris"],
        "dev": ["hi", "EU rejects"],
        "test": ["Paris again"],
    }
    docs = read_docs(written["ner"]["train"])
    assert [(e.text, e.label_) for e in docs[0].ents] == [("Peter Blackburn", "PER")], (
        "labels keep their case"
    )
    for doc in docs:
        assert doc.cats == {}
        assert all(token.ent_iob != 0 for token in doc), "entity docs are fully annotated"


def test_lowercase_labels_when_asked(tmp_path):
    ner = write(tmp_path, "train.iob", iob("Peter/B-PER went/O"))
    cats = write(tmp_path, "train.csv", "text,label\nnice,Pos\nawful,NEG\n")
    written = convert(
        tmp_path / "out", ner={"train": ner}, cats={"train": cats}, lowercase_labels=True
    )
    assert [e.label_ for e in read_docs(written["ner"]["train"])[0].ents] == ["per"]
    cats = [d.cats for d in read_docs(written["textcat"]["train"])]
    assert cats == [{"neg": 0.0, "pos": 1.0}, {"neg": 1.0, "pos": 0.0}]


def test_category_docs_have_every_label_and_entities_missing(tmp_path):
    files = {
        "train": write(tmp_path, "train.csv", "text,label\nnice one,Pos\nawful,Neg\nmeh,Neu\n"),
        "dev": write(tmp_path, "dev.jsonl", '{"text": "great", "label": "Pos"}\n'),
    }
    written = convert(tmp_path / "out", cats=files)
    dev = read_docs(written["textcat"]["dev"])
    # dev names one label only; its docs still get a value for all three, one-hot.
    assert [d.cats for d in dev] == [{"Neg": 0.0, "Neu": 0.0, "Pos": 1.0}]
    for doc in read_docs(written["textcat"]["train"]) + dev:
        assert sorted(doc.cats.values()) == [0.0, 0.0, 1.0]
        assert all(token.ent_iob == 0 for token in doc), "entities missing, not 'no entities'"
    assert not (tmp_path / "out" / "ner").exists()


def test_progress_names_each_file_and_split_with_counts(tmp_path, capsys):
    ner = write(tmp_path, "train.iob", iob("a/O", "b/O", "c/O"))
    cats = write(tmp_path, "dev.csv", "text,label\nx,A\n  ,A\n")
    convert_files(
        tmp_path / "out", ner={"train": ner}, cats={"dev": cats}, printer=Printer(pretty=False)
    )
    printed = capsys.readouterr().out
    assert f"ner train: 3 examples in {ner}" in printed
    assert f"textcat dev: 1 examples in {cats}; skipped 1 (empty text)" in printed
    assert f"ner train: 3 docs -> {tmp_path / 'out' / 'ner' / 'train.spacy'}" in printed
    assert f"textcat dev: 1 docs -> {tmp_path / 'out' / 'textcat' / 'dev.spacy'}" in printed


# --- dedup and split, when asked --------------------------------------------------------

CONLL = """-DOCSTART- -X- O O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

peter NNP B-NP B-PER
  blackburn NNP I-NP I-PER

Peter NNP B-NP O
Blackburn NNP I-NP O

PETER NNP B-NP B-PER
BLACKBURN NNP I-NP I-PER
"""


def test_conll2003_columns_dedup_and_majority(tmp_path):
    path = write(tmp_path, "user.conll", CONLL + "\nA X X O\n\nB X X O\n\nC X X O\n")
    read = read_iob(path)
    assert [e.where for e in read.examples[:2]] == [f"{path}:3", f"{path}:8"]
    assert read.examples[0].tags == ("B-ORG", "O", "B-MISC", "O")
    assert read.skipped == {"-DOCSTART- line": 1}
    assert read.notes == ["4 columns a line: token from the first, tag from the last, 2 ignored"]
    unique = deduplicate(read.examples)
    assert unique.dropped == 3 and unique.conflicting == 1
    peter = [e for e in unique.examples if normalise_text(e.text) == "peter blackburn"]
    assert [e.tags for e in peter] == [("B-PER", "I-PER")]  # 3 votes to 1

    written = convert(tmp_path / "out", ner={"train": path}, dedup=True, split=(0.6, 0.2, 0.2))
    docs = [d for p in written["ner"].values() for d in read_docs(p)]
    assert [len(read_docs(p)) for p in written["ner"].values()] == [3, 1, 1]
    ents = {(e.text, e.label_) for d in docs for e in d.ents}
    assert ents == {("EU", "ORG"), ("German", "MISC"), ("Peter Blackburn", "PER")}


def test_dedup_without_split_keeps_the_splits_and_removes_overlap(tmp_path):
    files = {
        "train": write(
            tmp_path, "train.csv", "text,label\na b,x\nA  B,x\nkept,y\nin dev,y\nin test,x\n"
        ),
        "dev": write(tmp_path, "dev.csv", "text,label\nin dev,y\nIn Test,x\n"),
        "test": write(tmp_path, "test.csv", "text,label\nin test,x\nin test,x\n"),
    }
    written = convert(tmp_path / "out", cats=files, dedup=True)
    texts = {name: [d.text for d in read_docs(path)] for name, path in written["textcat"].items()}
    # Within files one copy; a text of a later split leaves the earlier ones (test wins).
    assert texts == {"train": ["a b", "kept"], "dev": ["in dev"], "test": ["in test"]}


def test_split_pools_the_files_and_is_seeded(tmp_path):
    rows = [f"text {i},{'pos' if i % 3 else 'neg'}\n" for i in range(40)]
    files = {
        "train": write(tmp_path, "a.csv", "text,label\n" + "".join(rows[:20])),
        "test": write(tmp_path, "b.csv", "text,label\n" + "".join(rows[20:])),
    }
    one = convert(tmp_path / "one", cats=files, split=(0.8, 0.1, 0.1))["textcat"]
    again = convert(tmp_path / "again", cats=files, split=(0.8, 0.1, 0.1))["textcat"]
    other = convert(tmp_path / "other", cats=files, split=(0.8, 0.1, 0.1), seed=1)["textcat"]
    assert [len(read_docs(one[name])) for name in ("train", "dev", "test")] == [32, 4, 4]
    assert sorted(d.text for p in one.values() for d in read_docs(p)) == sorted(
        f"text {i}" for i in range(40)
    )
    for name in one:
        assert one[name].read_bytes() == again[name].read_bytes()
    assert one["train"].read_bytes() != other["train"].read_bytes()
    # A zero fraction writes no file for that split (a user keeping their own test set).
    no_test = convert(tmp_path / "no_test", cats={"train": files["train"]}, split=(0.9, 0.1, 0.0))[
        "textcat"
    ]
    assert (
        sorted(no_test) == ["dev", "train"]
        and not (tmp_path / "no_test" / "textcat" / "test.spacy").exists()
    )


# --- entity files: columns and errors -----------------------------------------------------


@pytest.mark.parametrize(
    "body, line, code, fragment",
    [
        # A multi-word token in a space-separated file: "York" must not vanish.
        (
            "I O\nlove O\nNew York B-geo-loc\n",
            3,
            "E103",
            "3 columns ['New', 'York', 'B-geo-loc'], but line 1 has 2",
        ),
        ("I\tO\nNew York\tB-LOC\n", 2, "E104", "token 'New York' contains a space"),
        ("a\tO\nb\tI-PER\n", 2, "E105", "'I-PER' after 'O'"),
        ("a\tO\n\nb\tI-PER\n", 3, "E105", "after the sentence start"),
        ("a\tB-LOC\nb\tI-PER\n", 2, "E105", "'I-PER' after 'B-LOC'"),
        ("a\tO\nb\tX-PER\n", 2, "E101", "invalid tag 'X-PER'"),
        ("a\tO\nb\tB-\n", 2, "E101", "invalid tag 'B-'"),
        ("a\tO\n\n\nlonely\n", 4, "E102", "expected 'token<TAB>tag'"),
    ],
)
def test_malformed_conll_names_file_and_line(tmp_path, body, line, code, fragment):
    path = write(tmp_path, "bad.iob", body)
    with pytest.raises(CorpusError, match=rf"\[{code}\]") as err:
        convert(tmp_path / "out", ner={"train": path})
    assert f"{path}:{line}:" in str(err.value)
    assert fragment in str(err.value)
    assert not (tmp_path / "out").exists()


# --- category files -------------------------------------------------------------------------


def test_user_csv_skips_empty_and_unlabelled_rows_with_a_count(tmp_path):
    rows = ["text,label", '"a good one",Pos', "   ,neg", "no label here,", '"two\nlines",neg']
    rows += [f"text number {i},{'pos' if i % 2 else 'neg'}" for i in range(10)]
    read = read_cats_file(write(tmp_path, "cats.csv", "\n".join(rows) + "\n"))
    assert read.skipped == {"empty text": 1, "no label": 1}
    assert len(read.examples) == 12
    assert {e.cats for e in read.examples} == {(("Pos", 1.0),), (("neg", 1.0),), (("pos", 1.0),)}
    assert "two lines" in {e.text for e in read.examples}


def test_user_jsonl_multilabel(tmp_path):
    lines = [
        '{"text": "sports and politics", "labels": ["Sports", "politics"]}',
        '{"text": "nothing at all", "labels": []}',
        '{"text": "only weather", "cats": {"weather": 1, "Sports": 0}}',
        "",
        '{"text": "some politics", "label": "politics"}',
    ]
    path = write(tmp_path, "cats.jsonl", "\n".join(lines) + "\n")
    written = convert(tmp_path / "out", cats={"train": path}, multilabel=True)
    cats = {d.text: d.cats for d in read_docs(written["textcat"]["train"])}
    assert cats == {
        "sports and politics": {"Sports": 1.0, "politics": 1.0, "weather": 0.0},
        "nothing at all": {"Sports": 0.0, "politics": 0.0, "weather": 0.0},
        "only weather": {"Sports": 0.0, "politics": 0.0, "weather": 1.0},
        "some politics": {"Sports": 0.0, "politics": 1.0, "weather": 0.0},
    }
    # Single-label mode refuses the row with two labels.
    with pytest.raises(
        CorpusError, match=rf"\[E108\] {re.escape(str(path))}:1: 2 labels .*multilabel"
    ):
        read_cats_file(path)


def test_the_multilabel_kind_reads_its_files_as_multilabel(tmp_path):
    path = write(
        tmp_path,
        "topics.jsonl",
        '{"text": "a", "labels": ["x", "y"]}\n{"text": "b", "labels": []}\n',
    )
    written = convert(tmp_path / "out", tasks={"textcat_multilabel": {"train": path}})
    assert sorted(written) == ["textcat_multilabel"]
    docs = read_docs(tmp_path / "out" / "textcat_multilabel" / "train.spacy")
    assert [d.cats for d in docs] == [{"x": 1.0, "y": 1.0}, {"x": 0.0, "y": 0.0}]
    assert all(not d.has_annotation("ENT_IOB") for d in docs)


def test_wide_multilabel_csv(tmp_path):
    path = write(tmp_path, "wide.csv", "text,toxic,insult\nyou are bad,1,true\nhello,0,false\n")
    assert [dict(e.cats) for e in read_cats_file(path, multilabel=True).examples] == [
        {"insult": 1.0, "toxic": 1.0},
        {"insult": 0.0, "toxic": 0.0},
    ]
    with pytest.raises(CorpusError, match=rf"\[E110\] {re.escape(str(path))}:1: no 'label' column"):
        read_cats_file(path)


@pytest.mark.parametrize(
    "name, body, line, code, fragment",
    [
        (
            "a.csv",
            'text,label\n"spans\ntwo lines",x\nok,y,extra\n',
            4,
            "E111",
            "expected 2 fields, got 3",
        ),
        ("b.csv", "body,label\nhi,x\n", 1, "E109", "no 'text' column"),
        (
            "c.jsonl",
            '{"text": "a", "label": "x"}\n\n{"text": "b", label}\n',
            3,
            "E116",
            "invalid JSON",
        ),
        ("d.jsonl", '{"text": "a", "label": "x"}\n{"label": "x"}\n', 2, "E118", "'text' missing"),
        ("e.jsonl", '{"text": "a", "cats": {"x": 2}}\n', 1, "E107", "expected a number in [0, 1]"),
        ("f.jsonl", '{"text": "a"}\n', 1, "E112", "exactly one of 'label', 'labels', 'cats'"),
        ("g.jsonl", '{"text": "a", "label": 3}\n', 1, "E113", "'label' must be a string"),
        ("h.jsonl", '{"text": "a", "labels": "x"}\n', 1, "E114", "'labels' must be a list"),
        ("i.jsonl", '{"text": "a", "cats": ["x"]}\n', 1, "E115", "'cats' must be an object"),
        ("j.jsonl", '["text", "a"]\n', 1, "E117", "expected a JSON object, got list"),
        ("k.csv", "text,x,y\nhi,1,maybe\n", 2, "E106", "label 'y' has value 'maybe'"),
    ],
)
def test_malformed_category_files_name_file_and_line(tmp_path, name, body, line, code, fragment):
    path = write(tmp_path, name, body)
    with pytest.raises(CorpusError, match=rf"\[{code}\]") as err:
        read_cats_file(path, multilabel=name.startswith(("e", "k")))
    assert f"{path}:{line}:" in str(err.value)
    assert fragment in str(err.value)


def test_an_unknown_category_file_type_and_files_without_examples_are_named(tmp_path):
    tsv = write(tmp_path, "cats.tsv", "text\tlabel\n")
    with pytest.raises(CorpusError, match=rf"\[E119\] {re.escape(str(tsv))}: .*'.tsv'"):
        read_cats_file(tsv)
    unlabelled = write(tmp_path, "cats.csv", "text,label\nhi,\n")
    with pytest.raises(CorpusError, match=rf"\[E126\] {re.escape(str(unlabelled))}: no usable"):
        convert(tmp_path / "out", cats={"train": unlabelled})
    two = write(tmp_path, "two.iob", iob("a/O", "b/O"))
    with pytest.raises(CorpusError, match=r"\[E125\] 2 examples are too few to split"):
        convert(tmp_path / "out", ner={"train": two}, split=(0.4, 0.3, 0.3))
    reads = {"ner": {"train": read_iob(two)}}
    with pytest.raises(ValueError, match=r"\[E129\] a cap on the examples applies to a re-split"):
        convert_reads(tmp_path / "out", reads, limits={"ner": 1}, printer=QUIET)
    assert not (tmp_path / "out").exists()


def test_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncaf\xe9,x\n".encode("latin-1"))
    with pytest.raises(CorpusError, match=rf"\[E100\] {re.escape(str(path))}:2: not valid UTF-8"):
        read_cats_file(path)


# --- arguments: refused before anything is written ---------------------------------------


def test_a_bad_file_of_one_task_leaves_nothing_half_written(tmp_path):
    good = write(tmp_path, "train.iob", iob("a/O"))
    bad = write(tmp_path, "train.csv", "text,label\nok,x\nbad,x,y\n")
    (tmp_path / "out" / "ner").mkdir(parents=True)
    old = tmp_path / "out" / "ner" / "train.spacy"
    old.write_bytes(b"an earlier conversion")
    with pytest.raises(CorpusError, match=rf"\[E111\] {re.escape(str(bad))}:3:"):
        convert(tmp_path / "out", ner={"train": good}, cats={"train": bad})
    assert old.read_bytes() == b"an earlier conversion"
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["ner", "train.spacy"], (
        "no temp files left"
    )


@pytest.mark.parametrize(
    "kwargs, code, fragment",
    [
        ({}, "E128", "no input files given"),
        ({"ner": {"validation": "x.iob"}}, "E127", "unknown split(s) ['validation']"),
        ({"tasks": {"pos": {"train": "x.iob"}}}, "E153", "Unknown kind of task 'pos'"),
        (
            {"ner": {"train": "/no/such.iob"}},
            "E134",
            "/no/such.iob: no such file (the ner train file)",
        ),
        (
            {"ner": {"train": "TRAIN"}, "split": (0.8, 0.2, -0.0001)},
            "E124",
            "split ratios must be three finite numbers",
        ),
        ({"ner": {"train": "TRAIN"}, "split": (0.0, 0.5, 0.5)}, "E124", "train > 0"),
        (
            {"ner": {"train": "TRAIN"}, "multilabel": True},
            "E130",
            "multilabel applies to category (textcat) files",
        ),
        ({"ner": {"train": "TRAIN"}, "columns": {"textcat": 2}}, "E133", "--column textcat"),
        ({"ner": {"train": "TRAIN"}, "columns": {"ner": 1}}, "E122", "got 1"),
        (
            {"ner": {"train": "TRAIN"}, "tasks": {"ner": {"train": "other.iob"}}},
            "E132",
            "the ner train file is given twice",
        ),
    ],
)
def test_bad_arguments_fail_before_anything_is_written(tmp_path, kwargs, code, fragment):
    train = write(tmp_path, "train.iob", iob("a/O"))
    if kwargs.get("ner", {}).get("train") == "TRAIN":
        kwargs["ner"] = {"train": str(train)}
    with pytest.raises(ValueError, match=rf"\[{code}\].*" + re.escape(fragment)):
        convert(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


# --- command line: `spacy mtl convert` -------------------------------------------------------


def spacy_cli(*args: str):
    from spacy.cli import app
    from typer.testing import CliRunner

    import spacy_mtl.cli.convert  # noqa: F401  (registers `mtl convert`)

    return CliRunner().invoke(app, ["mtl", "convert", *args], prog_name="spacy")


def test_cli_help_names_the_command_and_its_options():
    result = spacy_cli("--help")
    assert result.exit_code == 0
    assert "Usage: spacy mtl convert" in result.output
    for option in (
        "--ner-train",
        "--ner-dev",
        "--ner-test",
        "--cats-train",
        "--cats-dev",
        "--cats-test",
        "--multilabel",
        "--lowercase-labels",
        "--dedup",
        "--split",
        "--seed",
        "--lang",
    ):
        assert option in result.output


def test_cli_converts_and_passes_the_options_on(tmp_path):
    ner = write(tmp_path, "train.iob", iob("Peter/B-PER went/O", "home/O", "home/O"))
    cats = write(tmp_path, "train.csv", "text,label\nnice,Pos\nawful,Neg\nawful,Neg\nok,Pos\n")
    out = tmp_path / "out"
    result = spacy_cli(
        str(out),
        "--ner-train",
        str(ner),
        "--cats-train",
        str(cats),
        "--dedup",
        "--lowercase-labels",
    )
    assert result.exit_code == 0, result.output
    assert [[e.label_ for e in d.ents] for d in read_docs(out / "ner" / "train.spacy")] == [
        ["per"],
        [],
    ]
    assert [d.text for d in read_docs(out / "textcat" / "train.spacy")] == ["nice", "awful", "ok"]
    result = spacy_cli(
        str(tmp_path / "split"), "--cats-train", str(cats), "--split", "0.5", "0.25", "0.25"
    )
    assert result.exit_code == 0, result.output
    sizes = [
        len(read_docs(tmp_path / "split" / "textcat" / f"{s}.spacy"))
        for s in ("train", "dev", "test")
    ]
    assert sizes == [2, 1, 1]


def test_cli_reports_bad_input_in_one_message_without_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "bad.iob", "I O\nlove O\nNew York B-geo-loc\n")
    result = spacy_cli("out", "--ner-train", "bad.iob")
    assert result.exit_code == 1
    message = " ".join(result.output.split())  # wasabi wraps at 80 columns
    assert (
        "✘ (spacy-mtl) [E103] bad.iob:3: 3 columns ['New', 'York', 'B-geo-loc'], but line 1 has 2"
        in message
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


# --- issue 28: valid files read as written, one-line errors, outputs never over inputs ----

SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0c"]


def test_line_and_paragraph_separators_inside_a_text_or_token_belong_to_it(tmp_path):
    """str.splitlines() ends a line at each of these; a file's lines end at \\n only."""
    from spacy_mtl.annotate.read import Post, read_posts

    texts = [f"before{sep}after" for sep in SEPARATORS]
    jsonl = write(
        tmp_path,
        "cats.jsonl",
        "".join(json.dumps({"text": t, "label": "x"}, ensure_ascii=False) + "\n" for t in texts),
    )
    tokens = [f"a{sep}b" for sep in SEPARATORS]
    tagged = write(tmp_path, "ner.iob", "".join(f"{t}\tO\n" for t in tokens) + "Paris\tB-LOC\n")
    written = convert(tmp_path / "out", ner={"train": tagged}, cats={"train": jsonl})
    # The text is whitespace-normalised as every category text is; no line was split.
    assert [d.text for d in read_docs(written["textcat"]["train"])] == [
        " ".join(t.split()) for t in texts
    ]
    (doc,) = read_docs(written["ner"]["train"])
    assert [t.text for t in doc] == [*tokens, "Paris"]
    assert [(e.text, e.label_) for e in doc.ents] == [("Paris", "LOC")]
    # annotate reads the same lines as the same posts.
    posts = list(read_posts(jsonl.read_bytes().splitlines(keepends=True), "jsonl"))
    assert [p.text for p in posts if isinstance(p, Post)] == texts


def test_crlf_and_cr_still_end_lines(tmp_path):
    path = tmp_path / "crlf.iob"
    path.write_bytes(b"EU\tB-ORG\r\nrejects\tO\r\n\r\nhi\tO\rthere\tO\r")
    assert [e.words for e in read_iob(path).examples] == [("EU", "rejects"), ("hi", "there")]


def test_json_nested_too_deep_is_a_corpus_error_naming_the_line(tmp_path):
    deep = '{"text": "a", "label": "x", "extra": ' + "[" * 5000 + "]" * 5000 + "}"
    path = write(tmp_path, "deep.jsonl", '{"text": "ok", "label": "x"}\n' + deep + "\n")
    with pytest.raises(CorpusError, match=rf"\[E121\] {re.escape(str(path))}:2: invalid JSON"):
        read_cats_file(path)


def test_a_csv_field_over_the_csv_modules_limit_is_a_corpus_error_naming_the_line(tmp_path):
    path = write(tmp_path, "long.csv", "text,label\nshort,x\n" + "y" * 200_000 + ",x\n")
    with pytest.raises(CorpusError, match=rf"\[E120\] {re.escape(str(path))}:3: .*131,072"):
        read_cats_file(path)
    result = spacy_cli(str(tmp_path / "out"), "--cats-train", str(path))
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "[E120]" in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("ratios", [(0.5, float("nan"), 0.5), (float("inf"), 0.0, 0.0)])
def test_non_finite_split_ratios_are_refused(tmp_path, ratios):
    train = write(tmp_path, "train.iob", iob("a/O", "b/O", "c/O"))
    with pytest.raises(ValueError, match=r"\[E124\]"):
        convert(tmp_path / "out", ner={"train": train}, split=ratios)
    result = spacy_cli(
        str(tmp_path / "out"), "--ner-train", str(train), "--split", *map(str, ratios)
    )
    assert result.exit_code == 1 and "[E124]" in result.output
    assert not (tmp_path / "out").exists()


def test_an_unknown_language_is_one_line_before_anything_is_read(tmp_path):
    cats = write(tmp_path, "train.csv", "text,label\nnice,pos\n")
    with pytest.raises(ValueError, match=r"\[E131\] --lang 'xx_bogus'"):
        convert(tmp_path / "out", cats={"train": cats}, lang="xx_bogus")
    result = spacy_cli(str(tmp_path / "out"), "--cats-train", str(cats), "--lang", "xx_bogus")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "[E131]" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_or_lies_inside_an_input_is_refused(tmp_path):
    # The output directory is the input file: its output would lie inside it.
    train = write(tmp_path, "train.iob", iob("a/O"))
    with pytest.raises(ValueError, match=r"\[E270\]"):
        convert(train, ner={"train": train})
    assert train.read_text() == iob("a/O")
    # An input where an output goes: never overwritten, not even by a valid conversion.
    (tmp_path / "out" / "ner").mkdir(parents=True)
    there = write(tmp_path / "out" / "ner", "train.spacy", iob("b/O"))
    with pytest.raises(ValueError, match=r"\[E270\]"):
        convert(tmp_path / "out", ner={"train": there})
    assert there.read_text() == iob("b/O")
    result = spacy_cli(str(tmp_path / "out"), "--ner-train", str(there))
    assert result.exit_code == 1 and "[E270]" in result.output
    assert there.read_text() == iob("b/O")


def test_cli_task_and_column_options(tmp_path):
    conll = write(tmp_path, "train.conll", "EU NNP B-ORG\nrejects VBZ O\n")
    result = spacy_cli(str(tmp_path / "out"), "--task", "ner:train=" + str(conll))
    assert result.exit_code == 0, result.output
    assert [e.label_ for e in read_docs(tmp_path / "out" / "ner" / "train.spacy")[0].ents] == [
        "ORG"
    ]
    # The tag in column 2 is no BIO tag: ner refuses it, naming the line.
    result = spacy_cli(str(tmp_path / "two"), "--ner-train", str(conll), "--column", "ner=2")
    assert result.exit_code == 1 and "[E101]" in result.output and "train.conll:1" in result.output
    for args in (["--task", "ner=x"], ["--task", "ner:train"], ["--column", "ner=two"]):
        result = spacy_cli(str(tmp_path / "bad"), "--ner-train", str(conll), *args)
        assert result.exit_code == 1 and "[E135]" in result.output, result.output
    result = spacy_cli(str(tmp_path / "bad"), "--ner-train", str(conll), "--column", "ner=9")
    assert result.exit_code == 1 and "[E123]" in result.output
