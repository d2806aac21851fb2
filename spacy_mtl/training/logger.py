"""A training logger that makes the multi-task weights visible.

`spacy_mtl.WeightTraceLogger.v1` wraps any spaCy logger (the console logger, or
spacy-loggers' W&B / MLflow ones). Every training step it appends one JSON line per
task to `path`: step, task, loss, weight and the norm of the task's gradient on the
shared representation. At every evaluation it adds `w_<task>` and `loss_<task>`
(means since the last evaluation) to `info["other_scores"]`, where the wrapped logger
reads them: list them in `[training.score_weights]` with weight 0.0 to get a console
column for each (spaCy's console logger shows every score times 100).
"""
import json
from pathlib import Path
import sys
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.util import registry

from ..pipeline.shared_transformer import MultiTaskTransformer

LogStep = Callable[[Optional[Dict[str, Any]]], None]
Finalize = Callable[[], None]


@registry.loggers("spacy_mtl.WeightTraceLogger.v1")
def weight_trace_logger(
    logger: Callable[..., Tuple[LogStep, Finalize]],
    path: str = "training/weights.jsonl",
) -> Callable[..., Tuple[LogStep, Finalize]]:
    """Trace the per-task losses and weights of every step to `path` (JSON lines) and
    pass their evaluation-window means on to `logger`."""

    def setup(nlp: Language, stdout: IO = sys.stdout, stderr: IO = sys.stderr) -> Tuple[LogStep, Finalize]:
        log_step, finalize = logger(nlp, stdout, stderr)
        shared = [proc for _, proc in nlp.pipeline if isinstance(proc, MultiTaskTransformer)]
        trace_path = Path(path)
        trace_path.parent.mkdir(parents=True, exist_ok=True)
        trace = trace_path.open("w", encoding="utf-8")
        window: Dict[str, List[Dict[str, float]]] = {}
        step = -1  # spaCy's loop numbers its first step 0

        def log(info: Optional[Dict[str, Any]]) -> None:
            nonlocal step
            step = info["step"] if info is not None else step + 1
            for transformer in shared:
                for task, record in transformer.last_step.items():
                    trace.write(json.dumps({"step": step, "task": task, **record}) + "\n")
                    window.setdefault(task, []).append(record)
            if info is not None:
                trace.flush()
                for task, records in window.items():
                    for key, prefix in (("weight", "w"), ("loss", "loss")):
                        values = [r[key] for r in records]
                        info["other_scores"][f"{prefix}_{task}"] = sum(values) / len(values)
                window.clear()
            log_step(info)

        def close() -> None:
            trace.close()
            finalize()

        return log, close

    return setup
