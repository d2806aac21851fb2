"""`spacy train` with an automatic device: the GPU where one is usable, else the CPU.

spaCy's own `--gpu-id 0` fails on a machine without a GPU; workflows that must run on
both say `--gpu-id auto` here instead. On a GPU the shared transformer also trains in
mixed precision unless the overrides say otherwise.
"""
import argparse
from pathlib import Path
from typing import Dict, List, Optional, Union

from spacy.cli._util import parse_config_overrides
from spacy.cli.train import train as spacy_train
from wasabi import msg

MIXED_PRECISION_KEY = "components.transformer.model.mixed_precision"


def resolve_gpu_id(gpu_id: str) -> int:
    """'auto' → 0 when a CUDA GPU is usable by thinc (cupy) and torch, else -1."""
    if gpu_id != "auto":
        try:
            return int(gpu_id)
        except ValueError:
            raise ValueError(f"--gpu-id must be 'auto' or an integer, got {gpu_id!r}") from None
    from thinc.util import has_cupy_gpu, has_torch_cuda_gpu

    return 0 if has_cupy_gpu and has_torch_cuda_gpu else -1


def gpu_id_option(value: str) -> int:
    """argparse type for --gpu-id: the resolved device, or a usage error."""
    try:
        return resolve_gpu_id(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def describe_device(gpu_id: int) -> str:
    if gpu_id < 0:
        return "CPU (no usable CUDA GPU: needs cupy and a CUDA build of torch)"
    import torch

    return f"GPU {gpu_id}: {torch.cuda.get_device_name(gpu_id)}"


def train(
    config_path: Path,
    output_path: Optional[Path],
    gpu_id: Union[int, str] = "auto",
    overrides: Optional[Dict[str, object]] = None,
) -> None:
    overrides = dict(overrides or {})
    device = resolve_gpu_id(gpu_id)
    msg.info(f"Training on {describe_device(device)}")
    if device >= 0:
        overrides.setdefault(MIXED_PRECISION_KEY, True)
    spacy_train(config_path, output_path, use_gpu=device, overrides=overrides)


def main(args: List[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m spacy_mtl train",
        description="Run `spacy train` on the GPU when one is usable, on the CPU otherwise. "
        "Config overrides are passed on as in spaCy: --training.max_steps 100.",
    )
    parser.add_argument("config_path", type=Path)
    parser.add_argument("--output", "-o", type=Path, default=None)
    parser.add_argument("--gpu-id", "-g", type=gpu_id_option, default="auto",
                        help="'auto' (default), -1 for CPU, or a GPU id")
    known, rest = parser.parse_known_args(args)
    train(known.config_path, known.output, known.gpu_id, parse_config_overrides(rest))
