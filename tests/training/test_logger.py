"""The weight-trace logger: a JSON line per task and step, window means for the wrapped logger."""
import json

from spacy_mtl.training.logger import weight_trace_logger


def test_trace_and_evaluation_means(make_nlp, tmp_path):
    nlp, examples = make_nlp()
    seen = []

    def wrapped(nlp, stdout, stderr):
        return seen.append, lambda: seen.append("closed")

    log_step, finalize = weight_trace_logger(wrapped, str(tmp_path / "trace" / "w.jsonl"))(nlp)
    for _ in range(2):
        nlp.update(examples, sgd=False)
        log_step(None)
    nlp.update(examples, sgd=False)
    log_step({"step": 2, "other_scores": {}})
    finalize()
    records = [json.loads(line) for line in (tmp_path / "trace" / "w.jsonl").read_text().splitlines()]
    assert [(r["step"], r["task"]) for r in records] == [
        (0, "textcat"), (0, "ner"), (1, "textcat"), (1, "ner"), (2, "textcat"), (2, "ner")]
    scores = seen[2]["other_scores"]
    ner_losses = [r["loss"] for r in records if r["task"] == "ner"]
    assert scores["w_ner"] == 1.0 and scores["w_textcat"] == 1.0
    assert abs(scores["loss_ner"] - sum(ner_losses) / 3) < 1e-9
    assert seen[:2] == [None, None] and seen[-1] == "closed"
