"""`spacy mtl quantize`: the serving pipeline written, what exists kept, and the
input never destroyed (issue 28, item 2)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def quantize(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "spacy_mtl", "quantize", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True)


def files(directory: Path) -> dict:
    return {p: p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_cli_writes_the_onnx_pipeline_and_keeps_what_exists(tiny_pipeline, tmp_path):
    out = tmp_path / "served"
    done = quantize(tiny_pipeline, out, "--activations", "per-token")
    assert done.returncode == 0, done.stderr + done.stdout
    said = " ".join(done.stdout.split())  # wasabi wraps long lines
    assert (
        "Saved the onnxruntime int8, per-token activations" in said
        and (out / "config.cfg").is_file()
    )
    assert "same top class" in said
    before = files(out)
    again = quantize(tiny_pipeline, out, "--activations", "per-token")
    assert again.returncode == 1 and "[E272]" in again.stdout
    assert files(out) == before
    twice = quantize(out, tmp_path / "x", "--precision", "fp32")
    assert twice.returncode == 1 and "[E088]" in twice.stdout
    assert not (tmp_path / "x").exists() and [p.name for p in tmp_path.iterdir()] == ["served"]


@pytest.fixture
def training(tiny_pipeline, tmp_path) -> Path:
    """A training directory as `spacy mtl train` leaves it."""
    root = tmp_path / "training"
    shutil.copytree(tiny_pipeline, root / "model-best")
    shutil.copytree(tiny_pipeline, root / "model-last")
    (root / "weights.jsonl").write_text('{"step": 0}\n')
    return root


def test_an_output_that_holds_the_input_is_refused_and_nothing_is_deleted(training):
    """`quantize training/model-best training --force` removed model-best, model-last
    and weights.jsonl, and exited 0: only output == input was checked."""
    before = files(training)
    done = quantize(training / "model-best", training, "--force")
    assert done.returncode == 1 and "[E270]" in done.stdout, done.stdout + done.stderr
    assert files(training) == before


def test_an_output_inside_the_input_is_refused(training):
    before = files(training)
    done = quantize(training / "model-best", training / "model-best" / "int8")
    assert done.returncode == 1 and "[E270]" in done.stdout, done.stdout + done.stderr
    assert files(training) == before and not (training / "model-best" / "int8").exists()


def test_static_int8_asks_for_calibration_posts(tiny_pipeline, tmp_path):
    done = quantize(tiny_pipeline, tmp_path / "out")
    assert done.returncode == 1 and "[E097]" in done.stdout
    assert not (tmp_path / "out").exists()
