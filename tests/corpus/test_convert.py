"""The converter: embedded data, splits, determinism, stats, user files and their errors."""
import contextlib
import io
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest
import spacy
from spacy.tokens import Doc, DocBin

from spacy_mtl.corpus.convert import convert_corpora, main
from spacy_mtl.corpus.sources import (
    SENTIMENT_LABELS,
    CorpusError,
    default_cats_path,
    default_ner_path,
    read_cats_file,
    read_iob,
    read_sentiment_csv,
    repair_sentiment_text,
)
from spacy_mtl.corpus.split import SPLITS, deduplicate, normalise_text, split_sizes

ROOT = Path(__file__).resolve().parents[2]
MAX_NER, MAX_TEXTCAT = 300, 400


def read_docs(path: Path) -> List[Doc]:
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def convert_quietly(out_dir: Path, **kwargs) -> Dict:
    with contextlib.redirect_stdout(io.StringIO()):
        return convert_corpora(out_dir, **kwargs)


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """The embedded data, capped, converted once: (out_dir, stats, printed output)."""
    out = tmp_path_factory.mktemp("capped")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        stats = convert_corpora(out, max_ner=MAX_NER, max_textcat=MAX_TEXTCAT)
    return out, stats, printed.getvalue()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the embedded data ---------------------------------------------------------------

def test_embedded_ner_matches_the_documented_counts():
    examples = read_iob(default_ner_path()).examples
    spans = [span for e in examples for span in e.spans()]
    assert len(examples) == 2394
    assert sum(len(e.words) for e in examples) == 46469
    assert len(spans) == 1496
    assert sum(1 for e in examples if e.spans()) == 918
    assert Counter(label for _, _, label in spans)["person"] == 449


def test_embedded_sentiment_is_repaired_to_ascii():
    result = read_sentiment_csv(default_cats_path())
    labels = Counter(max(e.cats, key=lambda item: item[1])[0] for e in result.examples)
    assert len(result.examples) == 38158
    assert labels == {"negative": 16186, "neutral": 15018, "positive": 6954}
    # 4,934 lines are not UTF-8, ~20 more decode to mojibake (Cyrillic/CJK): all repaired.
    assert result.repaired == 4954
    assert all(e.text.isascii() for e in result.examples)
    assert not any("\r" in e.text for e in result.examples)
    # The source holds 2,074 HTML entities (&amp; &gt; &lt;); 4 are left, escaped twice there.
    assert sum(len(re.findall(r"&#?\w+;", e.text)) for e in result.examples) == 4


@pytest.mark.parametrize(
    "damaged, repaired",
    [
        ("I don\xd5\xa2_\x8a\xce_\x86\xa2t want", "I don't want"),
        ("There\xe4\xf3\xbbs a load", "There's a load"),
        ("Know it\x8a\x97\xc8s hard", "Know it's hard"),
        ("cars_\xd1_.no thank you", "cars .no thank you"),
        ("\xd5\xa2_\x8a\xce\x81\xd0@user: hi\xd5\xa2_\x8a\xce\xeb\x9d", " @user: hi "),
    ],
)
def test_repair_sentiment_text(damaged, repaired):
    assert repair_sentiment_text(damaged) == repaired


# --- splits --------------------------------------------------------------------------

def test_capped_split_sizes_and_stats(capped):
    _, stats, _ = capped
    for task, cap in (("ner", MAX_NER), ("textcat", MAX_TEXTCAT)):
        sizes = [stats[task]["splits"][s]["docs"] for s in SPLITS]
        assert sizes == list(split_sizes(cap)) == [int(cap * 0.8), int(cap * 0.1), int(cap * 0.1)]
    assert stats["ner"]["capped"] == 2394 - stats["ner"]["duplicates"] - MAX_NER


def test_splits_are_disjoint_and_free_of_duplicates(capped):
    out, _, _ = capped
    for task in ("ner", "textcat"):
        keys = {s: [normalise_text(d.text) for d in read_docs(out / task / f"{s}.spacy")] for s in SPLITS}
        for split, texts in keys.items():
            assert len(set(texts)) == len(texts), f"duplicate within {task}/{split}"
        assert not set(keys["train"]) & set(keys["dev"])
        assert not set(keys["train"]) & set(keys["test"])
        assert not set(keys["dev"]) & set(keys["test"])


def test_ner_docs_are_fully_annotated_without_cats(capped):
    out, stats, _ = capped
    for split in SPLITS:
        for doc in read_docs(out / "ner" / f"{split}.spacy"):
            assert doc.cats == {}
            assert all(token.ent_iob != 0 for token in doc), "NER docs must have O, not missing"
            assert all(ent.label_ in stats["ner"]["labels"] for ent in doc.ents)
            assert doc.text == " ".join(token.text for token in doc)


def test_textcat_docs_are_one_hot_with_entities_missing(capped):
    out, _, _ = capped
    for split in SPLITS:
        for doc in read_docs(out / "textcat" / f"{split}.spacy"):
            assert list(doc.cats) == list(SENTIMENT_LABELS)
            assert sorted(doc.cats.values()) == [0.0, 0.0, 1.0]
            assert all(token.ent_iob == 0 for token in doc)


def parse_table(printed: str, task: str) -> Dict[str, List[int]]:
    """Rows of the printed table of one task: {row name: [train, dev, test, total]}."""
    section = printed.split(f"{task}: ", 1)[1]
    rows = {}
    for line in section.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) == 5 and all(c.isdigit() for c in cells[1:]):
            rows[cells[0]] = [int(c) for c in cells[1:]]
        elif rows and not line.strip():
            break
    return rows


def test_stats_and_printed_table_match_the_files(capped):
    out, stats, printed = capped
    for task, label_key, prefix in (("ner", "entities", "ents"), ("textcat", "classes", "cats")):
        table = parse_table(printed, task)
        for i, split in enumerate(SPLITS):
            docs = read_docs(out / task / f"{split}.spacy")
            if task == "ner":
                labels = Counter(ent.label_ for doc in docs for ent in doc.ents)
            else:
                labels = Counter(max(doc.cats, key=doc.cats.get) for doc in docs)
            split_stats = stats[task]["splits"][split]
            assert split_stats["docs"] == len(docs) == table["docs"][i]
            assert split_stats["tokens"] == sum(len(doc) for doc in docs) == table["tokens"][i]
            for label in stats[task]["labels"]:
                assert split_stats[label_key][label] == labels[label] == table[f"{prefix} {label}"][i]
        assert table["docs"][3] == sum(table["docs"][:3])
        assert set(stats[task]["labels"]) >= set(labels)


def test_same_seed_gives_byte_identical_files(capped, tmp_path):
    out, _, _ = capped
    convert_quietly(tmp_path / "again", max_ner=MAX_NER, max_textcat=MAX_TEXTCAT)
    convert_quietly(tmp_path / "seed1", seed=1, max_ner=MAX_NER, max_textcat=MAX_TEXTCAT)
    for task in ("ner", "textcat"):
        for split in SPLITS:
            name = f"{task}/{split}.spacy"
            assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name
        other_seed = (tmp_path / "seed1" / task / "train.spacy").read_bytes()
        assert other_seed != (out / task / "train.spacy").read_bytes()


def test_byte_identical_in_a_process_with_other_hash_seed(tmp_path):
    # str hashes (and so set order) differ between processes; the files must not.
    args = ["--max-ner", "60", "--max-textcat", "60"]
    main([str(tmp_path / "here"), *args])
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "spacy_mtl.corpus.convert", str(tmp_path / "there"), *args]
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    for name in ("ner/train.spacy", "textcat/train.spacy", "textcat/test.spacy"):
        assert (tmp_path / "there" / name).read_bytes() == (tmp_path / "here" / name).read_bytes(), name


def test_a_smaller_cap_selects_a_subset(capped, tmp_path):
    out, _, _ = capped
    stats = convert_quietly(tmp_path, max_ner=50, tasks=["ner"])
    assert sum(stats["ner"]["splits"][s]["docs"] for s in SPLITS) == 50
    small = {d.text for s in SPLITS for d in read_docs(tmp_path / "ner" / f"{s}.spacy")}
    large = {d.text for s in SPLITS for d in read_docs(out / "ner" / f"{s}.spacy")}
    assert len(small) == 50 and small < large
    assert not (tmp_path / "textcat").exists()


# --- user files ----------------------------------------------------------------------

CONLL = """-DOCSTART- -X- O O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter\tB-PER
Blackburn\tI-PER

peter\tB-PER
  blackburn\tI-PER

Peter\tO
Blackburn\tO

PETER\tB-PER
BLACKBURN\tI-PER
"""


def test_user_conll_file_dedup_and_majority(tmp_path):
    path = write(tmp_path, "user.conll", CONLL + "\nA\tO\n\nB\tO\n\nC\tO\n")
    read = read_iob(path)
    assert [e.where for e in read.examples[:2]] == [f"{path}:3", f"{path}:8"]
    assert read.examples[0].tags == ("B-org", "O", "B-misc", "O")
    unique = deduplicate(read.examples)
    assert unique.dropped == 3 and unique.conflicting == 1
    peter = [e for e in unique.examples if normalise_text(e.text) == "peter blackburn"]
    assert [e.tags for e in peter] == [("B-per", "I-per")]  # 3 votes to 1

    stats = convert_quietly(tmp_path / "out", ner_file=path, tasks=["ner"])
    docs = [d for s in SPLITS for d in read_docs(tmp_path / "out" / "ner" / f"{s}.spacy")]
    assert len(docs) == 5
    ents = {(e.text, e.label_) for d in docs for e in d.ents}
    assert ents == {("EU", "org"), ("German", "misc"), ("Peter Blackburn", "per")}
    assert stats["ner"]["labels"] == ["misc", "org", "per"]
    # A cap of 0 means no cap (project.yml passes 0 for "all").
    convert_quietly(tmp_path / "zero", ner_file=path, tasks=["ner"], max_ner=0)
    for split in SPLITS:
        name = f"ner/{split}.spacy"
        assert (tmp_path / "zero" / name).read_bytes() == (tmp_path / "out" / name).read_bytes()


@pytest.mark.parametrize(
    "body, line, fragment",
    [
        ("a\tO\nb\tI-PER\n", 2, "'I-PER' after 'O'"),
        ("a\tO\n\nb\tI-PER\n", 3, "after the sentence start"),
        ("a\tB-LOC\nb\tI-PER\n", 2, "'I-PER' after 'B-loc'"),
        ("a\tO\nb\tX-PER\n", 2, "invalid tag 'X-PER'"),
        ("a\tO\nb\tB-\n", 2, "invalid tag 'B-'"),
        ("a\tO\n\n\nlonely\n", 4, "expected 'token<TAB>tag'"),
    ],
)
def test_malformed_conll_names_file_and_line(tmp_path, body, line, fragment):
    path = write(tmp_path, "bad.iob", body)
    with pytest.raises(CorpusError) as err:
        convert_quietly(tmp_path / "out", ner_file=path, tasks=["ner"])
    assert f"{path}:{line}:" in str(err.value)
    assert fragment in str(err.value)


def test_user_csv_skips_empty_and_unlabelled_rows_with_a_count(tmp_path, capsys):
    rows = ["text,label", '"a good one",Pos', "   ,neg", "no label here,", '"two\nlines",neg']
    rows += [f"text number {i},{'pos' if i % 2 else 'neg'}" for i in range(10)]
    rows += ["TEXT   number 3,pos"]  # a duplicate
    path = write(tmp_path, "cats.csv", "\n".join(rows) + "\n")
    stats = convert_corpora(tmp_path / "out", cats_file=path, tasks=["textcat"])
    printed = capsys.readouterr().out
    assert stats["textcat"]["skipped"] == {"empty text": 1, "no label": 1}
    assert "skipped 1 (empty text)" in printed and "skipped 1 (no label)" in printed
    assert stats["textcat"]["read"] == 13 and stats["textcat"]["duplicates"] == 1
    docs = [d for s in SPLITS for d in read_docs(tmp_path / "out" / "textcat" / f"{s}.spacy")]
    assert len(docs) == 12
    assert {tuple(d.cats.items()) for d in docs} == {(("neg", 1.0), ("pos", 0.0)), (("neg", 0.0), ("pos", 1.0))}
    assert "two lines" in {d.text for d in docs}


def test_user_jsonl_multilabel(tmp_path):
    lines = [
        '{"text": "sports and politics", "labels": ["Sports", "politics"]}',
        '{"text": "nothing at all", "labels": []}',
        '{"text": "only weather", "cats": {"weather": 1, "sports": 0}}',
        "",
        '{"text": "some politics", "label": "politics"}',
    ]
    path = write(tmp_path, "cats.jsonl", "\n".join(lines) + "\n")
    examples = {e.text: dict(e.cats) for e in read_cats_file(path, multilabel=True).examples}
    assert examples == {
        "sports and politics": {"politics": 1.0, "sports": 1.0, "weather": 0.0},
        "nothing at all": {"politics": 0.0, "sports": 0.0, "weather": 0.0},
        "only weather": {"politics": 0.0, "sports": 0.0, "weather": 1.0},
        "some politics": {"politics": 1.0, "sports": 0.0, "weather": 0.0},
    }
    # Single-label mode refuses the row with two labels and skips the one with none.
    with pytest.raises(CorpusError, match=rf"{re.escape(str(path))}:1: 2 labels .*multilabel"):
        read_cats_file(path)


def test_wide_multilabel_csv(tmp_path):
    path = write(tmp_path, "wide.csv", "text,toxic,insult\nyou are bad,1,true\nhello,0,false\n")
    examples = [dict(e.cats) for e in read_cats_file(path, multilabel=True).examples]
    assert examples == [{"insult": 1.0, "toxic": 1.0}, {"insult": 0.0, "toxic": 0.0}]
    with pytest.raises(CorpusError, match=rf"{re.escape(str(path))}:1: no 'label' column"):
        read_cats_file(path)


@pytest.mark.parametrize(
    "name, body, line, fragment",
    [
        ("a.csv", 'text,label\n"spans\ntwo lines",x\nok,y,extra\n', 4, "expected 2 fields, got 3"),
        ("b.csv", "body,label\nhi,x\n", 1, "no 'text' column"),
        ("c.jsonl", '{"text": "a", "label": "x"}\n\n{"text": "b", label}\n', 3, "invalid JSON"),
        ("d.jsonl", '{"text": "a", "label": "x"}\n{"label": "x"}\n', 2, "'text' missing"),
        ("e.jsonl", '{"text": "a", "cats": {"x": 2}}\n', 1, "expected a number in [0, 1]"),
        ("f.jsonl", '{"text": "a"}\n', 1, "exactly one of 'label', 'labels', 'cats'"),
    ],
)
def test_malformed_category_files_name_file_and_line(tmp_path, name, body, line, fragment):
    path = write(tmp_path, name, body)
    with pytest.raises(CorpusError) as err:
        read_cats_file(path, multilabel=name.startswith("e"))
    assert f"{path}:{line}:" in str(err.value)
    assert fragment in str(err.value)


def test_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("text,label\ncaf\xe9,x\n".encode("latin-1"))
    with pytest.raises(CorpusError, match=rf"{re.escape(str(path))}:2: not valid UTF-8"):
        read_cats_file(path)


# --- arguments and command line -------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"max_ner": 2}, "max_ner must be 0 (no cap) or at least 3"),
        ({"ratios": (0.8, 0.2, 0.0)}, "ratios must be three positive numbers"),
        ({"tasks": ["pos"]}, "tasks must be a non-empty subset"),
        ({"multilabel": True}, "multilabel applies to cats_file"),
        ({"cats_file": "/no/such/file.csv"}, "cats_file: /no/such/file.csv: no such file"),
    ],
)
def test_bad_arguments_fail_before_anything_is_written(tmp_path, kwargs, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        convert_quietly(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    path = write(tmp_path, "bad.iob", "a\tO\nb\tI-PER\n")
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "out"), "--ner-file", str(path), "--tasks", "ner"])
    assert exit_.value.code == 1
    assert f"{path}:2:" in capsys.readouterr().out


def test_cli_help_shows_usage(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    usage = capsys.readouterr().out
    for option in ("OUT_DIR", "--seed", "--max-ner", "--max-textcat", "--ner-file", "--cats-file"):
        assert option in usage
