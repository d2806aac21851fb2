"""A training logger that makes the multi-task weights visible.

`spacy_mtl.WeightTraceLogger.v1` wraps any spaCy logger (the console logger, or
spacy-loggers' W&B / MLflow ones), which still gets every step, progress bar included.
Every training step it appends one JSON line per task to the trace: step, task, loss,
weight and the norm of the task's gradient on the shared representation (what each
`MultiTaskTransformer`'s `last_step` holds). At every evaluation it adds `w_<task>` and
`loss_<task>` (means since the last evaluation) to `info["other_scores"]`, where the
wrapped logger reads them: list them in `[training.score_weights]` with weight 0.0 to
get a console column for each (spaCy's console logger shows every score times 100).

Where the trace goes::

    [training.logger]
    @loggers = "spacy_mtl.WeightTraceLogger.v1"
    path = null          # null: OUTPUT/weights.jsonl; or a file of your choice

With ``path = null`` the trace goes into the output directory of `spacy train
--output OUTPUT` or `spacy mtl train --output OUTPUT`: spaCy's training loop passes
that directory to its logger with every evaluation (`info["output_path"]`, which is
OUTPUT/model-last), and it evaluates at step 0, so the file opens with the first
step. Steps logged before spaCy names the directory are held until it does. Without
an output directory no trace is written (spaCy saves nothing either), and a warning
says so.

The trace is flushed after every step, so a killed run keeps every finished step. A
run that finds a trace at its path keeps it: the old file is renamed to the first
free `weights.1.jsonl`, `weights.2.jsonl`, ... (so the numbers count earlier runs
from the oldest) and the new run writes a fresh `weights.jsonl`: one run per file.
"""

import json
import sys
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, TextIO, Tuple, Union

from spacy.language import Language
from spacy.util import registry
from wasabi import Printer

from ..pipeline.shared_transformer import MultiTaskTransformer

LogStep = Callable[[Optional[Dict[str, Any]]], None]
Finalize = Callable[[], None]

#: The trace's file name in the output directory when `path` is null.
TRACE_NAME = "weights.jsonl"


def rotate(path: Path) -> Optional[Path]:
    """Move an existing, non-empty file at `path` out of the way.

    path (Path): e.g. OUTPUT/weights.jsonl.
    RETURNS (Optional[Path]): where the old file went (the first free
        OUTPUT/weights.N.jsonl, N = 1, 2, ...), or None if there was nothing to keep.
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    number = 1
    while True:
        kept = path.with_name(f"{path.stem}.{number}{path.suffix}")
        if not kept.exists():
            path.rename(kept)
            return kept
        number += 1


@registry.loggers("spacy_mtl.WeightTraceLogger.v1")
def weight_trace_logger(
    logger: Callable[..., Tuple[LogStep, Finalize]],
    path: Optional[Union[str, Path]] = None,
) -> Callable[..., Tuple[LogStep, Finalize]]:
    """Trace the per-task losses and weights of every step (JSON lines) and pass their
    evaluation-window means on to `logger`.

    logger (Callable): the spaCy logger to wrap, e.g. spacy.ConsoleLogger.v3.
    path (Optional[Union[str, Path]]): the trace file; None: `weights.jsonl` in the
        training's output directory.
    RETURNS (Callable): the logger setup that spaCy's training loop calls.
    """

    def setup(
        nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr
    ) -> Tuple[LogStep, Finalize]:
        log_step, finalize = logger(nlp, stdout, stderr)
        printer = Printer(no_print=True)
        shared = [proc for _, proc in nlp.pipeline if isinstance(proc, MultiTaskTransformer)]
        trace_path: Optional[Path] = Path(path) if path is not None else None
        trace: Optional[TextIO] = None
        kept: Optional[Path] = None
        warned = False
        pending: List[str] = []  # lines logged before the trace's path is known
        window: Dict[str, List[Dict[str, float]]] = {}
        step = -1  # spaCy's loop numbers its first step 0

        def write(lines: List[str]) -> None:
            nonlocal trace, kept
            if trace is None:
                assert trace_path is not None
                trace_path.parent.mkdir(parents=True, exist_ok=True)
                kept = rotate(trace_path)
                trace = trace_path.open("w", encoding="utf-8")
            trace.writelines(lines)
            # Every step: a killed run keeps every step it finished.
            trace.flush()

        def log(info: Optional[Dict[str, Any]]) -> None:
            nonlocal step, trace_path, warned
            step = info["step"] if info is not None else step + 1
            lines = []
            for transformer in shared:
                for task, record in transformer.last_step.items():
                    lines.append(json.dumps({"step": step, "task": task, **record}) + "\n")
                    window.setdefault(task, []).append(record)
            if trace_path is None and info is not None:
                if info.get("output_path"):
                    # spaCy's loop: OUTPUT/model-last, given with every evaluation.
                    trace_path = Path(info["output_path"]).parent / TRACE_NAME
                elif shared and not warned:
                    warned = True
                    pending.clear()
                    stdout.write(
                        printer.warn(
                            "No output directory: the weight trace is not saved (give --output, "
                            "or a path in [training.logger])"
                        )
                        + "\n"
                    )
            if trace_path is not None:
                write(pending + lines)
                pending.clear()
            elif not warned:
                pending.extend(lines)
            if info is not None:
                for task, records in window.items():
                    for key, prefix in (("weight", "w"), ("loss", "loss")):
                        values = [r[key] for r in records]
                        info["other_scores"][f"{prefix}_{task}"] = sum(values) / len(values)
                window.clear()
            log_step(info)

        def close() -> None:
            if trace is not None:
                trace.close()
                note = f" (the previous run's trace is now {kept})" if kept is not None else ""
                stdout.write(printer.info(f"Weight trace: {trace_path}{note}") + "\n")
            finalize()

        return log, close

    return setup
