"""Where the time of a training step or an inference pass goes (cProfile).

    python -m bench.profile SPEC [--steps N] [--warmup N] [--infer BATCH_SIZE] [--texts N]
                                 [--top N] [--gpu-id ID]

SPEC is a pipeline spec ("stock", "mtl", "mtl:pcgrad", "textcat", "ner") or "bare".
After `--warmup` untimed steps, profiles `--steps` training steps on the benchmark's
batches, or with `--infer` one `nlp.pipe` pass over `--texts` tweets at that batch
size, and prints the functions with the most cumulative time, per step (per pass).

cProfile adds a fixed cost to every Python call, so functions called thousands of
times a step (Doc.__iter__, Token creation) look slower than they are: check a
suspect with a plain timing. It cannot see inside Cython (spaCy's parser) or torch;
`py-spy record --native` can. On a GPU the profile shows where the host waits, not
where the kernels run.
"""

import argparse
import cProfile
import pstats
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from .common import inference_texts, load, log, make_corpus, select_device


def print_top(profile: cProfile.Profile, per: int, top: int) -> None:
    """The `top` functions by cumulative time, with their cumulative and own time per step."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    rows = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)[:top]
    print(f"{'calls/step':>10} {'cum s/step':>10} {'own s/step':>10}  function")
    for (path, line, func), (_, ncalls, own, cum, _) in rows:
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}" if line else path
        print(f"{ncalls / per:>10.1f} {cum / per:>10.4f} {own / per:>10.4f}  {func} ({where})")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("spec", help='pipeline spec or "bare"')
    parser.add_argument("--steps", type=int, default=5, help="profiled training steps (5)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps or passes first (3)")
    parser.add_argument(
        "--infer", type=int, metavar="BATCH_SIZE", help="profile one nlp.pipe pass instead"
    )
    parser.add_argument("--texts", type=int, default=256, help="tweets for --infer (256)")
    parser.add_argument("--top", type=int, default=40, help="functions to list (40)")
    parser.add_argument(
        "--gpu-id", type=int, default=-1, help="GPU to use; -1 (default) for the CPU"
    )
    args = parser.parse_args(argv)
    device = select_device(args.gpu_id)
    with tempfile.TemporaryDirectory(prefix="spacy-mtl-profile-") as tmp:
        corpus = make_corpus(Path(tmp))
        thing = load(args.spec, corpus, device)
        texts = inference_texts(corpus, args.texts)

    def work(index: int) -> None:
        if args.infer:
            thing.infer(texts, args.infer)
        else:
            thing.train_step(index)

    for index in range(args.warmup):
        work(index)
    runs = 1 if args.infer else args.steps
    log(f"[profile] {args.spec}: {runs} {'pass' if args.infer else 'step(s)'}")
    profile = cProfile.Profile()
    for index in range(args.warmup, args.warmup + runs):
        profile.runcall(work, index)
    print_top(profile, runs, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
