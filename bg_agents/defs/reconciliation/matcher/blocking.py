"""Candidate generation: which (record, candidate) pairs are worth scoring at all.

Scoring every record against every candidate is the seed's cost (n x m). Instead, three indexes
each return the few candidates that could possibly pair, so the work grows with the data, not
with its square:

* amounts: candidates sorted by (group, currency, date bucket, amount); each record asks for
  narrow amount bands (equal within tolerance, each VAT rate, fee or surcharge, base amounts
  with an FX mark-up) in the date buckets its window touches. Date buckets are one window wide,
  so a window touches at most two of them (plus the record's own period, for invoices).
* references: identifier tokens ("RE-2025-0042") a record has and a bank text quotes.
* names: party-name words shared within a longer window, to find partial and combined payments
  whose amounts match no band. Words most candidates share are skipped: they say nothing.

Amounts here are float cents, widened by a cent on each side: blocking only has to be generous.
Every decision is then made on exact Decimals by scoring.py.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from bg_agents.defs.reconciliation.matcher.config import MatcherConfig
from bg_agents.defs.reconciliation.matcher.rules import (
    Side,
    normalize_name,
    quoted_amounts,
    reference_tokens,
)

CENT_BITS = 41
MAX_CENTS = (1 << CENT_BITS) - 1
BASE = "<base>"  # the pseudo-currency under which base amounts are indexed
_STOP = frozenset(
    {"the", "and", "for", "von", "und", "der", "die", "les", "des", "payment", "transfer"}
    | {"sepa", "credit", "debit", "card", "invoice", "rechnung", "facture", "payout", "from"}
)


@dataclass
class Prepared:
    """Columns of one table the indexes need, computed once."""

    sides: Sequence[Side]
    group: np.ndarray  # int codes
    start: np.ndarray  # date ordinals
    end: np.ndarray  # date_until (or date) ordinals
    names: list[tuple[str, ...]]  # normalized, non-empty, distinct


def prepare(sides: Sequence[Side], groups: dict[str, int]) -> Prepared:
    n = len(sides)
    group = np.fromiter((groups.setdefault(s.group, len(groups)) for s in sides), np.int64, n)
    start = np.fromiter((s.date.toordinal() for s in sides), np.int64, n)
    end = np.fromiter(((s.date_until or s.date).toordinal() for s in sides), np.int64, n)
    names = [tuple(dict.fromkeys(x for x in map(normalize_name, s.names) if x)) for s in sides]
    return Prepared(sides, group, start, end, names)


def _cents(value: object) -> float:
    return abs(float(value)) * 100  # type: ignore[arg-type]


class AmountIndex:
    """Candidates keyed by (group, currency, date bucket) and amount in cents."""

    def __init__(self, right: Prepared, width: int, currencies: dict[str, int]) -> None:
        self.width = width
        self.currencies = currencies
        cand, group, cur, day, cents = [], [], [], [], []

        def add(i: int, currency: str, amount: object) -> None:
            cand.append(i)
            group.append(right.group[i])
            cur.append(currencies.setdefault(currency, len(currencies)))
            day.append(right.start[i])
            cents.append(_cents(amount))

        for i, side in enumerate(right.sides):
            add(i, side.currency, side.amount)
            if side.base_amount is not None:
                add(i, BASE, side.base_amount)
            for name in side.names:  # "SHOP USD 12.34": the original amount of a card payment
                for currency, amount in quoted_amounts(name):
                    if currency != side.currency:
                        add(i, currency, amount)
        bucket = self._bucket(np.array(group, np.int64), np.array(cur, np.int64),
                              np.array(day, np.int64))  # fmt: skip
        self.buckets = np.unique(bucket)
        rank = np.searchsorted(self.buckets, bucket)
        cents_arr = np.clip(np.round(np.array(cents, np.float64)), 0, MAX_CENTS).astype(np.int64)
        keys = (rank << CENT_BITS) | cents_arr
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.cand = np.array(cand, np.int64)[order]

    def _bucket(self, group: np.ndarray, cur: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (group * 4096 + cur) * (1 << 22) + np.floor_divide(day, self.width)

    def lookup(
        self,
        rec: np.ndarray,
        group: np.ndarray,
        cur: np.ndarray,
        day: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(record, candidate) index pairs with the candidate's amount in [lo, hi] cents."""
        if not len(self.buckets) or not len(rec):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        bucket = self._bucket(group, cur, day)
        rank = np.searchsorted(self.buckets, bucket)
        found = self.buckets[np.minimum(rank, len(self.buckets) - 1)] == bucket
        rank_ok = rank[found]
        lo_key = (rank_ok << CENT_BITS) | np.clip(np.floor(lo[found]) - 1, 0, MAX_CENTS).astype(
            np.int64
        )
        hi_key = (rank_ok << CENT_BITS) | np.clip(np.ceil(hi[found]) + 1, 0, MAX_CENTS).astype(
            np.int64
        )
        first = np.searchsorted(self.keys, lo_key, "left")
        last = np.searchsorted(self.keys, hi_key, "right")
        counts = np.maximum(last - first, 0)
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        recs = np.repeat(rec[found], counts)
        offsets = np.repeat(first - np.cumsum(counts) + counts, counts)
        return recs, self.cand[offsets + np.arange(total)]


class Band(NamedTuple):
    """Records asking for candidates whose amount (in ``currency``, or BASE) lies in [lo, hi]."""

    rec: np.ndarray
    currency: str  # "cur": each record's own currency; BASE: base amounts
    lo: np.ndarray  # cents
    hi: np.ndarray
    window: int  # days
    explained: bool = True  # a difference that only the same party's names make plausible


def _bands(left: Prepared, config: MatcherConfig) -> list[Band]:
    """The amount bands each record searches.

    Equal amounts are searched over twice the rules' window: up to there the date still earns
    score, so a pair just outside the window is worth a suggestion. Explained differences (VAT,
    fees, FX) are weaker evidence and are searched within the window only.
    """
    rules = config.rules
    sides = left.sides
    n = len(sides)
    idx = np.arange(n, dtype=np.int64)
    amount = np.fromiter((_cents(s.amount) for s in sides), np.float64, n)
    pct, abs_c = float(rules.amount_pct), float(rules.amount_abs) * 100
    tol = np.maximum(amount * pct, abs_c)
    fee = amount * float(config.fee_pct) + float(config.fee_abs) * 100
    window = rules.date_days
    point = np.fromiter((s.date_until is None for s in sides), bool, n)
    bands: list[Band] = [
        Band(idx, "cur", amount - tol, amount + tol, 2 * window, explained=False),
        # A card adds its surcharge to a purchase; a payment of an invoice arrives net of fees.
        Band(idx[point], "cur", amount[point], amount[point] + fee[point], window),
        Band(idx[~point], "cur", amount[~point] - fee[~point], amount[~point], window),
    ]
    if config.vat_rates:  # net receipts (invoices state their gross amount): tax, VAT or a tip
        low, high = 1 + float(min(config.vat_rates)), 1 + float(max(config.vat_rates))
        net = amount[point]
        bands.append(Band(idx[point], "cur", net * low - abs_c, net * high + abs_c, window))
    has_base = np.fromiter((s.base_amount is not None for s in sides), bool, n)
    if has_base.any():
        base = np.array([_cents(s.base_amount) for s in sides if s.base_amount is not None])
        spread = np.maximum(base * float(config.fx_markup), abs_c) + np.maximum(base * pct, abs_c)
        bands.append(Band(idx[has_base], BASE, base - spread, base + spread, window))
    return bands


WORDS = 6  # name words per side compared when filtering explained-difference pairs


def _word_ids(side: Prepared, vocabulary: dict[str, int], pad: int) -> np.ndarray:
    """Up to WORDS ids of each row's name words (padding differs per side, so never equal)."""
    out = np.full((len(side.sides), WORDS), pad, np.int64)
    for i, names in enumerate(side.names):
        words = sorted(_name_words(names))[:WORDS]
        out[i, : len(words)] = [vocabulary.setdefault(w, len(vocabulary)) for w in words]
    return out


def _sharing_a_word(
    rec: np.ndarray, cand: np.ndarray, left_words: np.ndarray, right_words: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs whose names share a word; in chunks, so memory stays flat."""
    keep = np.zeros(len(rec), bool)
    step = 500_000
    for a in range(0, len(rec), step):
        lw, rw = left_words[rec[a : a + step]], right_words[cand[a : a + step]]
        keep[a : a + step] = (lw[:, :, None] == rw[:, None, :]).any(axis=(1, 2))
    return rec[keep], cand[keep]


def amount_pairs(
    left: Prepared, right: Prepared, config: MatcherConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs whose amounts fall in a band and whose dates lie within the band's window."""
    width = 2 * config.rules.date_days + 1  # date buckets: a window touches at most 3
    currencies: dict[str, int] = {}
    index = AmountIndex(right, width, currencies)
    rec_cur = np.fromiter(
        (currencies.get(s.currency, -1) for s in left.sides), np.int64, len(left.sides)
    )
    base_code = currencies.get(BASE, -1)
    out_rec, out_cand = [], []
    vocabulary: dict[str, int] = {}
    left_words = _word_ids(left, vocabulary, -1)
    right_words = _word_ids(right, vocabulary, -2)
    for band in _bands(left, config):
        rec, cur_kind, lo, hi, window, explained = band
        cur = rec_cur[rec] if cur_kind == "cur" else np.full(len(rec), base_code, np.int64)
        keep = cur >= 0
        rec, cur, lo, hi = rec[keep], cur[keep], lo[keep], hi[keep]
        first = np.floor_divide(left.start[rec] - window, width)
        span = np.floor_divide(left.end[rec] + window, width) - first
        found_rec, found_cand = [], []
        for k in range(int(span.max()) + 1 if len(span) else 0):
            m = span >= k
            day = (first[m] + k) * width
            r, c = index.lookup(rec[m], left.group[rec[m]], cur[m], day, lo[m], hi[m])
            found_rec.append(r)
            found_cand.append(c)
        if found_rec:
            r, c = np.concatenate(found_rec), np.concatenate(found_cand)
            day = right.start[c]
            inside = (day >= left.start[r] - window) & (day <= left.end[r] + window)
            r, c = r[inside], c[inside]
            if explained:  # a difference is only explained between the same party's names
                r, c = _sharing_a_word(r, c, left_words, right_words)
            out_rec.append(r)
            out_cand.append(c)
    if not out_rec:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_rec), np.concatenate(out_cand)


class _TokenIndex:
    """(group, token) -> candidates sorted by date, for windowed lookups."""

    def __init__(self) -> None:
        self.days: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.cands: dict[tuple[int, str], list[int]] = defaultdict(list)

    def add(self, group: int, token: str, day: int, cand: int) -> None:
        self.days[(group, token)].append(day)
        self.cands[(group, token)].append(cand)

    def freeze(self) -> None:
        for key, days in self.days.items():
            order = sorted(range(len(days)), key=days.__getitem__)
            self.days[key] = [days[i] for i in order]
            self.cands[key] = [self.cands[key][i] for i in order]

    def window(self, group: int, token: str, lo: int, hi: int) -> list[int]:
        days = self.days.get((group, token))
        if not days:
            return []
        return self.cands[(group, token)][
            bisect.bisect_left(days, lo) : bisect.bisect_right(days, hi)
        ]


def _name_words(names: tuple[str, ...]) -> set[str]:
    return {w for name in names for w in name.split() if len(w) >= 3 and w not in _STOP}


def text_pairs(
    left: Prepared, right: Prepared, config: MatcherConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs sharing a reference token, or (for periods) a rare party-name word, within the
    long window."""
    refs, words = _TokenIndex(), _TokenIndex()
    want_refs = any(s.reference for s in left.sides)
    want_words = any(s.date_until is not None for s in left.sides)
    if not (want_refs or want_words):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    for i, side in enumerate(right.sides):
        g, day = int(right.group[i]), int(right.start[i])
        for token in set().union(
            *(reference_tokens(t) for t in (*side.names, side.reference or ""))
        ):
            refs.add(g, token, day, i)
        for word in _name_words(right.names[i]):
            words.add(g, word, day, i)
    refs.freeze()
    words.freeze()
    window, late = config.rules.date_days, config.late_days
    out_rec: list[int] = []
    out_cand: list[int] = []
    for i, side in enumerate(left.sides):
        g = int(left.group[i])
        lo, hi = int(left.start[i]) - window, int(left.end[i]) + max(late, window)
        found: set[int] = set()
        if side.reference:
            ref_hi = int(left.end[i]) + max(config.reference_days, late, window)
            for token in reference_tokens(side.reference):
                found.update(refs.window(g, token, lo, ref_hi))
        # A dated record (a receipt) pairs by amount; only a period (an invoice) is paid late,
        # in parts or together with others, so only periods search by shared name words.
        for word in _name_words(left.names[i]) if side.date_until is not None else ():
            hits = words.window(g, word, lo, hi)
            if len(hits) <= config.max_name_block:
                found.update(hits)
        out_rec.extend([i] * len(found))
        out_cand.extend(found)
    return np.array(out_rec, np.int64), np.array(out_cand, np.int64)


def candidate_pairs(
    left: Prepared, right: Prepared, config: MatcherConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (record, candidate) index pairs from all three indexes."""
    r1, c1 = amount_pairs(left, right, config)
    r2, c2 = text_pairs(left, right, config)
    rec = np.concatenate([r1, r2])
    cand = np.concatenate([c1, c2])
    if not len(rec):
        return rec, cand
    same_group = left.group[rec] == right.group[cand]
    key = np.unique(rec[same_group] * max(1, len(right.sides)) + cand[same_group])
    return key // max(1, len(right.sides)), key % max(1, len(right.sides))
