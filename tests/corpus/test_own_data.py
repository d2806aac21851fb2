"""The README's "Train on your own data", step by step, on small pre-split IOB and CSV files:
every train/dev/test example must come out as a doc, as given."""

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.tokens import Doc, DocBin
from spacy.util import load_config, registry

from spacy_mtl.corpus import MultiTaskCorpus

from helpers import REPO

# Per split: sentences as "token/TAG ..." and (text, label) rows. Repeats and a text in
# both train and test are there on purpose: kept as given, they must all come out.
NER = {
    "train": [
        "Peter/B-PER Blackburn/I-PER visits/O Paris/B-LOC",
        "hello/O",
        "hello/O",
        "EU/B-ORG rejects/O it/O",
    ],
    "dev": ["Anna/B-PER lives/O in/O Rome/B-LOC", "nothing/O here/O"],
    "test": ["hello/O", "Bob/B-PER"],
}
CATS = {
    "train": [
        ("what a great match", "Positive"),
        ("the train is late again", "Negative"),
        ("the train is late again", "Negative"),
        ("fine, I guess", "Positive"),
    ],
    "dev": [("so bad", "Negative"), ("lovely", "Positive")],
    "test": [("what a great match", "Positive"), ("meh", "Negative"), ("awful", "Negative")],
}


def readme_commands() -> List[List[str]]:
    """The shell commands of the README section, in order, as argument lists."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Train on your own data\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [shlex.split(block.replace("\\\n", " ")) for block in blocks]


def write_data(root: Path) -> None:
    (root / "data").mkdir()
    for split, sentences in NER.items():
        lines = ["\n".join(item.replace("/", "\t") for item in s.split()) for s in sentences]
        (root / "data" / f"ner_{split}.iob").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    for split, rows in CATS.items():
        body = "".join(f'"{text}",{label}\n' for text, label in rows)
        (root / "data" / f"cats_{split}.csv").write_text("text,label\n" + body, encoding="utf-8")


def docs(path: Path) -> List[Doc]:
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def option_values(command: List[str], prefix: str) -> Dict[str, str]:
    return {
        arg[len(prefix) :]: command[i + 1]
        for i, arg in enumerate(command)
        if arg.startswith(prefix)
    }


def test_the_readme_walkthrough_keeps_every_doc_as_given(tmp_path, monkeypatch):
    convert, train, evaluate = readme_commands()
    write_data(tmp_path)

    # 1. Convert, exactly as the README says (with this interpreter for `python`).
    assert convert[:5] == ["python", "-m", "spacy", "mtl", "convert"]
    result = subprocess.run(
        [sys.executable, *convert[1:]], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    corpus = tmp_path / convert[5]
    for split, sentences in NER.items():
        got = docs(corpus / "ner" / f"{split}.spacy")
        assert [d.text for d in got] == [
            " ".join(t.split("/")[0] for t in s.split()) for s in sentences
        ]
        # Each entity by its first token and label, the labels' case kept.
        starts = [
            [tuple(t.replace("B-", "").split("/")) for t in s.split() if "/B-" in t]
            for s in sentences
        ]
        assert [[(e[0].text, e.label_) for e in d.ents] for d in got] == starts
        assert all(d.cats == {} for d in got)
    for split, rows in CATS.items():
        got = docs(corpus / "textcat" / f"{split}.spacy")
        assert [(d.text, max(d.cats, key=d.cats.get)) for d in got] == rows
        assert all(set(d.cats) == {"Negative", "Positive"} for d in got)
        assert all(not d.has_annotation("ENT_IOB") for d in got), "category docs: entities missing"

    # 2. Train: the README's `--paths.*` are the config's variables, and the corpora the
    # config builds from them hold every converted doc.
    assert train[:4] == ["python", "-m", "spacy", "train"]
    overrides = {f"paths.{name}": value for name, value in option_values(train, "--paths.").items()}
    config_path = REPO / train[4]
    assert set(overrides) == {
        "paths.textcat_train",
        "paths.textcat_dev",
        "paths.ner_train",
        "paths.ner_dev",
    }
    assert {f"paths.{name}" for name in load_config(config_path)["paths"]} >= set(overrides)
    monkeypatch.chdir(tmp_path)  # the README's paths are relative to where it runs
    config = load_config(config_path, overrides=overrides, interpolate=True)
    dev = registry.resolve({"dev": config["corpora"]["dev"]})["dev"]
    assert sum(1 for _ in dev(spacy.blank("en"))) == len(NER["dev"]) + len(CATS["dev"])
    every_train_doc = MultiTaskCorpus(config["corpora"]["train"]["paths"], sampling="none")
    assert every_train_doc.load().sizes == {"textcat": len(CATS["train"]), "ner": len(NER["train"])}

    # 3. Evaluate on the test files the converter wrote.
    assert evaluate[:5] == ["python", "-m", "spacy", "mtl", "evaluate"]
    tests = option_values(evaluate, "--")
    assert len(docs(tmp_path / tests["ner"])) == len(NER["test"])
    assert len(docs(tmp_path / tests["textcat"])) == len(CATS["test"])
