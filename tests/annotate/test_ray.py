"""spacy_mtl.annotate.ray on a local Ray instance: the actors' annotations are `annotate`'s."""

import json

import pyarrow.parquet
import pytest
import ray

from spacy_mtl.annotate import annotate_file
from spacy_mtl.annotate.ray import annotate, annotate_files, write

from stream_helpers import assert_same_annotations, read_jsonl

FIELDS = ("id", "meta", "text", "cats", "ents")
#: The stream's first lines: its long post (line 120) and bad lines of most kinds. Ray's
#: start and its actors' dominate these tests' time, not the posts: a few suffice.
FIRST = 125


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def by_id(records: list) -> list:
    return [
        {k: r[k] for k in FIELDS if k in r}
        for r in sorted(records, key=lambda record: record["id"])
    ]


def first_lines(stream, path, keep=lambda line: True):
    path.write_bytes(b"".join(line for line in stream.lines[:FIRST] if keep(line)))
    return path


def test_ray_actors_give_the_cats_and_ents_of_annotate(local_ray, tiny_pipeline, stream, tmp_path):
    posts = first_lines(stream, tmp_path / "first.jsonl")
    annotate_file(tiny_pipeline, posts, tmp_path / "local.jsonl", batch_size=16)
    expected = by_id(
        [
            {k: r[k] for k in ("id", "text", "cats", "ents")}
            for r in read_jsonl(tmp_path / "local.jsonl")
        ]
    )
    rows = [{"id": r["id"], "text": r["text"]} for r in expected]
    # Rows the local command skips for their text are dropped here too.
    rows += [{"id": -1, "text": None}, {"id": -2, "text": "  "}, {"id": -3, "text": ""}]
    rows += [{"id": -4, "text": "#" * 3000}]
    dataset = ray.data.from_items(rows, override_num_blocks=4)
    annotated = annotate(dataset, tiny_pipeline, batch_size=16, concurrency=2).materialize()
    assert_same_annotations(by_id(annotated.take_all()), expected)
    # Blocks without a single entity have the others' schema: one Parquet dataset.
    write(annotated, tmp_path / "annotated.parquet")
    table = pyarrow.parquet.read_table(tmp_path / "annotated.parquet")
    assert_same_annotations(by_id(table.to_pylist()), expected)


def test_ray_mode_reads_and_writes_with_ray_data(local_ray, tiny_pipeline, stream, tmp_path):
    # Ray's reader fails on a malformed file: the valid lines only.
    valid = first_lines(stream, tmp_path / "valid.jsonl", lambda line: b'"meta"' in line)
    annotate_file(tiny_pipeline, valid, tmp_path / "local.jsonl", batch_size=16)
    # 2 actors of 1 CPU each hold both CPUs: reading and writing must not need one.
    annotate_files(tiny_pipeline, valid, tmp_path / "ray_json", batch_size=16, concurrency=2)
    got = [
        json.loads(line)
        for path in sorted((tmp_path / "ray_json").iterdir())
        for line in path.open()
    ]
    # Ray's JSON reader types the columns itself (it parses the ISO timestamps):
    # the other fields pass through as they are.
    assert_same_annotations(by_id(got), by_id(read_jsonl(tmp_path / "local.jsonl")))


def test_a_missing_pipeline_is_refused_before_the_dataset_is_consumed(local_ray, tmp_path):
    # The error surfaced only on consumption, in an ActorDiedError after "infinite
    # retries" log lines (issue 28, item 12).
    posts = ray.data.from_items([{"text": "a post"}])
    with pytest.raises(OSError, match=r"\[E212\] Can't find the pipeline"):
        annotate(posts, tmp_path / "no_such_pipeline")


def test_gpus_the_cluster_does_not_have_are_refused_before_any_actor_waits(
    local_ray, tiny_pipeline
):
    # Actors asking for a GPU that no node has would wait for one for ever.
    posts = ray.data.from_items([{"text": "a post"}])
    gpus = ray.cluster_resources().get("GPU", 0)
    with pytest.raises(ValueError, match=r"\[E213\]"):
        annotate(posts, tiny_pipeline, num_gpus=gpus + 1)


def test_what_ray_raises_is_shown_as_its_cause():
    from spacy_mtl.annotate.ray import error_message

    class Died(Exception):
        pass

    died = Died(
        "The actor died because of an error raised in its creation task\n  File x\nOSError: [E050] Can't find model 'x'\n"
    )
    assert error_message(died) == "OSError: [E050] Can't find model 'x'"
    task = Died("Traceback (most recent call last):\n ...")
    task.cause = ValueError("(spacy-mtl) [E211] The dataset has no column 'body'")
    assert error_message(task) == "(spacy-mtl) [E211] The dataset has no column 'body'"
