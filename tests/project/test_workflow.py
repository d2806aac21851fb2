"""The `all` and `compress` workflows of project/project.yml, end to end, with the
tiny encoder and small data caps: the same commands as `make demo`, smaller numbers."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from helpers import REPO

SPACY = Path(sys.executable).parent / "spacy"


def run_workflow(project: Path, workflow: str, *options: str) -> str:
    result = subprocess.run(
        [str(SPACY), "project", "run", workflow, str(project), *options],
        capture_output=True,
        text=True,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    return log


@pytest.fixture(scope="module")
def project(tiny_encoder, tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("workflow") / "project"
    shutil.copytree(
        REPO / "project",
        project,
        ignore=shutil.ignore_patterns("corpus", "training", "metrics", "packages", "assets"),
    )
    return project


@pytest.fixture(scope="module")
def all_log(project, tiny_encoder) -> str:
    return run_workflow(
        project,
        "all",
        "--vars.repo_dir",
        str(REPO),
        "--vars.encoder",
        tiny_encoder,
        "--vars.max_steps",
        "12",
        "--vars.eval_frequency",
        "6",
        "--vars.max_ner",
        "120",
        "--vars.max_textcat",
        "120",
    )


def test_all_workflow_trains_packages_and_loads_in_a_fresh_venv(project, all_log):
    assert "Smoke test passed" in all_log
    scores = json.loads((project / "metrics" / "scores.json").read_text())
    assert set(scores) == {"textcat", "ner"}
    assert scores["textcat"]["n_docs"] == 12 and scores["ner"]["n_docs"] == 12
    dist = project / "packages" / "en_mtl_tweets-0.1.0" / "dist"
    assert sorted(p.name.split("-")[0] for p in dist.glob("*.whl")) == [
        "en_mtl_tweets",
        "spacy_mtl",
    ]
    trace = (project / "training" / "mtl" / "weights.jsonl").read_text().splitlines()
    assert {json.loads(line)["task"] for line in trace} == {"textcat", "ner"}
    assert (project / "metrics" / "weights.png").stat().st_size > 10_000


def test_compress_workflow_builds_the_onnx_and_small_wheels(project, all_log):
    # The tiny encoder has 2 layers; the student keeps the second.
    log = run_workflow(
        project,
        "compress",
        "--vars.repo_dir",
        str(REPO),
        "--vars.small_layers",
        "[1]",
        "--vars.small_steps",
        "12",
        "--vars.eval_frequency",
        "6",
    )
    assert log.count("Smoke test passed") == 4
    assert log.count("spacy mtl annotate ran") == 4
    from spacy_mtl.distill.targets import teacher_cats, teacher_ents

    vocab = spacy.blank("en").vocab
    for task in ("textcat", "ner"):
        gold = list(DocBin().from_disk(project / "corpus" / task / "train.spacy").get_docs(vocab))
        taught = list(
            DocBin()
            .from_disk(project / "corpus" / "taught-mtl" / f"{task}-train.spacy")
            .get_docs(vocab)
        )
        assert len(taught) == len(gold) == 96  # 80% of each capped corpus
        assert [d.cats for d in taught] == [d.cats for d in gold]  # gold kept
        # One teacher, the full pipeline, teaches both tasks on every tweet.
        assert all(teacher_cats(d) and teacher_ents(d) is not None for d in taught)
    for name in ("onnx", "int8", "small_onnx", "small_int8"):
        dist = project / "packages" / f"en_mtl_tweets_{name}-0.1.0" / "dist"
        assert sorted(p.name.split("-")[0] for p in dist.glob("*.whl")) == [
            f"en_mtl_tweets_{name}",
            "spacy_mtl",
        ]
    from spacy_mtl.models.onnx import OnnxShim

    small = spacy.load(project / "training" / "small-int8")
    shim = small.get_pipe("transformer").model.layers[0].shims[0]
    assert isinstance(shim, OnnxShim) and shim.settings["precision"] == "int8"
    assert shim.hf_config["num_hidden_layers"] == 1
    for name in ("onnx", "int8", "small-onnx", "small-int8"):
        scores = json.loads((project / "metrics" / name / "scores.json").read_text())
        assert scores["textcat"]["n_docs"] == 12 and scores["ner"]["n_docs"] == 12


def distill_options(tiny_encoder) -> list:
    # The corpus caps of `all`, or its corpus step would run again on all the tweets.
    return [
        "--vars.repo_dir",
        str(REPO),
        "--vars.encoder",
        tiny_encoder,
        "--vars.max_ner",
        "120",
        "--vars.max_textcat",
        "120",
        "--vars.teacher_steps",
        "6",
        "--vars.max_steps",
        "12",
        "--vars.eval_frequency",
        "6",
        "--vars.distill_weighting",
        "spacy_mtl.pcgrad.v1",
    ]


def test_distill_workflow_trains_teachers_teaches_and_packages_the_student(
    project, all_log, tiny_encoder
):
    log = run_workflow(project, "distill", *distill_options(tiny_encoder))
    assert "Saved 96 docs with teacher targets" in log  # 80% of each capped corpus
    from spacy_mtl.distill.targets import teacher_cats, teacher_ents

    vocab = spacy.blank("en").vocab
    original = list(DocBin().from_disk(project / "corpus" / "ner" / "train.spacy").get_docs(vocab))
    taught = list(
        DocBin().from_disk(project / "corpus" / "taught" / "ner-train.spacy").get_docs(vocab)
    )
    assert [d.text for d in taught] == [d.text for d in original]
    assert [[(e.start, e.end, e.label_) for e in d.ents] for d in taught] == [
        [(e.start, e.end, e.label_) for e in d.ents] for d in original
    ]  # gold kept
    assert all(teacher_cats(d) and teacher_ents(d) is not None for d in taught)
    scores = json.loads((project / "metrics" / "distill" / "scores.json").read_text())
    assert scores["textcat"]["n_docs"] == 12 and scores["ner"]["n_docs"] == 12
    for teacher, task in (("teacher-textcat", "textcat"), ("teacher-ner", "ner")):
        assert set(json.loads((project / "metrics" / teacher / "scores.json").read_text())) == {
            task
        }
    report = (project / "metrics" / "distill" / "report.md").read_text()
    teacher_f = json.loads((project / "metrics" / "teacher-ner" / "scores.json").read_text())[
        "ner"
    ]["ents_f"]
    entity_row = next(line for line in report.splitlines() if line.startswith("| entity F1 |"))
    assert f"| {100 * teacher_f:.1f} | {100 * scores['ner']['ents_f']:.1f} | " in entity_row
    assert "Pays (Δm% > 0" in report
    trace = [
        json.loads(line)
        for line in (project / "training" / "distill" / "weights.jsonl").read_text().splitlines()
    ]
    # Both tasks on every tweet: the task gradients share docs, so their cosine is not 0.
    assert any(
        abs(record["cosine"]["ner"]) > 1e-6 for record in trace if record["task"] == "textcat"
    )
    dist = project / "packages" / "en_mtl_tweets_distill-0.1.0" / "dist"
    assert sorted(p.name.split("-")[0] for p in dist.glob("*.whl")) == [
        "en_mtl_tweets_distill",
        "spacy_mtl",
    ]


def test_ner_targets_trains_a_student_per_target_and_scores_each_on_dev(
    project, all_log, tiny_encoder
):
    """After distill (run again here: a no-op when the test above ran, with the same
    vars), one student per NER teacher target, each scored on dev; the soft student
    is saved without its teacher."""
    run_workflow(project, "distill", *distill_options(tiny_encoder))
    run_workflow(project, "ner-targets", *distill_options(tiny_encoder))
    n_dev = len(
        list(
            DocBin()
            .from_disk(project / "corpus" / "ner" / "dev.spacy")
            .get_docs(spacy.blank("en").vocab)
        )
    )
    for targets in ("hard", "soft", "confident"):
        scores = json.loads(
            (project / "metrics" / "ner-targets" / targets / "scores.json").read_text()
        )
        assert scores["ner"]["n_docs"] == n_dev and "ents_f" in scores["ner"]
        assert (project / "metrics" / "ner-targets" / targets / "docs.jsonl").stat().st_size > 0
        student = project / "training" / "ner-targets" / targets / "model-best"
        config = spacy.util.load_config(student / "config.cfg")
        assert config["components"]["ner"]["teacher_targets"] == targets
        assert config["paths"]["ner_teacher"] == "training/teacher-ner/model-best"
        assert sorted(p.name for p in (student / "ner").iterdir()) == ["cfg", "model", "moves"]
