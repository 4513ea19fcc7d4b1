"""Deterministic recognition of a bank line: merchant name and category by rules.

PLACEHOLDER (interface only): the curated merchant list and keyword rules replace this body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Recognition:
    """What the rules make of one bank line.

    ``descriptor_key`` is the normalized descriptor (processor prefixes, store numbers, city
    tails and digits removed, lower case): the model is asked about it and its answer cached by
    it. ``merchant_key`` keys a team's corrections; ``merchant`` is the display name.
    ``category`` None: no rule knew (``confidence`` 0).
    """

    descriptor_key: str
    merchant: str | None
    merchant_key: str | None
    category: str | None
    confidence: float
    rule: str | None


def recognize(
    description: str, counterparty: str | None = None, incoming: bool = False
) -> Recognition:
    """The rules' reading of one line (``incoming``: money in)."""
    key = re.sub(
        r"\s+", " ", re.sub(r"[^a-z ]", " ", (counterparty or description).lower())
    ).strip()
    return Recognition(key, key.title() or None, key or None, None, 0.0, None)
