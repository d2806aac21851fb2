"""The encoder on ONNX Runtime: export and load round trip, int8 outputs that do not
depend on the batch, training refused, the settings in the config."""

import numpy
import pytest
import spacy
from thinc.api import Config

from spacy_mtl.models.export import ONNXRUNTIME_REQUIREMENT, export_pipeline
from spacy_mtl.models.int8 import quantize_pipeline
from spacy_mtl.models.onnx import OnnxShim

from helpers import load_config, mixed_examples, write_task_corpora

pytest.importorskip("onnxruntime")

TEXTS = [
    "Obama visited Paris",
    "Apple hates Netflix , awful",
    "Messi met Coldplay in London last night with @someone #concert",
    "so tired today",
    "Just landed in Paris , can't wait to see the Eiffel Tower !",
]


def vectors(doc) -> numpy.ndarray:
    """The encoder's vectors of a doc's word pieces, padding left out."""
    data = doc._.trf_data
    hidden = numpy.asarray(data.model_output.last_hidden_state)
    return numpy.concatenate([hidden[i, :n] for i, n in enumerate(data.wordpieces.lengths)])


def outputs(nlp, texts=TEXTS, batch_size=64):
    """Per text: the cats, the entities and the encoder's token vectors."""
    docs = list(nlp.pipe(texts, batch_size=batch_size))
    return (
        [doc.cats for doc in docs],
        [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in docs],
        [vectors(doc) for doc in docs],
    )


def shim(nlp) -> OnnxShim:
    found = nlp.get_pipe("transformer").model.layers[0].shims[0]
    assert isinstance(found, OnnxShim)
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_task_corpora(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def fp32_dir(tiny_pipeline, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "fp32"
    report = export_pipeline(tiny_pipeline, path, precision="fp32")
    assert report.components == ["transformer"] and report.max_abs_diff < 1e-4
    return path


@pytest.fixture(scope="module", params=["static", "per-token"])
def int8_dir(request, tiny_pipeline, corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / f"int8-{request.param}"
    export_pipeline(
        tiny_pipeline,
        path,
        precision="int8",
        activations=request.param,
        calibration=[corpus["textcat"], corpus["ner"]],
    )
    return path


def test_export_then_load_gives_the_torch_outputs(tiny_pipeline, fp32_dir):
    cats, ents, vectors = outputs(spacy.load(tiny_pipeline))
    got_cats, got_ents, got_vectors = outputs(spacy.load(fp32_dir))
    assert got_ents == ents
    for a, b in zip(got_cats, cats):
        assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-4 for k in a)
    for a, b in zip(got_vectors, vectors):
        numpy.testing.assert_allclose(a, b, atol=1e-4)


def test_the_exported_pipeline_says_what_it_needs(fp32_dir):
    config = Config().from_disk(fp32_dir / "config.cfg")
    assert config["components"]["transformer"]["model"]["engine"] == "onnxruntime"
    nlp = spacy.load(fp32_dir)
    assert ONNXRUNTIME_REQUIREMENT in nlp.meta["requirements"]
    assert shim(nlp).settings == {"precision": "fp32"}
    # The ONNX model lives in the pipeline directory, in the transformer's model file.
    assert b"spacy-mtl-onnx/1" in (fp32_dir / "transformer" / "model").read_bytes()


def test_batch_1_and_batch_64_are_served_alike(fp32_dir):
    nlp = spacy.load(fp32_dir)
    one, many = outputs(nlp, batch_size=1), outputs(nlp, batch_size=64)
    assert one[1] == many[1]
    for a, b in zip(one[2], many[2]):
        numpy.testing.assert_allclose(a, b, atol=1e-5)


def test_int8_output_of_a_post_is_the_same_alone_and_in_a_batch(int8_dir):
    nlp = spacy.load(int8_dir)
    batched = outputs(nlp)
    for i, text in enumerate(TEXTS):
        cats, ents, vectors = outputs(nlp, [text])
        assert cats[0] == batched[0][i] and ents[0] == batched[1][i]
        numpy.testing.assert_array_equal(vectors[0], batched[2][i])


def test_torch_int8_output_depends_on_the_batch(tiny_pipeline, tmp_path):
    """What the test above rules out: PyTorch's dynamic int8 takes one activation
    scale per call, so a post's vectors change with its neighbours."""
    path = tmp_path / "torch-int8"
    with pytest.warns(UserWarning, match=r"\[W050\]"):
        quantize_pipeline(tiny_pipeline, path)
        nlp = spacy.load(path)
    batched = outputs(nlp)
    alone = [outputs(nlp, [text])[2][0] for text in TEXTS]
    assert any(not numpy.array_equal(a, b) for a, b in zip(alone, batched[2]))


def test_int8_is_close_to_fp32_and_records_its_settings(tiny_pipeline, int8_dir):
    _, _, fp32 = outputs(spacy.load(tiny_pipeline))
    nlp = spacy.load(int8_dir)
    _, _, int8 = outputs(nlp)
    for a, b in zip(fp32, int8):
        assert a.shape == b.shape and not numpy.array_equal(a, b)
        cosine = (a * b).sum(-1) / (numpy.linalg.norm(a, axis=-1) * numpy.linalg.norm(b, axis=-1))
        assert cosine.min() > 0.95
    settings = shim(nlp).settings
    assert settings["precision"] == "int8" and settings["activations"] in int8_dir.name
    assert settings["int8_linear_layers"] == 2 * 6 and settings["fp32_linear_layers"] == 0
    if settings["activations"] == "static":  # every post of both corpus files
        assert settings["calibration_posts"] == 9


def test_feed_forward_outputs_can_stay_in_fp32(tiny_pipeline, tmp_path):
    path = tmp_path / "ffn-fp32"
    export_pipeline(
        tiny_pipeline, path, precision="int8", activations="per-token", ffn_output="fp32"
    )
    settings = shim(spacy.load(path)).settings
    assert settings["fp32_linear_layers"] == 2 and settings["int8_linear_layers"] == 2 * 5


@pytest.mark.parametrize("guard,expected", [(True, "1"), (False, None)])
def test_the_saturation_guard_is_a_config_setting(fp32_dir, guard, expected):
    """On by default, from the config: the serving machine's ONNX Runtime decides
    where it matters (x86 CPUs), with or without VNNI."""
    overrides = {"components": {"transformer": {"model": {"saturation_guard": guard}}}}
    nlp = spacy.load(fp32_dir, config=overrides)
    options = shim(nlp).session.get_session_options()
    try:
        entry = options.get_session_config_entry("session.x64quantprecision")
    except RuntimeError:  # not set
        entry = None
    assert entry == expected


def test_training_an_exported_pipeline_is_refused(fp32_dir):
    nlp = spacy.load(fp32_dir)
    examples = mixed_examples(nlp)
    with pytest.raises(ValueError, match=r"ONNX Runtime"):
        nlp.update(examples, sgd=nlp.create_optimizer())


def test_initialising_an_onnxruntime_config_is_refused(tiny_encoder):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["model"]["engine"] = "onnxruntime"
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    with pytest.raises(ValueError, match=r"\[E094\]"):
        nlp.initialize(lambda: mixed_examples(nlp))


def test_bad_settings_are_named(tiny_pipeline, tiny_encoder, tmp_path):
    config = load_config("mtl.cfg", tiny_encoder)
    config["components"]["transformer"]["model"]["engine"] = "tensorrt"
    with pytest.raises(ValueError, match=r"\[E092\]"):
        spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    with pytest.raises(ValueError, match=r"\[E096\].*--precision"):
        export_pipeline(tiny_pipeline, tmp_path / "x", precision="int4")
    with pytest.raises(ValueError, match=r"\[E097\]"):
        export_pipeline(tiny_pipeline, tmp_path / "x", precision="int8", activations="static")
    assert not (tmp_path / "x").exists()
