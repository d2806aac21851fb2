"""Plot the per-task loss and weight curves from a weight trace (JSON lines).

    python -m spacy_mtl plot training/weights.jsonl -o weights.png
"""
from collections import defaultdict
import json
from pathlib import Path
from typing import Dict, List, Tuple


def read_trace(path: Path) -> Dict[str, Dict[str, List[Tuple[int, float]]]]:
    """{task: {"loss": [(step, value)], "weight": [...], "grad_norm": [...]}}."""
    series: Dict[str, Dict[str, List[Tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                for key in ("loss", "weight", "grad_norm"):
                    series[record["task"]][key].append((int(record["step"]), float(record[key])))
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{number}: not a weight-trace record ({err})") from None
    if not series:
        raise ValueError(f"{path}: no records")
    return series


def moving_average(values: List[float], window: int) -> List[float]:
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot(trace: Path, output: Path, window: int = 20) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("plot needs matplotlib: pip install 'spacy-mtl[plot]'") from None
    series = read_trace(trace)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, key, title in zip(axes, ("loss", "weight", "grad_norm"),
                              ("true loss (mean NLL)", "weight", "gradient norm on the shared encoder")):
        for task, values in sorted(series.items()):
            steps = [s for s, _ in values[key]]
            ax.plot(steps, moving_average([v for _, v in values[key]], window), label=task)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend()
    fig.suptitle(f"{trace.name}: per task, moving average of {window} steps")
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=100)
    plt.close(fig)
    return output


def main(args: List[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m spacy_mtl plot", description=__doc__.splitlines()[0])
    parser.add_argument("trace", type=Path, help="JSON-lines trace written by spacy_mtl.WeightTraceLogger.v1")
    parser.add_argument("--output", "-o", type=Path, default=Path("weights.png"))
    parser.add_argument("--window", type=int, default=20, help="steps in the moving average")
    ns = parser.parse_args(args)
    print(plot(ns.trace, ns.output, ns.window))
