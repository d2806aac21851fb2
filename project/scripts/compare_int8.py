"""Score the int8 choices of `spacy mtl quantize` on dev against the torch pipeline.

    python scripts/compare_int8.py PIPELINE CORPUS_DIR WORK_DIR [--output FILE]

Exports PIPELINE (a trained torch pipeline) four times, with static or per-token
activation scales and with the feed-forward output projections in int8 or in fp32
(static scales calibrated on the training tweets of CORPUS_DIR), scores each and the
torch pipeline on each task's dev set, and writes a Markdown table: the scores, the
difference to torch fp32 with its 95% paired bootstrap interval, the share of dev
posts whose class and whose entities equal torch fp32's. What the project ships
(vars int8_activations, int8_ffn_output) is chosen from it.
"""

import argparse
from pathlib import Path
from typing import Dict, List

import srsly

from spacy_mtl.evaluation.bootstrap import paired_bootstrap
from spacy_mtl.evaluation.scores import evaluate
from spacy_mtl.models.export import export_pipeline

CHOICES = [
    ("static", "int8"),
    ("static", "fp32"),
    ("per-token", "int8"),
    ("per-token", "fp32"),
]
SCORE_KEYS = {"textcat": "cats_macro_f", "ner": "ents_f"}


def score(model: Path, corpus: Path, records: Path) -> Dict[str, float]:
    dev = {task: corpus / task / "dev.spacy" for task in SCORE_KEYS}
    results = evaluate(model, dev, per_doc=records)
    return {task: 100 * results[task][key] for task, key in SCORE_KEYS.items()}


def agreement(a: List[dict], b: List[dict], task: str) -> float:
    """Share of dev posts of `task` whose prediction equals the reference's."""
    if task == "textcat":
        same = [x["pred"] == y["pred"] for x, y in zip(a, b) if x["task"] == task]
    else:
        same = [(x["tp"], x["fp"]) == (y["tp"], y["fp"]) for x, y in zip(a, b) if x["task"] == task]
    return 100 * sum(same) / max(len(same), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("work", type=Path, help="where the four exports are written")
    parser.add_argument("--output", type=Path, default=Path("metrics/int8-choices.md"))
    args = parser.parse_args()
    calibration = [args.corpus / task / "train.spacy" for task in SCORE_KEYS]
    runs = {"torch fp32": args.pipeline}
    for activations, ffn_output in CHOICES:
        name = f"{activations}, feed-forward output {ffn_output}"
        out = args.work / f"{activations}-ffn-{ffn_output}"
        export_pipeline(
            args.pipeline,
            out,
            precision="int8",
            activations=activations,
            ffn_output=ffn_output,
            calibration=calibration,
            force=True,
        )
        runs[name] = out
    scores, records = {}, {}
    for name, model in runs.items():
        path = args.work / f"{name.replace(' ', '_').replace(',', '')}.jsonl"
        scores[name] = score(model, args.corpus, path)
        records[name] = list(srsly.read_jsonl(path))
    reference = records["torch fp32"]
    lines = [
        "# int8 choices on dev, against torch fp32",
        "",
        "| int8 | sentiment F1 | Δ [95% CI] | entity F1 | Δ [95% CI] | same class | same entity counts |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in runs:
        cells = [f"`{name}`"]
        for task in SCORE_KEYS:
            cells.append(f"{scores[name][task]:.2f}")
            if name == "torch fp32":
                cells.append("—")
            else:
                found = paired_bootstrap(task, [records[name]], [reference])
                cells.append(
                    f"{100 * found.delta:+.2f} [{100 * found.low:+.2f}, {100 * found.high:+.2f}]"
                )
        cells.append(f"{agreement(records[name], reference, 'textcat'):.1f}%")
        cells.append(f"{agreement(records[name], reference, 'ner'):.1f}%")
        lines.append("| " + " | ".join(cells) + " |")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
