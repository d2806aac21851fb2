"""A batch of nothing but empty docs: the shared transformer's `pipe` tokenises each
batch once (`spacy_mtl.models.wordpieces`), and the tokenizer fails on no text."""

import spacy

from spacy_mtl.models.wordpieces import tokenize_docs


def test_a_batch_of_empty_docs_is_served(tiny_pipeline):
    nlp = spacy.load(tiny_pipeline)
    docs = list(nlp.pipe(["", "Obama visited Paris", ""], batch_size=1))
    assert [doc.text for doc in docs] == ["", "Obama visited Paris", ""]
    assert [len(doc.ents) for doc in (docs[0], docs[2])] == [0, 0]
    assert docs[1].cats == next(nlp.pipe(["Obama visited Paris"])).cats


def test_empty_docs_have_no_pieces(tiny_pipeline):
    nlp = spacy.load(tiny_pipeline)
    pieces = tokenize_docs(nlp.get_pipe("transformer").model, [nlp.make_doc(""), nlp.make_doc("")])
    assert [doc.n_pieces for doc in pieces] == [0, 0]
