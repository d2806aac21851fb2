"""Peak resident memory (RSS) of one short training or inference run, in a process of its own.

A peak is the high-water mark of a whole process, so every measured thing gets a
fresh interpreter:

    python -m bench.memory CORPUS_DIR train SPEC [--steps N] [--gpu-id ID]
    python -m bench.memory CORPUS_DIR infer SPEC[+SPEC...] [--texts N] [--batch-size B] [--gpu-id ID]

SPEC is a pipeline spec (see bench.common), "bare" (the Hugging Face encoder alone)
or "none" (imports only: the floor every process pays). With several specs joined by
"+", all are loaded, then run one after the other, as the single-task pipelines are
in the throughput comparison. Prints one JSON line:
{"rss_mib": ..., "gpu_mib": ... (null on the CPU)}.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch

from .common import REPO, Device, inference_texts, load, select_device

#: Training steps and inference texts when the caller does not say.
DEFAULT_STEPS = 3
DEFAULT_TEXTS = 256
DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True)
class Peak:
    """A process's peak memory in MiB: resident, and allocated by torch on the GPU."""

    rss_mib: float
    gpu_mib: Optional[float]


def run_and_measure(
    corpus_dir: Path,
    mode: str,
    specs: Sequence[str],
    *,
    steps: int,
    n_texts: int,
    batch_size: int,
    device: Device,
) -> Peak:
    """Load `specs`, run them one after the other, return this process's peak memory."""
    things = [load(spec, corpus_dir, device) for spec in specs if spec != "none"]
    texts = inference_texts(corpus_dir, n_texts) if mode == "infer" else []
    for thing in things:
        if mode == "train":
            for step in range(steps):
                thing.train_step(step)
        else:
            thing.infer(texts, batch_size)
    device.sync()
    gpu = torch.cuda.max_memory_allocated(device.torch_device) / 2**20 if device.on_gpu else None
    return Peak(peak_rss_mib(), gpu)


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB.

    On Linux, VmHWM: the high-water mark of this process's own address space.
    ru_maxrss would be wrong there, as it also keeps the peak of the address space
    that exec replaced, the copy of the parent's made by fork: every child of the
    benchmark would report at least the parent's RSS (several GiB while it holds the
    training pipelines). Elsewhere ru_maxrss (bytes on macOS, KiB on the others).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def peak_memory(
    corpus_dir: Path,
    mode: str,
    spec: str,
    *,
    gpu_id: int,
    steps: int = DEFAULT_STEPS,
    n_texts: int = DEFAULT_TEXTS,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Peak:
    """Run `python -m bench.memory` for one spec and return what it measured."""
    command = [
        sys.executable,
        "-m",
        "bench.memory",
        str(corpus_dir),
        mode,
        spec,
        "--steps",
        str(steps),
        "--texts",
        str(n_texts),
        "--batch-size",
        str(batch_size),
        "--gpu-id",
        str(gpu_id),
    ]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, env=os.environ.copy()
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-4000:]}")
    return Peak(**json.loads(result.stdout.strip().splitlines()[-1]))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "corpus_dir", type=Path, help="directory written by project/scripts/prepare_tweets.py"
    )
    parser.add_argument("mode", choices=["train", "infer"])
    parser.add_argument(
        "specs", help='pipeline spec, "bare" or "none"; infer takes several joined by "+"'
    )
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="training steps (train)")
    parser.add_argument(
        "--texts", type=int, default=DEFAULT_TEXTS, help="texts to annotate (infer)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="nlp.pipe batch size (infer)"
    )
    parser.add_argument(
        "--gpu-id", type=int, default=-1, help="GPU to use; -1 (default) for the CPU"
    )
    args = parser.parse_args(argv)
    device = select_device(args.gpu_id)
    peak = run_and_measure(
        args.corpus_dir,
        args.mode,
        args.specs.split("+"),
        steps=args.steps,
        n_texts=args.texts,
        batch_size=args.batch_size,
        device=device,
    )
    print(json.dumps(asdict(peak)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
