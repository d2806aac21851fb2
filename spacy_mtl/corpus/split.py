"""De-duplication and the seeded train/dev/test split, both only when asked for.

* :func:`deduplicate` compares texts after :func:`normalise_text` (case-folded,
  whitespace collapsed) and keeps one copy, the majority annotation when copies disagree.
* :func:`drop_overlap` keeps files as given but removes from each split the texts of
  the later ones (test > dev > train), so that nothing is scored that was trained on.
* :func:`shuffled_split` shuffles with ``random.Random(f"{seed}:{task}")`` (a string
  seed is hashed with SHA-512, so the order is the same in every process and each
  task's order does not depend on the others), keeps the first ``limit`` examples if
  given (a smaller cap gives a subset of a larger one), then cuts train/dev/test by
  ``ratios``: dev and test sizes are rounded to the nearest integer, at least 1 when
  their ratio is positive, and train gets the rest.
"""

import math
import random
from collections import Counter
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..errors import Errors
from .sources import CorpusError, Example

SPLITS = ("train", "dev", "test")


def normalise_text(text: str) -> str:
    """The de-duplication key: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


class Deduplicated(NamedTuple):
    examples: List[Any]  # of the type deduplicate() was given
    dropped: int  # copies removed
    conflicting: int  # texts whose copies carry different annotations


def deduplicate(examples: Sequence[Example]) -> Deduplicated:
    """Keep one copy of each normalised text, at the position of its first occurrence.

    When copies disagree, the kept one is the first copy carrying the most frequent
    annotation: a majority vote, ties going to the earliest copy.
    """
    groups: Dict[str, List[Example]] = {}
    for example in examples:
        groups.setdefault(normalise_text(example.text), []).append(example)
    kept: List[Example] = []
    conflicting = 0
    for copies in groups.values():
        votes = Counter(copy.annotation for copy in copies)
        conflicting += len(votes) > 1
        # max() returns the first of equally voted copies.
        kept.append(max(copies, key=lambda copy: votes[copy.annotation]))
    return Deduplicated(kept, len(examples) - len(kept), conflicting)


def drop_overlap(splits: Dict[str, List[Example]]) -> Tuple[Dict[str, List[Example]], int]:
    """Remove from each split the texts that a later split (dev after train, test last) holds.

    RETURNS (Tuple[Dict[str, List[Example]], int]): The splits, and the examples removed.
    """
    seen: set = set()
    kept: Dict[str, List[Example]] = {}
    for name in reversed(SPLITS):
        if name in splits:
            kept[name] = [e for e in splits[name] if normalise_text(e.text) not in seen]
            seen.update(normalise_text(e.text) for e in splits[name])
    dropped = sum(len(splits[name]) - len(kept[name]) for name in kept)
    return {name: kept[name] for name in SPLITS if name in kept}, dropped


def check_ratios(ratios: Sequence[float]) -> Tuple[float, float, float]:
    """Three finite fractions (train, dev, test) summing to 1, train positive, none negative."""
    if (
        len(ratios) != 3
        or not all(isinstance(r, (int, float)) and math.isfinite(r) for r in ratios)
        or ratios[0] <= 0
        or min(ratios) < 0
        or abs(sum(ratios) - 1.0) > 1e-6
    ):
        raise ValueError(Errors.E124.format(ratios=list(ratios)))
    return (ratios[0], ratios[1], ratios[2])


def split_sizes(n: int, ratios: Sequence[float]) -> Tuple[int, int, int]:
    """(train, dev, test) sizes for ``n`` examples; see the module docstring."""
    _, r_dev, r_test = check_ratios(ratios)
    n_dev = max(1, int(n * r_dev + 0.5)) if r_dev > 0 else 0
    n_test = max(1, int(n * r_test + 0.5)) if r_test > 0 else 0
    if n - n_dev - n_test < 1:
        raise CorpusError(Errors.E125.format(n=n, ratios=list(ratios)))
    return n - n_dev - n_test, n_dev, n_test


def shuffled_split(
    examples: Sequence[Example],
    *,
    seed: int,
    task: str,
    ratios: Sequence[float],
    limit: Optional[int] = None,
) -> Dict[str, List[Example]]:
    """Shuffle, cap, cut (see the module docstring).

    RETURNS (Dict[str, List[Example]]): {split: examples} for the splits with a positive ratio.
    """
    order = list(examples)
    random.Random(f"{seed}:{task}").shuffle(order)
    if limit is not None:
        order = order[:limit]
    n_train, n_dev, _ = split_sizes(len(order), ratios)
    parts = {
        "train": order[:n_train],
        "dev": order[n_train : n_train + n_dev],
        "test": order[n_train + n_dev :],
    }
    return {name: part for name, part in parts.items() if part}
