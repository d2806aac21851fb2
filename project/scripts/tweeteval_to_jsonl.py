"""Join TweetEval's sentiment text and label files into JSONL for the converter.

python scripts/tweeteval_to_jsonl.py assets/tweeteval assets/tweeteval/train.jsonl
"""

import json
import sys
from pathlib import Path

LABELS = {"0": "negative", "1": "neutral", "2": "positive"}


def main(folder: Path, output: Path) -> None:
    texts = (folder / "train_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / "train_labels.txt").read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        raise SystemExit(f"{folder}: {len(texts)} texts but {len(labels)} labels")
    with output.open("w", encoding="utf-8") as out:
        for number, (text, label) in enumerate(zip(texts, labels), 1):
            if label.strip() not in LABELS:
                raise SystemExit(f"{folder / 'train_labels.txt'}:{number}: unknown label {label!r}")
            out.write(json.dumps({"text": text, "label": LABELS[label.strip()]}) + "\n")
    print(f"{len(texts)} tweets -> {output}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
