"""A pair's evidence in words: each comparison, what it found and how much that weighs here.

"memo equal, shared by 48 candidates here: weak (+1.9); amount 2.1 % lower: typical of this
file (+4.2); 2 days later (+2.6); match probability 0.9993". The strength words follow the
match weight in bits (log2 of the Bayes factor): a weight of 10 bits makes a pair ~1,000 times
likelier to be a match than before.
"""

from __future__ import annotations

import math
from decimal import Decimal
from functools import lru_cache

import numpy as np

from bg_agents.defs.reconciliation.matcher.evidence.comparisons import COMPARISONS
from bg_agents.defs.reconciliation.matcher.rules import HUNDRED, format_pct, money

_LABEL = {"amount": "amount", "date": "date", "name": "names", "other names": "other names",
          "reference": "references", "currency": "currency"}  # fmt: skip


def strength(weight: float) -> str:
    if weight >= 8:
        return "very strong"
    if weight >= 4:
        return "strong"
    if weight >= 1:
        return "some evidence"
    if weight > -1:
        return "neutral"
    if weight > -4:
        return "against"
    return "strongly against"


def period_words(lag: int) -> str:
    """A payment's date against an invoice's period (issue date to due date)."""
    if lag == 0:
        return "paid within the invoice's period (issue to due date)"
    days = f"{abs(lag)} day{'s' if abs(lag) != 1 else ''}"
    return f"{days} after the due date" if lag > 0 else f"{days} before the issue date"


@lru_cache(maxsize=1 << 16)  # amounts recur (60.00 a thousand times): words once per pair of them
def amount_words(a: Decimal, b: Decimal, unit: str) -> str:
    """Exact: "same amount (60.00 EUR)", "2.1 % lower (97.90 vs 100.00 EUR)"."""
    if a == b:
        return f"same amount ({money(a)} {unit})"
    diff = b - a
    pct = format_pct(abs(diff) / a * HUNDRED) if a else "?"
    side = "lower" if diff < 0 else "higher"
    return f"amount {pct} % {side} ({money(b)} vs {money(a)} {unit})"


def describe(
    gamma: list[int],
    weights: list[float],
    tf: list[float],
    candidates_total: int,
    amount_text: str | None,
    probability: float | None,
    date_text: str | None = None,
) -> str:
    """One pair: its probability (or, alone, its total weight), then the comparisons that carry
    evidence, strongest first. (Plain lists: explanations are built for every pair shown.)"""
    parts: list[tuple[float, str]] = []
    for c, level in enumerate(gamma):
        if level < 0:
            continue
        weight = weights[c]
        shared = 0
        if tf[c] == tf[c] and candidates_total:  # not NaN: a term frequency applies
            shared = max(1, round(tf[c] * candidates_total))
        text = (amount_text if c == 0 else date_text if c == 1 else None) or None
        parts.append((weight, _part(c, level, shared, round(weight, 1), text)))
    parts.sort(key=lambda p: -abs(p[0]))
    body = "; ".join(text for _, text in parts)
    if probability is None:
        return f"evidence weight {sum(weights):+.1f}: {body}"
    # Rounded down: 0.99497 must not read as the 0.995 an automatic link needs.
    return f"match probability {math.floor(probability * 10_000) / 10_000:.4f}: {body}"


class Explanations:
    """:func:`describe` for many pairs at once (rows of ``gamma``, ``weights``, ``tf``): what
    is per value rather than per pair (term-frequency counts, rounded weights, the order of the
    parts) is worked out with arrays, so the text of each pair shown is a few lookups."""

    def __init__(
        self, gamma: np.ndarray, weights: np.ndarray, tf: np.ndarray, candidates_total: int
    ) -> None:
        shared = np.zeros(gamma.shape, np.int64)
        applies = ~np.isnan(tf)
        if candidates_total:
            # round() of a float is round-half-even, as rint is
            shared[applies] = np.maximum(1, np.rint(tf[applies] * candidates_total))
        rounded = np.empty(weights.shape)
        for c in range(weights.shape[1]):
            values, at = np.unique(weights[:, c], return_inverse=True)
            # Python's round (correctly rounded in decimal), on each distinct weight once
            rounded[:, c] = np.array([round(w, 1) for w in values.tolist()])[at.reshape(-1)]
        # Strongest first, ties in comparison order (a stable sort, as describe's).
        key = np.where(gamma >= 0, -np.abs(weights), np.inf)
        order = np.argsort(key, axis=1, kind="stable")
        # Comparisons without evidence sort last: each row's order cut to those with evidence.
        counts = (gamma >= 0).sum(axis=1).tolist()
        self.order = [o[:k] for o, k in zip(order.tolist(), counts, strict=True)]
        self.gamma = gamma.tolist()
        self.shared = shared.tolist()
        self.rounded = rounded.tolist()

    def text(
        self, row: int, amount_text: str | None, probability: float, date_text: str | None = None
    ) -> str:
        """The same words as :func:`describe` for pair ``row``."""
        gamma, shared, rounded = self.gamma[row], self.shared[row], self.rounded[row]
        own = (amount_text or None, date_text or None)
        body = "; ".join([_part(c, gamma[c], shared[c], rounded[c], own[c] if c < 2 else None)
                          for c in self.order[row]])  # fmt: skip
        return f"match probability {math.floor(probability * 10_000) / 10_000:.4f}: {body}"


@lru_cache(maxsize=1 << 14)
def _part(c: int, level: int, shared: int, weight: float, own_text: str | None) -> str:
    """One comparison in words (cached: most pairs repeat the same few)."""
    comparison = COMPARISONS[c]
    label = comparison.levels[level]
    if own_text:
        text = own_text
    elif comparison.name == "date":
        text = label
    else:
        text = f"{_LABEL[comparison.name]} {label}"
    if shared:
        text += ", rare in this data" if shared <= 1 else f", as {shared} candidates are"
    return f"{text}: {strength(weight)} ({weight:+.1f})"
