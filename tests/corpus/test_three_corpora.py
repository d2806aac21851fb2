"""Three heads from three corpora under one weighting, trained by `spacy train`.

Entities, exclusive sentiment and multi-label topics, each from its own .spacy file,
named in the reader's paths as TASK/NAME keys in a config file, the two
text-classification heads with their labels in [initialize.components.*].
"""

import json
import subprocess
import sys
from pathlib import Path

import spacy
from spacy.tokens import Doc, DocBin, Span
from thinc.api import Config

from helpers import CONFIGS

SENTIMENT = ["negative", "neutral", "positive"]
TOPICS = ["sports", "politics", "music"]
STEPS = 20


def write_corpora(directory: Path) -> None:
    nlp = spacy.blank("en")
    ner, sentiment, topics = DocBin(), DocBin(), DocBin()
    for i in range(8):
        words = ["Obama", "met", "Coldplay", "in", "Paris", "today", str(i)]
        doc = Doc(nlp.vocab, words=words)
        doc.set_ents(
            [Span(doc, 0, 1, "person"), Span(doc, 2, 3, "musicartist"), Span(doc, 4, 5, "geo-loc")],
            default="outside",
        )
        ner.add(doc)
        doc = nlp(
            ["what a lovely day", "worst service ever", "the meeting is at noon"][i % 3] + f" {i}"
        )
        doc.cats = {label: float(label == SENTIMENT[i % 3]) for label in SENTIMENT}
        sentiment.add(doc)
        doc = nlp(
            ["the match and the election", "a new album tonight", "the band played at the stadium"][
                i % 3
            ]
        )
        positives = [{"sports", "politics"}, {"music"}, {"music", "sports"}][i % 3]
        doc.cats = {topic: float(topic in positives) for topic in TOPICS}
        topics.add(doc)
    for name, doc_bin in (("ner", ner), ("sentiment", sentiment), ("topics", topics)):
        doc_bin.to_disk(directory / f"{name}.spacy")


CONFIG_TEXT = """
[corpora.train.paths]
ner = ${{paths.ner}}
textcat/sentiment = ${{paths.sentiment}}
textcat_multilabel/topics = ${{paths.topics}}

[corpora.dev.paths]
ner = ${{paths.ner}}
textcat/sentiment = ${{paths.sentiment}}
textcat_multilabel/topics = ${{paths.topics}}

[initialize.components.sentiment]
labels = {sentiment}

[initialize.components.topics]
labels = {topics}
"""


def three_task_config(directory: Path, encoder: str) -> Path:
    """configs/mtl.cfg with a third head and three corpora, written as a config file."""
    base = Config().from_disk(CONFIGS / "mtl.cfg", interpolate=False)
    base["nlp"]["pipeline"] = ["transformer", "sentiment", "topics", "ner"]
    components = base["components"]
    components["sentiment"] = components.pop("textcat")
    components["topics"] = {
        "factory": "mtl_textcat_multilabel",
        "model": {**components["sentiment"]["model"], "exclusive_classes": False},
    }
    components["transformer"]["model"]["name"] = encoder
    base["paths"].update(
        {name: str(directory / f"{name}.spacy") for name in ("ner", "sentiment", "topics")}
    )
    del base["corpora"]["train"]["paths"]
    del base["corpora"]["dev"]["paths"]
    base["training"]["score_weights"] = {"cats_macro_f": 0.5, "ents_f": 0.5}
    base["training"]["batcher"]["size"] = 6
    text = base.to_str() + CONFIG_TEXT.format(
        sentiment=json.dumps(SENTIMENT), topics=json.dumps(TOPICS)
    )
    path = directory / "three.cfg"
    path.write_text(text)
    return path


def test_spacy_train_three_heads_from_three_corpora(tmp_path, tiny_encoder):
    write_corpora(tmp_path)
    config = three_task_config(tmp_path, tiny_encoder)
    assert "textcat/sentiment = ${paths.sentiment}" in config.read_text()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "train",
            str(config),
            "--output",
            str(tmp_path / "out"),
            "--training.max_steps",
            str(STEPS),
            "--training.eval_frequency",
            "10",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    records = [
        json.loads(line) for line in (tmp_path / "out" / "weights.jsonl").read_text().splitlines()
    ]
    by_step = {}
    for record in records:
        by_step.setdefault(record["step"], set()).add(record["task"])
    assert sorted(by_step) == list(range(STEPS + 1))
    # Uniform sampling of 6 docs from three corpora: a step may miss a task; most have all three.
    full = [step for step, tasks in by_step.items() if tasks == {"sentiment", "topics", "ner"}]
    assert len(full) >= STEPS // 2
    assert set().union(*by_step.values()) == {"sentiment", "topics", "ner"}
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.get_pipe("sentiment").labels == tuple(SENTIMENT)
    assert nlp.get_pipe("topics").labels == tuple(TOPICS)
    doc = nlp("the band played at the stadium")
    assert set(doc.cats) == set(SENTIMENT) | set(TOPICS)
