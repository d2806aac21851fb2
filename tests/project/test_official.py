"""The `official` workflow of project/project.yml: assets from a git copy, TweetEval's and
WNUT-16's files converted as published, compare's runs on another corpus, conlleval on
the official tokens, and the report's official metrics. Small fixtures written here."""

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, DocBin
from wasabi import Printer

from spacy_mtl.corpus import CatsExample, CorpusError
from spacy_mtl.evaluation.scores import evaluate

from helpers import REPO

SCRIPTS = REPO / "project" / "scripts"
SPACY = Path(sys.executable).parent / "spacy"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"official_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


official_sentiment = load("official_sentiment")
conlleval = load("conlleval")
official_report = load("official_report")

# WNUT-16's format: token<TAB>tag, BIO with hyphenated types, a blank line after each
# tweet; the test file holds a token that starts with a zero-width space.
WNUT = {
    "train": [
        [("Made", "O"), ("it", "O"), ("to", "O"), ("GA", "B-geo-loc"), (".", "O")],
        [("at", "O"), ("Disney", "B-facility"), ("world", "I-facility"), ("!", "O")],
        [("@user", "O"), ("loves", "O"), ("Coldplay", "B-musicartist")],
    ],
    "dev": [[("Obama", "B-person"), ("in", "O"), ("New", "B-geo-loc"), ("York", "I-geo-loc")]],
    "test": [
        [("\u200bWhy", "O"), ("is", "O"), ("Apple", "B-company"), ("down", "O")],
        [("go", "O"), ("#Steelers", "B-sportsteam")],
    ],
}
# TweetEval's format: a tweet per line (with its trailing space), its class number per
# line in another file. One tweet holds U+2028, where str.splitlines would cut it.
TWEETEVAL = {
    "train": [("I love it &amp; them ", "2"), ("meh ", "1"), ("awful day ", "0")],
    "val": [("so\u2028good ", "2"), ("not sure ", "1")],
    "test": [("bad &lt;3 ", "0"), ("fine ", "1"), ("great ", "2"), ("ok ", "1")],
}


def write_wnut(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split, tweets in WNUT.items():
        text = "".join("".join(f"{w}\t{t}\n" for w, t in tweet) + "\n" for tweet in tweets)
        (folder / split).write_text(text, encoding="utf-8")


def write_tweeteval(folder: Path, splits=("train", "val", "test")) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mapping.txt").write_text("0\tnegative\n1\tneutral\n2\tpositive\n")
    for split in splits:
        tweets = TWEETEVAL[split]
        (folder / f"{split}_text.txt").write_text(
            "".join(f"{text}\n" for text, _ in tweets), encoding="utf-8"
        )
        (folder / f"{split}_labels.txt").write_text("".join(f"{label}\n" for _, label in tweets))


def read_docs(path: Path):
    return list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))


def copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    outputs = shutil.ignore_patterns("corpus", "training", "metrics", "packages", "assets")
    shutil.copytree(REPO / "project", project, ignore=outputs)
    return project


def run(command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)


# --- assets from a git copy ----------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    result = run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", *args])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def partial_copy(tmp_path) -> Path:
    """A bare clone of a repository holding WNUT-16's files, that lacks one file's
    content (as copies that leave out large files do)."""
    work = tmp_path / "work"
    write_wnut(work / "data")
    (work / "big.txt").write_bytes(b"too large for the copy\n")
    git(tmp_path, "init", "-q", str(work))
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "data")
    (work / "data" / "train").write_text("uncommitted\n")  # HEAD is read, not the work tree
    copy = tmp_path / "copy.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(copy))
    blob = git(copy, "rev-parse", "HEAD:big.txt").strip()
    (copy / "objects" / blob[:2] / blob[2:]).unlink()
    return copy


def test_assets_from_git_writes_the_committed_bytes(partial_copy, tmp_path):
    dest = tmp_path / "assets" / "wnut16" / "train"
    ok = run(
        [
            sys.executable,
            SCRIPTS / "assets_from_git.py",
            "--repo",
            partial_copy,
            f"data/train:{dest}",
        ]
    )
    assert ok.returncode == 0, ok.stderr
    expected = "".join("".join(f"{w}\t{t}\n" for w, t in tweet) + "\n" for tweet in WNUT["train"])
    assert dest.read_bytes() == expected.encode("utf-8")
    assert f"sha256 {hashlib.sha256(expected.encode()).hexdigest()}" in ok.stdout
    lacking = run(
        [sys.executable, SCRIPTS / "assets_from_git.py", "--repo", partial_copy, f"big.txt:{dest}"]
    )
    assert lacking.returncode == 1 and "content is not in this copy" in lacking.stderr
    assert dest.read_bytes() == expected.encode("utf-8")


def test_assets_from_git_reads_everything_before_writing(partial_copy, tmp_path):
    assets = load("assets_from_git")
    dev, big = tmp_path / "dev", tmp_path / "big.txt"
    with pytest.raises(assets.AssetError, match="no/such: no such file in the commit"):
        assets.materialise(partial_copy, [("data/dev", dev), ("no/such", tmp_path / "x")])
    with pytest.raises(assets.AssetError, match="big.txt: the file is in the commit but"):
        assets.materialise(partial_copy, [("data/dev", dev), ("big.txt", big)])
    with pytest.raises(assets.AssetError, match="data: a tree, not a file"):
        assets.materialise(partial_copy, [("data", dev)])
    assert not dev.exists()
    written = assets.materialise(
        partial_copy, [("big.txt", big), ("data/dev", dev)], skip_missing=True
    )
    assert list(written) == [dev] and dev.exists() and not big.exists()
    with pytest.raises(ValueError, match=r"\[E\d+\]"):  # files.check_outputs: not inside the copy
        assets.materialise(partial_copy, [("data/dev", partial_copy / "dev")])
    with pytest.raises(assets.AssetError, match="not a git repository"):
        assets.materialise(tmp_path / "dev", [("data/dev", tmp_path / "d")])


# --- TweetEval's sentiment files -----------------------------------------------------


def read_jsonl(path: Path) -> list:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_tweeteval_splits_become_jsonl_line_for_line(tmp_path):
    write_tweeteval(tmp_path / "tweeteval")
    out = official_sentiment.prepare(
        tmp_path / "tweeteval", tmp_path / "out", printer=Printer(no_print=True)
    )
    assert read_jsonl(out["train"]) == [
        {"text": "I love it & them ", "label": "positive"},
        {"text": "meh ", "label": "neutral"},
        {"text": "awful day ", "label": "negative"},
    ]
    # dev is TweetEval's val; a U+2028 inside a tweet does not cut it in two.
    assert read_jsonl(out["dev"]) == [
        {"text": "so\u2028good ", "label": "positive"},
        {"text": "not sure ", "label": "neutral"},
    ]
    assert [r["label"] for r in read_jsonl(out["test"])] == [
        "negative",
        "neutral",
        "positive",
        "neutral",
    ]
    assert read_jsonl(out["test"])[0]["text"] == "bad <3 "


def test_tweeteval_files_that_disagree_are_refused(tmp_path):
    folder = tmp_path / "tweeteval"
    write_tweeteval(folder, splits=("val", "test"))
    with pytest.raises(CorpusError, match="train_text.txt: not found.*--train embedded"):
        official_sentiment.prepare(folder, tmp_path / "out", printer=Printer(no_print=True))
    (folder / "val_labels.txt").write_text("2\n1\n0\n")
    with pytest.raises(CorpusError, match="2 tweets, but .*val_labels.txt has 3 labels"):
        official_sentiment.read_split(folder, "val", official_sentiment.read_mapping(folder))
    (folder / "val_labels.txt").write_text("2\n7\n")
    with pytest.raises(CorpusError, match=r"val_labels.txt:2: unknown label '7'"):
        official_sentiment.read_split(folder, "val", official_sentiment.read_mapping(folder))
    with pytest.raises(ValueError, match=r"\[E"):  # an output inside the input folder
        official_sentiment.prepare(folder, folder / "out", train="tweeteval")
    assert not (tmp_path / "out").exists()


def cats(text: str, label: str) -> CatsExample:
    labels = ("negative", "neutral", "positive")
    return CatsExample(text, tuple((name, float(name == label)) for name in labels), "x")


def test_the_embedded_stand_in_is_deduplicated_against_val_and_test(tmp_path, monkeypatch):
    embedded = [
        cats("a great day", "positive"),
        cats("A  great day", "positive"),  # a copy: case and whitespace ignored
        cats("A great day", "negative"),  # outvoted
        cats("Not sure ", "negative"),  # TweetEval's val holds it
        cats("BAD <3", "negative"),  # its test holds it, once unescaped
        cats("kept", "neutral"),
    ]
    write_tweeteval(tmp_path / "tweeteval", splits=("val", "test"))
    monkeypatch.setattr(official_sentiment, "read_embedded", lambda: embedded)
    lines = []
    printer = Printer(no_print=True)
    monkeypatch.setattr(printer, "info", lambda text: lines.append(text))
    out = official_sentiment.prepare(
        tmp_path / "tweeteval", tmp_path / "out", train="embedded", printer=printer
    )
    assert read_jsonl(out["train"]) == [
        {"text": "a great day", "label": "positive"},
        {"text": "kept", "label": "neutral"},
    ]
    assert "6 embedded sentiment tweets" in lines[0]
    assert "2 duplicates dropped (1 texts had copies with different labels" in lines[0]
    assert "2 dropped as their text is in TweetEval val or test" in lines[0]
    assert len(read_jsonl(out["test"])) == 4  # the official splits stay whole


# --- the workflow --------------------------------------------------------------------


def test_the_workflow_converts_the_official_files_as_published(tmp_path):
    project = copy_project(tmp_path)
    write_wnut(project / "assets" / "wnut16")
    write_tweeteval(project / "assets" / "tweeteval")
    for step in ("official-sentiment", "official-corpus"):
        result = run([SPACY, "project", "run", step, project])
        assert result.returncode == 0, result.stdout + result.stderr
    corpus = project / "corpus" / "official"
    sizes = {
        task: [
            len(read_docs(corpus / task / f"{split}.spacy")) for split in ("train", "dev", "test")
        ]
        for task in ("ner", "textcat")
    }
    assert sizes == {"ner": [3, 1, 2], "textcat": [3, 2, 4]}
    train = read_docs(corpus / "ner" / "train.spacy")
    assert [(e.text, e.label_) for e in train[1].ents] == [("Disney world", "facility")]
    test = read_docs(corpus / "ner" / "test.spacy")
    assert [t.text for t in test[0]] == ["\u200bWhy", "is", "Apple", "down"]  # the official tokens
    assert [(e.text, e.label_) for d in test for e in d.ents] == [
        ("Apple", "company"),
        ("#Steelers", "sportsteam"),
    ]
    assert not test[0].cats  # entity tweets carry no sentiment
    dev = read_docs(corpus / "textcat" / "dev.spacy")
    assert dev[0].cats == {"negative": 0.0, "neutral": 0.0, "positive": 1.0}
    assert dev[0].text == "so good"  # whitespace collapsed by the converter, not cut


def test_the_official_workflow_resolves(tmp_path):
    project = copy_project(tmp_path)
    result = run(
        [SPACY, "project", "run", "official", project, "--dry"]
        + ["--vars.official_sentiment_train", "embedded", "--vars.compare_setups", "single-ner"]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    commands = [line for line in result.stdout.splitlines() if line.startswith("Running command:")]
    assert len(commands) == 5
    assert (
        "official_sentiment.py assets/tweeteval corpus/official-sentiment --train embedded"
        in commands[0]
    )
    assert "spacy mtl convert corpus/official --ner-train assets/wnut16/train" in commands[1]
    assert "compare.py train --corpus corpus/official" in commands[2]
    assert "--setups single-ner" in commands[2] and "--metrics metrics/official" in commands[2]
    assert "conlleval.py --training training/official" in commands[3]
    assert "official_report.py --metrics metrics/official" in commands[4]


def test_official_assets_git_writes_every_official_asset():
    from weasel.util import load_project_config

    config = load_project_config(REPO / "project", overrides={"vars.tweeteval_git": "/copy"})
    official = {
        asset["dest"]
        for asset in config["assets"]
        if asset["dest"].startswith(("assets/wnut16/", "assets/tweeteval/"))
    }
    command = next(c for c in config["commands"] if c["name"] == "official-assets-git")
    written = {
        pair.rpartition(":")[2]
        for line in command["script"]
        for pair in line.split()
        if ":" in pair
    }
    assert written == official
    assert sum('--repo "/copy"' in line for line in command["script"]) == 2


def test_compare_trains_and_scores_on_the_corpus_it_is_given(tiny_encoder, tmp_path):
    # No corpus/ here: the runs must read corpus/official, in the config's paths too.
    corpus = tmp_path / "corpus" / "official"
    write_ner_test(corpus / "ner" / "train.spacy", WNUT["train"])
    write_ner_test(corpus / "ner" / "dev.spacy", WNUT["dev"])
    write_ner_test(corpus / "ner" / "test.spacy", WNUT["test"])
    nlp = spacy.blank("en")
    (corpus / "textcat").mkdir()
    for split in ("train", "dev", "test"):
        docs = [nlp.make_doc(text) for text, _ in TWEETEVAL["train"]]
        for doc, (_, label) in zip(docs, TWEETEVAL["train"]):
            doc.cats = {name: float(name == label) for name in ("0", "1", "2")}
        DocBin(docs=docs).to_disk(corpus / "textcat" / f"{split}.spacy")
    result = run(
        [sys.executable, SCRIPTS / "compare.py", "train", "--corpus", "corpus/official"]
        + ["--configs-dir", REPO / "configs", "--seeds", "0", "--setups", "single-ner"]
        + ["--max-steps", "2", "--eval-frequency", "2", "--encoder", tiny_encoder, "--gpu-id", "-1"]
        + ["--output", "training/official", "--metrics", "metrics/official"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    scored = json.loads((tmp_path / "metrics/official/single-ner-s0.json").read_text())
    assert "corpus/official/ner/train.spacy" in scored["settings"]["digests"]
    config = (tmp_path / "training/official/single-ner-s0/model-best/config.cfg").read_text()
    assert 'ner_train = "corpus/official/ner/train.spacy"' in config
    records = (tmp_path / "metrics/official/single-ner-s0.docs.jsonl").read_text().splitlines()
    assert len(records) == len(WNUT["test"])
    missing = run(
        [sys.executable, SCRIPTS / "compare.py", "train", "--corpus", "nowhere"], cwd=tmp_path
    )
    assert missing.returncode == 1 and "nowhere/textcat/train.spacy not found" in missing.stderr


# --- conlleval -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "gold,guess,counts",
    [
        # Exact typed chunks: the type, the first and the last token must all match.
        (["B-geo-loc", "I-geo-loc", "O"], ["B-geo-loc", "I-geo-loc", "O"], (1, 0, 0)),
        (["B-geo-loc", "I-geo-loc", "O"], ["B-geo-loc", "O", "O"], (0, 1, 1)),
        (["B-geo-loc", "I-geo-loc", "O"], ["B-person", "I-person", "O"], (0, 1, 1)),
        # A chunk ends at the sentence end, and at B of the same type.
        (["O", "B-person", "B-person"], ["O", "B-person", "I-person"], (0, 1, 2)),
        # conlleval reads I-X after O as a chunk start, and a type change as a new chunk.
        (["O", "B-other", "I-other"], ["O", "I-other", "I-other"], (1, 0, 0)),
        (["B-person", "I-person"], ["B-person", "I-company"], (0, 2, 1)),
        (["O", "O"], ["O", "O"], (0, 0, 0)),
    ],
)
def test_conlleval_counts_chunks_as_conlleval_does(gold, guess, counts):
    assert conlleval.count(gold, guess) == counts


def test_conlleval_prf_is_micro_averaged():
    records = [{"tp": 1, "fp": 1, "fn": 0}, {"tp": 0, "fp": 0, "fn": 2}]
    scores = conlleval.prf(records)
    assert scores["p"] == 0.5 and scores["r"] == pytest.approx(1 / 3)
    assert scores["f"] == pytest.approx(0.4)
    assert conlleval.prf([{"tp": 0, "fp": 0, "fn": 3}])["f"] == 0.0


def write_ner_test(path: Path, sentences) -> None:
    nlp = spacy.blank("en")
    docs = [Doc(nlp.vocab, words=[w for w, _ in s], ents=[t for _, t in s]) for s in sentences]
    path.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs).to_disk(path)


def fake_run(metrics: Path, training: Path, pipeline: str, setup: str = "single-ner") -> None:
    metrics.mkdir(parents=True, exist_ok=True)
    result = {"setup": setup, "seed": 0, "seconds": 1.0, "scores": {"ner": 0.5}, "dev_scores": {}}
    (metrics / f"{setup}-s0.json").write_text(json.dumps(result))
    shutil.copytree(pipeline, training / f"{setup}-s0" / "model-best")


def test_conlleval_equals_spacy_where_spacy_keeps_the_official_tokens(tiny_pipeline, tmp_path):
    """On tokens spaCy's tokenizer leaves alone, tagging the official tokens and
    tagging spaCy's own are the same, and so are the two F1s."""
    sentences = [
        [("Barack", "B-person"), ("Obama", "I-person"), ("visited", "O"), ("Paris", "B-geo-loc")],
        [
            ("Apple", "B-company"),
            ("released", "O"),
            ("a", "O"),
            ("new", "O"),
            ("iPhone", "B-product"),
        ],
        [
            ("great", "O"),
            ("show", "O"),
            ("by", "O"),
            ("Coldplay", "B-musicartist"),
            ("tonight", "O"),
        ],
        [("I", "O"), ("hate", "O"), ("waiting", "O"), ("at", "O"), ("Heathrow", "B-facility")],
    ] * 5
    test = tmp_path / "corpus" / "test.spacy"
    write_ner_test(test, sentences)
    metrics, training = tmp_path / "metrics", tmp_path / "training"
    fake_run(metrics, training, tiny_pipeline)
    scored = conlleval.score_runs(training, metrics, test, gpu_id="-1")["single-ner-s0"]
    records = read_jsonl(metrics / "conlleval" / "single-ner-s0.docs.jsonl")
    assert len(records) == scored["n_docs"] == 20
    assert sum(r["tp"] + r["fp"] for r in records) > 0  # the random heads find entities
    spacy_f = evaluate(training / "single-ner-s0" / "model-best", {"ner": test})["ner"]["ents_f"]
    assert scored["f"] == pytest.approx(spacy_f)
    # conlleval's input: token gold guess per line, a blank line between tweets; counting
    # its chunks gives the records back.
    blocks = (metrics / "conlleval" / "single-ner-s0.txt").read_text().strip("\n").split("\n\n")
    assert len(blocks) == 20
    for block, record in zip(blocks, records):
        rows = [line.split(" ") for line in block.splitlines()]
        assert conlleval.count([r[1] for r in rows], [r[2] for r in rows]) == (
            record["tp"],
            record["fp"],
            record["fn"],
        )


def test_conlleval_tags_the_official_tokens_and_scores_each_run_once(tiny_pipeline, tmp_path):
    sentences = [[("go", "O"), ("#Steelers", "B-sportsteam"), ("don't", "O"), ("stop", "O")]] * 3
    test = tmp_path / "test.spacy"
    write_ner_test(test, sentences)
    metrics, training = tmp_path / "metrics", tmp_path / "training"
    fake_run(metrics, training, tiny_pipeline)
    conlleval.score_runs(training, metrics, test, gpu_id="-1")
    rows = (metrics / "conlleval" / "single-ner-s0.txt").read_text().splitlines()
    # One tag per official token, though spaCy would split "#Steelers" and "don't".
    assert [row.split(" ")[:2] for row in rows[:4]] == [
        ["go", "O"],
        ["#Steelers", "B-sportsteam"],
        ["don't", "O"],
        ["stop", "O"],
    ]
    summary = metrics / "conlleval" / "single-ner-s0.json"
    before = summary.stat().st_mtime_ns
    conlleval.score_runs(training, metrics, test, gpu_id="-1")
    assert summary.stat().st_mtime_ns == before  # unchanged result and test set: not again
    result = metrics / "single-ner-s0.json"
    result.write_text(result.read_text().replace("1.0", "2.0"))  # the run was trained again
    conlleval.score_runs(training, metrics, test, gpu_id="-1")
    assert summary.stat().st_mtime_ns != before


# --- the report ----------------------------------------------------------------------


def textcat_records(gold: list, pred: list) -> list:
    return [
        {"task": "textcat", "doc": i, "gold": g, "pred": p}
        for i, (g, p) in enumerate(zip(gold, pred))
    ]


def ner_records(tp: int, n: int = 20) -> list:
    return [
        {"task": "ner", "doc": i, "tp": int(i < tp), "fp": int(i >= tp), "fn": int(i >= tp)}
        for i in range(n)
    ]


def write_result(metrics: Path, setup: str, scores: dict, docs: list, conll=None) -> None:
    result = {"setup": setup, "seed": 0, "seconds": 10.0, "scores": scores, "dev_scores": scores}
    (metrics / f"{setup}-s0.json").write_text(json.dumps(result))
    (metrics / f"{setup}-s0.docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in docs))
    if conll is not None:
        (metrics / "conlleval").mkdir(exist_ok=True)
        (metrics / "conlleval" / f"{setup}-s0.docs.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in conll)
        )


def cells(report: str, setup: str) -> list:
    section = report[report.index("## Official metrics") :]
    line = next(line for line in section.splitlines() if line.startswith(f"| {setup} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_report_adds_macro_recall_conlleval_and_the_references(tmp_path, monkeypatch):
    """Sentiment: 10 gold negatives, 10 neutrals, 20 positives. The single-task model
    calls every tweet positive: macro-recall (0 + 0 + 1) / 3 = 33.3, macro-F1 22.2. The
    shared model gets every negative and neutral and half the positives right: recall
    (1 + 1 + 0.5) / 3 = 83.3. Entities: conlleval finds 10 and 16 of 20."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    gold = ["negative"] * 10 + ["neutral"] * 10 + ["positive"] * 20
    single = ["positive"] * 40
    shared = gold[:20] + ["positive"] * 10 + ["neutral"] * 10
    write_result(metrics, "single-textcat", {"textcat": 0.222}, textcat_records(gold, single))
    write_result(metrics, "single-ner", {"ner": 0.55}, ner_records(11), conll=ner_records(10))
    write_result(
        metrics,
        "mtl-static",
        {"textcat": 0.8, "ner": 0.8},
        textcat_records(gold, shared) + ner_records(16),
        conll=ner_records(16),
    )
    output = metrics / "report.md"
    monkeypatch.setattr(
        sys,
        "argv",
        ["official_report.py", "--metrics", str(metrics), "--training", str(tmp_path / "t")]
        + ["--output", str(output)],
    )
    official_report.main()
    report = output.read_text()
    assert report.startswith("# Multi-task vs single-task")  # compare's report comes first
    assert (metrics / "scores.png").exists()
    row = cells(report, "single-textcat")
    assert row[2:5] == ["22.2 ± 0.0", "**33.3 ± 0.0**", "—"]
    row = cells(report, "mtl-static")
    assert row[3] == "**83.3 ± 0.0**"
    delta, low, high = (
        float(x) for x in row[4].replace("[", " ").replace("]", " ").replace(",", " ").split()
    )
    assert delta == pytest.approx(50.0, abs=0.05) and 0 < low < delta < high
    assert row[5:7] == ["80.0 ± 0.0", "**80.0 ± 0.0**"]  # spaCy's F1, then conlleval's
    assert row[7].startswith("+30.0 [")
    assert cells(report, "single-ner")[6] == "**50.0 ± 0.0**"
    reference = cells(report, "BERTweet-base (published; reference)")
    assert reference[3] == "73.4" and reference[6] == "52.1"
    assert "TweetEval sentiment (40 tweets) and WNUT-16 (20 tweets)" in report


def test_macro_recall_matches_its_definition():
    import numpy

    gold = numpy.asarray([0, 0, 1, 1, 1, 2])
    pred = numpy.asarray([0, 1, 1, 1, 0, 0])
    everything = numpy.arange(6)[None, :]
    # recalls 1/2, 2/3 and 0 (the one gold 2 is missed)
    expected = (1 / 2 + 2 / 3 + 0) / 3
    assert official_report.macro_recall(gold, pred, 3, everything)[0] == pytest.approx(expected)
