"""De-duplication and the seeded train/dev/test split.

The procedure, per task, is:

1. De-duplicate: texts are compared after :func:`normalise_text` (case-folded,
   whitespace collapsed) and one copy is kept, the majority annotation when copies
   disagree (see :func:`deduplicate`); texts with disagreeing copies are counted.
2. Shuffle the unique examples with ``random.Random(f"{seed}:{task}")``: a string seed
   is hashed with SHA-512 by Python (not with ``hash()``), so the order is the same in
   every process and on every platform, and each task's order does not depend on the
   other task.
3. Cap: keep the first ``limit`` examples of that order, if given (a uniform random
   subset; a smaller cap gives a subset of a larger one).
4. Cut into train/dev/test by ``ratios`` (default 80/10/10), rounding dev and test to
   the nearest integer (at least 1 each) and giving train the rest.

Because de-duplication precedes the split, no normalised text appears twice within a
split or in two splits. The split is random, not stratified by label.
"""
import random
from collections import Counter
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from .sources import CorpusError, RawExample

SPLITS = ("train", "dev", "test")
DEFAULT_RATIOS = (0.8, 0.1, 0.1)


def normalise_text(text: str) -> str:
    """The de-duplication key: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


class Deduplicated(NamedTuple):
    examples: List[RawExample]
    dropped: int  # duplicate copies removed
    conflicting: int  # texts whose copies carry different annotations


def deduplicate(examples: Sequence[RawExample]) -> Deduplicated:
    """Keep one copy of each normalised text, at the position of its first occurrence.

    When the copies disagree (the sentiment data holds one retweet 303 times, 232 times
    neutral and 71 times negative), the kept copy is the first one carrying the most
    frequent annotation: a majority vote, ties going to the earliest copy.
    """
    groups: Dict[str, List[RawExample]] = {}
    for example in examples:
        groups.setdefault(normalise_text(example.text), []).append(example)
    kept: List[RawExample] = []
    conflicting = 0
    for copies in groups.values():
        votes = Counter(copy.annotation for copy in copies)
        conflicting += len(votes) > 1
        # max() returns the first of equally voted copies.
        kept.append(max(copies, key=lambda copy: votes[copy.annotation]))
    return Deduplicated(kept, len(examples) - len(kept), conflicting)


def check_ratios(ratios: Sequence[float]) -> Tuple[float, float, float]:
    if len(ratios) != 3 or any(r <= 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(
            f"ratios must be three positive numbers (train, dev, test) summing to 1, got {list(ratios)}"
        )
    return (ratios[0], ratios[1], ratios[2])


def split_sizes(n: int, ratios: Sequence[float] = DEFAULT_RATIOS) -> Tuple[int, int, int]:
    """(train, dev, test) sizes for ``n`` examples; dev and test get at least one each."""
    _, r_dev, r_test = check_ratios(ratios)
    n_dev = max(1, int(n * r_dev + 0.5))
    n_test = max(1, int(n * r_test + 0.5))
    if n - n_dev - n_test < 1:
        raise CorpusError(f"{n} examples are too few for a train/dev/test split (need at least 3)")
    return n - n_dev - n_test, n_dev, n_test


def shuffled_split(
    examples: Sequence[RawExample],
    *,
    seed: int,
    task: str,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    limit: Optional[int] = None,
) -> Dict[str, List[RawExample]]:
    """Steps 2-4 of the module docstring: shuffle, cap, cut. Returns {split: examples}."""
    order = list(examples)
    random.Random(f"{seed}:{task}").shuffle(order)
    if limit is not None:
        if limit < 3:
            raise ValueError(f"a cap on {task} examples must be at least 3, got {limit}")
        order = order[:limit]
    n_train, n_dev, _ = split_sizes(len(order), ratios)
    return {
        "train": order[:n_train],
        "dev": order[n_train : n_train + n_dev],
        "test": order[n_train + n_dev :],
    }
