"""Training batches run through the encoder in sub-batches of similar length
(`max_train_batch_items`): the same gradients as one call, less padding."""

import random

import numpy
import pytest
import spacy
from spacy_transformers.layers import TransformerListener
from thinc.api import Adam, fix_random_seed
from thinc.shims.pytorch_grad_scaler import PyTorchGradScaler

from helpers import (
    BackwardCounter,
    cats_example,
    clear_encoder_grads,
    encoder_grads,
    encoder_module,
    load_config,
    mixed_examples,
    ner_example,
    randomize_head,
)

#: Posts of very different lengths in word pieces: URLs, handles and hashtags are one
#: spaCy token each but many pieces.
POSTS = [
    ("ok", "neutral"),
    ("https://t.co/x9Qz7LkP2w https://t.co/Ab3dE5fG7h @someone #NeverAgain", "negative"),
    ("love it", "positive"),
    ("the meeting moved to thursday at noon , see https://t.co/Q1w2E3r4T5", "neutral"),
    ("worst. service. ever.", "negative"),
    ("#blessed #grateful #sundayfunday @friend1 @friend2", "positive"),
]
#: Longer than the span getter's window (128 tokens, stride 96): several spans.
LONG_WORDS = ("Barack Obama spoke in Paris about the weather and the markets today ." * 25).split()


def tweets(nlp):
    return mixed_examples(nlp) + [cats_example(nlp, text, label) for text, label in POSTS]


def with_long_docs(nlp):
    long_one = ner_example(nlp, LONG_WORDS, [(0, 2, "person"), (4, 5, "geo-loc")])
    long_two = ner_example(nlp, LONG_WORDS[:150], [(0, 2, "person")])
    return [long_one] + tweets(nlp) + [long_two]


def assert_grads_close(actual, expected):
    """Equal up to float32 rounding, relative to each parameter's gradient scale."""
    for a, e in zip(actual, expected):
        numpy.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5 * float(numpy.abs(e).max()) + 1e-9)


class Run:
    """One nlp.update under a budget: the encoder's calls, what the listeners
    received, the encoder's gradients and the trace of the step."""

    def __init__(self, nlp, examples, budget, monkeypatch):
        transformer = nlp.get_pipe("transformer")
        transformer.max_train_batch_items = budget
        self.shapes = []
        self.received = {}
        stock_receive = TransformerListener.receive

        def receive(listener, batch_id, outputs, backprop):
            self.received[id(listener)] = (batch_id, outputs)
            stock_receive(listener, batch_id, outputs, backprop)

        clear_encoder_grads(nlp)
        hook = encoder_module(nlp).register_forward_hook(
            lambda module, args, kwargs, output: self.shapes.append(
                tuple(kwargs["input_ids"].shape)
            ),
            with_kwargs=True,
        )
        counter = BackwardCounter(nlp)
        try:
            with monkeypatch.context() as patch:
                patch.setattr(TransformerListener, "receive", receive)
                # NER's oracle cuts long docs at random lengths.
                fix_random_seed(0)
                nlp.update(examples, sgd=False, drop=0.0)
        finally:
            hook.remove()
            counter.close()
        self.backward_passes = counter.count
        #: What Python's `random` draws next: what the rest of training would draw.
        self.next_random = random.random()
        self.grads = encoder_grads(nlp)
        self.last_step = dict(transformer.last_step)

    @property
    def padded(self) -> int:
        """Word pieces the encoder ran, padding included."""
        return sum(rows * length for rows, length in self.shapes)


@pytest.fixture
def nlp(make_nlp):
    nlp, _ = make_nlp()
    randomize_head(nlp, "textcat")
    return nlp


@pytest.mark.parametrize("batch", ["tweets", "long docs"])
def test_sub_batches_give_the_encoder_the_gradients_of_one_call(nlp, monkeypatch, batch):
    examples = (tweets if batch == "tweets" else with_long_docs)(nlp)
    transformer = nlp.get_pipe("transformer")
    counts = transformer.wordpiece_counts([eg.predicted for eg in examples])
    one_call = Run(nlp, examples, None, monkeypatch)
    budget = 4 * sorted(counts)[len(counts) // 2]
    grouped = Run(nlp, examples, budget, monkeypatch)
    assert len(one_call.shapes) == 1 and len(grouped.shapes) > 2
    assert grouped.padded < one_call.padded
    # One backward pass per encoder call, all before the (single) optimizer step.
    assert grouped.backward_passes == len(grouped.shapes)
    # The same rows: a long doc's strided spans, one row each, in a call of its own.
    assert sum(rows for rows, _ in grouped.shapes) == one_call.shapes[0][0]
    assert one_call.shapes[0][0] == len(examples) + (3 if batch == "long docs" else 0)
    assert sum(numpy.abs(g).sum() for g in one_call.grads) > 0
    assert_grads_close(grouped.grads, one_call.grads)
    # The rest of training draws the same random numbers (NER's oracle cuts, shuffles).
    assert grouped.next_random == one_call.next_random
    # The weighting got the same losses and gradients (up to the padding's zeros).
    assert list(grouped.last_step) == list(one_call.last_step) == ["textcat", "ner"]
    for task, record in one_call.last_step.items():
        for key in ("loss", "weight", "grad_norm"):
            assert grouped.last_step[task][key] == pytest.approx(record[key], rel=1e-4)


def test_listeners_see_the_batch_in_doc_order(nlp, monkeypatch):
    """Each listener gets the batch's id and, per doc in the batch's order, the
    encoder's output at that doc's word pieces, as from one call."""
    examples = with_long_docs(nlp)
    docs = [eg.predicted for eg in examples]
    one_call = Run(nlp, examples, None, monkeypatch)
    grouped = Run(nlp, examples, 60, monkeypatch)
    assert len(grouped.shapes) > 2
    assert len(grouped.received) == len(one_call.received) == 2  # textcat's and ner's
    for (id_a, outputs_a), (id_b, outputs_b) in zip(
        one_call.received.values(), grouped.received.values()
    ):
        assert id_a == id_b == TransformerListener.get_batch_id(docs)
        assert len(outputs_a) == len(outputs_b) == len(docs)
        for doc, a, b in zip(docs, outputs_a, outputs_b):
            numpy.testing.assert_array_equal(a.align.lengths, b.align.lengths)
            assert len(a.align.lengths) == len(doc)
            width = a.width
            pieces_a = a.model_output.last_hidden_state.reshape(-1, width)[a.align.dataXd]
            pieces_b = b.model_output.last_hidden_state.reshape(-1, width)[b.align.dataXd]
            numpy.testing.assert_allclose(pieces_b, pieces_a, rtol=1e-4, atol=1e-5)
            # Rows of a sub-batch pad only to that sub-batch's longest.
            assert (
                b.model_output.last_hidden_state.shape[1]
                <= (a.model_output.last_hidden_state.shape[1])
            )


def test_a_budget_smaller_than_the_longest_doc(nlp, monkeypatch):
    """Every doc longer than the budget runs alone; a doc without tokens gets no call
    and no gradient, as in one call."""
    examples = [cats_example(nlp, "", "neutral")] + with_long_docs(nlp)
    assert len(examples[0].predicted) == 0
    one_call = Run(nlp, examples, None, monkeypatch)
    alone = Run(nlp, examples, 1, monkeypatch)
    assert len(alone.shapes) == len(examples) - 1
    assert all(rows == 1 for rows, _ in alone.shapes[:-2])
    assert_grads_close(alone.grads, one_call.grads)


def test_a_batch_within_the_budget_runs_as_one_call(nlp, monkeypatch):
    examples = mixed_examples(nlp)
    one_call = Run(nlp, examples, None, monkeypatch)
    within = Run(nlp, examples, 512, monkeypatch)
    assert within.shapes == one_call.shapes and len(within.shapes) == 1
    for a, b in zip(within.grads, one_call.grads):
        numpy.testing.assert_array_equal(a, b)


def test_one_optimizer_step_per_batch(nlp):
    """The sub-batches' gradients accumulate; the encoder's parameters are stepped
    once, after the last backward pass, and their gradients are then cleared."""
    transformer = nlp.get_pipe("transformer")
    transformer.max_train_batch_items = 40
    examples = tweets(nlp)
    optimizer = Adam(0.001)
    before = [p.detach().clone() for p in encoder_module(nlp).parameters()]
    nlp.update(examples, sgd=optimizer, drop=0.0)
    encoder_keys = [
        key for key in optimizer.nr_update if key[0] == transformer.model.layers[0].shims[0].id
    ]
    assert encoder_keys and all(optimizer.nr_update[key] == 1 for key in encoder_keys)
    assert any(
        not bool((p.detach() == b).all()) for p, b in zip(encoder_module(nlp).parameters(), before)
    )
    assert all(
        p.grad is None or float(p.grad.abs().sum()) == 0 for p in encoder_module(nlp).parameters()
    )


class CPUGradScaler(PyTorchGradScaler):
    """thinc's gradient scaler (mixed precision's loss scaling), which refuses CPU
    tensors, scaling them as it scales CUDA ones; it unscales on the CPU as it is."""

    def _scale_tensor(self, tensor, scale_per_device, inplace):
        scale = self._scale.to(tensor.device)
        return tensor.mul_(scale) if inplace else tensor * scale


def test_the_gradient_scaler_unscales_each_sub_batch_once(nlp, monkeypatch):
    """thinc's shim unscales every gradient the encoder holds after each backward
    call; a sub-batch's gradient must not be unscaled again by the next call's, nor
    one batch's by the next batch's (spaCy's accumulate_gradient)."""
    examples, more = tweets(nlp), with_long_docs(nlp)[:3]
    reference = Run(nlp, examples, None, monkeypatch).grads
    reference_more = Run(nlp, more, None, monkeypatch).grads
    shim = nlp.get_pipe("transformer").model.layers[0].shims[0]
    monkeypatch.setattr(shim, "_grad_scaler", CPUGradScaler(enabled=True, init_scale=1024.0))
    assert_grads_close(Run(nlp, examples, None, monkeypatch).grads, reference)
    assert_grads_close(Run(nlp, examples, 40, monkeypatch).grads, reference)
    # Two batches before one optimizer step: their gradients add up.
    clear_encoder_grads(nlp)
    for batch in (examples, more):
        fix_random_seed(0)
        nlp.update(batch, sgd=False, drop=0.0)
    assert_grads_close(encoder_grads(nlp), [a + b for a, b in zip(reference, reference_more)])


def test_a_budget_below_one_is_refused(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["max_train_batch_items"] = 0
    with pytest.raises(
        ValueError, match=r"\[E024\] \[components\.transformer\] max_train_batch_items = 0"
    ):
        spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
