"""python -m bench.batching: words/s of `nlp.pipe` by how the transformer sub-batches, write bench/BATCHING.md.

The encoder pads every call to its longest doc. Stock spacy-transformers sorts each
`nlp.pipe` batch by spaCy token count and cuts it where `max_batch_items` spaCy tokens
(padded) would be exceeded; `mtl_transformer` sorts by word-piece count and counts
`max_batch_items` in word pieces. This times, in one process and on the same unseen
tweets, a trained pipeline (and its int8 twin, if given) under the stock rule at 4096
and under the word-piece rule at several `max_batch_items`, rounds interleaved and
their order rotated; words/s ratios to the stock rule per round, median. It also
reports the padded word pieces each rule runs per real one, the share of docs
whose most probable class and entity set equal the stock rule's, and both tasks'
dev scores under each rule (what a choice of `max_batch_items` is made on).
"""

import argparse
import datetime
import functools
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import spacy
from spacy.language import Language
from spacy.training import Corpus
from spacy_transformers.pipeline_component import Transformer

from spacy_mtl.models.wordpieces import group_by_length
from spacy_mtl.pipeline.shared_transformer import MultiTaskTransformer

from .common import Device, count_words, inference_texts, log, the_transformer, timed

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "project"
STOCK = "stock: spaCy tokens ≤ 4096"
STOCK_ITEMS = 4096
#: The benchmark runs on the CPU, where serving happens and int8 runs.
CPU = Device(-1)


def use_rule(transformer: MultiTaskTransformer, rule: str, max_items: int) -> None:
    """Make `transformer.pipe` follow `rule` ("stock" or "word pieces") at `max_items`."""
    transformer.cfg["max_batch_items"] = max_items
    if rule == "stock":
        transformer.pipe = functools.partial(Transformer.pipe, transformer)  # type: ignore[method-assign]
    else:
        transformer.__dict__.pop("pipe", None)


def padding(
    transformer: MultiTaskTransformer,
    nlp: Language,
    texts: Sequence[str],
    batch_size: int,
    rule: str,
    max_items: int,
) -> float:
    """Padded word pieces the encoder runs per real one, under `rule`."""
    real = padded = 0
    for start in range(0, len(texts), batch_size):
        docs = [nlp.make_doc(t) for t in texts[start : start + batch_size]]
        pieces = transformer.wordpiece_counts(docs)
        keys = [len(doc) for doc in docs] if rule == "stock" else pieces
        for group in group_by_length(keys, max_items):
            padded += len(group) * max(pieces[i] for i in group)
        real += sum(pieces)
    return padded / real


def outputs(
    nlp: Language, texts: Sequence[str], batch_size: int
) -> List[Tuple[Optional[str], list]]:
    """Each doc's most probable class and its entity set."""
    found = []
    for doc in nlp.pipe(texts, batch_size=batch_size):
        top = max(doc.cats, key=doc.cats.get) if doc.cats else None
        found.append((top, sorted((e.start_char, e.end_char, e.label_) for e in doc.ents)))
    return found


def dev_scores(nlp: Language, corpus: Path, batch_size: int) -> Tuple[float, float]:
    """Sentiment macro-F1 and entity F1 (×100) on the dev sets."""
    textcat = nlp.evaluate(
        list(Corpus(corpus / "textcat" / "dev.spacy")(nlp)), batch_size=batch_size
    )
    ner = nlp.evaluate(list(Corpus(corpus / "ner" / "dev.spacy")(nlp)), batch_size=batch_size)
    return 100 * textcat["cats_macro_f"], 100 * ner["ents_f"]


def measure(
    name: str,
    path: Path,
    variants: List[Tuple[str, str, int]],
    texts: Sequence[str],
    words: int,
    settings: argparse.Namespace,
) -> List[List[str]]:
    log(f"{name}: loading {path}")
    nlp = spacy.load(path)
    transformer = the_transformer(nlp)
    use_rule(transformer, "stock", STOCK_ITEMS)
    reference = outputs(nlp, texts, settings.batch_size)  # also the warm-up
    seconds: Dict[str, List[float]] = {label: [] for label, _, _ in variants}
    for round_ in range(settings.rounds):
        shift = round_ % len(variants)
        for label, rule, max_items in variants[shift:] + variants[:shift]:
            use_rule(transformer, rule, max_items)
            seconds[label].append(
                timed(lambda: list(nlp.pipe(texts, batch_size=settings.batch_size)), CPU)
            )
            log(
                f"{name}, round {round_ + 1}/{settings.rounds}, {label}: {words / seconds[label][-1]:,.0f} words/s"
            )
    rows = []
    for label, rule, max_items in variants:
        use_rule(transformer, rule, max_items)
        same = list(zip(reference, outputs(nlp, texts, settings.batch_size)))
        ratio = statistics.median(s / t for s, t in zip(seconds[STOCK], seconds[label]))
        log(f"{name}, {label}: dev scores")
        sentiment, entities = dev_scores(nlp, settings.corpus, settings.batch_size)
        rows.append(
            [
                f"`{name}`",
                label,
                f"{padding(transformer, nlp, texts, settings.batch_size, rule, max_items):.2f}",
                f"{words / statistics.median(seconds[label]):,.0f}",
                f"**{ratio:.2f}x**",
                f"{100 * sum(a[0] == b[0] for a, b in same) / len(same):.1f}%",
                f"{100 * sum(a[1] == b[1] for a, b in same) / len(same):.1f}%",
                f"{sentiment:.2f}",
                f"{entities:.2f}",
            ]
        )
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.batching", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=PROJECT / "training" / "mtl" / "model-best",
        help="trained pipeline (project/training/mtl/model-best, from `make demo`)",
    )
    parser.add_argument(
        "--int8",
        type=Path,
        default=PROJECT / "training" / "mtl-int8",
        help="its int8 twin, timed too if it exists (project/training/mtl-int8)",
    )
    parser.add_argument(
        "--max-items",
        type=int,
        nargs="+",
        default=[4096, 2048, 1024, 512, 256],
        help="max_batch_items of the word-piece rule to time (4096 2048 1024 512 256)",
    )
    parser.add_argument("--batch-size", type=int, default=64, help="nlp.pipe batch size (64)")
    parser.add_argument(
        "--texts", type=int, default=768, help="unseen tweets, an even number (768)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (3)")
    parser.add_argument(
        "--corpus", type=Path, default=PROJECT / "corpus", help="corpus dir (project/corpus)"
    )
    parser.add_argument(
        "--output", type=Path, default=REPO / "bench" / "BATCHING.md", help="report to write"
    )
    settings = parser.parse_args(argv)
    if not (settings.model / "config.cfg").is_file():
        parser.error(
            f"{settings.model}: no trained pipeline there; run `make demo` first or pass --model"
        )
    pipelines = [("fp32", settings.model)] + (
        [("int8", settings.int8)] if (settings.int8 / "config.cfg").is_file() else []
    )
    variants = [(STOCK, "stock", STOCK_ITEMS)] + [
        (f"word pieces ≤ {n}", "word pieces", n) for n in settings.max_items
    ]
    texts = inference_texts(settings.corpus, settings.texts)
    words = count_words(texts)
    started = time.perf_counter()
    rows: List[List[str]] = []
    for name, path in pipelines:
        rows += measure(name, path, variants, texts, words, settings)
    import torch

    lines = [
        "# Sub-batching by word pieces against spacy-transformers' rule",
        "",
        f"`python -m bench.batching {' '.join(sys.argv[1:] if argv is None else argv)}` on "
        f"{datetime.date.today()}, {platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__} (CPU); "
        f"{time.perf_counter() - started:.0f} s. Method: bench/README.md.",
        "",
        "Pipelines: " + "; ".join(f"`{name}` {path}" for name, path in pipelines) + ".",
        "",
        f"`nlp.pipe` over {len(texts)} unseen dev and test tweets ({words:,} words, half sentiment, half "
        f"entity) at batch size {settings.batch_size}, {settings.rounds} rounds after a warm-up, one process "
        "per pipeline; ratio: words/s over the stock rule's in the same round, median. Padding: word pieces "
        "the encoder runs, padding included, per real one. Same class / same entities: share of the docs "
        "whose most probable class / entity set equal the stock rule's. Dev: sentiment macro-F1 and entity F1 "
        f"on the dev sets, `nlp.evaluate` at batch size {settings.batch_size} under each rule.",
        "",
        "| pipeline | sub-batches | padded / real word pieces | words/s | ratio | same class | same entities "
        "| dev sentiment F1 | dev entity F1 |",
        "|---|---|---|---|---|---|---|---|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]
    text = "\n".join(lines)
    settings.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
