"""A monitoring app on top of the packaged pipeline: who is mentioned, and how people feel.

    pip install --no-index --find-links project/packages/en_mtl_tweets-0.1.0/dist en_mtl_tweets
    python examples/monitor.py posts.jsonl monitor/              # annotate, then the report
    python examples/monitor.py posts.txt monitor/ --html 50      # and the first 50 posts' entities in displaCy
    python examples/monitor.py --post "Obama landed in Paris"    # one post: its sentiment, its entities

It streams the posts through `spacy_mtl.annotate.annotate_file` (what `spacy mtl
annotate` runs: bounded memory, bad lines reported in monitor/annotated.errors.jsonl,
and a rerun after a kill resumes where the output ends; a rerun on other posts is
refused, so give it another OUT) into monitor/annotated.jsonl,
then tallies the sentiment of the posts that mention each entity with
`spacy_mtl.annotate.report` (what `spacy mtl report` runs) into monitor/entities.{csv,md,png}.
displaCy renders single posts: from the annotated records, or one post given outright.
"""

import argparse
import json
import sys
from itertools import islice
from pathlib import Path

import spacy
from spacy import displacy

from spacy_mtl.annotate import annotate_file
from spacy_mtl.annotate.report import write_report


def render_annotated(annotated: Path, n: int, text_field: str) -> str:
    """displaCy's entity view of the first `n` annotated posts, from their records."""
    with annotated.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in islice(lines, n)]
    parsed = [
        {
            "text": record[text_field],
            "ents": [
                {"start": e["start_char"], "end": e["end_char"], "label": e["label"]}
                for e in record["ents"]
            ],
            "title": ", ".join(f"{label} {p:.2f}" for label, p in record["cats"].items()),
        }
        for record in records
    ]
    return displacy.render(parsed, style="ent", manual=True, page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "posts", type=Path, nargs="?", help="posts: .jsonl, .csv or .txt (one post a line)"
    )
    parser.add_argument(
        "out", type=Path, nargs="?", default=Path("monitor"), help="output directory (monitor/)"
    )
    parser.add_argument(
        "--model", default="en_mtl_tweets", help="installed pipeline package or directory"
    )
    parser.add_argument(
        "--text-field", default="text", help="field (JSONL) or column (CSV) of the post"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-process", type=int, default=1, help="annotating processes")
    parser.add_argument(
        "--html", type=int, metavar="N", help="render the first N annotated posts to OUT/ents.html"
    )
    parser.add_argument(
        "--post", help="annotate this one post and render its entities to OUT/post.html"
    )
    args = parser.parse_args()
    if args.post is None and args.posts is None:
        parser.error("give a file of posts, or --post TEXT")
    args.out.mkdir(parents=True, exist_ok=True)

    if args.post is not None:
        doc = spacy.load(args.model)(args.post)
        print(f"sentiment: {max(doc.cats, key=doc.cats.get)}  {doc.cats}")
        print("entities:", [(ent.text, ent.label_) for ent in doc.ents])
        (args.out / "post.html").write_text(
            displacy.render(doc, style="ent", page=True), encoding="utf-8"
        )
        print(f"entities rendered to {args.out / 'post.html'}")
        return

    annotated = args.out / "annotated.jsonl"
    stats = annotate_file(
        args.model,
        args.posts,
        annotated,
        text_field=args.text_field,
        batch_size=args.batch_size,
        n_process=args.n_process,
        resume=True,
        progress=True,
    )
    print(
        f"{stats.posts:,} posts annotated ({stats.resumed:,} before), {stats.skipped:,} lines skipped"
    )
    tally, files = write_report(annotated, args.out)
    print(f"{'entity':<30} {'label':<12} {'posts':>6}  " + "  ".join(tally.classes))
    for row in tally.rows[:25]:
        print(
            f"{row.text:<30} {row.label:<12} {row.posts:>6}  "
            + "  ".join(str(row.classes[c]) for c in tally.classes)
        )
    print("report:", ", ".join(str(path) for path in files.values()))
    if args.html:
        text_field = "text" if args.posts.suffix == ".txt" else args.text_field
        (args.out / "ents.html").write_text(
            render_annotated(annotated, args.html, text_field), encoding="utf-8"
        )
        print(f"entities of the first {args.html} posts rendered to {args.out / 'ents.html'}")


if __name__ == "__main__":
    try:
        main()
    except (ImportError, OSError, ValueError) as error:
        # What a user can get wrong (a model that does not load, posts that are not
        # there, an OUT another run wrote): one line, as `spacy mtl` prints it.
        sys.exit(f"monitor: {' '.join(str(error).split())}")
