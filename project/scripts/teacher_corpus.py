"""Every training doc with both tasks: gold where the corpus has it, the teacher's elsewhere.

    python scripts/teacher_corpus.py TEACHER OUTPUT.spacy --textcat T.spacy --ner N.spacy

TEACHER is a trained pipeline (the full mtl pipeline) with a textcat and an NER head.
A sentiment doc keeps its gold cats and gets the teacher's entities (every other
token outside an entity); an entity doc keeps its gold entities and gets the
teacher's class distribution as soft cats. Gold is never overwritten. The teacher
runs on the gold docs' own tokens, so its entities line up with them, and on the
CPU in file order, so a rerun writes the same bytes. The output is one DocBin for
the corpus key `textcat+ner` (student training, `distil` / `compress` workflows).
"""
import argparse
from pathlib import Path
import sys
from typing import Iterable, List

import spacy
from spacy.tokens import Doc, DocBin
from wasabi import msg


def without_annotation(doc: Doc) -> Doc:
    """A copy of the doc's tokens, for the teacher to annotate."""
    return Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])


def teach(nlp, docs: List[Doc], task: str, textcat: str, ner: str, batch_size: int) -> Iterable[Doc]:
    """The gold docs of `task` ("textcat" or "ner"), each with the teacher's other task added."""
    keep = [ner] if task == "textcat" else [textcat]
    with nlp.select_pipes(enable=[nlp.pipe_names[0], *keep]):
        predicted = nlp.pipe((without_annotation(doc) for doc in docs), batch_size=batch_size)
        for done, (gold, taught) in enumerate(zip(docs, predicted), 1):
            if task == "textcat":
                gold.set_ents([gold.char_span(e.start_char, e.end_char, label=e.label_) for e in taught.ents],
                              default="outside")  # fmt: skip
            else:
                gold.cats = {label: float(value) for label, value in taught.cats.items()}
            if done % 2000 == 0 or done == len(docs):
                msg.text(f"  {task}: {done:,} / {len(docs):,} docs", show=True)
            yield gold


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("teacher", type=Path, help="trained pipeline with a textcat and an NER head")
    parser.add_argument("output", type=Path, help=".spacy file to write")
    parser.add_argument("--textcat", type=Path, required=True, help="sentiment training docs (.spacy)")
    parser.add_argument("--ner", type=Path, required=True, help="entity training docs (.spacy)")
    parser.add_argument("--textcat-component", default="textcat")
    parser.add_argument("--ner-component", default="ner")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    nlp = spacy.load(args.teacher)
    for name in (args.textcat_component, args.ner_component):
        if name not in nlp.pipe_names:
            msg.fail(f"{args.teacher}: no component '{name}' (it has {nlp.pipe_names})", exits=1)
    out = DocBin(store_user_data=False)
    for task, path in (("textcat", args.textcat), ("ner", args.ner)):
        if not path.is_file():
            msg.fail(f"--{task}: {path} not found", exits=1)
        docs = list(DocBin().from_disk(path).get_docs(nlp.vocab))
        msg.info(f"{path}: {len(docs):,} {task} docs; adding the teacher's {'entities' if task == 'textcat' else 'cats'}")
        for doc in teach(nlp, docs, task, args.textcat_component, args.ner_component, args.batch_size):
            out.add(doc)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = args.output.with_name(args.output.name + ".partial")
    out.to_disk(partial)
    partial.replace(args.output)
    msg.good(f"Saved {len(out):,} docs with both tasks to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
