"""0/1 knapsack over memory: which actions to run in-process for the largest gain.

Weights are whole MB when the capacity allows (exact), otherwise rounded up to a unit
that keeps the table at MAX_CELLS columns (the chosen set still fits, since rounding up
only over-counts memory). Vectorised with numpy: O(n * MAX_CELLS) simple operations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

# Columns of the dynamic-programming table at most.
MAX_CELLS = 65536


def best_subset(items: Mapping[str, tuple[float, float]], capacity: float) -> set[str]:
    """Names whose (weight MB, value) pairs give the largest total value within `capacity`.

    Items of non-positive value are never chosen."""
    useful = {name: wv for name, wv in items.items() if wv[1] > 0 and wv[0] <= capacity}
    if not useful or capacity <= 0:
        return set()
    unit = 1.0 if capacity <= MAX_CELLS else capacity / MAX_CELLS
    cells = int(math.floor(capacity / unit + 1e-9))
    names = sorted(useful)
    weights = [max(0, math.ceil(useful[n][0] / unit - 1e-9)) for n in names]
    best = np.zeros(cells + 1)
    keep = np.zeros((len(names), cells + 1), dtype=bool)
    for i, name in enumerate(names):
        weight, value = weights[i], useful[name][1]
        if weight > cells:
            continue
        candidate = np.full(cells + 1, -np.inf)
        candidate[weight:] = best[: cells + 1 - weight] + value
        better = candidate > best + 1e-12
        keep[i] = better
        best = np.where(better, candidate, best)
    chosen, c = set(), cells
    for i in range(len(names) - 1, -1, -1):
        if keep[i, c]:
            chosen.add(names[i])
            c -= weights[i]
    return chosen
