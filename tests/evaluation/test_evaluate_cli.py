"""`spacy mtl evaluate`: the --task option, one-line errors, and outputs that never
overwrite what the command reads (issue 28, findings 11 and 12)."""

import json
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin

from helpers import mixed_examples, write_task_corpora


def spacy_cli(*args: str):
    from spacy.cli import app
    from typer.testing import CliRunner

    import spacy_mtl.cli.evaluate  # noqa: F401  (registers `mtl evaluate`)

    return CliRunner().invoke(app, ["mtl", "evaluate", *args], prog_name="spacy")


def one_line_failure(result, code: str) -> str:
    """The command's output, checked to be one ✘ line with `code` and exit 1, no traceback."""
    output = " ".join(result.output.split())  # wasabi wraps at 80 columns
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert output.count("✘") == 1 and f"[{code}]" in output, result.output
    return output


def test_a_missing_model_is_one_line(tmp_path):
    paths = write_task_corpora(tmp_path)
    result = spacy_cli(str(tmp_path / "no_model"), "--textcat", str(paths["textcat"]))
    assert str(tmp_path / "no_model") in one_line_failure(result, "E172")


def test_task_names_any_kind_and_the_shorthands_are_the_same(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    by_task = tmp_path / "by_task.json"
    by_flag = tmp_path / "by_flag.json"
    result = spacy_cli(
        tiny_pipeline, "--task", f"ner={paths['ner']}", "-t", f"textcat={paths['textcat']}",
        "--output", str(by_task),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    result = spacy_cli(
        tiny_pipeline, "--textcat", str(paths["textcat"]), "--ner", str(paths["ner"]),
        "--output", str(by_flag),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(by_task.read_text()) == json.loads(by_flag.read_text())
    assert list(json.loads(by_task.read_text())) == ["ner", "textcat"]


@pytest.mark.parametrize(
    "args, code",
    [
        ([], "E170"),
        (["--task", "textcat"], "E135"),
        (["--task", "=x.spacy"], "E135"),
        (["--task", "pos=TEXTCAT"], "E153"),
        (["--textcat", "TEXTCAT", "--task", "textcat=TEXTCAT"], "E179"),
        (["--task", "textcat=missing.spacy"], "E171"),
    ],
)
def test_bad_task_options_are_one_line(tiny_pipeline, tmp_path, args, code):
    paths = write_task_corpora(tmp_path)
    args = [a.replace("TEXTCAT", str(paths["textcat"])) for a in args]
    one_line_failure(spacy_cli(tiny_pipeline, *args), code)


def test_nothing_to_score_warns_and_strict_fails_in_one_line(tiny_pipeline, tmp_path):
    entities_only = tmp_path / "entities_only.spacy"
    references = [eg.reference for eg in mixed_examples(spacy.blank("en"))]
    DocBin(docs=[doc for doc in references if not doc.cats]).to_disk(entities_only)
    with pytest.warns(UserWarning, match=r"\[W048\]"):
        result = spacy_cli(tiny_pipeline, "--textcat", str(entities_only))
    assert result.exit_code == 0, result.output
    assert "nothing to score in 2 docs" in result.output and "0.0000" not in result.output
    per_doc = tmp_path / "docs.jsonl"
    result = spacy_cli(
        tiny_pipeline, "--textcat", str(entities_only), "--strict", "--per-doc", str(per_doc)
    )
    assert "textcat: nothing to score" in one_line_failure(result, "E173")
    assert not per_doc.exists()


@pytest.mark.parametrize(
    "option, target, code",
    [
        ("--output", "TEST", "E270"),  # the test set itself
        ("--per-doc", "TEST", "E270"),
        ("--meta-output", "MODEL/meta.json", "E270"),  # inside the pipeline it scores
        ("--output", "MODEL", "E270"),
        ("--per-doc", "OUTPUT", "E271"),  # the same file as --output
    ],
)
def test_an_output_over_an_input_is_refused_and_nothing_is_touched(
    tiny_pipeline, tmp_path, option, target, code
):
    paths = write_task_corpora(tmp_path)
    output = tmp_path / "scores.json"
    output.write_text("earlier scores")
    for name, value in {"TEST": paths["textcat"], "MODEL": tiny_pipeline, "OUTPUT": output}.items():
        target = target.replace(name, str(value))
    meta = Path(tiny_pipeline) / "meta.json"
    test_bytes, meta_bytes = paths["textcat"].read_bytes(), meta.read_bytes()
    result = spacy_cli(
        tiny_pipeline, "--textcat", str(paths["textcat"]), "--output", str(output), option, target
    )
    one_line_failure(result, code)
    assert paths["textcat"].read_bytes() == test_bytes and meta.read_bytes() == meta_bytes
    assert output.read_text() == "earlier scores"


def test_meta_output_carries_the_test_scores(tiny_pipeline, tmp_path):
    paths = write_task_corpora(tmp_path)
    meta = tmp_path / "meta" / "meta.json"
    result = spacy_cli(tiny_pipeline, "--ner", str(paths["ner"]), "--meta-output", str(meta))
    assert result.exit_code == 0, result.output
    performance = json.loads(meta.read_text())["performance"]
    assert "test_ents_f" in performance and "test_n_docs" not in performance
