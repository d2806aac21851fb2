"""The paired bootstrap between two setups on the same test docs."""

import numpy
import pytest

from spacy_mtl.evaluation.bootstrap import Interval, ner_f, paired_bootstrap, textcat_macro_f


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
    with pytest.raises(
        ValueError, match=r"\[E177\] textcat: the runs were not scored on the same test docs"
    ):
        paired_bootstrap("textcat", [cats[:10]], [cats])


def old_paired_bootstrap(task, a_runs, b_runs, *, n_resamples=1000, seed=0):
    """spacy_mtl.evaluation.bootstrap.paired_bootstrap as it was at commit ee8fa02."""
    if task == "textcat":
        runs = [
            {r["doc"]: (r["gold"], r["pred"]) for r in records if r["task"] == task}
            for records in (*a_runs, *b_runs)
        ]
    else:
        runs = [
            {r["doc"]: (r["tp"], r["fp"], r["fn"]) for r in records if r["task"] == task}
            for records in (*a_runs, *b_runs)
        ]
    docs = sorted(runs[0])
    samples = numpy.random.default_rng(seed).integers(0, len(docs), size=(n_resamples, len(docs)))
    everything = numpy.arange(len(docs))[None, :]
    if task == "textcat":
        labels = sorted({label for run in runs for pair in run.values() for label in pair})
        code = {label: i for i, label in enumerate(labels)}

        def score(run, idx):
            gold = numpy.asarray([code[run[d][0]] for d in docs])
            pred = numpy.asarray([code[run[d][1]] for d in docs])
            return textcat_macro_f(gold, pred, len(labels), idx)

    else:

        def score(run, idx):
            return ner_f(numpy.asarray([run[d] for d in docs], dtype=float), idx)

    def pooled(group, idx):
        return numpy.mean([score(run, idx) for run in group], axis=0)

    a, b = runs[: len(a_runs)], runs[len(a_runs) :]
    deltas = pooled(a, samples) - pooled(b, samples)
    observed = float((pooled(a, everything) - pooled(b, everything))[0])
    low, high = numpy.percentile(deltas, [2.5, 97.5])
    return Interval(observed, float(low), float(high), len(docs), n_resamples)


def random_runs(rng, n_runs: int, n_docs: int):
    """Runs of per-doc records of both tasks on the same docs (in shuffled order)."""
    labels = ["negative", "neutral", "positive", "rare"]
    runs = []
    for _ in range(n_runs):
        records = [
            {
                "task": "textcat",
                "doc": d,
                "gold": str(rng.choice(labels[:3])),
                "pred": str(rng.choice(labels)),
            }
            for d in range(n_docs)
        ] + [
            {
                "task": "ner",
                "doc": d,
                "tp": int(rng.integers(3)),
                "fp": int(rng.integers(2)),
                "fn": int(rng.integers(3)),
            }
            for d in range(n_docs)
        ]
        rng.shuffle(records)
        runs.append(records)
    return runs


@pytest.mark.parametrize("task", ["textcat", "ner"])
def test_intervals_are_todays_to_the_last_bit(task):
    rng = numpy.random.default_rng(7)
    a, b = random_runs(rng, 3, 40), random_runs(rng, 2, 40)
    for seed in (0, 1):
        new = paired_bootstrap(task, a, b, n_resamples=300, seed=seed)
        assert new == old_paired_bootstrap(task, a, b, n_resamples=300, seed=seed)
        assert new.low < new.high


def test_a_key_with_a_name_is_bootstrapped_by_its_kind_and_bad_input_is_named():
    cats = [{"task": "textcat/sentiment", "doc": i, "gold": "a", "pred": "a"} for i in range(5)]
    assert paired_bootstrap("textcat/sentiment", [cats], [cats], n_resamples=10).n_docs == 5
    with pytest.raises(ValueError, match=r"\[E176\]"):
        paired_bootstrap("textcat", [], [cats])
    with pytest.raises(ValueError, match=r"\[E178\] ner: no per-doc records"):
        paired_bootstrap("ner", [cats], [cats])
    with pytest.raises(ValueError, match=r"\[E153\] Unknown kind of task 'pos'"):
        paired_bootstrap("pos", [cats], [cats])
