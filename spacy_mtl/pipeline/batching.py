"""Cutting a batch into sub-batches of similar length, so that the encoder, which
pads every call to its longest doc, pads little."""

from typing import List, Sequence


def group_by_length(lengths: Sequence[int], max_items: int) -> List[List[int]]:
    """Indices into `lengths`, shortest first, cut into groups whose padded size (the
    group's size times its longest length) is at most `max_items`; an item longer
    than that forms a group of its own. Equal lengths keep their order.

    lengths (Sequence[int]): one length per item.
    max_items (int): the most padded items a group may hold.
    RETURNS (List[List[int]]): the groups, in order of length.
    """
    groups: List[List[int]] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        # Sorted ascending, so the item being added is the group's longest.
        if groups and lengths[i] * (len(groups[-1]) + 1) <= max_items:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
