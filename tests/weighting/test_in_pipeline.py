"""Every registered strategy trains configs/mtl.cfg by a one-line override,
round-trips its state with the pipeline, and the loaded pipeline trains on."""
import numpy
import pytest
import spacy
from spacy.training.loop import train_while_improving
from thinc.api import Adam

STRATEGIES = ["static", "uncertainty", "dwa", "gradnorm", "famo", "pcgrad", "mgda", "rlw"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_trains_and_saves_its_state(make_nlp, strategy, tmp_path):
    nlp, examples = make_nlp(weighting={"@mtl_weightings": f"spacy_mtl.{strategy}.v1"})
    transformer = nlp.get_pipe("transformer")
    trained = train_while_improving(
        nlp, Adam(0.001), [(0, examples)] * 4, lambda: (0.0, {}),
        dropout=0.1, eval_frequency=100, accumulate_gradient=1, patience=0,
        max_steps=0, exclude=[], annotating_components=[], before_update=None,
    )
    for _ in trained:
        assert set(transformer.last_step) == {"textcat", "ner"}
        weights = [record["weight"] for record in transformer.last_step.values()]
        assert all(numpy.isfinite(w) and w >= 0 for w in weights)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert type(loaded.get_pipe("transformer").weighting) is type(transformer.weighting)
    assert loaded.get_pipe("transformer").weighting.to_bytes() == transformer.weighting.to_bytes()
    # As when a saved pipeline is trained further (spacy.load, or `source` in a config).
    losses = loaded.update(examples, sgd=Adam(0.001))
    assert set(loaded.get_pipe("transformer").last_step) == {"textcat", "ner"}
    assert numpy.isfinite(losses["textcat"]) and numpy.isfinite(losses["ner"])
