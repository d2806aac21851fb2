"""Partial sharing (spacy_mtl.TaskLayersListener.v1, configs/mtl-partial.cfg): the
shared transformer runs the lower layers, each head its own copy of the top ones.

On the tiny 2-layer encoder: layer 0 shared, each head a copy of layer 1. At
initialisation that computes exactly what the full encoder computes, which several
tests below use as their reference.
"""

import copy
from typing import List, Optional

import numpy
import pytest
import spacy
import srsly
import torch
from spacy.language import Language
from spacy_transformers.data_classes import TransformerData
from thinc.api import Adam, Config, fix_random_seed, reduce_mean
from transformers import AutoModel, BertConfig, BertModel, DistilBertConfig, DistilBertModel
from transformers.file_utils import ModelOutput

from spacy_mtl.models import task_layers as task_layers_module
from spacy_mtl.models.task_layers import (
    create_task_layers_listener,
    row_lengths,
    task_layers_shim,
)
from spacy_mtl.models.wordpieces import group_by_length

from helpers import (
    CONFIGS,
    encoder_grads,
    encoder_module,
    load_config,
    mixed_examples,
    randomize_head,
)

HEADS = ("textcat", "ner")

TEXTS = [
    "Obama visited Paris",
    "",
    "so tired today",
    "Messi met Coldplay in London last night with @someone #concert #music",
    # Longer than the span getter's window (128 tokens): several spans, one doc.
    " ".join(["Apple hates Netflix , awful"] * 30),
    "ok",
]


def partial_config(encoder: str, shared: Optional[List[int]], task: List[int], **tok2vec) -> Config:
    """configs/mtl-partial.cfg on `encoder`: the shared transformer keeps `shared`
    (None: all), each head copies `task`; `tok2vec` sets more listener settings."""
    config = Config().from_disk(CONFIGS / "mtl-partial.cfg", interpolate=False)
    config["corpora"] = {}
    config["components"]["transformer"]["model"]["name"] = encoder
    config["sharing"] = {"shared_layers": shared, "task_layers": task}
    for head in HEADS:
        config["components"][head]["model"]["tok2vec"].update(tok2vec)
    return config.interpolate()


def build(config: Config, seed: int = 0) -> Language:
    """Build and initialise a pipeline, seeded, with random head parameters (spaCy
    starts their output layers at zero, which would send no gradient)."""
    fix_random_seed(seed)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize(lambda: mixed_examples(nlp))
    for head in HEADS:
        randomize_head(nlp, head, scale=0.5)
    return nlp


def partial_nlp(encoder: str, shared=(0,), task=(1,), **tok2vec) -> Language:
    return build(partial_config(encoder, list(shared), list(task), **tok2vec))


def full_nlp(encoder: str) -> Language:
    return build(load_config("mtl.cfg", encoder))


def tok2vec(nlp: Language, head: str):
    """A head's listener chain (listener, task layers, pooling)."""
    model = nlp.get_pipe(head).model.get_ref("tok2vec")
    # The parser wraps its tok2vec with a projection.
    return model if model.has_ref("listener") else model.layers[0]


def task_module(nlp: Language, head: str) -> torch.nn.Module:
    return task_layers_shim(nlp.get_pipe(head).model).module


def token_vectors(nlp: Language, head: str, texts=TEXTS, batch_size: int = 64):
    """The head's token vectors for each text, after the pipeline's transformer (a
    batch of nothing but empty docs is not run: spaCy's heads never run one)."""
    docs = list(nlp.get_pipe("transformer").pipe(nlp.make_doc(t) for t in texts))
    out = []
    for start in range(0, len(docs), batch_size):
        batch = docs[start : start + batch_size]
        if any(len(doc) for doc in batch):
            out.extend(tok2vec(nlp, head).predict(batch))
        else:
            out.extend(numpy.zeros((0, 0), dtype="f") for doc in batch)
    return [numpy.asarray(v) for v in out]


def step(nlp: Language, optimizer, seed: int = 0):
    fix_random_seed(seed)
    return nlp.update(mixed_examples(nlp), sgd=optimizer)


@pytest.fixture(scope="module")
def saved_partial(tiny_encoder, tmp_path_factory) -> str:
    nlp = partial_nlp(tiny_encoder)
    path = tmp_path_factory.mktemp("partial") / "pipeline"
    nlp.to_disk(path)
    return str(path)


def test_full_sharing_trains_exactly_as_mtl_cfg(tiny_encoder):
    """No task layers and every layer shared: configs/mtl.cfg's pipeline, step for step."""
    full = full_nlp(tiny_encoder)
    same = build(partial_config(tiny_encoder, None, []))
    assert not any(
        node.name == "task_layers" for head in HEADS for node in same.get_pipe(head).model.walk()
    )
    full_opt, same_opt = Adam(0.01), Adam(0.01)
    for i in range(3):
        assert step(full, full_opt, seed=i) == step(same, same_opt, seed=i)
    for a, b in zip(encoder_module(full).parameters(), encoder_module(same).parameters()):
        assert torch.equal(a, b)
    for head in HEADS:
        for a, b in zip(full.get_pipe(head).model.walk(), same.get_pipe(head).model.walk()):
            for name in a.param_names:
                if a.has_param(name):
                    numpy.testing.assert_array_equal(a.get_param(name), b.get_param(name))
    assert [d.cats for d in full.pipe(TEXTS)] == [d.cats for d in same.pipe(TEXTS)]


def test_each_head_starts_from_the_pretrained_layer_and_the_copies_diverge(tiny_encoder):
    pretrained = AutoModel.from_pretrained(tiny_encoder)
    nlp = partial_nlp(tiny_encoder)
    shared = encoder_module(nlp)
    assert len(shared.encoder.layer) == 1
    for name, value in pretrained.encoder.layer[0].named_parameters():
        assert torch.equal(dict(shared.encoder.layer[0].named_parameters())[name], value), name
    modules = [task_module(nlp, head) for head in HEADS]
    for module in modules:
        assert len(module.encoder.layer) == 1
        copied = dict(module.encoder.layer[0].named_parameters())
        assert copied.keys() == dict(pretrained.encoder.layer[1].named_parameters()).keys()
        for name, value in pretrained.encoder.layer[1].named_parameters():
            assert torch.equal(copied[name], value), name
    # Two copies, not one module shared by both heads.
    assert {id(p) for p in modules[0].parameters()}.isdisjoint(
        id(p) for p in modules[1].parameters()
    )
    step(nlp, Adam(0.01))
    first, second = (m.encoder.layer[0].attention.self.query.weight for m in modules)
    start = pretrained.encoder.layer[1].attention.self.query.weight
    assert not torch.equal(first, start) and not torch.equal(second, start)
    assert not torch.allclose(first, second)


@pytest.mark.parametrize("max_batch_items", [512, 24])
def test_at_initialisation_the_heads_see_what_the_full_encoder_gives(tiny_encoder, max_batch_items):
    """Layer 0 shared + a copy of layer 1 = the 2-layer encoder, for docs of every
    length, an empty one and one of several spans, whatever the grouping of spans."""
    full = full_nlp(tiny_encoder)
    partial = partial_nlp(tiny_encoder, max_batch_items=max_batch_items)
    for head in HEADS:
        expected = token_vectors(full, head)
        for batch_size in (64, 1):
            got = token_vectors(partial, head, batch_size=batch_size)
            for a, b in zip(got, expected):
                if a.size or b.size:
                    numpy.testing.assert_allclose(a, b, atol=1e-5)


def test_the_shared_layers_get_the_gradient_full_sharing_gives_them(tiny_encoder):
    """At initialisation, each head's gradient at the shared representation is its
    gradient backpropagated through its copy of layer 1: the encoder's lower layers
    then receive what they receive under full sharing, where layer 1 is shared."""
    full = full_nlp(tiny_encoder)
    partial = partial_nlp(tiny_encoder)
    for nlp in (full, partial):
        fix_random_seed(0)
        nlp.update(mixed_examples(nlp), sgd=False)  # no step: the gradients stay
    full_grads = dict(
        zip((n for n, _ in encoder_module(full).named_parameters()), encoder_grads(full))
    )
    partial_names = [n for n, _ in encoder_module(partial).named_parameters()]
    compared = 0
    for name, grad in zip(partial_names, encoder_grads(partial)):
        # No gradient reaches the pooler; nor, in exact arithmetic, the key bias (a
        # query's softmax ignores a shift of all its scores): both hold only noise.
        if name.startswith("pooler") or name.endswith("attention.self.key.bias"):
            continue
        assert numpy.abs(full_grads[name]).max() > 0, name
        # Equal up to the order of float sums (each head backpropagates on its own).
        scale = float(numpy.abs(full_grads[name]).max())
        numpy.testing.assert_allclose(grad, full_grads[name], rtol=1e-3, atol=1e-4 * scale)
        compared += 1
    assert compared > 10


@pytest.mark.parametrize("grad_factor", [1.0, 0.5])
def test_the_gradient_sent_back_is_the_task_layers_backprop(tiny_encoder, grad_factor):
    """Checked against torch autograd on each span alone: the values, zero on the
    padding, and the task layers' own parameter gradients."""
    nlp = partial_nlp(tiny_encoder, max_batch_items=40, grad_factor=grad_factor)
    layers = tok2vec(nlp, "textcat").get_ref("task_layers")
    reference = copy.deepcopy(task_layers_shim(layers).module)
    docs = list(nlp.get_pipe("transformer").pipe(nlp.make_doc(t) for t in TEXTS))
    inputs = [doc._.trf_data for doc in docs]
    outputs, backprop = layers(inputs, is_train=True)
    rng = numpy.random.default_rng(0)
    sent = [o for o in outputs if "last_hidden_state" in o.model_output]
    d_outputs = [
        TransformerData(
            wordpieces=o.wordpieces,
            model_output=ModelOutput(
                last_hidden_state=rng.standard_normal(
                    o.model_output.last_hidden_state.shape
                ).astype("f")
            ),
            align=o.align,
        )
        for o in sent
    ]
    d_inputs = backprop(d_outputs)
    assert len(d_inputs) == len(d_outputs) == len(TEXTS) - 1  # the empty doc has no output
    reference.zero_grad()
    checked = 0
    d_iter = iter(zip(d_outputs, d_inputs))
    for data in inputs:
        if "last_hidden_state" not in data.model_output:
            continue
        d_out, d_in = next(d_iter)
        hidden = data.model_output.last_hidden_state
        dX = d_in.model_output.last_hidden_state
        assert dX.shape == hidden.shape
        for row, n in enumerate(row_lengths(data)):
            X = torch.tensor(hidden[row : row + 1, :n], requires_grad=True)
            Y = reference(X, torch.ones(1, n))
            (
                Y * torch.tensor(d_out.model_output.last_hidden_state[row : row + 1, :n])
            ).sum().backward()
            numpy.testing.assert_allclose(dX[row, :n], grad_factor * X.grad[0].numpy(), atol=1e-5)
            assert not dX[row, n:].any()
            checked += 1
    assert checked >= len(TEXTS)  # the long doc has several spans
    # The task layers' own gradient is the head's full one, grad_factor or not.
    for (name, p), q in zip(
        task_layers_shim(layers).module.named_parameters(), reference.parameters()
    ):
        numpy.testing.assert_allclose(
            p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name
        )


def test_save_and_load_give_the_same_outputs_without_the_pretrained_encoder(
    tiny_encoder, saved_partial, monkeypatch
):
    nlp = partial_nlp(tiny_encoder)
    step(nlp, Adam(0.01))  # trained copies differ from the pretrained layer
    path = f"{saved_partial}-trained"
    nlp.to_disk(path)

    def refuse(*args, **kwargs):
        raise AssertionError("loading a pipeline copied the pretrained layers again")

    monkeypatch.setattr(task_layers_module, "load_task_layers", refuse)
    loaded = spacy.load(path)
    for head in HEADS:
        for (name, a), b in zip(
            task_module(nlp, head).named_parameters(), task_module(loaded, head).parameters()
        ):
            assert torch.equal(a, b), name
    before, after = list(nlp.pipe(TEXTS)), list(loaded.pipe(TEXTS))
    assert [d.cats for d in before] == [d.cats for d in after]
    assert [[(e.start, e.end, e.label_) for e in d.ents] for d in before] == [
        [(e.start, e.end, e.label_) for e in d.ents] for d in after
    ]
    # And from bytes, as spaCy copies pipelines.
    copied = spacy.util.load_model_from_config(nlp.config, auto_fill=True).from_bytes(
        nlp.to_bytes()
    )
    assert [d.cats for d in copied.pipe(TEXTS)] == [d.cats for d in before]


def test_a_loaded_pipeline_serves_with_pipe_and_keeps_training(saved_partial):
    nlp = spacy.load(saved_partial)
    batched = list(nlp.pipe(TEXTS, batch_size=64))
    alone = [next(nlp.pipe([text], batch_size=1)) for text in TEXTS]
    for a, b in zip(batched, alone):
        if not len(a):  # spaCy's textcat scores an empty doc by what it is batched with
            continue
        assert a.cats.keys() == b.cats.keys()
        assert all(abs(a.cats[k] - b.cats[k]) < 1e-5 for k in a.cats)
        assert [(e.start, e.end, e.label_) for e in a.ents] == [
            (e.start, e.end, e.label_) for e in b.ents
        ]
    assert len({round(d.cats["positive"], 6) for d in batched}) > 1
    losses = nlp.update(mixed_examples(nlp), sgd=Adam(0.01))
    assert losses["textcat"] > 0 and losses["ner"] > 0


def test_pipe_with_the_transformer_disabled_runs_on_zeros(saved_partial):
    """The listener gives zero vectors for docs the transformer did not annotate."""
    nlp = spacy.load(saved_partial)
    docs = list(nlp.pipe(TEXTS, disable=["transformer"]))
    assert [doc.text for doc in docs] == TEXTS
    assert all(
        doc._.trf_data is None and set(doc.cats) == {"negative", "neutral", "positive"}
        for doc in docs
    )


def test_row_lengths_and_groups():
    data = TransformerData.zeros(3, 4)
    data.wordpieces.attention_mask = numpy.asarray([[1, 1, 0]], dtype="f")
    assert list(row_lengths(data)) == [2]
    assert group_by_length([5, 1, 3, 3], 6) == [[1, 2], [3], [0]]
    assert group_by_length([9], 4) == [[0]]


@pytest.mark.parametrize(
    "layers,message", [([1, 0], r"\[E302\]"), ([1, 1], r"\[E302\]"), ([-1], r"\[E302\]")]
)
def test_bad_layers_are_named(layers, message):
    with pytest.raises(ValueError, match=message):
        create_task_layers_listener(pooling=None, name="x", layers=layers)


def test_bad_max_batch_items_is_named():
    with pytest.raises(ValueError, match=r"\[E305\]"):
        create_task_layers_listener(pooling=None, name="x", layers=[1], max_batch_items=0)


def test_layers_the_encoder_lacks_are_named(tiny_encoder):
    with pytest.raises(ValueError, match=r"\[E304\]"):
        partial_nlp(tiny_encoder, task=(1, 2))


def test_an_encoder_without_encoder_layers_is_named(tiny_encoder, tmp_path):
    config = DistilBertConfig(vocab_size=10, dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    DistilBertModel(config).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"\[E303\]"):
        partial_nlp(tiny_encoder, name=str(tmp_path))


def test_layers_of_another_width_than_the_shared_encoder_are_named(tiny_encoder, tmp_path):
    config = BertConfig(
        vocab_size=10,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
    )
    BertModel(config).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"\[E306\]"):
        partial_nlp(tiny_encoder, name=str(tmp_path))


def test_layers_used_before_initialisation_are_named():
    model = create_task_layers_listener(pooling=None, name="x", layers=[1])
    with pytest.raises(ValueError, match=r"\[E307\]"):
        model.get_ref("task_layers").predict([TransformerData.zeros(3, 32)])


def test_saved_layers_asking_for_code_are_refused(saved_partial, tmp_path):
    nlp = spacy.load(saved_partial)
    shim = task_layers_shim(nlp.get_pipe("textcat").model)
    msg = srsly.msgpack_loads(shim.to_bytes())
    state = srsly.msgpack_loads(msg["state"])
    hf_config = srsly.json_loads(state["hf_config"])
    for change, what in [
        ({"auto_map": {"AutoModel": "payload.Model"}}, "auto_map"),
        ({"model_type": "payload"}, "unknown model type"),
    ]:
        crafted = dict(
            msg,
            state=srsly.msgpack_dumps(
                dict(state, hf_config=srsly.json_dumps({**hf_config, **change}))
            ),
        )
        with pytest.raises(ValueError, match=r"\[E308\].*" + what):
            shim.from_bytes(srsly.msgpack_dumps(crafted))


def test_a_gradient_per_doc_is_required(tiny_encoder):
    nlp = partial_nlp(tiny_encoder)
    layers = tok2vec(nlp, "textcat").get_ref("task_layers")
    docs = list(nlp.get_pipe("transformer").pipe(nlp.make_doc(t) for t in TEXTS[:3]))
    outputs, backprop = layers([d._.trf_data for d in docs], is_train=True)
    with pytest.raises(ValueError, match=r"\[E309\]"):
        backprop(outputs[:1])


def test_a_model_without_task_layers_is_named():
    full_sharing = create_task_layers_listener(pooling=reduce_mean(), name="x", layers=[])
    with pytest.raises(TypeError, match=r"\[E310\]"):
        task_layers_shim(full_sharing)
