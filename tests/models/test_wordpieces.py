"""One word-piece tokenisation per batch: the pieces counted to sort a batch are the
ones the encoder runs, with the same output as spacy-transformers' own path."""

import numpy
import spacy

from spacy_mtl.models.wordpieces import can_pretokenize, predict_tokenized, tokenize_docs

TEXTS = [
    "Obama visited Paris",
    "",
    "Apple hates Netflix , awful #fail @you http://x.co/abc 😀",
    "so tired today",
    "word " * 200,  # longer than the span getter's window: several rows
]


def test_pretokenized_prediction_equals_the_stock_one(tiny_pipeline):
    nlp = spacy.load(tiny_pipeline)
    model = nlp.get_pipe("transformer").model
    assert can_pretokenize(model)
    docs = [nlp.make_doc(t) for t in TEXTS]
    stock = model.predict(docs)
    ours = predict_tokenized(model, docs, tokenize_docs(model, docs))
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        a, b = getattr(stock.wordpieces, name), getattr(ours.wordpieces, name)
        assert a.dtype == b.dtype
        numpy.testing.assert_array_equal(a, b)
    assert stock.wordpieces.strings == ours.wordpieces.strings
    assert stock.wordpieces.lengths == ours.wordpieces.lengths
    numpy.testing.assert_array_equal(stock.align.data, ours.align.data)
    numpy.testing.assert_array_equal(stock.align.lengths, ours.align.lengths)
    numpy.testing.assert_array_equal(
        stock.model_output.last_hidden_state.numpy(), ours.model_output.last_hidden_state.numpy()
    )


def test_pipe_tokenises_each_batch_once(tiny_pipeline):
    nlp = spacy.load(tiny_pipeline)
    transformer = nlp.get_pipe("transformer")
    expected = [(doc.cats, [e.text for e in doc.ents]) for doc in nlp.pipe(TEXTS)]
    tokenizer = transformer.model.tokenizer
    calls = []
    original = type(tokenizer).__call__

    def counting(self, *args, **kwargs):
        calls.append(len(args[0]) if args else 0)
        return original(self, *args, **kwargs)

    type(tokenizer).__call__ = counting
    try:
        # max_batch_items small enough to cut the batch into several sub-batches
        transformer.cfg["max_batch_items"] = 64
        got = [(doc.cats, [e.text for e in doc.ents]) for doc in nlp.pipe(TEXTS, batch_size=8)]
    finally:
        type(tokenizer).__call__ = original
    assert len(calls) == 1
    assert [g[1] for g in got] == [e[1] for e in expected]
