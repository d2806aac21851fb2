"""`spacy mtl annotate` as a user runs it: killed and resumed, through pipes, and its
one-line refusals."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from spacy_mtl.__main__ import main
from spacy_mtl.annotate import annotate_file

from stream_helpers import assert_same_annotations, problems_of, read_jsonl

ENV = {**os.environ, "ANSI_COLORS_DISABLED": "1"}


def annotate_command(*args: str) -> list:
    return [sys.executable, "-m", "spacy_mtl", "annotate", *args, "--gpu-id", "-1"]


def children(pid: int) -> list:
    return [int(child) for child in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_killed_run_resumes_to_the_uninterrupted_output(tiny_pipeline, stream, tmp_path):
    annotate_file(tiny_pipeline, stream.path, tmp_path / "reference.jsonl", batch_size=8)
    out = tmp_path / "out.jsonl"
    # The first run, with 2 worker processes, reads stdin, fed the first 200 lines
    # and then left waiting. It keeps 2 batches per worker in flight, so the last 3
    # complete batches are annotated but not yet written when it is killed (SIGKILL:
    # nothing of its own runs), while the problems of all 200 lines are.
    expected = 8 * (sum(1 for i in stream.valid_ids if i <= 200) // 8 - 3)
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        run = subprocess.Popen(
            annotate_command(
                tiny_pipeline, "-", str(out), "--format", "jsonl", "-b", "8", "-n", "2"
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=ENV,
        )
        run.stdin.write(b"".join(stream.lines[:200]))
        run.stdin.flush()
        deadline = time.monotonic() + 120
        while (
            not (out.exists() and out.read_bytes().count(b"\n") == expected)
            and time.monotonic() < deadline
        ):
            assert run.poll() is None, (tmp_path / "stderr.txt").read_text()
            time.sleep(0.05)
        workers = children(run.pid)
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert out.read_bytes().count(b"\n") == expected
    assert problems_of(tmp_path / "out.errors.jsonl")[-1][0] > read_jsonl(out)[-1]["id"]
    # The workers do not outlive their parent.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) >= 2 and not any(alive(pid) for pid in workers)
    # A write cut short by a kill leaves a torn last line.
    with out.open("ab") as file:
        file.write(b'{"id": 999, "text": "a torn li')
    resumed = subprocess.run(
        annotate_command(tiny_pipeline, str(stream.path), str(out), "-b", "8", "--resume"),
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"after the {expected:,} already there" in " ".join(resumed.stderr.split())
    assert [r["id"] for r in read_jsonl(out)] == stream.valid_ids
    assert_same_annotations(read_jsonl(out), read_jsonl(tmp_path / "reference.jsonl"))
    assert problems_of(tmp_path / "out.errors.jsonl") == stream.problems
    # Resuming a finished output adds nothing.
    before = out.read_bytes()
    with pytest.raises(SystemExit) as exit:
        main(
            [
                "annotate",
                tiny_pipeline,
                str(stream.path),
                str(out),
                "-b",
                "8",
                "--resume",
                "--gpu-id",
                "-1",
            ]
        )
    assert exit.value.code == 0
    assert (
        out.read_bytes() == before and problems_of(tmp_path / "out.errors.jsonl") == stream.problems
    )


def test_stdin_to_stdout_with_problems_on_stderr(tiny_pipeline, tmp_path):
    posts = (
        "Obama visited Paris\n\nApple hates Netflix , awful\n   \nMessi met Coldplay in London\n"
    )
    (tmp_path / "posts.txt").write_text(posts, encoding="utf-8")
    annotate_file(tiny_pipeline, tmp_path / "posts.txt", tmp_path / "expected.jsonl")
    result = subprocess.run(
        annotate_command(tiny_pipeline, "-", "-", "--format", "text"),
        input=posts.encode(),
        capture_output=True,
        env=ENV,
    )
    assert result.returncode == 0, result.stderr.decode()
    got = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [r["text"] for r in got] == [
        "Obama visited Paris",
        "Apple hates Netflix , awful",
        "Messi met Coldplay in London",
    ]
    assert_same_annotations(got, read_jsonl(tmp_path / "expected.jsonl"))
    stderr = " ".join(result.stderr.decode().split())
    assert "line 2: empty: empty post" in stderr and "line 4: empty: empty post" in stderr
    assert (
        "3 posts annotated" in stderr
        and "skipped lines: 2" in stderr
        and "reported: stderr" in stderr
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["posts.json", "out.jsonl"], "[E202] posts.json: extension '.json' names no input format"),
        (["posts.txt", "-", "--resume"], "[E207] --resume needs an output file"),
        (["-", "out.jsonl"], "[E201] Reading stdin needs its format"),
        (["posts.txt", "out.jsonl", "--ray", "--resume"], "[E276] --ray reads and writes with Ray"),
        (["posts.txt", "posts.txt"], "[E270] The output posts.txt is, holds or lies inside"),
        (["posts.txt", "out.jsonl", "--errors", "posts.txt"], "[E270] The output posts.txt"),
        (["posts.txt", "out.jsonl", "--errors", "out.jsonl"], "[E271] The outputs out.jsonl"),
        (["posts.txt", "out.parquet", "--ray"], "[E214] out.parquet exists and is not empty"),
    ],
)
def test_refusals_are_one_line(tiny_pipeline, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "posts.txt").write_text("a post\n", encoding="utf-8")
    (tmp_path / "out.parquet").mkdir()
    (tmp_path / "out.parquet" / "part-0.parquet").write_bytes(b"a run before")
    with pytest.raises(SystemExit) as exit:
        main(["annotate", tiny_pipeline, *args, "--gpu-id", "-1"])
    assert exit.value.code == 1
    err = capsys.readouterr().err
    assert message in " ".join(err.split()) and "Traceback" not in err
    # Nothing was written, nothing replaced: the output given as the input above
    # was truncated to 0 bytes (issue 28, items 1 and 7).
    assert (tmp_path / "posts.txt").read_text(encoding="utf-8") == "a post\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet", "posts.txt"]
    assert (tmp_path / "out.parquet" / "part-0.parquet").read_bytes() == b"a run before"


def test_ray_with_a_pipeline_that_does_not_exist_is_one_line_and_leaves_nothing(tmp_path, capsys):
    # Ray started, every actor failed in its constructor with retries logged, 214
    # lines ended in a traceback, and an empty output directory stayed (issue 28, item 12).
    (tmp_path / "posts.jsonl").write_text('{"text": "a post"}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit:
        main(
            [
                "annotate",
                str(tmp_path / "no_such_pipeline"),
                str(tmp_path / "posts.jsonl"),
                str(tmp_path / "annotated"),
                "--ray",
            ]
        )
    assert exit.value.code == 1
    err = capsys.readouterr().err
    assert "[E212] Can't find the pipeline" in " ".join(err.split()) and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posts.jsonl"]


def test_a_pipeline_that_does_not_load_is_one_line(tmp_path, capsys):
    (tmp_path / "posts.txt").write_text("a post\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(
            [
                "annotate",
                str(tmp_path / "no_such_pipeline"),
                str(tmp_path / "posts.txt"),
                str(tmp_path / "o.jsonl"),
                "--gpu-id",
                "-1",
            ]
        )
    err = capsys.readouterr().err
    assert "[E050] Can't find model" in err and "Traceback" not in err


def test_ray_with_a_pipeline_that_does_not_load_is_one_line_before_ray_starts(tmp_path, capsys):
    # It passes the check of its name (a directory with a config.cfg) and would fail
    # in every actor, in Ray's traceback of an actor that died: it is loaded first.
    broken = tmp_path / "broken_pipeline"
    broken.mkdir()
    (broken / "config.cfg").write_text('[nlp]\nlang = "en"\n')
    (tmp_path / "posts.jsonl").write_text('{"text": "a post"}\n', encoding="utf-8")
    args = [str(broken), str(tmp_path / "posts.jsonl"), str(tmp_path / "annotated"), "--ray"]
    with pytest.raises(SystemExit) as exit:
        main(["annotate", *args])
    assert exit.value.code == 1
    err = capsys.readouterr().err
    assert "[E053] Could not read meta.json" in " ".join(err.split()) and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken_pipeline", "posts.jsonl"]
