"""project/scripts/compare.py: runs trained at once with config overrides, and the
report (Δm% against the single-task means, the verdict, the charts)."""

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.util import registry

from helpers import REPO, mixed_examples

SCRIPT = REPO / "project" / "scripts" / "compare.py"


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_corpus(directory: Path) -> None:
    """corpus/{textcat,ner}/{train,dev,test}.spacy, as `spacy project run corpus` writes
    them, from the tiny examples of tests/helpers.py."""
    references = [eg.reference for eg in mixed_examples(spacy.blank("en"))]
    for task, docs in (
        ("textcat", [d for d in references if d.cats]),
        ("ner", [d for d in references if not d.cats]),
    ):
        (directory / "corpus" / task).mkdir(parents=True)
        for split in ("train", "dev", "test"):
            DocBin(docs=docs).to_disk(directory / "corpus" / task / f"{split}.spacy")


def test_setups_are_the_baselines_and_every_registered_strategy(compare):
    import spacy_mtl  # noqa: F401

    registered = sorted(
        name for name in registry.mtl_weightings.get_all() if name.startswith("spacy_mtl.")
    )
    assert list(compare.strategies().values()) == registered
    assert compare.all_setups() == ["single-textcat", "single-ner", "stock"] + [
        f"{kind}-{name[len('spacy_mtl.') : -len('.v1')]}"
        for kind in ("mtl", "distill")
        for name in registered
    ]
    assert compare.setup_config("mtl-famo", Path("configs"))[1] == [
        "--components.transformer.weighting.@mtl_weightings",
        "spacy_mtl.famo.v1",
    ]


def test_run_settings_leave_the_budget_to_the_config_unless_given(compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the corpus paths are relative, as in the project
    write_corpus(tmp_path)
    (tmp_path / "ner.cfg").write_text("[training]\nmax_steps = 7\n")
    shorthands = {"max_steps": None, "eval_frequency": None, "encoder": None, "sampling": None}
    args = argparse.Namespace(
        configs_dir=tmp_path,
        corpus=compare.CORPUS,
        overrides=["--training.dropout", "0.3"],
        **shorthands,
    )
    assert compare.run_settings("single-ner", 1, args)["arguments"] == [
        "--system.seed",
        "1",
        "--training.dropout",
        "0.3",
    ]
    args.max_steps = 12
    assert compare.run_settings("single-ner", 1, args)["arguments"] == [
        "--system.seed",
        "1",
        "--training.max_steps",
        "12",
        "--training.dropout",
        "0.3",
    ]


def write_results(metrics: Path, setup: str, runs: list) -> None:
    metrics.mkdir(parents=True, exist_ok=True)
    for seed, (test, dev) in enumerate(runs):
        result = {
            "setup": setup,
            "seed": seed,
            "seconds": 100.0 + seed,
            "scores": test,
            "dev_scores": dev,
        }
        (metrics / f"{setup}-s{seed}.json").write_text(json.dumps(result))


def write_single_task_results(metrics: Path) -> None:
    """Two seeds each: test means 0.76 (std 0.014) and 0.51 (std 0.014); dev 0.70 and 0.40."""
    write_results(
        metrics,
        "single-textcat",
        [({"textcat": 0.75}, {"textcat": 0.70}), ({"textcat": 0.77}, {"textcat": 0.70})],
    )
    write_results(
        metrics, "single-ner", [({"ner": 0.50}, {"ner": 0.40}), ({"ner": 0.52}, {"ner": 0.40})]
    )


def write_report(compare, metrics: Path) -> str:
    """Run `compare.py report` on `metrics` and return the Markdown it wrote."""
    output = metrics / "report.md"
    compare.report(
        argparse.Namespace(metrics=metrics, training=metrics.parent / "training", output=output)
    )
    return output.read_text()


def row(table: str, setup: str) -> list:
    line = next(line for line in table.splitlines() if line.startswith(f"| {setup} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_report_delta_m_and_verdict(compare, tmp_path):
    metrics = tmp_path / "metrics"
    write_single_task_results(metrics)
    write_results(
        metrics,
        "mtl-static",
        [
            ({"textcat": 0.78, "ner": 0.52}, {"textcat": 0.77, "ner": 0.44}),
            ({"textcat": 0.78, "ner": 0.54}, {"textcat": 0.77, "ner": 0.44}),
        ],
    )
    # Better on average, but sentiment far below its single-task model.
    write_results(
        metrics,
        "stock",
        [
            ({"textcat": 0.30, "ner": 0.90}, {"textcat": 0.30, "ner": 0.90}),
            ({"textcat": 0.30, "ner": 0.90}, {"textcat": 0.30, "ner": 0.90}),
        ],
    )
    table = write_report(compare, metrics)
    # Single-task means 0.76 and 0.51; run 1: (+2/76 + 1/51)/2, run 2: (+2/76 + 3/51)/2.
    expected = 100 * ((0.02 / 0.76 + 0.01 / 0.51) / 2 + (0.02 / 0.76 + 0.03 / 0.51) / 2) / 2
    static = row(table, "mtl-static")
    assert static[1] == "2"
    assert static[2] == "78.0 ± 0.0" and static[3] == "53.0 ± 1.4"
    assert static[4] == static[5] == "—"  # no per-doc records: no intervals
    assert static[6] == f"{expected:+.1f}"
    assert static[7] == f"{100 * (0.07 / 0.70 + 0.04 / 0.40) / 2:+.1f}"
    assert static[8] == "yes"
    assert row(table, "stock")[8] == "no (textcat)"
    assert row(table, "single-ner")[2] == "—"
    assert (metrics / "scores.png").stat().st_size > 0


def test_report_verdicts_with_one_seed_a_loss_and_old_results(compare, tmp_path):
    metrics = tmp_path / "metrics"
    write_single_task_results(metrics)
    # Within one std of both single-task models, but below them on average.
    write_results(
        metrics,
        "mtl-static",
        [
            ({"textcat": 0.755, "ner": 0.505}, {"textcat": 0.70, "ner": 0.40}),
            ({"textcat": 0.755, "ner": 0.505}, {"textcat": 0.70, "ner": 0.40}),
        ],
    )
    write_results(
        metrics, "mtl-famo", [({"textcat": 0.80, "ner": 0.60}, {"textcat": 0.80, "ner": 0.60})]
    )
    # A result written before dev scores were recorded.
    (metrics / "mtl-dwa-s0.json").write_text(
        json.dumps(
            {
                "setup": "mtl-dwa",
                "seed": 0,
                "seconds": 1.0,
                "scores": {"textcat": 0.76, "ner": 0.51},
            }
        )
    )
    table = write_report(compare, metrics)
    assert row(table, "mtl-static")[8] == "no (Δm%)"
    assert row(table, "mtl-famo")[8] == "—"  # one seed: no std to compare with
    dwa = row(table, "mtl-dwa")
    assert dwa[6] == "+0.0" and dwa[7] == "—"


def test_report_without_results_says_so(compare, tmp_path):
    with pytest.raises(SystemExit, match="no results"):
        compare.report(
            argparse.Namespace(metrics=tmp_path, training=tmp_path, output=tmp_path / "r.md")
        )


def test_train_runs_jobs_at_once_with_overrides_and_resumes(tiny_encoder, tmp_path):
    write_corpus(tmp_path)
    command = [
        sys.executable,
        str(SCRIPT),
        "train",
        "--configs-dir",
        str(REPO / "configs"),
        "--seeds",
        "0",
        "--setups",
        "single-ner,mtl-pcgrad",
        "--max-steps",
        "2",
        "--eval-frequency",
        "2",
        "--encoder",
        tiny_encoder,
        "--gpu-id",
        "-1",
        "--jobs",
        "2",
        "--training.dropout",
        "0.3",
    ]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "2 to train, 2 at a time on CPU" in first.stdout

    for name, tasks in (("single-ner-s0", {"ner"}), ("mtl-pcgrad-s0", {"textcat", "ner"})):
        result = json.loads((tmp_path / "metrics" / "compare" / f"{name}.json").read_text())
        assert set(result["scores"]) == set(result["dev_scores"]) == tasks
        assert result["jobs"] == 2 and result["device"] == "CPU"
        assert result["overrides"] == ["--training.dropout", "0.3"]
        run = tmp_path / "training" / "compare" / name
        # Each run logs to its own file, and the override reached its config.
        assert "Training on CPU" in (run.parent / f"{name}.log").read_text()
        assert "dropout = 0.3" in (run / "model-best" / "config.cfg").read_text()

    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and "2 done before, 0 to train" in again.stdout

    # A result trained from another config is stale: only that setup trains again.
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("ner.cfg", "mtl.cfg"):
        (configs / name).write_text((REPO / "configs" / name).read_text())
    with (configs / "ner.cfg").open("a") as config:
        config.write("\n# edited\n")
    edited = [
        *command[: command.index("--configs-dir") + 1],
        str(configs),
        *command[command.index("--seeds") :],
    ]
    retrained = subprocess.run(edited, cwd=tmp_path, capture_output=True, text=True)
    assert retrained.returncode == 0, retrained.stdout + retrained.stderr
    assert "1 done before, 1 to train" in retrained.stdout
    assert (
        "Training again, as their config, corpus or settings changed: single-ner-s0"
        in retrained.stdout
    )

    # A run that fails writes no result; the others are reported with it, and the end
    # of its log is shown.
    broken = [
        *command[: command.index("--encoder")],
        "--encoder",
        str(tmp_path / "no-such-encoder"),
        "--gpu-id",
        "-1",
        "--jobs",
        "2",
        "--seeds",
        "1",
        "--output",
        "training/broken",
        "--metrics",
        "metrics/broken",
    ]
    failed = subprocess.run(broken, cwd=tmp_path, capture_output=True, text=True)
    assert failed.returncode != 0
    assert (
        "2 of 2 runs failed: single-ner-s1, mtl-pcgrad-s1" in failed.stderr
        or "2 of 2 runs failed: mtl-pcgrad-s1, single-ner-s1" in failed.stderr
    )
    assert "no-such-encoder" in (tmp_path / "training" / "broken" / "single-ner-s1.log").read_text()
    assert "--- end of" in failed.stdout
    assert not (tmp_path / "metrics" / "broken").exists()


def test_train_checks_overrides_before_training(tmp_path):
    for bad, message in (
        (["--seed", "3"], "No such option '--seed'"),
        (["extra"], "Invalid config override"),
    ):
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "train", "--metrics", str(tmp_path), *bad],
            capture_output=True,
            text=True,
        )
        assert result.returncode != 0 and message in result.stdout + result.stderr
    assert not list(tmp_path.iterdir())


def test_report_names_devices_and_overrides_of_mixed_runs(compare, tmp_path):
    metrics = tmp_path / "metrics"
    write_single_task_results(metrics)
    for path in metrics.glob("*.json"):
        result = json.loads(path.read_text())
        gpu = path.name.startswith("single-ner")
        result.update(
            device="GPU 0: NVIDIA H200" if gpu else "CPU",
            jobs=12 if gpu else 1,
            overrides=["--training.dropout", "0.2"] if gpu else [],
        )
        path.write_text(json.dumps(result))
    text = write_report(compare, metrics)
    assert "up to 12 at a time" in text
    assert "Runs by device: CPU (2), GPU 0: NVIDIA H200 (2)." in text
    assert "Runs by config overrides: --training.dropout 0.2 (2), none (2)." in text


def write_per_doc(metrics: Path, setup: str, seed: int, records: list) -> None:
    (metrics / f"{setup}-s{seed}.docs.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records)
    )


def test_report_verdict_follows_the_bootstrap_intervals(compare, tmp_path):
    """One seed each, 40 test docs per task. mtl-static gets 8 more sentiment docs and
    4 more entities right than the single-task models: its sentiment interval lies above
    zero, and it pays. mtl-famo is better on average (every sentiment right) but finds
    half the entities: its entity interval lies below zero, so it does not pay."""
    metrics = tmp_path / "metrics"
    labels = ["negative", "neutral", "positive"]
    gold = [labels[i % 3] for i in range(40)]
    single_pred = [g if i % 2 else labels[(i + 1) % 3] for i, g in enumerate(gold)]  # 20 right
    better_pred = [
        g if i % 2 or i < 16 else labels[(i + 1) % 3] for i, g in enumerate(gold)
    ]  # 28 right

    def cats(pred):
        return [
            {"task": "textcat", "doc": i, "gold": g, "pred": p}
            for i, (g, p) in enumerate(zip(gold, pred))
        ]

    def ents(tp):  # one gold entity per doc, found on the first `tp` docs
        return [
            {"task": "ner", "doc": i, "tp": int(i < tp), "fp": int(i >= tp), "fn": int(i >= tp)}
            for i in range(40)
        ]

    def f1(tp):
        return 2 * tp / (2 * tp + 2 * (40 - tp))

    from spacy_mtl.evaluation.bootstrap import paired_bootstrap

    def macro(pred):
        return (
            paired_bootstrap("textcat", [cats(pred)], [cats(gold)]).delta + 1.0
        )  # macro-F1 of pred

    write_results(metrics, "single-textcat", [({"textcat": macro(single_pred)}, {"textcat": 0.5})])
    write_results(metrics, "single-ner", [({"ner": f1(20)}, {"ner": 0.5})])
    write_results(
        metrics,
        "mtl-static",
        [({"textcat": macro(better_pred), "ner": f1(24)}, {"textcat": 0.5, "ner": 0.5})],
    )
    write_results(
        metrics, "mtl-famo", [({"textcat": 1.0, "ner": f1(10)}, {"textcat": 0.5, "ner": 0.5})]
    )
    write_per_doc(metrics, "single-textcat", 0, cats(single_pred))
    write_per_doc(metrics, "single-ner", 0, ents(20))
    write_per_doc(metrics, "mtl-static", 0, cats(better_pred) + ents(24))
    write_per_doc(metrics, "mtl-famo", 0, cats(gold) + ents(10))
    table = write_report(compare, metrics)
    static = row(table, "mtl-static")
    delta, low, high = (
        float(x) for x in static[4].replace("[", "").replace("]", "").replace(",", "").split()
    )
    assert delta == pytest.approx(100 * (macro(better_pred) - macro(single_pred)), abs=0.051)
    assert 0 < low < delta < high
    assert static[5].startswith(f"{100 * (f1(24) - f1(20)):+.1f} [")
    assert float(static[6]) > 0 and static[8] == "yes"
    famo = row(table, "mtl-famo")
    assert float(famo[6]) > 0  # better on average ...
    assert famo[8] == "no (ner)"  # ... but its entity interval is below zero
    assert row(table, "single-ner")[4] == row(table, "single-ner")[5] == "—"


def test_distilled_students_learn_from_their_seeds_single_task_runs(tiny_encoder, tmp_path):
    """--setups distill-static trains both single-task teachers first, teaches the
    training corpora once per seed, trains the student on them, and resumes."""
    write_corpus(tmp_path)
    command = [
        sys.executable,
        str(SCRIPT),
        "train",
        "--configs-dir",
        str(REPO / "configs"),
        "--seeds",
        "0",
        "--setups",
        "distill-static",
        "--max-steps",
        "2",
        "--eval-frequency",
        "2",
        "--encoder",
        tiny_encoder,
        "--gpu-id",
        "-1",
    ]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "training single-textcat, single-ner too" in first.stdout
    assert "3 to train" in first.stdout
    taught = tmp_path / "training" / "compare" / "taught-s0"
    docs = list(
        DocBin().from_disk(taught / "textcat-train.spacy").get_docs(spacy.blank("en").vocab)
    )
    from spacy_mtl.distill.targets import teacher_cats, teacher_ents

    assert docs and all(teacher_ents(doc) is not None and teacher_cats(doc) for doc in docs)
    student = json.loads((tmp_path / "metrics" / "compare" / "distill-static-s0.json").read_text())
    assert set(student["settings"]["teachers"]) == {"single-textcat", "single-ner"}
    config = (
        tmp_path / "training" / "compare" / "distill-static-s0" / "model-best" / "config.cfg"
    ).read_text()
    assert "taught-s0/textcat-train.spacy" in config and "taught-s0/ner-train.spacy" in config
    records = (
        (tmp_path / "metrics" / "compare" / "distill-static-s0.docs.jsonl").read_text().splitlines()
    )
    assert {json.loads(line)["task"] for line in records} == {"textcat", "ner"}
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and "3 done before, 0 to train" in again.stdout
    assert "teacher targets for" not in again.stdout


def test_students_of_a_failed_teacher_do_not_train(tiny_encoder, tmp_path):
    """A teacher whose run failed leaves no current result: its seed gets no teacher
    targets and no student, even where an older model-best of that teacher is on disk."""
    write_corpus(tmp_path)
    configs = tmp_path / "configs"
    configs.mkdir()
    for name in ("textcat.cfg", "ner.cfg", "mtl.cfg"):
        (configs / name).write_text((REPO / "configs" / name).read_text())
    # An older run of the textcat teacher, left behind on disk.
    (tmp_path / "training" / "compare" / "single-textcat-s0" / "model-best").mkdir(parents=True)
    with (configs / "textcat.cfg").open("a") as config:
        config.write("\n[components.textcat.model]\nno_such_setting = 1\n")
    command = [
        sys.executable,
        str(SCRIPT),
        "train",
        "--configs-dir",
        str(configs),
        "--seeds",
        "0",
        "--setups",
        "distill-static",
        "--max-steps",
        "2",
        "--eval-frequency",
        "2",
        "--encoder",
        tiny_encoder,
        "--gpu-id",
        "-1",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0
    assert "single-textcat-s0: FAILED" in result.stdout and "single-ner-s0: done" in result.stdout
    assert (
        "seed 0: no teacher targets (teacher single-textcat-s0 did not finish); not training distill-static-s0"
        in result.stdout
    )
    assert "2 of 3 runs failed: single-textcat-s0, distill-static-s0" in result.stderr
    assert not (tmp_path / "training" / "compare" / "taught-s0").exists()
    assert not (tmp_path / "metrics" / "compare" / "distill-static-s0.json").exists()


def test_report_summarises_the_task_gradients_of_every_seed(compare, tmp_path):
    metrics = tmp_path / "metrics"
    write_single_task_results(metrics)
    runs = [({"textcat": 0.76, "ner": 0.51}, {"textcat": 0.70, "ner": 0.40})] * 2
    write_results(metrics, "mtl-static", runs)
    write_results(metrics, "distill-static", runs)
    traces = {  # per seed: (textcat weight, ner weight, cosine) per step
        "distill-static-s0": [(1.0, 1.0, 0.2), (1.0, 1.0, -0.1)],
        "distill-static-s1": [(0.5, 1.5, -0.3), (0.5, 1.5, 0.4)],
        "mtl-static-s0": [(1.0, 1.0, 0.0)],
    }
    for run, steps in traces.items():
        (tmp_path / "training" / run).mkdir(parents=True)
        records = []
        for step, (w_textcat, w_ner, cosine) in enumerate(steps):
            records.append(
                {
                    "step": step,
                    "task": "textcat",
                    "loss": 1.0,
                    "weight": w_textcat,
                    "grad_norm": 0.1,
                    "cosine": {"ner": cosine},
                }
            )
            records.append(
                {
                    "step": step,
                    "task": "ner",
                    "loss": 2.0,
                    "weight": w_ner,
                    "grad_norm": 0.2,
                    "cosine": {"textcat": cosine},
                }
            )
        (tmp_path / "training" / run / "weights.jsonl").write_text(
            "\n".join(json.dumps(r) for r in records)
        )
    report = write_report(compare, metrics)
    gradients = report.split("## Task gradients")[1]
    distilled = row(gradients, "distill-static")
    assert distilled[1:] == ["2", "+0.0500", "-0.300 … +0.400", "50%", "ner 1.25 / textcat 0.75"]
    assert row(gradients, "mtl-static")[1:] == [
        "1",
        "+0.0000",
        "+0.000 … +0.000",
        "0%",
        "ner 1.00 / textcat 1.00",
    ]
    assert "| single-ner |" not in gradients
