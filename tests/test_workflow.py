"""The `all` workflow of project/project.yml, end to end, with the tiny encoder and
small data caps: the same commands as `make demo`, smaller numbers."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parent.parent


def test_all_workflow_trains_packages_and_loads_in_a_fresh_venv(tiny_encoder, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO / "project", project, ignore=shutil.ignore_patterns(
        "corpus", "training", "metrics", "packages", "assets"))
    spacy_cli = Path(sys.executable).parent / "spacy"
    result = subprocess.run(
        [str(spacy_cli), "project", "run", "all", str(project),
         "--vars.repo_dir", str(REPO), "--vars.encoder", tiny_encoder,
         "--vars.max_steps", "12", "--vars.eval_frequency", "6",
         "--vars.max_ner", "120", "--vars.max_textcat", "120"],
        capture_output=True, text=True,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    assert "Smoke test passed" in log
    scores = json.loads((project / "metrics" / "scores.json").read_text())
    assert set(scores) == {"textcat", "ner"}
    assert scores["textcat"]["n_docs"] == 12 and scores["ner"]["n_docs"] == 12
    dist = project / "packages" / "en_mtl_tweets-0.1.0" / "dist"
    assert sorted(p.name.split("-")[0] for p in dist.glob("*.whl")) == ["en_mtl_tweets", "spacy_mtl"]
    trace = (project / "training" / "mtl" / "weights.jsonl").read_text().splitlines()
    assert {json.loads(line)["task"] for line in trace} == {"textcat", "ner"}
    assert (project / "metrics" / "weights.png").stat().st_size > 10_000
