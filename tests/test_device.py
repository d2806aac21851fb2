"""spacy_mtl.device: the one place that decides between the GPU and the CPU."""

import pytest

from spacy_mtl import device


@pytest.mark.parametrize("available,expected", [(True, 0), (False, -1)])
def test_auto_takes_gpu_0_only_where_thinc_and_torch_can_use_it(monkeypatch, available, expected):
    monkeypatch.setattr(device, "gpu_available", lambda: available)
    assert device.resolve_gpu_id("auto") == device.resolve_gpu_id(None) == expected


def test_an_explicit_id_is_taken_as_given():
    assert device.resolve_gpu_id("-1") == device.resolve_gpu_id(-1) == -1
    assert device.resolve_gpu_id("2") == device.resolve_gpu_id(2) == 2


@pytest.mark.parametrize("bad", ["gpu", "1.5", ""])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValueError, match="'auto' or an integer"):
        device.resolve_gpu_id(bad)


def test_the_cpu_is_described_without_touching_cuda():
    assert device.describe_device(-1).startswith("CPU")
