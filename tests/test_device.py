"""spacy_mtl.device: the one place that decides between the GPU and the CPU."""

import pytest

from spacy_mtl import device
from spacy_mtl.__main__ import main

from helpers import write_task_corpora


@pytest.mark.parametrize("available,expected", [(True, 0), (False, -1)])
def test_auto_takes_gpu_0_only_where_thinc_and_torch_can_use_it(monkeypatch, available, expected):
    monkeypatch.setattr(device, "gpu_available", lambda: available)
    assert device.resolve_gpu_id("auto") == device.resolve_gpu_id(None) == expected


def test_an_explicit_id_is_taken_as_given():
    assert device.resolve_gpu_id("-1") == device.resolve_gpu_id(-1) == -1
    assert device.resolve_gpu_id("2") == device.resolve_gpu_id(2) == 2


@pytest.mark.parametrize("bad", ["gpu", "1.5", ""])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValueError, match=r"\[E273\] gpu id must be 'auto' or an integer"):
        device.resolve_gpu_id(bad)


def test_the_cpu_is_described_without_touching_cuda():
    assert device.describe_device(-1).startswith("CPU")


def test_a_gpu_that_cannot_be_used_is_refused_with_a_code(monkeypatch):
    # thinc's require_gpu and torch's get_device_name raised their own errors.
    monkeypatch.setattr(device, "gpu_available", lambda: False)
    for call in (device.use_device, device.describe_device):
        with pytest.raises(ValueError, match=r"\[E274\] GPU 0 was asked for"):
            call(0)
    device.use_device(-1)


def test_a_gpu_number_the_machine_does_not_have_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(device, "gpu_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"\[E275\] GPU 5 was asked for, but this machine has 1"):
        device.use_device(5)


@pytest.mark.parametrize("command", ["annotate", "teach", "train"])
def test_commands_refuse_a_gpu_that_cannot_be_used_in_one_line(
    command, tiny_pipeline, tmp_path, monkeypatch, capsys
):
    # `annotate -g 5` and `teach -g 0` without CUDA ended in tracebacks (issue 28, item 12).
    monkeypatch.setattr(device, "gpu_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "posts.txt").write_text("a post\n", encoding="utf-8")
    corpus = write_task_corpora(tmp_path)["textcat"]
    args = {
        "annotate": ["annotate", tiny_pipeline, "posts.txt", "out.jsonl", "-g", "5"],
        "teach": ["teach", str(corpus), "out.spacy", "--teacher", tiny_pipeline, "-g", "0"],
        "train": ["train", str(tmp_path / "posts.txt"), "-g", "0"],
    }[command]
    with pytest.raises(SystemExit) as exit:
        main(args)
    assert exit.value.code == 1
    out = capsys.readouterr()
    text = " ".join((out.out + out.err).split())
    assert "[E274] GPU" in text and "Traceback" not in text
    assert not (tmp_path / "out.jsonl").exists() and not (tmp_path / "out.spacy").exists()
