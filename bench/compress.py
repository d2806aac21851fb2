"""python -m bench.compress: the serving pipelines against torch fp32, write bench/COMPRESS.md.

After `make demo` and `spacy project run compress project/`, measures in one run,
on the same unseen tweets, the torch fp32 mtl pipeline, its ONNX Runtime fp32 and
int8 twins, and the small student's ONNX Runtime fp32 and int8 twins, each in a
fresh process (one after the other, rounds repeated):
- words/s of `nlp.pipe` at batch sizes 64 and 1 (ratios to torch fp32 per round, median);
- peak RSS (VmHWM) after loading and running, and `spacy.load` time;
- the wheel's size;
- both tasks' test scores, with paired bootstrap intervals of the difference to
  torch fp32, and the share of test docs whose most probable class and whose
  entity set are those of torch fp32;
- the share of test docs whose output (class, entities) changes when the same post
  runs in another batch (batch 64 in corpus order, batch 64 shuffled, batch 1):
  0 for every row is the target;
- the time per stage (make_doc, then each pipe) at batch size 64, and inside that
  the time per kind of torch operator (torch.profiler; an ONNX Runtime encoder's
  time is outside torch), for the report to say where the time goes.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "project"
#: name -> (pipeline directory, wheel directory) in project/ after the compress
#: workflow; the first is the reference every other row is compared with.
PIPELINES = {
    "torch fp32": ("training/mtl/model-best", "packages/en_mtl_tweets-0.1.0/dist"),
    "ORT fp32": ("training/mtl-onnx", "packages/en_mtl_tweets_onnx-0.1.0/dist"),
    "ORT int8": ("training/mtl-int8", "packages/en_mtl_tweets_int8-0.1.0/dist"),
    "small ORT fp32": ("training/small-onnx", "packages/en_mtl_tweets_small_onnx-0.1.0/dist"),
    "small ORT int8": ("training/small-int8", "packages/en_mtl_tweets_small_int8-0.1.0/dist"),
}
REFERENCE = "torch fp32"
#: (words/s ratio to torch fp32 at batch 64, most points lost per task), per issue 14.
TARGETS = {"ORT int8": (1.7, 1.0), "small ORT int8": (3.0, 2.0)}
WHEEL_TARGETS_MB = {"ORT int8": 45.0, "small ORT int8": 30.0}
#: Kinds of torch operator, by the profiler's operator name (first match wins); the
#: rest of the torch time is "other torch", and the wall time outside torch (spaCy's
#: tokenizer, the word-piece tokenizer, the NER transition system) is "not torch".
OPERATOR_KINDS = {
    "int8 linear": ("quantized::linear_dynamic",),
    "fp32 linear": ("aten::addmm", "aten::mm", "aten::bmm"),
    "attention": ("scaled_dot_product", "softmax"),
    "GELU": ("aten::gelu",),
    "layer norm, residual": ("aten::native_layer_norm", "aten::add"),
}


def log(message: str) -> None:
    print(f"[bench.compress] {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(model: str, corpus: Path, n_texts: int, n_single: int, with_scores: bool) -> None:
    """One pipeline in this process: load time, words/s at batch 64 and 1, stage
    times, peak RSS, and (with_scores) test scores and per-doc predictions; JSON on stdout."""
    import spacy
    from spacy.training import Corpus

    from .common import inference_texts

    started = time.perf_counter()
    nlp = spacy.load(model)
    load_seconds = time.perf_counter() - started
    texts = inference_texts(corpus, n_texts)
    words = sum(len(nlp.make_doc(t)) for t in texts)
    list(nlp.pipe(texts[:128], batch_size=64))  # warm-up
    result: Dict[str, object] = {"load_s": load_seconds, "words": words}
    for batch_size, subset in ((64, texts), (1, texts[:n_single])):
        n_words = sum(len(nlp.make_doc(t)) for t in subset)
        began = time.perf_counter()
        for _ in nlp.pipe(subset, batch_size=batch_size):
            pass
        result[f"wps_{batch_size}"] = n_words / (time.perf_counter() - began)
    stages = {"make_doc": 0.0, **{name: 0.0 for name in nlp.pipe_names}}
    for start in range(0, len(texts), 64):
        began = time.perf_counter()
        docs = [nlp.make_doc(t) for t in texts[start : start + 64]]
        stages["make_doc"] += time.perf_counter() - began
        for name, proc in nlp.pipeline:
            began = time.perf_counter()
            docs = list(proc.pipe(docs, batch_size=64))
            stages[name] += time.perf_counter() - began
    n_batches = -(-len(texts) // 64)
    result["stage_ms"] = {name: 1000 * s / n_batches for name, s in stages.items()}
    result["operator_ms"] = {
        name: 1000 * s / n_batches for name, s in operator_seconds(nlp, texts).items()
    }
    if with_scores:
        from spacy.training import Example

        from spacy_mtl.evaluation.scores import per_doc_records

        scores, predictions, records, test_texts = {}, [], [], []
        for task, key in (("textcat", "cats_macro_f"), ("ner", "ents_f")):
            examples = list(Corpus(corpus / task / "test.spacy")(nlp))
            scores[task] = 100 * nlp.evaluate(examples)[key]
            texts_of_task = [eg.predicted.text for eg in examples]
            test_texts.extend(texts_of_task)
            annotated = [
                Example(doc, eg.reference)
                for doc, eg in zip(nlp.pipe(texts_of_task, batch_size=64), examples)
            ]
            records.extend(per_doc_records(nlp, task, annotated))
            predictions.extend(prediction(eg.predicted) for eg in annotated)
        result["scores"], result["predictions"], result["records"] = scores, predictions, records
        result["batch_changed"] = batch_changed(nlp, test_texts)
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result))


def prediction(doc) -> list:
    """A doc's output as the report compares it: its top class and its entity set."""
    top = max(doc.cats, key=doc.cats.get) if doc.cats else None
    return [top, sorted((e.start_char, e.end_char, e.label_) for e in doc.ents)]


def batch_changed(nlp, texts: Sequence[str]) -> float:
    """The share of `texts` whose output (top class, entities) is not the same in
    three runs that give each post other neighbours: batch 64 in order, batch 64
    shuffled, and batch 1."""
    import random

    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    in_order = [prediction(d) for d in nlp.pipe(texts, batch_size=64)]
    shuffled = [None] * len(texts)
    for i, doc in zip(order, nlp.pipe([texts[i] for i in order], batch_size=64)):
        shuffled[i] = prediction(doc)
    alone = [prediction(d) for d in nlp.pipe(texts, batch_size=1)]
    changed = sum(not (a == b == c) for a, b, c in zip(in_order, shuffled, alone))
    return changed / max(len(texts), 1)


def operator_seconds(nlp, texts: Sequence[str]) -> Dict[str, float]:
    """Seconds of `nlp.pipe(texts, batch_size=64)` per kind of torch operator
    (self time: an operator's own, not that of operators it calls)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        began = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=64):
            pass
        wall = time.perf_counter() - began
    seconds = {kind: 0.0 for kind in (*OPERATOR_KINDS, "other torch")}
    for event in profiler.key_averages():
        kind = next(
            (k for k, names in OPERATOR_KINDS.items() if any(n in event.key for n in names)),
            "other torch",
        )
        seconds[kind] += event.self_cpu_time_total / 1e6
    seconds["not torch"] = max(wall - sum(seconds.values()), 0.0)
    return seconds


def measure(name: str, model: Path, settings: argparse.Namespace, with_scores: bool) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.compress",
        "worker",
        str(model),
        str(settings.corpus),
        str(settings.texts),
        str(settings.single),
        "1" if with_scores else "0",
    ]
    log(f"{name}: {model}{' (and test scores)' if with_scores else ''}")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def wheel_mb(dist: Optional[str]) -> Optional[float]:
    if dist is None:
        return None
    wheels = [p for p in (PROJECT / dist).glob("*.whl") if not p.name.startswith("spacy_mtl")]
    return wheels[0].stat().st_size / 1e6 if wheels else None


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> List[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(map(str, r)) + " |" for r in rows),
    ]


def share_row(name: str, rounds: List[dict], key: str) -> List[str]:
    """A table row: each part's median ms per batch over rounds (`rounds[i][key]`), its
    share of their sum, and the sum."""
    parts = {part: statistics.median(r[key][part] for r in rounds) for part in rounds[0][key]}
    total = sum(parts.values())
    return [
        f"`{name}`",
        *(f"{ms:.1f} ({100 * ms / total:.0f}%)" for ms in parts.values()),
        f"{total:.1f}",
    ]


def interval(task: str, run: dict, reference: dict) -> str:
    """The score difference to the reference, in points, with its 95% paired
    bootstrap interval over the test docs."""
    from spacy_mtl.evaluation.bootstrap import paired_bootstrap

    found = paired_bootstrap(task, [run["records"]], [reference["records"]])
    return f"{100 * found.delta:+.2f} [{100 * found.low:+.2f}, {100 * found.high:+.2f}]"


def report(runs: Dict[str, List[dict]], settings: argparse.Namespace) -> str:
    fp32 = runs[REFERENCE]
    first = {name: rounds[0] for name, rounds in runs.items()}
    reference = first[REFERENCE]["predictions"]
    rows, stage_rows, operator_rows = [], [], []
    for name, rounds in runs.items():
        r64 = statistics.median(r["wps_64"] / f["wps_64"] for r, f in zip(rounds, fp32))
        r1 = statistics.median(r["wps_1"] / f["wps_1"] for r, f in zip(rounds, fp32))
        scores = first[name]["scores"]
        preds = first[name]["predictions"]
        same_class = sum(a[0] == b[0] for a, b in zip(preds, reference)) / len(reference)
        same_ents = sum(a[1] == b[1] for a, b in zip(preds, reference)) / len(reference)
        wheel = wheel_mb(PIPELINES[name][1])
        target = TARGETS.get(name)
        lost = max(first[REFERENCE]["scores"][t] - scores[t] for t in scores)
        holds = "" if target is None else ("✓" if r64 >= target[0] and lost <= target[1] else "✗")
        wheel_target = WHEEL_TARGETS_MB.get(name)
        rows.append(
            [
                f"`{name}`",
                f"{statistics.median(r['wps_64'] for r in rounds):,.0f}",
                f"**{r64:.2f}x**",
                f"{statistics.median(r['wps_1'] for r in rounds):,.0f}",
                f"{r1:.2f}x",
                f"{statistics.median(r['peak_rss_mib'] for r in rounds):,.0f}",
                "—"
                if wheel is None
                else f"{wheel:.1f}"
                + ("" if wheel_target is None else (" ✓" if wheel <= wheel_target else " ✗")),
                f"{statistics.median(r['load_s'] for r in rounds):.2f}",
                f"{scores['textcat']:.2f}",
                "—" if name == REFERENCE else interval("textcat", first[name], first[REFERENCE]),
                f"{scores['ner']:.2f}",
                "—" if name == REFERENCE else interval("ner", first[name], first[REFERENCE]),
                f"{100 * same_class:.1f}%",
                f"{100 * same_ents:.1f}%",
                f"{100 * first[name]['batch_changed']:.1f}%",
                "" if target is None else f"≥ {target[0]}x, ≤ {target[1]} pt {holds}",
            ]
        )
        stage_rows.append(share_row(name, rounds, "stage_ms"))
        operator_rows.append(share_row(name, rounds, "operator_ms"))
    stage_names = list(first[REFERENCE]["stage_ms"])
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "?"
    return "\n".join(
        [
            "# Compressed pipelines against fp32",
            "",
            f"`python -m bench.compress` on {datetime.date.today().isoformat()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, torch {torch_version} (CPU, its default threads). Method: bench/README.md.",
            "",
            f"Each pipeline runs in a fresh process, the {len(PIPELINES)} one after the other, {settings.rounds} round(s); words/s "
            f"is `nlp.pipe` over {settings.texts} unseen dev and test tweets (half sentiment, half entity) at batch size 64 and "
            f"over the first {settings.single} at batch size 1, after a warm-up; ratios are to {REFERENCE} in the same round, "
            "median over rounds. Scores (sentiment macro-F1, entity F1) are on the test sets, Δ is the difference to "
            f"{REFERENCE} in points with its 95% paired bootstrap interval over the test docs, and agreement is the "
            f"share of test docs (both sets) whose most probable class, or entity set, equals {REFERENCE}'s. "
            "`changed by batch` is the share of test docs whose class or entities differ between batch 64 in corpus "
            "order, batch 64 shuffled and batch 1. Wheels are the pipeline wheels of the `package` and "
            "`package-compressed` steps.",
            "",
            *table(
                [
                    "pipeline",
                    "words/s, batch 64",
                    "ratio",
                    "words/s, batch 1",
                    "ratio",
                    "peak RSS MiB",
                    "wheel MB",
                    "load s",
                    "sentiment F1",
                    "Δ [95% CI]",
                    "entity F1",
                    "Δ [95% CI]",
                    "same class",
                    "same entities",
                    "changed by batch",
                    "target",
                ],
                rows,
            ),
            "",
            "Where the time goes at batch size 64, ms per batch (share):",
            "",
            *table(["pipeline", *(f"`{s}`" for s in stage_names), "total"], stage_rows),
            "",
            "The same at batch size 64 by kind of operator, ms per batch (share), from torch.profiler (self time; "
            "the profiler's own cost is in the totals). `not torch` is the wall time outside torch operators: "
            "spaCy's tokenizer, the word-piece tokenizer, alignment and the NER transition system.",
            "",
            *table(["pipeline", *first[REFERENCE]["operator_ms"], "total"], operator_rows),
            "",
        ]
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "worker":
        model, corpus, n_texts, n_single, with_scores = argv[1:6]
        worker(model, Path(corpus), int(n_texts), int(n_single), with_scores == "1")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the pipelines (3)")
    parser.add_argument(
        "--texts", type=int, default=768, help="tweets timed at batch size 64 (768)"
    )
    parser.add_argument(
        "--single", type=int, default=256, help="tweets timed at batch size 1 (256)"
    )
    parser.add_argument(
        "--corpus", type=Path, default=PROJECT / "corpus", help="corpus dir (project/corpus)"
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench" / "COMPRESS.md", help="report to write"
    )
    settings = parser.parse_args(argv)
    missing = [
        str(PROJECT / path)
        for path, _ in PIPELINES.values()
        if not (PROJECT / path / "config.cfg").is_file()
    ]
    if missing:
        parser.error(
            f"not found: {', '.join(missing)}; run `make demo` and `spacy project run compress project/` first"
        )
    runs: Dict[str, List[dict]] = {name: [] for name in PIPELINES}
    for round_ in range(settings.rounds):
        for name, (path, _) in PIPELINES.items():
            runs[name].append(measure(name, PROJECT / path, settings, with_scores=round_ == 0))
    text = report(runs, settings)
    settings.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
