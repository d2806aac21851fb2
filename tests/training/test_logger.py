"""The weight-trace logger: a JSON line per task and step, window means for the wrapped
logger, the trace in the output directory, flushed every step, rotated on a restart."""

import io
import json

from spacy.util import registry

from spacy_mtl.training.logger import weight_trace_logger


def silent(nlp, stdout, stderr):
    return (lambda info: None), (lambda: None)


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def said(stream) -> str:
    """What a logger wrote, with wasabi's line wrapping undone."""
    return " ".join(stream.getvalue().split())


def eval_info(step, output=None):
    """What spaCy's training loop passes at an evaluation (`output`: its --output)."""
    info = {"step": step, "other_scores": {}}
    if output is not None:
        info["output_path"] = str(output / "model-last")
    return info


def test_trace_and_evaluation_means(make_nlp, tmp_path):
    nlp, examples = make_nlp()
    seen = []

    def wrapped(nlp, stdout, stderr):
        return seen.append, lambda: seen.append("closed")

    log_step, finalize = weight_trace_logger(wrapped, str(tmp_path / "trace" / "w.jsonl"))(
        nlp, io.StringIO()
    )
    for _ in range(2):
        nlp.update(examples, sgd=False)
        log_step(None)
    nlp.update(examples, sgd=False)
    log_step({"step": 2, "other_scores": {}})
    finalize()
    lines = records(tmp_path / "trace" / "w.jsonl")
    assert [(r["step"], r["task"]) for r in lines] == [
        (0, "textcat"),
        (0, "ner"),
        (1, "textcat"),
        (1, "ner"),
        (2, "textcat"),
        (2, "ner"),
    ]
    scores = seen[2]["other_scores"]
    ner_losses = [r["loss"] for r in lines if r["task"] == "ner"]
    assert scores["w_ner"] == 1.0 and scores["w_textcat"] == 1.0
    assert abs(scores["loss_ner"] - sum(ner_losses) / 3) < 1e-9
    assert seen[:2] == [None, None] and seen[-1] == "closed"


def test_trace_goes_to_the_output_directory_and_is_flushed_every_step(make_nlp, tmp_path):
    nlp, examples = make_nlp()
    stdout = io.StringIO()
    log_step, finalize = weight_trace_logger(silent)(nlp, stdout)
    trace = tmp_path / "out" / "weights.jsonl"
    nlp.update(examples, sgd=False)
    # spaCy's loop evaluates at step 0 and names the output directory there.
    log_step(eval_info(0, tmp_path / "out"))
    for step in (1, 2):
        nlp.update(examples, sgd=False)
        log_step(None)
        # On disk before the next evaluation and before the run ends: a killed run
        # keeps every step it finished.
        assert [r["step"] for r in records(trace)][-1] == step
    finalize()
    assert len(records(trace)) == 6
    assert f"Weight trace: {trace}" in said(stdout)


def test_steps_before_the_output_directory_is_known_are_kept(make_nlp, tmp_path):
    nlp, examples = make_nlp()
    log_step, finalize = weight_trace_logger(silent)(nlp, io.StringIO())
    nlp.update(examples, sgd=False)
    log_step(None)
    nlp.update(examples, sgd=False)
    log_step(eval_info(1, tmp_path))
    finalize()
    assert [r["step"] for r in records(tmp_path / "weights.jsonl")] == [0, 0, 1, 1]


def test_without_an_output_directory_it_warns_and_writes_nothing(make_nlp, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nlp, examples = make_nlp()
    stdout = io.StringIO()
    log_step, finalize = weight_trace_logger(silent)(nlp, stdout)
    nlp.update(examples, sgd=False)
    info = eval_info(0)
    log_step(info)
    finalize()
    assert "No output directory: the weight trace is not saved" in said(stdout)
    assert info["other_scores"]["w_ner"] == 1.0
    assert not list(tmp_path.iterdir())


def test_a_restart_keeps_the_earlier_traces(make_nlp, tmp_path):
    nlp, examples = make_nlp()
    for run in range(3):
        stdout = io.StringIO()
        log_step, finalize = weight_trace_logger(silent)(nlp, stdout)
        for step in range(run + 1):
            nlp.update(examples, sgd=False)
            log_step(eval_info(step, tmp_path))
        finalize()
    # One run per file: the newest in weights.jsonl, earlier ones numbered from the oldest.
    assert len(records(tmp_path / "weights.1.jsonl")) == 2
    assert len(records(tmp_path / "weights.2.jsonl")) == 4
    assert len(records(tmp_path / "weights.jsonl")) == 6
    assert f"the previous run's trace is now {tmp_path / 'weights.2.jsonl'}" in said(stdout)


class Terminal(io.StringIO):
    def isatty(self) -> bool:  # tqdm draws its bar only on a terminal
        return True


def test_the_wrapped_console_logger_draws_its_progress_bar(make_nlp, tmp_path, monkeypatch):
    import tqdm

    steps = []

    class Bar(tqdm.tqdm):
        def update(self, n=1):
            steps.append(n)
            return super().update(n)

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    nlp, examples = make_nlp()
    nlp.config["training"]["eval_frequency"] = 4
    setup = registry.resolve(
        {
            "logger": {
                "@loggers": "spacy_mtl.WeightTraceLogger.v1",
                "path": str(tmp_path / "w.jsonl"),
                "logger": {"@loggers": "spacy.ConsoleLogger.v3", "progress_bar": "eval"},
            }
        }
    )["logger"]
    stderr = Terminal()
    log_step, finalize = setup(nlp, io.StringIO(), stderr)
    nlp.update(examples, sgd=False)
    log_step(
        {
            "step": 0,
            "epoch": 0,
            "score": 0.5,
            "other_scores": {},
            "losses": {"transformer": 0.0, "textcat": 1.0, "ner": 1.0},
        }
    )
    for _ in range(2):
        nlp.update(examples, sgd=False)
        log_step(None)
    finalize()
    # The bar towards the next evaluation is drawn, and every step between
    # evaluations reaches it.
    assert "0/4" in stderr.getvalue() and steps == [1, 1]
