"""The paired bootstrap between two setups on the same test docs."""

import pytest

from spacy_mtl.evaluation.bootstrap import paired_bootstrap


def test_bootstrap_of_a_setup_against_itself_is_zero_and_against_a_better_one_is_above():
    cats = [
        {"task": "textcat", "doc": i, "gold": "a" if i % 2 else "b", "pred": "a"} for i in range(50)
    ]
    same = paired_bootstrap("textcat", [cats], [cats], n_resamples=200)
    assert same.delta == same.low == same.high == 0.0 and same.n_docs == 50
    perfect = [dict(r, pred=r["gold"]) for r in cats]
    better = paired_bootstrap("textcat", [perfect], [cats], n_resamples=200)
    # macro-F1: perfect 1.0; all "a": F1(a) = 2/3, F1(b) = 0, mean 1/3.
    assert better.delta == pytest.approx(1 - 1 / 3)
    assert 0 < better.low <= better.delta <= better.high
    # Seeds are pooled: two runs, one perfect and one not, average to half the gain.
    pooled = paired_bootstrap("textcat", [perfect, cats], [cats], n_resamples=200)
    assert pooled.delta == pytest.approx((1 - 1 / 3) / 2)
    with pytest.raises(ValueError, match="same test docs"):
        paired_bootstrap("textcat", [cats[:10]], [cats])
