"""Loading a pipeline runs no code of its own and writes nothing outside its
temporary directory (issue 28, items 3 and 4)."""

import shutil
import uuid
from pathlib import Path

import pytest
import spacy
import srsly
from thinc.api import Config

from spacy_mtl.models.transformer import packaged_model_dir, resolve_encoder

PAYLOAD = """
from pathlib import Path
Path({marker!r}).write_text("imported")
"""


def with_payload(tiny_pipeline: str, tmp_path: Path, name: str) -> Path:
    """A copy of the pipeline whose encoder is named `name`, with a `payload.py`
    beside config.cfg that leaves a marker file when it is imported."""
    pipeline = tmp_path / "crafted"
    shutil.copytree(tiny_pipeline, pipeline)
    config = Config().from_disk(pipeline / "config.cfg")
    config["components"]["transformer"]["model"]["name"] = name
    config.to_disk(pipeline / "config.cfg")
    (pipeline / "payload.py").write_text(PAYLOAD.format(marker=str(tmp_path / "marker")))
    return pipeline


@pytest.mark.parametrize("name", ["payload.model", "payload"])
def test_naming_a_module_in_the_config_does_not_import_it(
    tiny_pipeline, tmp_path, monkeypatch, name
):
    """With the working directory on the import path (`python -m spacy`, notebooks),
    `name = "payload.model"` imported `payload.py` beside config.cfg on spacy.load."""
    pipeline = with_payload(tiny_pipeline, tmp_path, name)
    monkeypatch.syspath_prepend(str(pipeline))
    monkeypatch.chdir(pipeline)
    nlp = spacy.load(pipeline)
    assert resolve_encoder(name) == name and packaged_model_dir(name) is None
    assert not (tmp_path / "marker").exists()
    assert [doc.cats for doc in nlp.pipe(["Obama visited Paris"])]


def test_an_installed_module_named_in_the_config_is_not_imported(monkeypatch):
    """Any importable top-level module could be run by naming `module.x`."""
    import sys

    monkeypatch.delitem(sys.modules, "this", raising=False)
    assert packaged_model_dir("this.model") is None
    assert "this" not in sys.modules


def crafted_encoder(tiny_pipeline: str, tmp_path: Path, change) -> Path:
    """A copy of the pipeline whose saved encoder (transformer/model) is changed by
    `change(msg)`, msg being the message spacy-transformers' HFShim wrote."""
    pipeline = tmp_path / "crafted"
    shutil.copytree(tiny_pipeline, pipeline)
    path = pipeline / "transformer" / "model"
    model = srsly.msgpack_loads(path.read_bytes())
    for shims in model["shims"]:
        for i, data in enumerate(shims):
            msg = srsly.msgpack_loads(data)
            change(msg)
            shims[i] = srsly.msgpack_dumps(msg)
    path.write_bytes(srsly.msgpack_dumps(model))
    return pipeline


@pytest.mark.parametrize("where", ["absolute", "escaping"])
def test_a_crafted_tokenizer_file_name_is_refused_before_it_is_written(
    tiny_pipeline, tmp_path, where
):
    """spacy-transformers joins the saved tokenizer file names to a temporary
    directory unchecked: an absolute name, or one with '..', wrote anywhere."""
    target = (
        tmp_path / "written.txt"
        if where == "absolute"
        else Path("/tmp") / f"spacy-mtl-{uuid.uuid4().hex}.txt"
    )
    name = str(target) if where == "absolute" else f"../{target.name}"
    pipeline = crafted_encoder(
        tiny_pipeline, tmp_path, lambda msg: msg["tokenizer"].update({name: b"pwned"})
    )
    try:
        with pytest.raises(ValueError, match=r"\[E089\]"):
            spacy.load(pipeline)
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


def test_a_saved_encoder_asking_for_remote_code_is_refused(tiny_pipeline, tmp_path):
    def trust(msg):
        msg["tokenizer"]["kwargs"] = {"use_fast": True, "trust_remote_code": True}

    with pytest.raises(ValueError, match=r"\[E090\]"):
        spacy.load(crafted_encoder(tiny_pipeline, tmp_path, trust))


def test_a_config_asking_for_remote_code_is_refused(tiny_pipeline, tmp_path):
    pipeline = tmp_path / "crafted"
    shutil.copytree(tiny_pipeline, pipeline)
    config = Config().from_disk(pipeline / "config.cfg")
    config["components"]["transformer"]["model"]["tokenizer_config"]["trust_remote_code"] = True
    config.to_disk(pipeline / "config.cfg")
    with pytest.raises(ValueError, match=r"\[E091\].*tokenizer_config"):
        spacy.load(pipeline)
