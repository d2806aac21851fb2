"""The comparison report of the official benchmark, with the official metrics beside.

    python scripts/official_report.py --metrics metrics/official --training training/official \\
        --output metrics/official/report.md

Writes what `compare.py report` writes for these runs (table, notes, charts), then a
section with each shared task's own metric:

- sentiment (TweetEval, SemEval-2017 task 4A): macro-averaged recall over the three
  classes, the official one, beside spaCy's macro-F1 (the per-doc records of `compare.py
  train` hold each test tweet's gold and predicted class);
- entities (WNUT-16): conlleval's F1 on the official tokens (`scripts/conlleval.py`,
  METRICS/conlleval/), beside spaCy's entity F1;

each setup's difference to its single-task model with a 95% paired bootstrap interval
(as compare.py's, seeds pooled), and the published numbers of BERTweet-base as a
reference: a 135M-parameter encoder pre-trained on 850M English tweets, against the
project's 22M-parameter MiniLM, so a reference, not a target.
"""

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy

#: Published test scores (×100) of BERTweet-base: (metric, score, source).
REFERENCES = {
    "textcat": (
        "macro-recall",
        73.4,
        "TweetEval's leaderboard, sentiment (Barbieri et al., Findings of EMNLP 2020)",
    ),
    "ner": ("entity F1", 52.1, "WNUT-16 (Nguyen et al., BERTweet, EMNLP 2020 demos)"),
}


def load_script(name: str) -> Any:
    """scripts/<name>.py, beside this one, as a module (however this one was loaded)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def macro_recall(gold: numpy.ndarray, pred: numpy.ndarray, n_labels: int, samples: numpy.ndarray):
    """Macro-averaged recall over `n_labels` labels (integer codes) of every resample; a
    label without gold docs in a resample counts as 0, as in scikit-learn's recall_score.

    samples (numpy.ndarray): (resamples, docs) indices into the docs.
    RETURNS (numpy.ndarray): (resamples,).
    """
    scores = numpy.zeros(len(samples))
    for label in range(n_labels):
        is_gold = gold == label
        tp = (is_gold & (pred == label))[samples].sum(axis=1)
        support = is_gold[samples].sum(axis=1)
        scores += numpy.divide(tp, support, out=numpy.zeros(len(samples)), where=support > 0)
    return scores / n_labels


def recall_runs(runs: Sequence[List[dict]]) -> List[Dict[int, tuple]]:
    """Each run's textcat records as {doc: (gold, pred)}."""
    return [
        {r["doc"]: (r["gold"], r["pred"]) for r in run if r["task"] == "textcat"} for run in runs
    ]


def recall_scores(runs: Sequence[List[dict]]) -> List[float]:
    """Macro-recall of each run, over the labels gold or predicted in any run."""
    pairs = recall_runs(runs)
    labels = sorted({label for run in pairs for pair in run.values() for label in pair})
    code = {label: i for i, label in enumerate(labels)}
    scores = []
    for run in pairs:
        gold = numpy.asarray([code[g] for g, _ in run.values()])
        pred = numpy.asarray([code[p] for _, p in run.values()])
        everything = numpy.arange(len(gold))[None, :]
        scores.append(float(macro_recall(gold, pred, len(labels), everything)[0]))
    return scores


def recall_interval(
    a_runs: Sequence[List[dict]],
    b_runs: Sequence[List[dict]],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Any:
    """Macro-recall of setup a minus setup b, with a 95% paired bootstrap interval (seeds
    pooled: on each resample a setup's score is the mean over its runs).

    RETURNS (Interval): as `spacy_mtl.evaluation.bootstrap.paired_bootstrap`'s.
    """
    from spacy_mtl.evaluation.bootstrap import Interval

    runs = recall_runs([*a_runs, *b_runs])
    docs = sorted(runs[0])
    if not docs or any(sorted(run) != docs for run in runs):
        raise ValueError("textcat: the runs were not scored on the same test docs")
    labels = sorted({label for run in runs for pair in run.values() for label in pair})
    code = {label: i for i, label in enumerate(labels)}
    samples = numpy.random.default_rng(seed).integers(0, len(docs), size=(n_resamples, len(docs)))
    everything = numpy.arange(len(docs))[None, :]

    def pooled(group: Sequence[Dict[int, tuple]], idx: numpy.ndarray) -> numpy.ndarray:
        return numpy.mean(
            [
                macro_recall(
                    numpy.asarray([code[run[d][0]] for d in docs]),
                    numpy.asarray([code[run[d][1]] for d in docs]),
                    len(labels),
                    idx,
                )
                for run in group
            ],
            axis=0,
        )

    a, b = runs[: len(a_runs)], runs[len(a_runs) :]
    deltas = pooled(a, samples) - pooled(b, samples)
    observed = float((pooled(a, everything) - pooled(b, everything))[0])
    low, high = numpy.percentile(deltas, [2.5, 97.5])
    return Interval(observed, float(low), float(high), len(docs), n_resamples)


def official_table(compare: Any, metrics: Path) -> str:
    """The Markdown section: per setup the official metrics, then the references."""
    from spacy_mtl.evaluation.bootstrap import paired_bootstrap

    prf = load_script("conlleval").prf

    by_setup: Dict[str, List[dict]] = {}
    for path in sorted(metrics.glob("*-s*.json")):
        result = json.loads(path.read_text())
        by_setup.setdefault(result["setup"], []).append(result)
    records = {setup: compare.per_doc_records(metrics, runs) for setup, runs in by_setup.items()}
    # conlleval.py writes each run's per-doc records as compare.py's, in METRICS/conlleval/.
    conll = {
        setup: compare.per_doc_records(metrics / "conlleval", runs)
        for setup, runs in by_setup.items()
    }
    sizes = {"textcat": "—", "ner": "—"}
    rows = []
    for setup in [s for s in compare.all_setups() if s in by_setup]:
        runs = by_setup[setup]
        sentiment = "textcat" in runs[0]["scores"]
        entities = "ner" in runs[0]["scores"]
        cells = {
            "f1": "—",
            "recall": "—",
            "d_recall": "—",
            "ents": "—",
            "conll": "—",
            "d_conll": "—",
        }
        ours, single = records[setup], records.get("single-textcat")
        if sentiment:
            cells["f1"] = compare.mean_std([r["scores"]["textcat"] for r in runs])
        if sentiment and ours is not None:
            cells["recall"] = f"**{compare.mean_std(recall_scores(ours))}**"
            sizes["textcat"] = str(len(recall_runs(ours)[0]))
            if setup != "single-textcat" and single is not None:
                found = recall_interval(ours, single, n_resamples=compare.RESAMPLES)
                cells["d_recall"] = compare.interval_cell({"textcat": found}, "textcat")
        ours, single = conll[setup], conll.get("single-ner")
        if entities:
            cells["ents"] = compare.mean_std([r["scores"]["ner"] for r in runs])
        if entities and ours is not None:
            cells["conll"] = f"**{compare.mean_std([prf(run)['f'] for run in ours])}**"
            sizes["ner"] = str(len(ours[0]))
            if setup != "single-ner" and single is not None:
                found = paired_bootstrap("ner", ours, single, n_resamples=compare.RESAMPLES)
                cells["d_conll"] = compare.interval_cell({"ner": found}, "ner")
        rows.append(f"| {setup} | {len(runs)} | " + " | ".join(cells.values()) + " |")
    recall_ref, ner_ref = REFERENCES["textcat"][1], REFERENCES["ner"][1]
    rows.append(
        f"| BERTweet-base (published; reference) | — | — | {recall_ref:.1f} | — | — | {ner_ref:.1f} | — |"
    )
    sources = "; ".join(
        f"{metric} {score:.1f}: {source}" for metric, score, source in REFERENCES.values()
    )
    return "\n".join(
        [
            "## Official metrics",
            "",
            "| setup | seeds | sentiment macro-F1 | sentiment macro-recall (official) | Δ macro-recall [95% CI] "
            "| entity F1 (spaCy) | entity F1 (conlleval, official) | Δ conlleval F1 [95% CI] |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"On the official test sets: TweetEval sentiment ({sizes['textcat']} tweets) and WNUT-16 "
            f"({sizes['ner']} tweets); mean ± std over seeds (×100). Macro-recall, TweetEval's metric for "
            "sentiment, is the mean over the three classes of each class's recall. conlleval F1, WNUT-16's "
            "metric, counts exact typed chunks, micro-averaged, with the pipeline tagging the official "
            "tokens (`scripts/conlleval.py`); spaCy's entity F1 scores its own re-tokenisation of the "
            "tweets. Δ: against the single-task model, with a 95% paired bootstrap interval "
            f"({compare.RESAMPLES:,} resamples of the test tweets, seeds pooled). "
            "BERTweet-base is a 135M-parameter encoder pre-trained on 850M English tweets, the "
            f"project's default encoder a 22M-parameter MiniLM: a reference, not a target ({sources}).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=Path, default=Path("metrics/official"))
    parser.add_argument("--training", type=Path, default=Path("training/official"))
    parser.add_argument("--output", type=Path, default=Path("metrics/official/report.md"))
    args = parser.parse_args()
    from spacy_mtl.files import atomic_file

    compare = load_script("compare")
    compare.report(
        argparse.Namespace(metrics=args.metrics, training=args.training, output=args.output)
    )
    section = official_table(compare, args.metrics)
    text = args.output.read_text()
    with atomic_file(args.output, "w") as file:
        file.write(text + "\n" + section)
    print("\n" + section)


if __name__ == "__main__":
    main()
