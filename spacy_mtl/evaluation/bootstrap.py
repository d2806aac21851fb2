"""Paired bootstrap intervals for the difference between two setups on the same test docs.

With a few hundred test docs and a seed std of a few points, a gain of one or two
points is invisible in mean ± std. The paired bootstrap resamples the test docs
(with replacement), scores both setups on each resample and reads the 2.5th and
97.5th percentiles of the difference (Koehn 2004; Berg-Kirkpatrick et al. 2012).
Seeds are pooled: on each resample a setup's score is the mean over its seeds' runs,
so the interval covers the doc sample, with the seed variation averaged in.

The per-doc records are what `spacy mtl evaluate --per-doc` writes: for textcat the
gold and the predicted class of each doc, for ner its tp / fp / fn, for a user's kind
what its `records` gives. The task's kind (:mod:`spacy_mtl.tasks`) turns each record
into a vector of counts and scores a resample from the sum of its docs' vectors, as
spaCy scores: macro-F1 over the labels (a label's F1 is 0 where it has no true
positive), micro entity F1, a tagger's accuracy.
"""

from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy

from ..errors import Errors
from ..tasks import kind_of

Records = List[dict]


@dataclass(frozen=True)
class Interval:
    """The observed difference (a − b) on all test docs and its bootstrap interval."""

    delta: float
    low: float
    high: float
    n_docs: int
    n_resamples: int

    def entirely_below_zero(self) -> bool:
        return self.high < 0.0


def ner_f(counts: numpy.ndarray, samples: numpy.ndarray) -> numpy.ndarray:
    """Micro entity F1 of every resample.

    counts (numpy.ndarray): (docs, 3) tp, fp, fn per doc.
    samples (numpy.ndarray): (resamples, docs) indices into the docs.
    RETURNS (numpy.ndarray): (resamples,) F1, 0 where nothing was found or expected.
    """
    tp, fp, fn = (counts[:, k][samples].sum(axis=1) for k in range(3))
    denominator = 2 * tp + fp + fn
    return numpy.divide(2 * tp, denominator, out=numpy.zeros(len(samples)), where=denominator > 0)


def textcat_macro_f(
    gold: numpy.ndarray, pred: numpy.ndarray, n_labels: int, samples: numpy.ndarray
) -> numpy.ndarray:
    """Macro-F1 over `n_labels` labels of every resample (labels as integer codes).

    RETURNS (numpy.ndarray): (resamples,) the mean over labels of each label's F1.
    """
    scores = numpy.zeros(len(samples))
    for label in range(n_labels):
        is_gold, is_pred = gold == label, pred == label
        tp = (is_gold & is_pred)[samples].sum(axis=1)
        fp = (~is_gold & is_pred)[samples].sum(axis=1)
        fn = (is_gold & ~is_pred)[samples].sum(axis=1)
        denominator = 2 * tp + fp + fn
        scores += numpy.divide(
            2 * tp, denominator, out=numpy.zeros(len(samples)), where=denominator > 0
        )
    return scores / n_labels


def paired_bootstrap(
    task: str,
    a_runs: Sequence[Records],
    b_runs: Sequence[Records],
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Interval:
    """The difference of setup a to setup b on `task`, with a 95% paired bootstrap interval.

    task (str): the task's key in the records ("textcat", "ner", a user's kind,
        ``KIND/NAME``); its kind scores the resamples.
    a_runs, b_runs (Sequence[Records]): each setup's runs (seeds), the per-doc records
        of one task on one test set.
    n_resamples (int): bootstrap resamples (at least 1,000 for a 95% interval).
    seed (int): the resampling's seed.
    RETURNS (Interval): in score units (0–1), a − b.
    """
    if not a_runs or not b_runs:
        raise ValueError(Errors.E176)
    kind = kind_of(task)
    kind.require("resample per-doc records", "counts", "score")
    runs: List[Dict[int, dict]] = [
        {r["doc"]: r for r in records if r["task"] == task} for records in (*a_runs, *b_runs)
    ]
    docs = sorted(runs[0])
    for run in runs[1:]:
        if sorted(run) != docs:
            raise ValueError(Errors.E177.format(task=task))
    if not docs:
        raise ValueError(Errors.E178.format(task=task))
    samples = numpy.random.default_rng(seed).integers(0, len(docs), size=(n_resamples, len(docs)))
    everything = numpy.arange(len(docs))[None, :]
    # Every run's records become count vectors in one call, so that their columns
    # (e.g. one per label) are the same.
    counts = kind.counts([run[d] for run in runs for d in docs])
    per_run = [counts[k * len(docs) : (k + 1) * len(docs)] for k in range(len(runs))]

    def score(run_counts: numpy.ndarray, idx: numpy.ndarray) -> numpy.ndarray:
        # Column by column, so that a resample's docs are summed without a
        # (resamples, docs, columns) array.
        sums = numpy.stack([column[idx].sum(axis=1) for column in run_counts.T], axis=1)
        return kind.score(sums.reshape(len(idx), run_counts.shape[1]))

    def pooled(group, idx):
        return numpy.mean([score(run, idx) for run in group], axis=0)

    a, b = per_run[: len(a_runs)], per_run[len(a_runs) :]
    deltas = pooled(a, samples) - pooled(b, samples)
    observed = float((pooled(a, everything) - pooled(b, everything))[0])
    low, high = numpy.percentile(deltas, [2.5, 97.5])
    return Interval(observed, float(low), float(high), len(docs), n_resamples)
