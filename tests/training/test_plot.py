"""The weight-trace plot command."""

import json

import pytest

from spacy_mtl.training.plot import moving_average, plot, read_cosines, read_trace


def test_plot_draws_a_png_from_a_trace(tmp_path):
    trace = tmp_path / "weights.jsonl"
    records = [
        {"step": s, "task": t, "loss": 1.0 / (s + 1), "weight": w, "grad_norm": 0.5}
        for s in range(30)
        for t, w in (("textcat", 0.5), ("ner", 1.5))
    ]
    trace.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    series = read_trace(trace)
    assert [v for _, v in series["ner"]["weight"]] == [1.5] * 30
    out = plot(trace, tmp_path / "w.png", window=5)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_bad_trace_line_names_file_and_line(tmp_path):
    trace = tmp_path / "weights.jsonl"
    trace.write_text(
        '{"step": 0, "task": "ner", "loss": 1, "weight": 1, "grad_norm": 1}\n{"step": 1}\n'
    )
    with pytest.raises(ValueError, match=r"\[E041\] .*weights\.jsonl:2:"):
        read_trace(trace)


def test_moving_average():
    assert moving_average([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]


def test_the_cosine_of_each_task_pair_gets_a_panel(tmp_path):
    trace = tmp_path / "weights.jsonl"
    records = [
        {
            "step": s,
            "task": t,
            "loss": 1.0,
            "weight": 1.0,
            "grad_norm": 0.5,
            "cosine": {o: -0.25 * s / 30},
        }
        for s in range(30)
        for t, o in (("textcat", "ner"), ("ner", "textcat"))
    ]
    trace.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    cosines = read_cosines(trace)
    assert list(cosines) == ["ner · textcat"] and cosines["ner · textcat"][3] == (3, -0.025)
    with_panel = plot(trace, tmp_path / "four.png", window=5)
    for record in records:
        del record["cosine"]
    trace.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert read_cosines(trace) == {}
    without = plot(trace, tmp_path / "three.png", window=5)
    from PIL import Image

    assert Image.open(with_panel).size[0] > Image.open(without).size[0]
