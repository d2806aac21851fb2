"""Annotating batches: worker processes give what one process gives; the vocabulary stays bounded."""

import spacy

from spacy_mtl.annotate import annotate_file, annotate_texts

from stream_helpers import assert_same_annotations, post_text, problems_of, read_jsonl


def test_two_processes_give_the_output_of_one(tiny_pipeline, stream, tmp_path):
    annotate_file(tiny_pipeline, stream.path, tmp_path / "one.jsonl", batch_size=16)
    stats = annotate_file(
        tiny_pipeline, stream.path, tmp_path / "two.jsonl", batch_size=16, n_process=2
    )
    assert stats.posts == len(stream.valid_ids)
    assert_same_annotations(read_jsonl(tmp_path / "two.jsonl"), read_jsonl(tmp_path / "one.jsonl"))
    assert problems_of(tmp_path / "two.errors.jsonl") == stream.problems


def test_memory_zone_keeps_the_vocabulary_from_growing(tiny_pipeline):
    nlp = spacy.load(tiny_pipeline)

    def sizes() -> tuple:
        # The lexemes themselves: len(vocab) counts every lexeme ever made (spaCy 3.8).
        return len(nlp.vocab.strings), sum(1 for _ in nlp.vocab)

    annotate_texts(nlp, [post_text(i) for i in range(8)])
    before = sizes()
    annotations = annotate_texts(nlp, [post_text(i) for i in range(1000, 1200)])
    assert sizes() == before
    assert len(annotations) == 200 and annotations[0].words == len(nlp.make_doc(post_text(1000)))
