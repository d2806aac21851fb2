"""`spacy mtl …`: the commands spaCy loads through the `spacy_cli` entry point, and
`python -m spacy_mtl …`, the alias that runs the same command group. Each command runs
in a subprocess, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from thinc.api import Config

from helpers import CONFIGS, mixed_examples

# A user's own weighting, registered by the file given to --code. It weighs every task
# 0.5, and it can kill its own process (SIGKILL: no clean-up runs) when the training
# step `kill_at_step` combines the gradients.
CODE = """
import os
import signal

import numpy
import spacy_mtl


@spacy_mtl.register_weighting("test_half.v1")
class HalfWeighting(spacy_mtl.Weighting):
    def __init__(self, kill_at_step: int = -1):
        super().__init__()
        self.kill_at_step = kill_at_step
        self.steps = 0

    def weights(self, step):
        if self.steps == self.kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)
        self.steps += 1
        return numpy.full(len(step.tasks), 0.5)
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m ARGS` in `cwd`, without colours (the rest of the environment, the
    offline hub included, is inherited)."""
    env = {**os.environ, "ANSI_COLORS_DISABLED": "1"}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def flat(text: str) -> str:
    """Text with wasabi's line wrapping undone."""
    return " ".join(text.split())


@pytest.fixture
def project(tiny_encoder, tmp_path) -> Path:
    """A directory with textcat and ner train/dev corpora, configs/mtl.cfg (3 steps,
    no evaluation after step 0, trace path null) as config.cfg, and my_code.py."""
    nlp = spacy.blank("en")
    references = [eg.reference for eg in mixed_examples(nlp)]
    for task, docs in (
        ("textcat", [d for d in references if d.cats]),
        ("ner", [d for d in references if not d.cats]),
    ):
        (tmp_path / task).mkdir()
        for split in ("train", "dev"):
            DocBin(docs=docs).to_disk(tmp_path / task / f"{split}.spacy")
    config = Config().from_disk(CONFIGS / "mtl.cfg", interpolate=False)
    config["components"]["transformer"]["model"]["name"] = tiny_encoder
    config["corpora"]["train"]["seed"] = 0
    config["training"]["max_steps"] = 2
    config["training"]["eval_frequency"] = 100
    config["training"]["logger"]["path"] = None
    config.to_disk(tmp_path / "config.cfg")
    (tmp_path / "my_code.py").write_text(CODE)
    return tmp_path


PATHS = [
    f"--paths.{task}_{split}={task}/{split}.spacy"
    for task in ("textcat", "ner")
    for split in ("train", "dev")
]


def trace(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_spacy_lists_the_mtl_commands(tmp_path):
    listed = run("spacy", "--help", cwd=tmp_path)
    assert listed.returncode == 0 and "mtl" in listed.stdout
    for command in (["spacy", "mtl"], ["spacy_mtl"]):
        result = run(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        commands = result.stdout.split("Commands:")[1].split()
        assert {"train", "evaluate", "plot", "convert", "quantize", "annotate", "report"} <= set(
            commands
        ), result.stdout


def test_code_registers_a_weighting_and_the_trace_lands_in_the_output_directory(project):
    weighting = ["--components.transformer.weighting.@mtl_weightings", "test_half.v1"]
    # --code after the overrides, as `spacy train` takes it anywhere.
    first = run(
        "spacy",
        "mtl",
        "train",
        "config.cfg",
        "--output",
        "out",
        "--gpu-id",
        "auto",
        *PATHS,
        *weighting,
        "--code",
        "my_code.py",
        cwd=project,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Training on CPU" in first.stdout
    first_trace = trace(project / "out" / "weights.jsonl")
    assert [(r["step"], r["task"]) for r in first_trace] == [
        (step, task) for step in (0, 1, 2) for task in ("textcat", "ner")
    ]
    assert {r["weight"] for r in first_trace} == {0.5}
    assert "test_half.v1" in (project / "out" / "model-best" / "config.cfg").read_text()
    assert not (project / "training").exists()

    # A pipeline with the user's weighting loads with the same --code.
    scores = run(
        "spacy",
        "mtl",
        "evaluate",
        "out/model-best",
        "--ner",
        "ner/dev.spacy",
        "--code",
        "my_code.py",
        "--output",
        "scores.json",
        cwd=project,
    )
    assert scores.returncode == 0, scores.stdout + scores.stderr
    assert json.loads((project / "scores.json").read_text())["ner"]["n_docs"] == 2

    # A second run in the same directory, killed (no clean-up) in its step 2: the first
    # run's trace is kept whole, and every step the second one finished is on disk.
    second = run(
        "spacy",
        "mtl",
        "train",
        "-c",
        "my_code.py",
        "config.cfg",
        "-o",
        "out",
        "-g",
        "-1",
        *PATHS,
        *weighting,
        "--components.transformer.weighting.kill_at_step",
        "2",
        cwd=project,
    )
    assert second.returncode == -9, second.stdout + second.stderr
    assert trace(project / "out" / "weights.1.jsonl") == first_trace
    assert [r["step"] for r in trace(project / "out" / "weights.jsonl")] == [0, 0, 1, 1]


@pytest.mark.parametrize(
    "command,bad,message",
    [
        # A factory's own check (a ValueError), through the alias; the line names the section.
        (
            ["spacy_mtl"],
            [
                "--components.transformer.weighting",
                '{"@mtl_weightings": "spacy_mtl.static.v1", "weights": {"ner": -1}}',
            ],
            "✘ Could not initialize the pipeline: (spacy-mtl) [E056] [components.transformer.weighting] spacy_mtl.static.v1: weights.ner = -1",
        ),
        # A type error, through spaCy's own display of config errors.
        (["spacy", "mtl"], ["--training.dropout", "much"], "✘ Config validation error"),
    ],
)
def test_a_bad_config_value_prints_one_error_line(project, command, bad, message):
    result = run(*command, "train", "config.cfg", "--gpu-id", "-1", *PATHS, *bad, cwd=project)
    assert result.returncode == 1
    assert message in flat(result.stdout)
    assert flat(result.stdout).count("✘") == 1
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_a_non_finite_number_in_a_config_file_is_named(project, value):
    """spaCy alone says only that the component's config is not JSON-serialisable (E961)."""
    config = project / "config.cfg"
    block = '[components.transformer.weighting]\n@mtl_weightings = "spacy_mtl.static.v1"\n'
    assert block in config.read_text()
    config.write_text(
        config.read_text().replace(block, block + f'weights = {{"textcat": {value}, "ner": 1.0}}\n')
    )
    result = run("spacy", "mtl", "train", "config.cfg", "--gpu-id", "-1", *PATHS, cwd=project)
    assert result.returncode == 1
    expected = f"✘ Config value components.transformer.weighting.weights.textcat = {float(value)}: a config value must be a finite number"
    assert expected in flat(result.stdout)
    assert flat(result.stdout).count("✘") == 1 and "Traceback" not in result.stdout + result.stderr
