"""python -m bench.annotate_resume: kill `spacy mtl annotate` mid-stream, resume, check every row.

On a trained pipeline (project/training/mtl/model-best after `make demo`): a JSONL
stream of --posts lines (the embedded tweets, repeated), --bad-share of them
malformed in rotating ways (broken JSON, no text field, empty text, non-UTF-8
bytes); the command is killed with SIGKILL after --kill-after seconds, then run
again with --resume. Checks that the output holds exactly one line per valid input
line, in input order, no id twice or missing; that the side file names every bad
line by number; and that every output line parses. Prints a one-line verdict and
exits 1 on any failure.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .annotate import DEFAULT_MODEL, tweet_texts

REPO = Path(__file__).resolve().parent.parent
BAD_LINES = [
    b'{"id": -1, "text": "unterminated',
    b'{"id": -1, "lang": "en"}',
    b'{"id": -1, "text": "   "}',
    b'{"id": -1, "text": "caf\xe9 au lait"}',
    b"[1, 2, 3]",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--bad-share", type=float, default=0.01)
    parser.add_argument(
        "--kill-after", type=float, default=60.0, help="seconds before the SIGKILL (60)"
    )
    parser.add_argument("--n-process", type=int, default=2)
    args = parser.parse_args()
    texts = tweet_texts(REPO / "project" / "corpus")
    every = round(1 / args.bad_share)
    with tempfile.TemporaryDirectory(prefix="annotate-resume-") as tmp:
        stream, out = Path(tmp) / "posts.jsonl", Path(tmp) / "annotated.jsonl"
        valid, bad = [], []
        with stream.open("wb") as lines:
            for number in range(1, args.posts + 1):
                if number % every == 0:
                    lines.write(BAD_LINES[(number // every) % len(BAD_LINES)] + b"\n")
                    bad.append(number)
                else:
                    lines.write(
                        json.dumps({"id": number, "text": texts[number % len(texts)]}).encode()
                        + b"\n"
                    )
                    valid.append(number)
        command = [
            sys.executable,
            "-m",
            "spacy_mtl",
            "annotate",
            str(args.model),
            str(stream),
            str(out),
            "-n",
            str(args.n_process),
            "--gpu-id",
            "-1",
        ]
        first = subprocess.Popen(
            command,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(args.kill_after)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        before = out.read_bytes()
        torn = not before.endswith(b"\n")
        whole = before.count(b"\n")
        began = time.perf_counter()
        second = subprocess.run(command + ["--resume"], cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - began
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        ids = [row["id"] for row in rows]
        errors_file = out.with_name("annotated.errors.jsonl")
        reported = sorted(
            p["line"] for p in map(json.loads, errors_file.read_text().splitlines()) if p["skipped"]
        )
        checks = {
            "resumed exit code 0": second.returncode == 0,
            "one output line per valid input line, in order": ids == valid,
            "no id twice": len(set(ids)) == len(ids),
            "every malformed line reported by number": reported == bad,
            "every row has cats and ents": all(row["cats"] and "ents" in row for row in rows),
        }
        summary = " ".join(second.stderr.split())[-400:]
        print(
            f"{args.posts:,} lines, {len(bad):,} malformed; killed after {args.kill_after:.0f} s with "
            f"{whole:,} whole lines written{' and a torn last line' if torn else ''}; "
            f"resumed in {seconds:.0f} s to {len(rows):,} lines. {summary}"
        )
        for name, ok in checks.items():
            print(f"{'✓' if ok else '✗'} {name}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
