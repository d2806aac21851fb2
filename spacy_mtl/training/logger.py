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
from ..types import StepRecord

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


class WeightTrace:
    """One training run's weight trace: its lines on disk, and the per-task records of
    the current evaluation window.

    shared (List[MultiTaskTransformer]): the pipeline's shared transformers, whose
        `last_step` each step records.
    path (Optional[Path]): the trace file; None until spaCy's loop names the output
        directory.
    stdout (IO): where the trace's notes go.
    """

    def __init__(
        self, shared: List[MultiTaskTransformer], path: Optional[Path], stdout: IO
    ) -> None:
        self.shared = shared
        self.path = path
        self.stdout = stdout
        self.printer = Printer(no_print=True)
        #: spaCy's loop numbers its first step 0.
        self.step = -1
        #: The open trace, once the first lines are written.
        self.file: Optional[TextIO] = None
        #: Where an earlier run's trace went.
        self.kept: Optional[Path] = None
        #: Whether the trace was given up for want of an output directory.
        self.unsaved = False
        #: Lines logged before the trace's path is known.
        self.pending: List[str] = []
        #: Per task: the records since the last evaluation.
        self.window: Dict[str, List[StepRecord]] = {}

    def log(self, info: Optional[Dict[str, Any]]) -> None:
        """Record the step that just ended; at an evaluation (`info` given), find the
        output directory and add the window's means to `info["other_scores"]`.

        info (Optional[Dict[str, Any]]): what spaCy's loop passes its logger.
        """
        self.step = info["step"] if info is not None else self.step + 1
        lines = self.record_step()
        if self.path is None and info is not None:
            self.find_path(info)
        if self.path is not None:
            self.write(self.pending + lines)
            self.pending.clear()
        elif not self.unsaved:
            self.pending.extend(lines)
        if info is not None:
            info["other_scores"].update(self.window_means())
            self.window.clear()

    def record_step(self) -> List[str]:
        """The step's JSON lines, one per task; its records join the window."""
        lines = []
        for transformer in self.shared:
            for task, record in transformer.last_step.items():
                lines.append(json.dumps({"step": self.step, "task": task, **record}) + "\n")
                self.window.setdefault(task, []).append(record)
        return lines

    def find_path(self, info: Dict[str, Any]) -> None:
        """The trace's path from an evaluation's `info`, or a warning that there is
        none: spaCy's loop gives OUTPUT/model-last with every evaluation when it has
        an output directory."""
        if info.get("output_path"):
            self.path = Path(info["output_path"]).parent / TRACE_NAME
        elif self.shared and not self.unsaved:
            self.unsaved = True
            self.pending.clear()
            self.say(
                self.printer.warn(
                    "No output directory: the weight trace is not saved (give --output, "
                    "or a path in [training.logger])"
                )
            )

    def write(self, lines: List[str]) -> None:
        """Append `lines` to the trace, opening it (and keeping an earlier run's) first."""
        if self.file is None:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.kept = rotate(self.path)
            self.file = self.path.open("w", encoding="utf-8")
        self.file.writelines(lines)
        # Every step: a killed run keeps every step it finished.
        self.file.flush()

    def window_means(self) -> Dict[str, float]:
        """`w_<task>` and `loss_<task>`: each task's mean weight and loss since the
        last evaluation."""
        means = {}
        for task, records in self.window.items():
            means[f"w_{task}"] = sum(r["weight"] for r in records) / len(records)
            means[f"loss_{task}"] = sum(r["loss"] for r in records) / len(records)
        return means

    def close(self) -> None:
        """Close the trace and say where it is."""
        if self.file is not None:
            self.file.close()
            note = (
                f" (the previous run's trace is now {self.kept})" if self.kept is not None else ""
            )
            self.say(self.printer.info(f"Weight trace: {self.path}{note}"))

    def say(self, line: str) -> None:
        self.stdout.write(line + "\n")


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
        shared = [proc for _, proc in nlp.pipeline if isinstance(proc, MultiTaskTransformer)]
        trace = WeightTrace(shared, Path(path) if path is not None else None, stdout)

        def log(info: Optional[Dict[str, Any]]) -> None:
            trace.log(info)
            log_step(info)

        def close() -> None:
            trace.close()
            finalize()

        return log, close

    return setup
