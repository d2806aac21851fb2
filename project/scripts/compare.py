"""Compare multi-task training with single-task baselines and stock spaCy.

    python scripts/compare.py train --seeds 0,1,2 [--max-steps N] ... [--section.key value ...]
    python scripts/compare.py report --metrics metrics/compare --output metrics/compare/report.md

`train` trains every setup for every seed on the same data and budget, then scores
each task on its own test set. Finished runs are skipped, so an interrupted
comparison resumes where it stopped; a run whose config, corpus files or settings
have changed since its result was written is trained again. Options it does not
know are config overrides for every run, as in `spacy train`; --max-steps,
--eval-frequency, --encoder and --sampling are shorthands for four of them, and
without them each config's own value holds (project.yml passes its vars). --corpus
names the directory of <task>/{train,dev,test}.spacy (default corpus/, the embedded
tweets; the `official` workflow passes corpus/official). The setups are:

- `single-textcat` and `single-ner`: configs/textcat.cfg and configs/ner.cfg;
- `stock`: configs/stock.cfg, stock spaCy's shared-transformer pipeline;
- `mtl-<strategy>`: configs/mtl.cfg with each weighting strategy registered as
  `spacy_mtl.<strategy>.v1` (listed from the registry, sorted by name);
- `distill-<strategy>`: the same, trained on the training corpora with teacher
  targets from that seed's single-task runs (`spacy mtl teach`), so that every
  tweet teaches both tasks. They train after every other run; asking for one
  trains its seed's single-task teachers too.

`report` writes a Markdown table with, per setup, each task's test score (mean ± std
over the seeds), its difference to the single-task model with a 95% paired bootstrap
interval over the test docs (`spacy_mtl.evaluation.bootstrap`: 1,000 resamples, seeds pooled),
Δm% against the single-task models on the test sets and on the dev sets (the dev
scores of each run's best checkpoint, for choosing defaults), whether sharing pays,
and the training time, plus PNG charts of the scores and of the weight curves.

Δm% = (100 / T) Σ_t (M_t − M_t,single) / M_t,single, where M_t is sentiment macro-F1
or entity F1 and M_t,single the mean over the single-task model's seeds. Sharing
*pays* when Δm% > 0 and neither task's bootstrap interval lies entirely below zero
(runs scored before per-doc records existed fall back to: no task's mean below its
single-task mean by more than the single-task seed std).
"""

import argparse
import functools
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Dict, List, Optional

BASELINES = ["single-textcat", "single-ner", "stock"]
DISTILL = "distill-"
#: Bootstrap resamples of the test docs per interval.
RESAMPLES = 1000
# The score reported per task, in spaCy's names.
METRICS = {"textcat": "cats_macro_f", "ner": "ents_f"}
#: Where `spacy project run corpus` writes <task>/<split>.spacy (--corpus: another benchmark's).
CORPUS = Path("corpus")


@functools.lru_cache(maxsize=None)
def strategies() -> Dict[str, str]:
    """spacy-mtl's registered weightings, sorted by name: {"dwa": "spacy_mtl.dwa.v1", ...}."""
    from spacy_mtl.registry import registered_weightings

    return registered_weightings()


def all_setups() -> List[str]:
    """Every setup, in the report's order: the baselines, mtl-<strategy>, distill-<strategy>."""
    return BASELINES + [f"{kind}-{name}" for kind in ("mtl", DISTILL[:-1]) for name in strategies()]


def setup_config(setup: str, configs_dir: Path) -> tuple:
    """(config path, extra overrides, tasks) of a setup."""
    if setup == "single-textcat":
        return configs_dir / "textcat.cfg", [], ["textcat"]
    if setup == "single-ner":
        return configs_dir / "ner.cfg", [], ["ner"]
    if setup == "stock":
        return configs_dir / "stock.cfg", [], ["textcat", "ner"]
    kind, _, strategy = setup.partition("-")
    if kind not in ("mtl", DISTILL[:-1]) or strategy not in strategies():
        raise SystemExit(f"unknown setup {setup!r}; choose from {all_setups()}")
    weighting = ["--components.transformer.weighting.@mtl_weightings", strategies()[strategy]]
    return configs_dir / "mtl.cfg", weighting, ["textcat", "ner"]


def log_path(args: argparse.Namespace, setup: str, seed: int) -> Optional[Path]:
    """Where a run's output goes: its own file when runs train at once (their output
    would interleave), else the console."""
    return args.output / f"{setup}-s{seed}.log" if args.jobs > 1 else None


def run_logged(command: List[str], log: Optional[Path]) -> None:
    """Run `command`, its output appended to `log` if given; on failure the end of the
    log is printed."""
    if log is None:
        subprocess.run(command, check=True)
        return
    with log.open("a") as stream:
        status = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT)
    if status.returncode:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        print(f"--- end of {log}\n{tail}\n---", flush=True)
        status.check_returncode()


def device_name(gpu_id: str) -> str:
    """Where `spacy mtl train --gpu-id gpu_id` trains: "CPU" or e.g. "GPU 0: NVIDIA H200"."""
    from spacy_mtl.device import describe_device, resolve_gpu_id

    device = resolve_gpu_id(gpu_id)
    return "CPU" if device < 0 else describe_device(device)


def corpus_files(tasks: List[str], corpus: Path = CORPUS) -> List[Path]:
    """The .spacy files a run of these tasks reads: train, dev and test of each."""
    return [
        corpus / task / f"{split}.spacy" for task in tasks for split in ("train", "dev", "test")
    ]


def run_settings(setup: str, seed: int, args: argparse.Namespace) -> dict:
    """What a run's result depends on: its config's and corpus files' digests and the
    training arguments (not where it writes, nor on which device); for a distilled
    student also its teachers' settings. A result recorded with other settings is
    stale, and its run is trained again."""
    config, extra, tasks = setup_config(setup, args.configs_dir)
    arguments = ["--system.seed", str(seed)]
    for key, value in shorthands(args).items():
        if value is not None:  # else the config's own value
            arguments += [key, str(value)]
    arguments += [*extra, *args.overrides]
    digests = {str(path): file_digest(path) for path in corpus_files(tasks, args.corpus)}
    # The config by its content, wherever --configs-dir points.
    settings = {"digests": {"config": file_digest(config), **digests}, "arguments": arguments}
    if setup.startswith(DISTILL):
        settings["teachers"] = teacher_settings(seed, args)
    return settings


def teacher_settings(seed: int, args: argparse.Namespace) -> Dict[str, dict]:
    """The settings of a seed's single-task runs, the teachers of its distilled students."""
    return {
        teacher: run_settings(teacher, seed, args) for teacher in ("single-textcat", "single-ner")
    }


def taught_corpora(seed: int, args: argparse.Namespace) -> Dict[str, Path]:
    """Each task's training corpus with the teacher targets of the seed's single-task
    runs, written by `spacy mtl teach` unless the teachers are those it was made with."""
    taught = args.output / f"taught-s{seed}"
    corpora = {task: taught / f"{task}-train.spacy" for task in METRICS}
    stamp = taught / "teachers.json"
    settings = teacher_settings(seed, args)
    if (
        stamp.exists()
        and json.loads(stamp.read_text()) == settings
        and all(p.exists() for p in corpora.values())
    ):
        return corpora
    stamp.unlink(missing_ok=True)
    teachers = []
    for teacher in settings:
        teachers += ["--teacher", str(args.output / f"{teacher}-s{seed}" / "model-best")]
    for task, path in corpora.items():
        train = args.corpus / task / "train.spacy"
        print(f"seed {seed}: teacher targets for {train}", flush=True)
        run_logged(
            [
                sys.executable,
                "-m",
                "spacy_mtl",
                "teach",
                str(train),
                str(path),
                *teachers,
                "--gpu-id",
                args.gpu_id,
            ],
            None,
        )
    stamp.write_text(json.dumps(settings, indent=2) + "\n")  # last: the corpora are whole
    return corpora


def shorthands(args: argparse.Namespace) -> Dict[str, Any]:
    """The config overrides that compare.py's own options stand for."""
    return {
        "--training.max_steps": args.max_steps,
        "--training.eval_frequency": args.eval_frequency,
        "--components.transformer.model.name": args.encoder,
        "--corpora.train.sampling": args.sampling,
    }


@functools.lru_cache(maxsize=None)
def file_digest(path: Path) -> str:
    """sha256 of a file, read once per comparison (every run of a task shares its corpus)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_current(result_path: Path, settings: dict) -> bool:
    """Whether a finished run's result was trained with `settings`."""
    return result_path.exists() and json.loads(result_path.read_text()).get("settings") == settings


def train_one(
    setup: str, seed: int, settings: dict, args: argparse.Namespace, log: Optional[Path]
) -> None:
    """Train and score one run with `settings` (from `run_settings`), then write its
    result file (the last thing it does)."""
    name = f"{setup}-s{seed}"
    config, _, tasks = setup_config(setup, args.configs_dir)
    output = args.output / name
    command = [
        sys.executable,
        "-m",
        "spacy_mtl",
        "train",
        str(config),
        "--output",
        str(output),
        "--gpu-id",
        args.gpu_id,
        # The corpus's own files, whatever paths the config names (its digests are in
        # the settings); the settings' overrides and teacher targets come after, and win.
        *[
            arg
            for task in tasks
            for split in ("train", "dev")
            for arg in (f"--paths.{task}_{split}", str(args.corpus / task / f"{split}.spacy"))
        ],
        *settings["arguments"],
    ]
    if setup.startswith(DISTILL):
        for task, path in taught_corpora(seed, args).items():
            command += [f"--paths.{task}_train", str(path)]
    if setup.startswith(("mtl-", DISTILL)):
        # Where `report` reads it, whatever path the config names (null: this very one).
        command += ["--training.logger.path", str(output / "weights.jsonl")]
    evaluate = [
        sys.executable,
        "-m",
        "spacy_mtl",
        "evaluate",
        str(output / "model-best"),
        "--gpu-id",
        args.gpu_id,
        "--output",
        str(output / "test-scores.json"),
        "--per-doc",
        str(output / "test-docs.jsonl"),
    ]
    for task in tasks:
        evaluate += [f"--{task}", str(args.corpus / task / "test.spacy")]
    output.mkdir(parents=True, exist_ok=True)
    print(f"{name}: training" + (f", output in {log}" if log else ""), flush=True)
    if log:
        log.write_text("")
    start = time.perf_counter()
    run_logged(command, log)
    seconds = time.perf_counter() - start
    run_logged(evaluate, log)
    scores = json.loads((output / "test-scores.json").read_text())
    # spacy train keeps the dev scores of the best checkpoint in its meta.json.
    dev = json.loads((output / "model-best" / "meta.json").read_text())["performance"]
    result = {
        "setup": setup,
        "seed": seed,
        "seconds": seconds,
        "jobs": args.jobs,
        "device": args.device,
        "overrides": args.overrides,
        "settings": settings,
        "scores": {task: scores[task][METRICS[task]] for task in tasks},
        "dev_scores": {task: dev[METRICS[task]] for task in tasks},
    }
    args.metrics.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(output / "test-docs.jsonl", args.metrics / f"{name}.docs.jsonl")
    (args.metrics / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")


def train_all(args: argparse.Namespace) -> None:
    """Every setup for every seed, seed by seed, `args.jobs` runs at a time. A failed
    run is reported and the others go on; only finished runs write a result."""
    if args.jobs < 1:
        raise SystemExit(f"--jobs must be at least 1, got {args.jobs}")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    setups = args.setups.split(",") if args.setups else all_setups()
    for setup in setups:
        setup_config(setup, args.configs_dir)  # an unknown setup fails before anything trains
    if any(setup.startswith(DISTILL) for setup in setups):
        teachers = [t for t in ("single-textcat", "single-ner") if t not in setups]
        if teachers:
            print(
                f"The distilled students need their teachers: training {', '.join(teachers)} too",
                flush=True,
            )
        setups = teachers + setups
    for path in corpus_files(list(METRICS), args.corpus):
        if not path.exists():
            raise SystemExit(
                f"{path} not found: run `spacy project run corpus` (or the workflow that "
                f"writes {args.corpus}) first"
            )
    runs = [(setup, seed) for seed in seeds for setup in setups]
    todo, stale = [], []
    for setup, seed in runs:
        result_path = args.metrics / f"{setup}-s{seed}.json"
        settings = run_settings(setup, seed, args)
        if not is_current(result_path, settings):
            todo.append((setup, seed, settings))
            if result_path.exists():
                stale.append(f"{setup}-s{seed}")
    print(
        f"{len(runs)} runs, {len(runs) - len(todo)} done before, {len(todo)} to train, "
        f"{args.jobs} at a time on {args.device}",
        flush=True,
    )
    if stale:
        # Kept until the new run replaces it, so an interrupted comparison loses nothing.
        print(
            f"Training again, as their config, corpus or settings changed: {', '.join(stale)}",
            flush=True,
        )
    if args.jobs > 1:
        # Runs at once share the CPU cores: each one's torch gets its share of threads.
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.jobs)))
    failed: List[str] = []
    # The distilled students learn from the single-task runs: they go second.
    first = [run for run in todo if not run[0].startswith(DISTILL)]
    second = [run for run in todo if run[0].startswith(DISTILL)]
    train_wave(first, args, failed, start=0, total=len(todo))
    # Each seed's teacher targets once, before its students train (several at once).
    for seed in sorted({seed for _, seed, _ in second}):
        try:
            # A teacher whose run failed may have left an older model-best behind:
            # teaching with it would stamp stale targets with the new settings.
            unfinished = [
                t
                for t in ("single-textcat", "single-ner")
                if not is_current(args.metrics / f"{t}-s{seed}.json", run_settings(t, seed, args))
            ]
            if unfinished:
                raise RuntimeError(
                    f"teacher {', '.join(f'{t}-s{seed}' for t in unfinished)} did not finish"
                )
            taught_corpora(seed, args)
        except Exception as error:
            names = [f"{setup}-s{seed}" for setup, run_seed, _ in second if run_seed == seed]
            failed.extend(names)
            print(
                f"seed {seed}: no teacher targets ({error}); not training {', '.join(names)}",
                flush=True,
            )
            second = [run for run in second if run[1] != seed]
    train_wave(second, args, failed, start=len(first), total=len(todo))
    if failed:
        raise SystemExit(f"{len(failed)} of {len(todo)} runs failed: {', '.join(failed)}")


def train_wave(
    todo: List[tuple], args: argparse.Namespace, failed: List[str], start: int, total: int
) -> None:
    """Train `todo` ((setup, seed, settings) each), `args.jobs` at a time; the names of
    those that fail are added to `failed`, and the others go on."""
    pool = ThreadPoolExecutor(args.jobs)
    futures = {
        pool.submit(
            train_one, setup, seed, settings, args, log_path(args, setup, seed)
        ): f"{setup}-s{seed}"
        for setup, seed, settings in todo
    }
    try:
        for number, future in enumerate(as_completed(futures), start + 1):
            name = futures[future]
            try:
                future.result()
                print(f"[{number}/{total}] {name}: done", flush=True)
            except Exception as error:
                failed.append(name)
                print(f"[{number}/{total}] {name}: FAILED ({error})", flush=True)
    except BaseException:  # Ctrl-C: start no more runs
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def mean_std(values: List[float]) -> str:
    if not values:
        return "—"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.1f} ± {100 * std:.1f}"


def delta_m(scores: Dict[str, float], single: Dict[str, float]) -> float:
    return 100 * statistics.mean((scores[t] - single[t]) / single[t] for t in single)


def single_task_means(by_setup: Dict[str, List[dict]], key: str) -> Dict[str, float]:
    """Mean score of each single-task model, over its seeds ({} until both have run)."""
    single = {
        task: statistics.mean(r[key][task] for r in by_setup[f"single-{task}"])
        for task in METRICS
        if by_setup.get(f"single-{task}")
        and all(task in r.get(key, {}) for r in by_setup[f"single-{task}"])
    }
    return single if len(single) == len(METRICS) else {}


def mean_delta_m(runs: List[dict], key: str, single: Dict[str, float]) -> Optional[float]:
    """Δm% of `runs` under `key`, averaged over the runs (None if it cannot be computed)."""
    if not single or not all(set(METRICS) <= set(r.get(key, {})) for r in runs):
        return None
    return statistics.mean(delta_m(r[key], single) for r in runs)


def delta_m_cell(runs: List[dict], key: str, single: Dict[str, float]) -> str:
    value = mean_delta_m(runs, key, single)
    return "—" if value is None else f"{value:+.1f}"


def per_doc_records(metrics: Path, runs: List[dict]) -> Optional[List[List[dict]]]:
    """The per-doc test records of each run (None if a run has none: scored before
    compare kept them)."""
    paths = [metrics / f"{r['setup']}-s{r['seed']}.docs.jsonl" for r in runs]
    if not all(path.exists() for path in paths):
        return None
    return [[json.loads(line) for line in path.read_text().splitlines()] for path in paths]


def intervals(setup: str, by_setup: Dict[str, List[dict]], metrics: Path) -> Dict[str, Any]:
    """Per task: the setup's paired bootstrap interval against the single-task model
    (seeds pooled), or nothing where a side lacks per-doc records."""
    from spacy_mtl.evaluation.bootstrap import paired_bootstrap

    found = {}
    for task in METRICS:
        single = f"single-{task}"
        if (
            setup == single
            or single not in by_setup
            or not all(task in r["scores"] for r in by_setup[setup])
        ):
            continue
        ours, theirs = (
            per_doc_records(metrics, by_setup[setup]),
            per_doc_records(metrics, by_setup[single]),
        )
        if ours is not None and theirs is not None:
            found[task] = paired_bootstrap(task, ours, theirs, n_resamples=RESAMPLES)
    return found


def interval_cell(found: Dict[str, Any], task: str) -> str:
    if task not in found:
        return "—"
    ci = found[task]
    return f"{100 * ci.delta:+.1f} [{100 * ci.low:+.1f}, {100 * ci.high:+.1f}]"


def verdict(
    runs: List[dict],
    by_setup: Dict[str, List[dict]],
    single: Dict[str, float],
    found: Optional[Dict[str, Any]] = None,
) -> str:
    """Does sharing pay: Δm% > 0, and no task's bootstrap interval entirely below zero?
    Without intervals: no task below single-task by more than its seed std."""
    test_delta = mean_delta_m(runs, "scores", single)
    if test_delta is None:
        return "—"
    if found is not None and set(found) == set(METRICS):
        below = [task for task in METRICS if found[task].entirely_below_zero()]
        if below:
            return f"no ({', '.join(below)})"
        return "yes" if test_delta > 0 else "no (Δm%)"
    if len(runs) < 2 or not all(len(by_setup[f"single-{t}"]) > 1 for t in METRICS):
        return "—"
    for task in METRICS:
        std = statistics.stdev(r["scores"][task] for r in by_setup[f"single-{task}"])
        if statistics.mean(r["scores"][task] for r in runs) < single[task] - std:
            return f"no ({task})"
    return "yes" if test_delta > 0 else "no (Δm%)"


def setting_text(value: Any) -> str:
    """A recorded device or list of overrides, as the report's notes show it."""
    if isinstance(value, list):
        return " ".join(value) or "none"
    return str(value)


def gradient_table(by_setup: Dict[str, List[dict]], training: Path) -> List[str]:
    """Per shared setup, over the weight traces of all its seeds (steps pooled): the
    cosine between the two task gradients at the shared representation and each
    task's mean weight. Empty without traces."""
    from spacy_mtl.training.plot import read_cosines, read_trace

    lines = []
    for setup in [s for s in all_setups() if s in by_setup and s not in BASELINES]:
        traces = [training / f"{setup}-s{r['seed']}" / "weights.jsonl" for r in by_setup[setup]]
        traces = [trace for trace in traces if trace.exists()]
        cosines = [
            value
            for trace in traces
            for series in read_cosines(trace).values()
            for _, value in series
        ]
        if not cosines:
            continue
        weights: Dict[str, List[float]] = {}
        for trace in traces:
            for task, series in read_trace(trace).items():
                weights.setdefault(task, []).extend(value for _, value in series["weight"])
        weight_text = " / ".join(
            f"{task} {statistics.mean(values):.2f}" for task, values in sorted(weights.items())
        )
        below = sum(value < 0 for value in cosines) / len(cosines)
        lines.append(
            f"| {setup} | {len(traces)} | {statistics.mean(cosines):+.4f} | {min(cosines):+.3f} … {max(cosines):+.3f} "
            f"| {100 * below:.0f}% | {weight_text} |"
        )
    if not lines:
        return []
    return [
        "| setup | traces | cosine, mean | cosine, min … max | steps with cosine < 0 | mean weight |",
        "|---|---|---|---|---|---|",
        *lines,
    ]


def report(args: argparse.Namespace) -> None:
    results = [json.loads(path.read_text()) for path in sorted(args.metrics.glob("*-s*.json"))]
    if not results:
        raise SystemExit(f"no results in {args.metrics}: run `compare.py train` first")
    by_setup: Dict[str, List[dict]] = {}
    for result in results:
        by_setup.setdefault(result["setup"], []).append(result)
    single_test = single_task_means(by_setup, "scores")
    single_dev = single_task_means(by_setup, "dev_scores")
    lines = [
        "| setup | seeds | sentiment macro-F1 (test) | entity F1 (test) | Δ sentiment [95% CI] | Δ entities [95% CI] "
        "| Δm% test | Δm% dev | pays | train time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setup in [s for s in all_setups() if s in by_setup]:
        runs = by_setup[setup]
        cells = [mean_std([r["scores"][t] for r in runs if t in r["scores"]]) for t in METRICS]
        found = intervals(setup, by_setup, args.metrics)
        seconds = statistics.mean(r["seconds"] for r in runs)
        # Stock textcat scores the mixed dev corpus, where every entity tweet (no cats)
        # counts as a sentiment error, so its dev score is not comparable.
        dev_delta = "—" if setup == "stock" else delta_m_cell(runs, "dev_scores", single_dev)
        lines.append(
            f"| {setup} | {len(runs)} | {cells[0]} | {cells[1]} | {interval_cell(found, 'textcat')} "
            f"| {interval_cell(found, 'ner')} | {delta_m_cell(runs, 'scores', single_test)} "
            f"| {dev_delta} | {verdict(runs, by_setup, single_test, found)} "
            f"| {seconds:.0f} |"
        )
    table = "\n".join(lines)
    gradients = gradient_table(by_setup, args.training)
    gradient_text = (
        (
            "## Task gradients at the shared representation\n\n" + "\n".join(gradients) + "\n\n"
            "From each run's `weights.jsonl`, every step of every seed pooled: the cosine between the "
            "two task gradients at the shared representation (0 where the tasks share no doc) and each task's "
            "mean weight.\n\n"
        )
        if gradients
        else ""
    )
    jobs = max(r.get("jobs", 1) for r in results)
    notes = (
        f" Runs were trained up to {jobs} at a time, so their times overlap." if jobs > 1 else ""
    )
    # Runs on other devices or with other overrides are not bit-identical: say which.
    for key, label in (("device", "device"), ("overrides", "config overrides")):
        if any(key in r for r in results):
            counts = Counter(setting_text(r[key]) if key in r else "not recorded" for r in results)
            notes += (
                f" Runs by {label}: "
                + ", ".join(f"{text} ({n})" for text, n in sorted(counts.items()))
                + "."
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        "# Multi-task vs single-task\n\n" + table + "\n\n"
        "Scores on each task's own test set, mean ± std over seeds (×100). "
        "Δ sentiment / Δ entities: the difference to the single-task model on the test docs (mean over "
        f"seeds), with a 95% paired bootstrap interval ({RESAMPLES:,} resamples of the test docs; on each, "
        "each setup's score is the mean over its seeds, so seeds are pooled). "
        "Δm% = mean over tasks of the relative change against the single-task mean, on the test "
        "and on the dev sets (dev: the best checkpoint's scores); higher is better. "
        "*pays*: Δm% test > 0 and neither task's interval entirely below zero (runs without per-doc "
        "records: neither task's mean below its single-task mean by more than the single-task seed std; "
        "— with fewer than two seeds). Stock's dev Δm% is left out: its "
        "textcat is scored on the mixed dev set, where entity tweets count as sentiment errors."
        + notes
        + "\n\n"
        + gradient_text
        + "![scores](scores.png)\n\n![weights](weights.png)\n"
    )
    print(table)
    charts(by_setup, args)


def charts(by_setup: Dict[str, List[dict]], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    setups = [s for s in all_setups() if s in by_setup]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(12, 4))
    for ax, (task, metric) in zip(axes, METRICS.items()):
        names = [s for s in setups if all(task in r["scores"] for r in by_setup[s])]
        values = [[r["scores"][task] for r in by_setup[s]] for s in names]
        ax.bar(
            names,
            [statistics.mean(v) for v in values],
            yerr=[statistics.stdev(v) if len(v) > 1 else 0 for v in values],
        )
        ax.set_title(f"{task}: {metric} (test)")
        ax.tick_params(axis="x", rotation=60)
    fig.tight_layout()
    fig.savefig(args.output.parent / "scores.png", dpi=100)
    plt.close(fig)

    from spacy_mtl.training.plot import moving_average, read_trace

    traces = sorted(args.training.glob("mtl-*-s0/weights.jsonl")) + sorted(
        args.training.glob(f"{DISTILL}*-s0/weights.jsonl")
    )
    if traces:
        fig, axes = plt.subplots(1, len(traces), figsize=(3.5 * len(traces), 3), squeeze=False)
        for ax, trace in zip(axes[0], traces):
            for task, series in sorted(read_trace(trace).items()):
                ax.plot(
                    [s for s, _ in series["weight"]],
                    moving_average([v for _, v in series["weight"]], 20),
                    label=task,
                )
            ax.set_title(trace.parent.name[: -len("-s0")])
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.output.parent / "weights.png", dpi=100)
        plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train and score every setup for every seed",
        allow_abbrev=False,
        epilog="Other options are config overrides for every run, as in `spacy train`: "
        "--components.transformer.model.mixed_precision false",
    )
    train.add_argument("--configs-dir", type=Path, default=Path("../configs"))
    train.add_argument(
        "--corpus",
        type=Path,
        default=CORPUS,
        help="directory of <task>/{train,dev,test}.spacy (default: corpus, the embedded tweets)",
    )
    train.add_argument("--seeds", default="0,1,2")
    train.add_argument(
        "--setups",
        default="",
        help="comma-separated subset of the baselines "
        f"({', '.join(BASELINES)}) and mtl-<strategy> setups (default: all)",
    )
    train.add_argument(
        "--max-steps", type=int, help="[training] max_steps of every run (default: each config's)"
    )
    train.add_argument(
        "--eval-frequency", type=int, help="[training] eval_frequency (default: each config's)"
    )
    train.add_argument("--encoder", help="the shared encoder's name (default: each config's)")
    train.add_argument(
        "--gpu-id", default="auto", help="'auto' (GPU 0 if usable, else the CPU), -1, or a GPU id"
    )
    train.add_argument("--sampling", help="[corpora.train] sampling (default: each config's)")
    train.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs trained at once (a large GPU has room for several; times then overlap)",
    )
    train.add_argument("--output", type=Path, default=Path("training/compare"))
    train.add_argument("--metrics", type=Path, default=Path("metrics/compare"))
    rep = commands.add_parser("report", help="write the table and the charts")
    rep.add_argument("--metrics", type=Path, default=Path("metrics/compare"))
    rep.add_argument("--training", type=Path, default=Path("training/compare"))
    rep.add_argument("--output", type=Path, default=Path("metrics/compare/report.md"))
    args, overrides = parser.parse_known_args()
    if args.command == "report":
        if overrides:
            parser.error(f"unrecognized arguments: {' '.join(overrides)}")
        report(args)
        return
    # As in `spacy train`, the remaining options override every run's config: check
    # them once here rather than fail every run.
    from click import ClickException

    from spacy_mtl.compat import parse_config_overrides

    try:
        parse_config_overrides(list(overrides))  # it empties the list it is given
    except ClickException as error:
        train.error(f"{error.format_message()} (config overrides look like --section.key value)")
    args.overrides = overrides
    args.device = device_name(args.gpu_id)
    train_all(args)


if __name__ == "__main__":
    main()
