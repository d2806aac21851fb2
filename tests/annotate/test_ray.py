"""spacy_mtl.annotate.ray on a local Ray instance: the actors' annotations are `annotate`'s."""

import json

import pyarrow.parquet
import pytest
import ray

from spacy_mtl.annotate import annotate_file
from spacy_mtl.annotate.ray import annotate, annotate_files, write

from stream_helpers import assert_same_annotations, read_jsonl

FIELDS = ("id", "meta", "text", "cats", "ents")


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


def test_ray_actors_give_the_cats_and_ents_of_annotate(local_ray, tiny_pipeline, stream, tmp_path):
    annotate_file(tiny_pipeline, stream.path, tmp_path / "local.jsonl", batch_size=16)
    expected = by_id(
        [
            {k: r[k] for k in ("id", "text", "cats", "ents")}
            for r in read_jsonl(tmp_path / "local.jsonl")
        ]
    )
    rows = [{"id": r["id"], "text": r["text"]} for r in expected]
    # Rows the local command skips for their text are dropped here too.
    rows += [{"id": -1, "text": None}, {"id": -2, "text": "  "}, {"id": -3, "text": ""}]
    posts = ray.data.from_items(rows, override_num_blocks=4)
    annotated = annotate(posts, tiny_pipeline, batch_size=16, concurrency=2).materialize()
    assert_same_annotations(by_id(annotated.take_all()), expected)
    # Blocks without a single entity have the others' schema: one Parquet dataset.
    write(annotated, tmp_path / "annotated.parquet")
    table = pyarrow.parquet.read_table(tmp_path / "annotated.parquet")
    assert_same_annotations(by_id(table.to_pylist()), expected)


def test_ray_mode_reads_and_writes_with_ray_data(local_ray, tiny_pipeline, stream, tmp_path):
    # Ray's reader fails on a malformed file: the valid lines only.
    valid = tmp_path / "valid.jsonl"
    valid.write_bytes(b"".join(line for line in stream.lines if b'"meta"' in line))
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
