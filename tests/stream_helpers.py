"""A small stream of posts with bad lines of every kind, and how to compare annotated outputs."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

NAMES = ["Obama", "Paris", "Apple", "Coldplay", "Heathrow", "London", "Messi", "Netflix"]
VERBS = ["loves", "hates", "visited", "watched", "met", "left"]

#: Bad lines of the stream by line number: (raw line, problem kind). About 1% of
#: each kind in 300 lines.
BAD: Dict[int, Tuple[bytes, str]] = {
    17: (b'{"id": 17, "text": "unterminated', "malformed_json"),
    33: (b'{"id": 33, "text": "deep", "x": ' + b"[" * 150 + b"]" * 150 + b"}", "too_deep"),
    77: (b'{"id": 77, "text": "' + b"#" * 3000 + b'"}', "long_run"),
    99: (b'{"id": 99, "text": "not a number", "score": NaN}', "malformed_json"),
    166: (b'{"id": 166, "text": "too big", "score": 1e400}', "malformed_json"),
    45: (b"[1, 2, 3]", "not_an_object"),
    61: (b'{"id": 61, "lang": "en"}', "missing_text"),
    88: (b'{"id": 88, "text": null}', "missing_text"),
    102: (b'{"id": 102, "text": 42}', "not_text"),
    130: (b'{"id": 130, "text": "   "}', "empty"),
    151: (b"", "empty"),
    177: (b'{"id": 177, "text": "caf\xe9 au lait"}', "not_utf8"),
    203: (b'{"id": 203, "text": "bad \\udc80 escape"}', "not_utf8"),
    230: (b'{"id": 230, "text": "trailing comma",}', "malformed_json"),
    256: (b'"a string"', "not_an_object"),
    281: (b'{"id": 281, "text": "x\xff\xfe"}', "not_utf8"),
}
#: A post longer than the default --max-chars: annotated on its start, and reported.
LONG = 120
N_LINES = 300


def post_text(i: int) -> str:
    """A post naming two of NAMES, with a hashtag that no other post has (a new word)."""
    feeling = "awful" if i % 3 == 0 else "great"
    return f"{NAMES[i % 8]} {VERBS[i % 6]} {NAMES[(3 * i + 1) % 8]} today #{i}tag , {feeling} !"


@dataclass
class Stream:
    """posts.jsonl, with what annotating it must give."""

    path: Path
    lines: List[bytes]
    valid_ids: List[int]
    problems: List[Tuple[int, str]]


def write_stream(directory: Path) -> Stream:
    lines, valid, problems = [], [], []
    for number in range(1, N_LINES + 1):
        if number in BAD:
            raw, kind = BAD[number]
            problems.append((number, kind))
        else:
            text = "all caps " * 1500 if number == LONG else post_text(number)
            record = {
                "id": number,
                "ts": f"2024-05-01T10:{number % 60:02d}:00Z",
                "text": text,
                "meta": {"n": number},
            }
            raw = json.dumps(record).encode("utf-8")
            valid.append(number)
            if number == LONG:
                problems.append((number, "truncated"))
        # A Windows line ending on some lines: they are still one line each.
        lines.append(raw + (b"\r\n" if number % 50 == 7 else b"\n"))
    path = directory / "posts.jsonl"
    path.write_bytes(b"".join(lines))
    return Stream(path, lines, valid, problems)


def read_jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def problems_of(path: Path) -> List[Tuple[int, str]]:
    return [(record["line"], record["kind"]) for record in read_jsonl(path)]


def assert_same_annotations(got: List[dict], expected: List[dict], tolerance: float = 1e-5) -> None:
    """The same records: passthrough fields and entities equal, cats to `tolerance`."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert {k: v for k, v in a.items() if k != "cats"} == {
            k: v for k, v in b.items() if k != "cats"
        }
        assert a["cats"].keys() == b["cats"].keys()
        for label, value in a["cats"].items():
            assert abs(value - b["cats"][label]) <= tolerance, (a, b)
