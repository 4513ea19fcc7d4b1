"""Integer keys and sort orders over columns of numpy arrays, shared by features and blocking.

``np.lexsort`` over several columns is the matcher's most frequent sort and a slow one (it sorts
once per column); packing the columns into one int64 key and sorting that once gives the very
same order, several times faster.
"""

from __future__ import annotations

import numpy as np


def row_key(columns: list[np.ndarray]) -> np.ndarray:
    """One non-negative int64 per row, equal exactly when all columns are, and ordered as the
    rows are lexicographically (first column first): the columns combined by mixed radix over
    their ranges (compacted to ranks only when the product would overflow)."""
    key = np.zeros(len(columns[0]), np.int64)
    span = 1
    for col in columns:
        col = col.astype(np.int64)
        low = int(col.min(initial=0))
        radix = int(col.max(initial=0)) - low + 1
        if span * radix >= 1 << 62:
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
            span = int(key.max(initial=0)) + 1
        key = key * radix + (col - low)
        span *= radix
    return key


def descending(values: np.ndarray) -> np.ndarray:
    """Integers ordered as ``-values`` for float32 values: a float's bits, read as an integer,
    order non-negative floats as the floats (flipped for negative ones); -0.0 counts as 0.0."""
    bits = (np.asarray(values, np.float32) + np.float32(0.0)).view(np.int32).astype(np.int64)
    return -np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)


def lexorder(columns: list[np.ndarray]) -> np.ndarray:
    """The order of ``np.lexsort(columns[::-1])`` (first column first; ties keep their input
    order), by one stable sort of a packed key."""
    if not len(columns[0]):
        return np.zeros(0, np.int64)
    return np.argsort(row_key(columns), kind="stable")


def group_rank(keys: np.ndarray) -> np.ndarray:
    """For sorted ``keys``, each entry's position among the entries with its key (0, 1, ...):
    ``np.arange(n) - np.searchsorted(keys, keys)`` in one pass instead of a search per entry."""
    n = len(keys)
    if not n:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return np.arange(n) - np.repeat(starts, np.diff(np.append(starts, n)))
