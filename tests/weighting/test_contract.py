"""The contract every registered strategy keeps, run over the registry.

A strategy registered by spacy-mtl is found here without being listed: robust under
extreme losses and subsets of tasks, saved and restored exactly, built by its
registered name (which is its `name`), and training configs/mtl.cfg by a one-line
override. A test-only strategy goes through the same checks, as a user's would.
"""

from typing import Any, Dict, List, Tuple

import numpy
import pytest
import recording_weighting  # noqa: F401  (registers tests.recording.v1, a user's strategy)
import spacy
from spacy.training.loop import train_while_improving
from spacy.util import registry
from thinc.api import Adam

from spacy_mtl.registry import registered_weightings
from spacy_mtl.weighting.checks import check_weighting

STRATEGIES = list(registered_weightings().values())
#: Settings that reach the parts the defaults do not within a short run: short DWA
#: windows, large GradNorm steps, every MGDA normalisation. Keys must be registered.
STRESS_SETTINGS: Dict[str, List[Dict[str, Any]]] = {
    "spacy_mtl.dwa.v1": [{"window": 2}, {"window": 4, "temperature": 0.5}],
    "spacy_mtl.gradnorm.v1": [{"learning_rate": 0.5}],
    "spacy_mtl.famo.v1": [{"learning_rate": 0.1}],
    "spacy_mtl.mgda.v1": [{"normalization": n} for n in ("l2", "loss", "loss+")],
    "spacy_mtl.static.v1": [{"weights": {"a": 1.0, "b": 0.25, "c": 3.0}}],
    "spacy_mtl.uncertainty.v1": [{"lr_scale": 3.0}],
    "spacy_mtl.pcgrad.v1": [{"seed": 7}],
    "spacy_mtl.rlw.v1": [{"seed": 3}],
}
CASES: List[Tuple[str, Dict[str, Any]]] = [
    (name, settings)
    for name in STRATEGIES + ["tests.recording.v1"]
    for settings in [{}] + STRESS_SETTINGS.get(name, [])
]


def build(name: str, settings: Dict[str, Any]):
    return registry.resolve({"w": {"@mtl_weightings": name, **settings}})["w"]


def test_every_strategy_of_the_readme_is_registered():
    assert len(STRATEGIES) == 8
    assert set(STRESS_SETTINGS) == set(STRATEGIES)


@pytest.mark.parametrize("name,settings", CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_contract(name, settings):
    weighting = build(name, settings)
    assert weighting.name == name
    check_weighting(lambda: build(name, settings))


@pytest.mark.parametrize("name", STRATEGIES)
def test_strategy_trains_and_saves_its_state(make_nlp, name, tmp_path):
    nlp, examples = make_nlp(weighting={"@mtl_weightings": name})
    transformer = nlp.get_pipe("transformer")
    trained = train_while_improving(
        nlp,
        Adam(0.001),
        [(0, examples)] * 4,
        lambda: (0.0, {}),
        dropout=0.1,
        eval_frequency=100,
        accumulate_gradient=1,
        patience=0,
        max_steps=0,
        exclude=[],
        annotating_components=[],
        before_update=None,
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
