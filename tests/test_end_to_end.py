"""The one end-to-end check with the real 22M-parameter MiniLM encoder."""

import json
import subprocess
import sys

import pytest
import spacy

from helpers import REPO


@pytest.mark.slow
def test_spacy_train_on_real_tweets_learns_and_loads(tmp_path):
    python = sys.executable
    subprocess.run(
        [
            python,
            str(REPO / "project" / "scripts" / "prepare_tweets.py"),
            str(tmp_path / "corpus"),
            "--max-ner",
            "300",
            "--max-textcat",
            "300",
        ],
        check=True,
        capture_output=True,
    )
    corpus = tmp_path / "corpus"
    result = subprocess.run(
        [
            python,
            "-m",
            "spacy",
            "train",
            str(REPO / "configs" / "mtl.cfg"),
            "--output",
            str(tmp_path / "training"),
            "--paths.textcat_train",
            str(corpus / "textcat" / "train.spacy"),
            "--paths.textcat_dev",
            str(corpus / "textcat" / "dev.spacy"),
            "--paths.ner_train",
            str(corpus / "ner" / "train.spacy"),
            "--paths.ner_dev",
            str(corpus / "ner" / "dev.spacy"),
            "--training.max_steps",
            "40",
            "--training.eval_frequency",
            "20",
            "--training.optimizer.learn_rate.warmup_steps",
            "5",
            "--training.optimizer.learn_rate.initial_rate",
            "0.0003",
            "--training.logger.path",
            str(tmp_path / "weights.jsonl"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    records = [json.loads(line) for line in (tmp_path / "weights.jsonl").read_text().splitlines()]
    losses = {
        task: [r["loss"] for r in records if r["task"] == task] for task in ("textcat", "ner")
    }
    assert all(len(values) >= 30 for values in losses.values())
    # The true losses fall. 40 steps are enough for NER to drop well below its start,
    # and for sentiment to leave the uniform guess (cross-entropy ln 3 = 1.0986).
    assert sum(losses["ner"][-10:]) / 10 < 0.9 * sum(losses["ner"][:5]) / 5, losses["ner"]
    assert losses["textcat"][0] == pytest.approx(1.0986, abs=1e-3)
    assert sum(losses["textcat"][-10:]) / 10 < 1.0986 - 0.03, losses["textcat"]
    nlp = spacy.load(tmp_path / "training" / "model-last")
    doc = nlp("Barack Obama landed in Paris and loved it")
    assert set(doc.cats) == {"negative", "neutral", "positive"}
    assert abs(sum(doc.cats.values()) - 1) < 1e-4
    assert nlp.get_pipe("transformer").weighting.tasks == ["textcat", "ner"]
