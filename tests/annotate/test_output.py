"""The output and problem files a killed run leaves are repaired; no pipeline needed."""

import json

from spacy_mtl.annotate.output import repair_output, trim_problems
from spacy_mtl.annotate.read import Problem

from stream_helpers import BAD


def test_repair_cuts_a_torn_last_line(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": 3, "te')
    assert repair_output(out) == 2
    assert out.read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    assert repair_output(out) == 2
    out.write_bytes(b'{"torn')
    assert repair_output(out) == 0 and out.read_bytes() == b""


def testtrim_problems_keeps_those_up_to_a_line(tmp_path):
    path = tmp_path / "out.errors.jsonl"
    records = [Problem(line, kind, "") for line, (_, kind) in sorted(BAD.items())]
    path.write_bytes(
        b"".join(json.dumps(p.to_json()).encode() + b"\n" for p in records) + b'{"line": 3'
    )
    trim_problems(path, 150)
    kept = [json.loads(line)["line"] for line in path.read_text().splitlines()]
    assert kept == [line for line in sorted(BAD) if line <= 150] and 17 in kept and 151 not in kept
