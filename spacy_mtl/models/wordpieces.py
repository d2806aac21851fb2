"""One word-piece tokenisation per batch at inference.

`mtl_transformer.pipe` sorts each batch by word-piece count before it runs the
encoder in sub-batches; spacy-transformers' `TransformerModel` then tokenises every
sub-batch again. Here the pieces counted to sort a batch are the ones the encoder
runs: `tokenize_docs` tokenises each doc's spans once (unpadded), and
`predict_tokenized` pads a sub-batch of them and runs the model's encoder layer,
giving the `FullTransformerBatch` that `TransformerModel.predict` gives for the same
docs (the same pieces, alignment and outputs; tests/models/test_wordpieces.py).

Only fast (Rust) tokenizers that pad on the right are handled this way, as they give
the offsets the alignment needs; `can_pretokenize` says so, and the component falls
back to spacy-transformers' own path otherwise.

`group_by_length` cuts docs (or spans) into sub-batches of similar word-piece counts,
for the shared transformer and for each head's task layers alike.
"""

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

import numpy
from spacy.tokens import Doc, Span
from spacy_transformers.data_classes import FullTransformerBatch
from thinc.api import Model

from ..compat import WordpieceBatch, get_alignment_via_offset_mapping, truncate_oversize_splits


@dataclass
class DocPieces:
    """The word pieces of one doc's spans (the rows it runs as), unpadded."""

    spans: List[Span]
    ids: List[List[int]]
    type_ids: Optional[List[List[int]]]
    offsets: List[List[Any]]
    strings: List[List[str]]

    @property
    def n_pieces(self) -> int:
        """Word pieces in all its rows, special tokens included."""
        return sum(len(row) for row in self.ids)


def group_by_length(lengths: Sequence[int], max_items: int) -> List[List[int]]:
    """Indices into `lengths`, shortest first, cut into groups whose padded size (the
    group's size times its longest length) is at most `max_items`; an item longer
    than that forms a group of its own. Equal lengths keep their order.

    lengths (Sequence[int]): one length per item.
    max_items (int): the most padded items a group may hold.
    RETURNS (List[List[int]]): the groups, in order of length.
    """
    groups: List[List[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        # Sorted ascending, so the item being added is the group's longest.
        if groups and lengths[i] * (len(groups[-1]) + 1) <= max_items:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def can_pretokenize(model: Model) -> bool:
    """Whether `model` is a spacy-transformers `TransformerModel` with a loaded fast
    tokenizer that pads on the right."""
    if "get_spans" not in model.attrs or not model.attrs.get("has_transformer"):
        return False
    tokenizer: Any = getattr(model, "tokenizer", None)
    return bool(getattr(tokenizer, "is_fast", False)) and tokenizer.padding_side == "right"


def tokenize_docs(model: Model, docs: Sequence[Doc]) -> List[DocPieces]:
    """Cut each doc into the model's spans and tokenise them all in one call.

    model (Model): a `TransformerModel` for which `can_pretokenize` holds.
    docs (Sequence[Doc]): the docs.
    RETURNS (List[DocPieces]): one per doc.
    """
    tokenizer: Any = getattr(model, "tokenizer")  # noqa: B009  (a TransformerModel's property)
    nested = model.attrs["get_spans"](list(docs))
    texts = [span.text for spans in nested for span in spans]
    if not texts:  # only empty docs: nothing to tokenise (the tokenizer fails on [])
        return [DocPieces(list(spans), [], [], [], []) for spans in nested]
    encoded = tokenizer(
        texts,
        add_special_tokens=True,
        return_attention_mask=False,
        return_offsets_mapping=True,
        return_token_type_ids=None,  # the model's default, as spacy-transformers asks
        padding=False,
    )
    type_ids = encoded.get("token_type_ids")
    result, row = [], 0
    for spans in nested:
        rows = range(row, row + len(spans))
        result.append(
            DocPieces(
                spans=list(spans),
                ids=[encoded["input_ids"][i] for i in rows],
                type_ids=None if type_ids is None else [type_ids[i] for i in rows],
                offsets=[encoded["offset_mapping"][i] for i in rows],
                strings=[encoded.encodings[i].tokens for i in rows],
            )
        )
        row += len(spans)
    return result


def padded_batch(tokenizer, pieces: Sequence[DocPieces]) -> dict:
    """The rows of `pieces`, padded to the longest, as the encoding dict that
    spacy-transformers' `huggingface_tokenize` returns."""
    ids = [row for doc in pieces for row in doc.ids]
    width = max((len(row) for row in ids), default=0)
    n = len(ids)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = numpy.full((n, width), pad_id, dtype="int64")
    attention_mask = numpy.zeros((n, width), dtype="int64")
    offsets = numpy.zeros((n, width, 2), dtype="int64")
    strings = []
    for i, (row, row_offsets, row_strings) in enumerate(
        zip(
            ids,
            [r for doc in pieces for r in doc.offsets],
            [r for doc in pieces for r in doc.strings],
        )
    ):
        input_ids[i, : len(row)] = row
        attention_mask[i, : len(row)] = 1
        if len(row):
            offsets[i, : len(row)] = row_offsets
        strings.append(list(row_strings) + [tokenizer.pad_token] * (width - len(row)))
    data = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "offset_mapping": offsets,
        "input_texts": strings,
        "pad_token": tokenizer.pad_token,
    }
    if all(doc.type_ids is not None for doc in pieces) and pieces:
        type_ids = numpy.full((n, width), tokenizer.pad_token_type_id, dtype="int64")
        for i, row in enumerate(r for doc in pieces for r in doc.type_ids or []):
            type_ids[i, : len(row)] = row
        data["token_type_ids"] = type_ids
    return data


def predict_tokenized(
    model: Model, docs: Sequence[Doc], pieces: Sequence[DocPieces]
) -> FullTransformerBatch:
    """`model.predict(docs)`, with the word pieces `tokenize_docs` gave for `docs`.

    model (Model): a `TransformerModel` for which `can_pretokenize` holds.
    docs (Sequence[Doc]): the docs.
    pieces (Sequence[DocPieces]): their pieces, in the same order.
    RETURNS (FullTransformerBatch): the encoder's output for the docs.
    """
    tokenizer: Any = getattr(model, "tokenizer")  # noqa: B009  (a TransformerModel's property)
    data = padded_batch(tokenizer, pieces)
    flat_spans = [span for doc in pieces for span in doc.spans]
    wordpieces = WordpieceBatch.from_batch_encoding(data)
    align = get_alignment_via_offset_mapping(flat_spans, data["offset_mapping"])
    wordpieces, align = truncate_oversize_splits(wordpieces, align, tokenizer.model_max_length)
    model_output = model.layers[0].predict(wordpieces)
    return FullTransformerBatch(
        spans=[doc.spans for doc in pieces],
        wordpieces=wordpieces,
        model_output=model_output,
        align=align,
    )
