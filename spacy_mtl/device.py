"""Which device to train on: the one place spacy-mtl decides "GPU or CPU".

spaCy's `--gpu-id 0` fails on a machine without a GPU; commands that must run on both
take `--gpu-id auto`: GPU 0 where thinc (through cupy) and torch can both use a CUDA
GPU, else the CPU. `spacy mtl train`, `spacy mtl evaluate`, project/scripts/compare.py
and the benchmark (bench/common.py) all resolve their device here. A GPU asked for by
its number that cannot be used is refused with one message (`check_device`), not
with thinc's or torch's traceback.
"""

from typing import Union

from .errors import Errors

AUTO = "auto"


def gpu_available() -> bool:
    """Whether both thinc (cupy) and torch can use a CUDA GPU.

    RETURNS (bool): True when a spaCy pipeline with a torch encoder can train on GPU 0.
    """
    from thinc.util import has_cupy_gpu, has_torch_cuda_gpu

    return bool(has_cupy_gpu and has_torch_cuda_gpu)


def resolve_gpu_id(gpu_id: Union[int, str, None]) -> int:
    """The GPU to use, or -1 for the CPU.

    gpu_id (Union[int, str, None]): "auto" (or None): GPU 0 if `gpu_available()`, else
        -1; an integer (or its text, as a command line gives it): that GPU, -1 the CPU.
    RETURNS (int): the resolved GPU id, -1 for the CPU.
    """
    if gpu_id is None or gpu_id == AUTO:
        return 0 if gpu_available() else -1
    try:
        value = int(gpu_id)
    except (TypeError, ValueError):
        raise ValueError(Errors.E273.format(gpu_id=repr(gpu_id))) from None
    return max(value, -1)


def check_device(gpu_id: int) -> None:
    """Refuse a GPU that cannot be used: none usable on this machine, or no GPU of that number.

    gpu_id (int): a resolved id, as `resolve_gpu_id` returns; -1 (the CPU) always passes.
    RAISES (ValueError): naming the GPU and what to pass instead.
    """
    if gpu_id < 0:
        return
    if not gpu_available():
        raise ValueError(Errors.E274.format(gpu_id=gpu_id))
    import torch

    count = torch.cuda.device_count()
    if gpu_id >= count:
        raise ValueError(Errors.E275.format(gpu_id=gpu_id, count=count))


def describe_device(gpu_id: int) -> str:
    """A device for messages: "CPU (...)" or e.g. "GPU 0: NVIDIA H200".

    gpu_id (int): a resolved id, as `resolve_gpu_id` returns.
    RETURNS (str): the description.
    RAISES (ValueError): a GPU that cannot be used (see `check_device`).
    """
    if gpu_id < 0:
        return (
            "CPU (no usable CUDA GPU: needs cupy and a CUDA build of torch)"
            if not gpu_available()
            else "CPU"
        )
    check_device(gpu_id)
    import torch

    return f"GPU {gpu_id}: {torch.cuda.get_device_name(gpu_id)}"


def use_device(gpu_id: int) -> None:
    """Put thinc (and so spaCy) on GPU `gpu_id`; nothing for the CPU (-1).

    gpu_id (int): a resolved id, as `resolve_gpu_id` returns.
    RAISES (ValueError): a GPU that cannot be used (see `check_device`).
    """
    if gpu_id >= 0:
        check_device(gpu_id)
        from thinc.api import require_gpu

        require_gpu(gpu_id)
