"""The per-task loss, weight and gradient curves of a weight trace (JSON lines), drawn
into a PNG (`spacy mtl plot`); matplotlib is `spacy-mtl[plot]`.
"""

import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

from ..errors import Errors


def read_trace(path: Path) -> Dict[str, Dict[str, List[Tuple[int, float]]]]:
    """Read a weight trace.

    path (Path): the JSON-lines file.
    RETURNS (Dict[str, Dict[str, List[Tuple[int, float]]]]): per task, the (step,
        value) series of "loss", "weight" and "grad_norm".
    """
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
                raise ValueError(Errors.E041.format(path=path, line=number, error=err)) from None
    if not series:
        raise ValueError(Errors.E042.format(path=path))
    return series


def read_cosines(path: Path) -> Dict[str, List[Tuple[int, float]]]:
    """The (step, cosine) series of every pair of tasks in a weight trace, e.g.
    {"ner · textcat": [(0, 0.0), ...]}; steps where only one task trained have none.
    Traces written before the cosine was recorded have none at all."""
    pairs: Dict[str, List[Tuple[int, float]]] = defaultdict(list)
    with Path(path).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line) if line.strip() else {}
            for other, value in (record.get("cosine") or {}).items():
                if record["task"] < other:
                    pairs[f"{record['task']} · {other}"].append((int(record["step"]), float(value)))
    return dict(pairs)


def moving_average(values: List[float], window: int) -> List[float]:
    """The mean of each value and the up to `window - 1` values before it.

    values (List[float]): the series.
    window (int): how many values each mean covers at most.
    RETURNS (List[float]): as many means as values.
    """
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot(trace: Path, output: Path, window: int = 20) -> Path:
    """Draw loss, weight and gradient norm per task, side by side, into a PNG.

    trace (Path): the weight trace.
    output (Path): the PNG file to write.
    window (int): steps in the moving average.
    RETURNS (Path): `output`.
    """
    trace, output = Path(trace), Path(output)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(Errors.E043) from None
    series = read_trace(trace)
    cosines = read_cosines(trace)
    panels = 4 if cosines else 3
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4))
    for ax, key, title in zip(
        axes,
        ("loss", "weight", "grad_norm"),
        ("true loss (mean NLL)", "weight", "gradient norm on the shared encoder"),
    ):
        for task, values in sorted(series.items()):
            steps = [s for s, _ in values[key]]
            ax.plot(steps, moving_average([v for _, v in values[key]], window), label=task)
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend()
    if cosines:
        ax = axes[3]
        for pair, pair_values in sorted(cosines.items()):
            ax.plot(
                [s for s, _ in pair_values],
                moving_average([v for _, v in pair_values], window),
                label=pair,
            )
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_title("cosine between task gradients (shared repr.)")
        ax.set_xlabel("step")
        ax.legend()
    fig.suptitle(f"{trace.name}: per task, moving average of {window} steps")
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=100)
    plt.close(fig)
    return output
