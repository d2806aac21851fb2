"""A monitoring app on top of the packaged pipeline: who is mentioned, and how people feel.

    pip install --no-index --find-links project/packages/en_mtl_tweets-0.1.0/dist en_mtl_tweets
    python examples/monitor.py tweets.txt            # one post per line
    python examples/monitor.py tweets.txt --html ents.html

It batches the posts through `nlp.pipe` (the shared encoder runs once per batch for
both heads), tallies the sentiment of the posts that mention each entity, and can
render the entities with displaCy.
"""
import argparse
from collections import Counter, defaultdict
from pathlib import Path

import spacy
from spacy import displacy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("posts", type=Path, help="text file, one post per line")
    parser.add_argument("--model", default="en_mtl_tweets", help="installed pipeline package or directory")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--html", type=Path, help="write the entities of the first 50 posts as displaCy HTML")
    args = parser.parse_args()

    nlp = spacy.load(args.model)
    posts = [line.strip() for line in args.posts.read_text(encoding="utf-8").splitlines() if line.strip()]
    sentiment_by_entity = defaultdict(Counter)
    rendered = []
    for doc in nlp.pipe(posts, batch_size=args.batch_size):
        feeling = max(doc.cats, key=doc.cats.get)
        for ent in doc.ents:
            sentiment_by_entity[(ent.text.lower(), ent.label_)][feeling] += 1
        if len(rendered) < 50:
            rendered.append(doc)

    print(f"{'entity':<30} {'label':<12} {'mentions':>8}  sentiment")
    ranked = sorted(sentiment_by_entity.items(), key=lambda item: -sum(item[1].values()))
    for (text, label), feelings in ranked[:25]:
        print(f"{text:<30} {label:<12} {sum(feelings.values()):>8}  {dict(feelings)}")
    if args.html:
        args.html.write_text(displacy.render(rendered, style="ent", page=True), encoding="utf-8")
        print(f"entities rendered to {args.html}")


if __name__ == "__main__":
    main()
