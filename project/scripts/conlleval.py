"""Entity F1 as WNUT-16 scored it: conlleval's chunks on the official tokens.

    python scripts/conlleval.py --training training/official --metrics metrics/official \\
        --test corpus/official/ner/test.spacy [--gpu-id auto]

The WNUT-16 shared task scored the tag each system gave every official token with
conlleval (CoNLL-2000): a chunk starts at B-X, or at I-X after O or after another type,
and ends where the next tag is O, B or another type; a found chunk is right only if its
type and its first and last token are a gold chunk's; precision, recall and F1 are
micro-averaged over all chunks of the test set.

spaCy's scorer (`ents_f` of `spacy mtl evaluate` and of `compare.py`) also counts exact
typed spans, but on spaCy's own tokens: the pipeline re-tokenises each tweet (it splits
`#Paris` into `#` and `Paris`), and a predicted entity counts as the gold tokens it
touches, so `Paris` predicted inside the gold token `#Paris` is right. Here the pipeline
tags the official tokens themselves, as the shared task's systems did, and chunks are
counted as conlleval counts them.

For every run of `compare.py train` whose result (METRICS/<run>.json) has entities, the
run's TRAINING/<run>/model-best tags the test tweets, and METRICS/conlleval/ gets

- <run>.docs.jsonl: tp / fp / fn per test tweet, the records of `spacy mtl evaluate
  --per-doc`, so that `spacy_mtl.evaluation.bootstrap` resamples them;
- <run>.txt: `token gold guess` per line, a blank line between tweets: the input of the
  shared task's own `perl conlleval.pl < <run>.txt`, which gives the same numbers;
- <run>.json, written last: precision, recall, F1 and the digests of the run's result and
  of the test set. A run whose digests have not changed is not scored again.
"""

import argparse
import hashlib
import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

#: Subfolder of --metrics for this script's files (outside compare.py's `*-s*.json` glob).
FOLDER = "conlleval"
Chunk = Tuple[str, int, int]  # (type, first token, end token)

_TAG = re.compile(r"^([^-]*)-(.*)$")  # conlleval's: the prefix is up to the first hyphen


def split_tag(tag: str) -> Tuple[str, str]:
    """("B", "geo-loc") from "B-geo-loc"; ("O", "") from "O"."""
    match = _TAG.match(tag)
    return (match.group(1), match.group(2)) if match else (tag, "")


def end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """conlleval's endOfChunk: whether a chunk ended between the previous token and this one."""
    if (prev_tag, tag) in {
        ("B", "B"),
        ("B", "O"),
        ("I", "B"),
        ("I", "O"),
        ("E", "E"),
        ("E", "I"),
        ("E", "O"),
    }:
        return True
    if prev_tag not in ("O", ".") and prev_type != type_:
        return True
    return prev_tag in ("[", "]")


def start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """conlleval's startOfChunk: whether a chunk started between the previous token and this one."""
    if (prev_tag, tag) in {
        ("B", "B"),
        ("I", "B"),
        ("O", "B"),
        ("O", "I"),
        ("E", "E"),
        ("E", "I"),
        ("O", "E"),
    }:
        return True
    if tag not in ("O", ".") and prev_type != type_:
        return True
    return tag in ("[", "]")


def chunks(tags: Sequence[str]) -> Set[Chunk]:
    """The chunks conlleval reads in one sentence's tags (invalid BIO included: I-X after O
    starts a chunk)."""
    found: Set[Chunk] = set()
    start: Optional[int] = None
    prev_tag, prev_type = "O", ""
    for i, full in enumerate([*tags, "O"]):  # the sentence boundary counts as O
        tag, type_ = split_tag(full)
        if start is not None and end_of_chunk(prev_tag, tag, prev_type, type_):
            found.add((prev_type, start, i))
            start = None
        if i < len(tags) and start_of_chunk(prev_tag, tag, prev_type, type_):
            start = i
        prev_tag, prev_type = tag, type_
    return found


def count(gold: Sequence[str], guess: Sequence[str]) -> Tuple[int, int, int]:
    """(tp, fp, fn) of one sentence: chunks found right, found wrong, and missed."""
    if len(gold) != len(guess):
        raise ValueError(f"{len(gold)} gold tags but {len(guess)} guessed")
    gold_chunks, guess_chunks = chunks(gold), chunks(guess)
    tp = len(gold_chunks & guess_chunks)
    return tp, len(guess_chunks) - tp, len(gold_chunks) - tp


def prf(records: Iterable[dict]) -> Dict[str, float]:
    """Micro precision, recall and F1 (0 where undefined) of per-doc tp / fp / fn records."""
    tp = fp = fn = 0
    for record in records:
        tp, fp, fn = tp + record["tp"], fp + record["fp"], fn + record["fn"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0}


def doc_tags(doc) -> List[str]:
    """A doc's entities as one BIO tag per token."""
    return [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in doc]


def tag_official_tokens(nlp, sentences: Sequence[Sequence[str]], batch_size: int = 64):
    """The pipeline's tags for each sentence, run on exactly these tokens (no re-tokenising).

    RETURNS (List[List[str]]): BIO tags, one per token.
    """
    from spacy.tokens import Doc

    docs = (
        Doc(nlp.vocab, words=list(words), spaces=[True] * (len(words) - 1) + [False])
        for words in sentences
    )
    return [doc_tags(doc) for doc in nlp.pipe(docs, batch_size=batch_size)]


def score_model(model: Path, test: Path, batch_size: int = 64) -> Tuple[List[dict], str]:
    """Tag the official tokens of `test` (a .spacy file) with the pipeline `model`.

    RETURNS (Tuple[List[dict], str]): the per-doc records, and conlleval's input text.
    """
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.load(model)
    gold_docs = [doc for doc in DocBin().from_disk(test).get_docs(nlp.vocab) if len(doc)]
    sentences = [[token.text for token in doc] for doc in gold_docs]
    guesses = tag_official_tokens(nlp, sentences, batch_size)
    records, lines = [], []
    for i, (doc, words, guess) in enumerate(zip(gold_docs, sentences, guesses)):
        gold = doc_tags(doc)
        tp, fp, fn = count(gold, guess)
        records.append({"task": "ner", "doc": i, "tp": tp, "fp": fp, "fn": fn})
        lines += [f"{w} {g} {p}" for w, g, p in zip(words, gold, guess)] + [""]
    return records, "\n".join(lines)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def score_runs(
    training: Path, metrics: Path, test: Path, *, gpu_id: str = "auto", batch_size: int = 64
) -> Dict[str, dict]:
    """conlleval scores of every run in `metrics` with entities (see the module docstring).

    RETURNS (Dict[str, dict]): by run name, what <run>.json holds.
    """
    from spacy_mtl.device import resolve_gpu_id, use_device
    from spacy_mtl.files import atomic_file, check_outputs

    if not test.is_file():
        raise SystemExit(f"{test} not found: run the workflow's corpus step first")
    out = metrics / FOLDER
    check_outputs([out], [training, test])
    test_digest = digest(test)
    use_device(resolve_gpu_id(gpu_id))
    scored: Dict[str, dict] = {}
    for result_path in sorted(metrics.glob("*-s*.json")):
        result = json.loads(result_path.read_text())
        if "ner" not in result.get("scores", {}):
            continue
        name = f"{result['setup']}-s{result['seed']}"
        stamp = {"result": digest(result_path), "test": str(test), "test_sha256": test_digest}
        summary_path = out / f"{name}.json"
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
            if summary.get("stamp") == stamp:
                scored[name] = summary
                continue
        model = training / name / "model-best"
        print(f"{name}: tagging the official tokens of {test}", flush=True)
        records, conll = score_model(model, test, batch_size)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_file(out / f"{name}.docs.jsonl", "w") as file:
            file.write("".join(json.dumps(record) + "\n" for record in records))
        with atomic_file(out / f"{name}.txt", "w") as file:
            file.write(conll + "\n")
        summary = {"run": name, "n_docs": len(records), **prf(records), "stamp": stamp}
        with atomic_file(summary_path, "w") as file:  # last: the others are whole
            file.write(json.dumps(summary, indent=2) + "\n")
        scored[name] = summary
    if not scored:
        raise SystemExit(f"no runs with entities in {metrics}: run `compare.py train` first")
    for name, summary in scored.items():
        print(
            f"{name}: conlleval P {100 * summary['p']:.2f} R {100 * summary['r']:.2f} "
            f"F1 {100 * summary['f']:.2f} on {summary['n_docs']} tweets",
            flush=True,
        )
    return scored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training", type=Path, default=Path("training/official"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/official"))
    parser.add_argument("--test", type=Path, default=Path("corpus/official/ner/test.spacy"))
    parser.add_argument(
        "--gpu-id", default="auto", help="'auto' (GPU 0 if usable, else the CPU), -1, or a GPU id"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    score_runs(
        args.training, args.metrics, args.test, gpu_id=args.gpu_id, batch_size=args.batch_size
    )


if __name__ == "__main__":
    main()
