"""The training step of MultiTaskTransformer, checked through encoder gradients."""

import numpy
import pytest
import recording_weighting  # noqa: F401  (registers tests.recording.v1)
import spacy
from thinc.api import Adam

from spacy_mtl.models.wordpieces import group_by_length
from spacy_mtl.weighting import StaticWeighting

from helpers import (
    BackwardCounter,
    clear_encoder_grads,
    encoder_grads,
    encoder_module,
    randomize_head,
)

ORDERS = [["transformer", "textcat", "ner"], ["transformer", "ner", "textcat"]]


def set_static(nlp, weights):
    weighting = StaticWeighting(weights)
    weighting.initialize(nlp.get_pipe("transformer").tasks)
    nlp.get_pipe("transformer").weighting = weighting


def grads_after_update(nlp, examples, weights):
    """Encoder gradients of one nlp.update (no optimizer step) under static weights."""
    set_static(nlp, weights)
    clear_encoder_grads(nlp)
    nlp.update(examples, sgd=False, drop=0.0)
    return encoder_grads(nlp)


def assert_grads_close(actual, expected):
    """Equal up to float32 rounding, relative to each parameter's gradient scale."""
    for a, e in zip(actual, expected):
        numpy.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5 * float(numpy.abs(e).max()) + 1e-9)


def total_norm(grads):
    return float(numpy.sqrt(sum(float((g**2).sum()) for g in grads)))


@pytest.fixture(params=ORDERS, ids=["textcat-first", "ner-first"])
def nlp_and_examples(request, make_nlp):
    nlp, examples = make_nlp(pipeline=request.param)
    randomize_head(nlp, "textcat")
    return nlp, examples


def test_static_weights_scale_each_task_gradient_exactly(nlp_and_examples):
    nlp, examples = nlp_and_examples
    g_textcat = grads_after_update(nlp, examples, {"textcat": 1.0, "ner": 0.0})
    g_ner = grads_after_update(nlp, examples, {"textcat": 0.0, "ner": 1.0})
    assert total_norm(g_textcat) > 0 and total_norm(g_ner) > 0
    g_mixed = grads_after_update(nlp, examples, {"textcat": 0.3, "ner": 2.0})
    assert_grads_close(g_mixed, [0.3 * a + 2.0 * b for a, b in zip(g_textcat, g_ner)])


@pytest.mark.parametrize("batch", ["mixed", "textcat-only", "ner-only"])
def test_one_backward_per_batch_with_every_contributing_head(nlp_and_examples, batch):
    nlp, examples = nlp_and_examples
    has_cats = [bool(eg.reference.cats) for eg in examples]
    has_ents = [eg.reference.has_annotation("ENT_IOB") for eg in examples]
    chosen = {
        "mixed": examples,
        "textcat-only": [eg for eg, c, e in zip(examples, has_cats, has_ents) if c and not e],
        "ner-only": [eg for eg, c, e in zip(examples, has_cats, has_ents) if e and not c],
    }[batch]
    alone = {
        task: grads_after_update(
            nlp, chosen, {"textcat": float(task == "textcat"), "ner": float(task == "ner")}
        )
        for task in ("textcat", "ner")
    }
    counter = BackwardCounter(nlp)
    try:
        both = grads_after_update(nlp, chosen, {"textcat": 1.0, "ner": 1.0})
    finally:
        counter.close()
    assert counter.count == 1
    assert_grads_close(both, [a + b for a, b in zip(alone["textcat"], alone["ner"])])
    contributing = {"mixed": ["textcat", "ner"], "textcat-only": ["textcat"], "ner-only": ["ner"]}[
        batch
    ]
    for task in ("textcat", "ner"):
        assert (total_norm(alone[task]) > 0) == (task in contributing)


def test_missing_labels_contribute_nothing(make_nlp):
    nlp, examples = make_nlp(weighting={"@mtl_weightings": "tests.recording.v1"})
    randomize_head(nlp, "textcat")
    nlp.update(examples, sgd=False, drop=0.0)
    step = nlp.get_pipe("transformer").weighting.steps[-1]
    assert step.tasks == ["textcat", "ner"]
    # One gradient segment per doc, in batch order, sized like the transformer output.
    sizes = [
        d.tensors[0].size
        for d in nlp.get_pipe("transformer").predict([eg.predicted for eg in examples]).doc_data
    ]
    bounds = numpy.cumsum([0] + sizes)
    for row, task in enumerate(step.tasks):
        for i, eg in enumerate(examples):
            segment = step.grads[row, bounds[i] : bounds[i + 1]]
            annotated = (
                bool(eg.reference.cats)
                if task == "textcat"
                else eg.reference.has_annotation("ENT_IOB")
            )
            assert bool(numpy.abs(segment).sum() > 0) == annotated, (task, eg.reference.text)


def test_weighting_receives_true_losses(make_nlp):
    nlp, examples = make_nlp(weighting={"@mtl_weightings": "tests.recording.v1"})
    randomize_head(nlp, "textcat")
    textcat = nlp.get_pipe("textcat")
    encoded = nlp.get_pipe("transformer").pipe([eg.predicted.copy() for eg in examples])
    probs = textcat.predict(list(encoded))
    annotated = [i for i, eg in enumerate(examples) if eg.reference.cats]
    expected = -numpy.mean(
        [
            numpy.log(
                probs[
                    i,
                    textcat.labels.index(
                        max(examples[i].reference.cats, key=examples[i].reference.cats.get)
                    ),
                ]
            )
            for i in annotated
        ]
    )
    losses = {}
    nlp.update(examples, sgd=False, drop=0.0, losses=losses)
    step = nlp.get_pipe("transformer").weighting.steps[-1]
    assert step.losses[0] == pytest.approx(expected, rel=1e-5)
    assert losses["textcat"] == pytest.approx(expected, rel=1e-5)
    assert step.losses[1] == pytest.approx(losses["ner"]) and 0 < step.losses[1] < 10


def test_hand_written_loop_steps_on_this_batch(make_nlp):
    """nlp.update(sgd=...) calls finish_update on the transformer before the heads
    have backpropagated; the step must still use this batch's gradient."""
    nlp, examples = make_nlp()
    params_before = [p.detach().clone() for p in encoder_module(nlp).parameters()]
    nlp.update(examples, sgd=Adam(0.001), drop=0.0)
    changed = [
        not bool((p.detach() == b).all())
        for p, b in zip(encoder_module(nlp).parameters(), params_before)
    ]
    assert sum(changed) > len(changed) // 2
    assert all(
        p.grad is None or float(p.grad.abs().sum()) == 0 for p in encoder_module(nlp).parameters()
    )


def test_frozen_heads_are_not_waited_for(make_nlp):
    nlp, examples = make_nlp()
    nlp.config["training"]["frozen_components"] = ["ner"]
    nlp.get_pipe("transformer").initialize(lambda: examples, nlp=nlp)
    assert nlp.get_pipe("transformer").tasks == ["textcat"]
    counter = BackwardCounter(nlp)
    try:
        nlp.update(examples, sgd=False, exclude=["ner"])
    finally:
        counter.close()
    assert counter.count == 1


@pytest.mark.parametrize("poison", ["loss", "gradient"])
def test_non_finite_head_sits_the_step_out_on_time(make_nlp, monkeypatch, poison):
    """A head whose loss or gradient is not finite reports so before the transformer
    waits on it: the other task's backward pass runs in the same update, and nothing
    non-finite reaches the encoder or the head's own parameters."""
    nlp, examples = make_nlp(weighting={"@mtl_weightings": "tests.recording.v1"})
    randomize_head(nlp, "textcat")
    textcat = nlp.get_pipe("textcat")
    original = type(textcat).get_loss

    def poisoned(self, examples, scores, **kwargs):
        loss, d_scores = original(self, examples, scores, **kwargs)
        if poison == "loss":
            return float("nan"), d_scores
        d_scores = d_scores.copy()
        d_scores[0, 0] = numpy.nan
        return loss, d_scores

    monkeypatch.setattr(type(textcat), "get_loss", poisoned)
    clear_encoder_grads(nlp)
    counter = BackwardCounter(nlp)
    try:
        with pytest.warns(UserWarning, match=r"\[W001\] 'transformer': task 'textcat'"):
            losses = nlp.update(examples, sgd=False, drop=0.0)
    finally:
        counter.close()
    assert counter.count == 1
    transformer = nlp.get_pipe("transformer")
    assert transformer.weighting.steps[-1].tasks == ["ner"] and list(transformer.last_step) == [
        "ner"
    ]
    assert losses["textcat"] == 0.0 and numpy.isfinite(losses["ner"]) and losses["ner"] > 0
    grads = encoder_grads(nlp)
    assert all(numpy.isfinite(g).all() for g in grads) and total_norm(grads) > 0
    head_grads = [
        node.get_grad(name)
        for node in textcat.model.walk()
        for name in node.param_names
        if node.has_grad(name)
    ]
    assert all(float(numpy.abs(g).sum()) == 0 for g in head_grads)


def test_inference_runs_the_encoder_once_per_batch(make_nlp):
    nlp, _ = make_nlp()
    calls = []
    handle = encoder_module(nlp).register_forward_hook(lambda *args: calls.append(1))
    try:
        docs = list(nlp.pipe(["Obama visited Paris"] * 10, batch_size=4))
    finally:
        handle.remove()
    assert len(calls) == 3
    assert all(set(doc.cats) == {"negative", "neutral", "positive"} for doc in docs)


def test_group_by_length_sorts_and_caps_the_padded_size():
    # Sorted: 5, 6, 7 (padded 3 x 7 = 21), then 38 would make 4 x 38 = 152 > 80.
    assert group_by_length([5, 40, 7, 38, 6], 80) == [[0, 4, 2], [3, 1]]
    # An item longer than the cap stands alone; equal lengths keep their order.
    assert group_by_length([3, 100, 3], 10) == [[0, 2], [1]]
    assert group_by_length([], 10) == []


def test_pipe_encodes_sub_batches_sorted_by_word_pieces(make_nlp):
    nlp, _ = make_nlp()
    randomize_head(nlp, "textcat")
    randomize_head(nlp, "ner")
    transformer = nlp.get_pipe("transformer")
    short = "good game"
    # Two spaCy tokens, many word pieces: stock spacy-transformers would call it short.
    long = "https://t.co/x9Qz7LkP2w https://t.co/Ab3dE5fG7h"
    texts = [long, short, short, long, short, short]
    counts = transformer.wordpiece_counts([nlp.make_doc(t) for t in texts])
    assert len(nlp.make_doc(long)) == 2 and counts[0] > 4 * counts[1]
    transformer.cfg["max_batch_items"] = 2 * counts[0]
    shapes = []
    handle = encoder_module(nlp).register_forward_hook(
        lambda module, args, kwargs, output: shapes.append(tuple(kwargs["input_ids"].shape)),
        with_kwargs=True,
    )
    try:
        docs = list(nlp.pipe(texts, batch_size=6))
    finally:
        handle.remove()
    # The four short posts together, padded to their own length; the two long ones apart.
    assert shapes == [(4, counts[1]), (2, counts[0])]
    assert [doc.text for doc in docs] == texts
    for doc, text in zip(docs, texts):
        alone = nlp(text)
        assert doc.cats == pytest.approx(alone.cats, abs=1e-5)
        assert [(e.start, e.end, e.label_) for e in doc.ents] == [
            (e.start, e.end, e.label_) for e in alone.ents
        ]


def test_save_load_round_trip(make_nlp, tmp_path):
    nlp, examples = make_nlp(weighting={"@mtl_weightings": "tests.recording.v1"})
    optimizer = nlp.create_optimizer()
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("transformer").weighting.n_steps == 3
    assert loaded.get_pipe("transformer").weighting.tasks == ["textcat", "ner"]
    texts = [
        "Barack Obama visited Paris today",
        "I hate waiting at Heathrow",
        "great show by Coldplay",
    ]
    for doc, doc2 in zip(nlp.pipe(texts), loaded.pipe(texts)):
        assert doc.cats == pytest.approx(doc2.cats, abs=1e-6)
        assert [(e.text, e.label_) for e in doc.ents] == [(e.text, e.label_) for e in doc2.ents]
    # to_bytes / from_bytes carries the weighting state too.
    trf_bytes = nlp.get_pipe("transformer").to_bytes()
    loaded.get_pipe("transformer").weighting.n_steps = 0
    loaded.get_pipe("transformer").from_bytes(trf_bytes)
    assert loaded.get_pipe("transformer").weighting.n_steps == 3


@pytest.mark.parametrize("accumulate_gradient", [1, 2])
def test_spacy_train_loop_one_backward_per_sub_batch(make_nlp, accumulate_gradient):
    """spaCy's own training loop (what `spacy train` runs), with gradient accumulation:
    every sub-batch gets exactly one backward pass, and every step applies them."""
    from spacy.training.loop import subdivide_batch, train_while_improving

    nlp, examples = make_nlp()
    batches = [(0, examples)] * 3
    n_sub_batches = sum(len(list(subdivide_batch(b, accumulate_gradient))) for _, b in batches)
    counter = BackwardCounter(nlp)
    params = [p.detach().clone() for p in encoder_module(nlp).parameters()]
    steps = train_while_improving(
        nlp,
        Adam(0.001),
        batches,
        lambda: (0.0, {}),
        dropout=0.0,
        eval_frequency=100,
        accumulate_gradient=accumulate_gradient,
        patience=0,
        max_steps=0,
        exclude=[],
        annotating_components=[],
        before_update=None,
    )
    try:
        for _ in steps:
            # After each step the optimizer has consumed the encoder's gradient.
            assert all(
                p.grad is None or float(p.grad.abs().sum()) == 0
                for p in encoder_module(nlp).parameters()
            )
    finally:
        counter.close()
    assert counter.count == n_sub_batches >= 3 * accumulate_gradient - 1
    assert any(
        not bool((p.detach() == b).all()) for p, b in zip(encoder_module(nlp).parameters(), params)
    )


def test_task_gradients_are_gradients_of_the_mean_loss(make_nlp):
    """Doubling a batch leaves each mean loss as it is and halves each doc's share of
    its gradient: the weighting gets the gradient of the loss it is given, for NER
    (a mean over transitions) as for textcat (a mean over docs)."""
    nlp, examples = make_nlp(weighting={"@mtl_weightings": "tests.recording.v1"})
    randomize_head(nlp, "textcat")
    weighting = nlp.get_pipe("transformer").weighting
    nlp.update(examples, sgd=False, drop=0.0)
    single = weighting.steps[-1]
    nlp.update(examples + examples, sgd=False, drop=0.0)
    double = weighting.steps[-1]
    numpy.testing.assert_allclose(double.losses, single.losses, rtol=1e-5)
    width = single.grads.shape[1]
    numpy.testing.assert_allclose(2 * double.grads[:, :width], single.grads, rtol=1e-3, atol=1e-9)


def test_the_trace_records_the_cosine_of_the_task_gradients(make_nlp):
    """The cosine between the two task gradients the weighting received; exactly 0
    when the tasks' docs are disjoint, as on per-task data."""
    nlp, examples = make_nlp(weighting={"@mtl_weightings": "tests.recording.v1"})
    randomize_head(nlp, "textcat")
    transformer = nlp.get_pipe("transformer")
    for batch, disjoint in (
        (examples, False),
        ([eg for eg in examples if not (eg.reference.cats and eg.reference.ents)], True),
    ):
        nlp.update(batch, sgd=False, drop=0.0)
        g_textcat, g_ner = transformer.weighting.steps[-1].grads.astype("float64")
        expected = g_textcat @ g_ner / (numpy.linalg.norm(g_textcat) * numpy.linalg.norm(g_ner))
        recorded = transformer.last_step["textcat"]["cosine"]["ner"]
        assert recorded == pytest.approx(expected, abs=1e-6) and transformer.last_step["ner"][
            "cosine"
        ] == {"textcat": recorded}
        assert (recorded == 0.0) is disjoint
