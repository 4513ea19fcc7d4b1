"""Comparison levels of (record, candidate) pairs: what agrees, and how well, as small integers.

Each comparison puts every pair into one level (``-1``: nothing to compare, e.g. one side has no
name; such a comparison adds no evidence either way). The model (model.py) learns how much each
level says in the data at hand. Levels are ordered from the strongest agreement down; labels are
what an explanation shows.

Two levels also carry a term frequency (TF): the share of candidates that hold the same amount
or the same name. An equal amount of 60.00 that 1,400 bank rows share, or the memo "payment",
is weak evidence; an equal 1,234.56 or a rare memo is strong. ``tf`` holds that share for the
pairs in such a level (NaN elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bg_agents.defs.reconciliation.matcher.evidence.features import PREFIX_BYTES, Features


@dataclass(frozen=True)
class Comparison:
    name: str
    levels: tuple[str, ...]
    tf_level: int | None = None  # the level whose weight is adjusted by term frequency


AMOUNT_EDGES = (0.01, 0.03, 0.10, 0.30)
AMOUNT = Comparison(
    "amount",
    (
        "equal",
        "a VAT rate apart",
        "up to 1 % lower",
        "up to 1 % higher",
        "1-3 % lower",
        "1-3 % higher",
        "3-10 % lower",
        "3-10 % higher",
        "10-30 % lower",
        "10-30 % higher",
        "more than 30 % apart",
    ),
    tf_level=0,
)
DATE_EDGES = (-8, -2, -1, 0, 1, 2, 3, 5, 7, 10, 14, 21, 30, 45)  # lag <= edge, in order
DATE = Comparison(
    "date",
    (
        "8+ days earlier",
        "2-7 days earlier",
        "1 day earlier",
        "same day",
        "1 day later",
        "2 days later",
        "3 days later",
        "4-5 days later",
        "6-7 days later",
        "8-10 days later",
        "11-14 days later",
        "15-21 days later",
        "22-30 days later",
        "31-45 days later",
        "46+ days later",
    ),
)
NAME_LEVELS = (
    "equal",
    "one cut short of the other",
    "all words of one in the other",
    "most words shared",
    "a rare word shared",
    "one abbreviates the other",
    "a common word shared",
    "nothing in common",
)
# The first names of both sides (a receipt's vendor and a bank row's counterparty; a memo and a
# memo), and the best agreement among all other pairs of their names (aliases, descriptions,
# counterparties beside memos): two comparisons, so a memo that agrees and a party that agrees
# are two pieces of evidence, not one.
NAME = Comparison("name", NAME_LEVELS, tf_level=0)
OTHER_NAMES = Comparison("other names", NAME_LEVELS, tf_level=0)
REFERENCE = Comparison(
    "reference",
    (
        "the record's reference quoted",
        "an identifier shared",
        "identifiers differ",
    ),
    tf_level=1,
)
CURRENCY = Comparison("currency", ("same", "different"))
COMPARISONS = (AMOUNT, DATE, NAME, OTHER_NAMES, REFERENCE, CURRENCY)
AMOUNT_AT, DATE_AT, NAME_AT, OTHER_AT, REFERENCE_AT, CURRENCY_AT = range(len(COMPARISONS))

MIN_PREFIX = 6  # a cut-off name must keep this many characters to count as "cut short"
RARE_SHARE = 0.002  # a word at most this share of candidates hold (or 3) is rare
CHUNK = 65_536  # pairs compared at once (keeps the pairwise id arrays small, in cache)


@dataclass
class Compared:
    gamma: np.ndarray  # (pairs, comparisons) int8 levels, -1 = no evidence
    tf: np.ndarray  # (pairs, comparisons) float term frequency of the agreed value, or NaN
    relative: np.ndarray  # (candidate - record) / record amount, NaN when not comparable
    lag: np.ndarray  # days from the record (its period) to the candidate


def _lag(left: Features, right: Features, rec: np.ndarray, cand: np.ndarray) -> np.ndarray:
    day = right.start[cand]
    after = day - left.end[rec]
    before = day - left.start[rec]
    return np.where(after > 0, after, np.where(before < 0, before, 0))


def _amounts(
    left: Features, right: Features, rec: np.ndarray, cand: np.ndarray, vat_rates: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(level, relative difference, same currency) per pair."""
    same = left.currency[rec] == right.currency[cand]
    a = np.where(same, left.cents[rec], left.base_cents[rec])
    b = np.where(same, right.cents[cand], right.base_cents[cand])
    level = np.full(len(rec), -1, np.int8)
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0)
    rel = np.full(len(rec), np.nan)
    rel[ok] = (b[ok] - a[ok]) / a[ok]
    diff = np.abs(b - a)
    mag = np.abs(rel)
    lower = rel < 0
    level[ok] = len(AMOUNT.levels) - 1
    for k, edge in reversed(list(enumerate(AMOUNT_EDGES))):
        inside = ok & (mag <= edge)
        level[inside] = 2 + 2 * k + (~lower[inside]).astype(np.int8)
    point = left.start[rec] == left.end[rec]  # a receipt may show the net amount
    if len(vat_rates):
        low, high = 1 + vat_rates.min(), 1 + vat_rates.max()
        maybe = np.flatnonzero(ok & point & same & (b >= a * low - 1) & (b <= a * high + 1))
        gross = a[maybe, None] * (1 + vat_rates[None, :])
        near = np.abs(b[maybe, None] - gross) <= np.maximum(1.0, gross * 0.001)
        level[maybe[near.any(axis=1)]] = 1
    level[ok & (diff < 1.0)] = 0  # within a cent: rounding
    return level, rel, same


def _term_frequency(values_right: np.ndarray, query: np.ndarray, candidates: int) -> np.ndarray:
    """Share of the candidates holding each queried value (``values_right``: every value a
    candidate holds, once per candidate)."""
    uniq, counts = np.unique(values_right, return_counts=True)
    at = np.clip(np.searchsorted(uniq, query), 0, max(0, len(uniq) - 1))
    found = len(uniq) > 0
    hit = (uniq[at] == query) if found else np.zeros(len(query), bool)
    return np.where(hit, counts[at] if found else 0, 1) / max(1, candidates)


def _is_abbreviation(short: str, long: str) -> bool:
    """ "fbl" of "fiberlink", "vpr" of "vistaprint", "qbooks" of "quickbooks": the same first
    letter, and the shorter word's letters in order in the longer one."""
    if len(short) > len(long):
        short, long = long, short
    if len(short) < 2 or short == long or short[0] != long[0]:
        return False
    rest = iter(long)
    return all(ch in rest for ch in short)


class Words:
    """The vocabulary's words by id, with each word's first letter and length as arrays."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.initial = np.fromiter((ord(w[0]) if w else 0 for w in words), np.int64, len(words))
        self.length = np.fromiter(map(len, words), np.int64, len(words))


def abbreviates(left_ids: np.ndarray, right_ids: np.ndarray, vocabulary: Words) -> np.ndarray:
    """Per pair of first-word ids, whether one word abbreviates the other (only pairs with the
    same first letter and different lengths are checked, each distinct pair once)."""
    out = np.zeros(len(left_ids), bool)
    valid = (left_ids >= 0) & (right_ids >= 0)
    if valid.any():
        lw, rw = np.maximum(left_ids, 0), np.maximum(right_ids, 0)
        valid &= vocabulary.initial[lw] == vocabulary.initial[rw]
        valid &= vocabulary.length[lw] != vocabulary.length[rw]
    if not valid.any():
        return out
    words = vocabulary.words
    width = len(words) + 1
    keys, inverse = np.unique(left_ids[valid] * width + right_ids[valid], return_inverse=True)
    found = np.array([_is_abbreviation(words[k // width], words[k % width]) for k in keys.tolist()])
    out[valid] = found[inverse.reshape(-1)]
    return out


def _name_pair(
    left: Features,
    right: Features,
    r: np.ndarray,
    c: np.ndarray,
    a: int,
    b: int,
    rare: np.ndarray,
    words: Words,
) -> np.ndarray:
    """Level of name ``a`` of each record against name ``b`` of its candidate."""
    l_id, r_id = left.name_ids[r, a], right.name_ids[c, b]
    has = (l_id >= 0) & (r_id >= 0)
    # Cut short: the shorter name starts the longer one (a bank cut the memo or the party).
    l_len, r_len = left.prefix_len[r, a], right.prefix_len[c, b]
    short = np.minimum(l_len, r_len)
    same_bytes = left.prefix[r, a] == right.prefix[c, b]
    within = np.arange(PREFIX_BYTES)[None, :] < short[:, None]
    prefix = (short >= MIN_PREFIX) & (same_bytes | ~within).all(axis=1)
    prefix &= (l_len != r_len) | (short == PREFIX_BYTES)
    lw, rw = left.name_words[r, a], right.name_words[c, b]
    common = (lw[:, :, None] == rw[:, None, :]).any(axis=2)
    inter = common.sum(axis=1)
    size_l, size_r = (lw >= 0).sum(axis=1), (rw >= 0).sum(axis=1)
    smaller = np.minimum(size_l, size_r)
    union = size_l + size_r - inter
    rare_shared = (common & rare[np.maximum(lw, 0)] & (lw >= 0)).any(axis=1)
    level = np.full(len(r), 7, np.int8)
    level[inter > 0] = 6
    weak = has & (inter == 0)
    if weak.any():
        level[weak] = np.where(
            abbreviates(left.first_word[r[weak], a], right.first_word[c[weak], b], words), 5, 7
        )
    level[rare_shared] = 4
    level[(union > 0) & (inter * 2 >= union)] = 3
    level[(smaller >= 2) & (inter == smaller)] = 2
    level[prefix] = 1
    level[l_id == r_id] = 0
    level[~has] = -1
    return level


def _slot_levels(
    left: Features,
    right: Features,
    rec: np.ndarray,
    cand: np.ndarray,
    a: int,
    b: int,
    rare: np.ndarray,
    words: Words,
) -> np.ndarray:
    """:func:`_name_pair` for every pair, worked out once per distinct pair of names: the level
    depends on the two names alone, and a party or memo recurs across many pairs (a third to
    three quarters of them repeat another's pair of names)."""
    out = np.full(len(rec), -1, np.int8)
    l_id, r_id = left.name_ids[rec, a], right.name_ids[cand, b]
    rows = np.flatnonzero((l_id >= 0) & (r_id >= 0))
    if not len(rows):
        return out
    width = int(r_id.max()) + 1
    # Distinct pairs of names by an unstable sort (np.unique's return_index needs a stable
    # one, twice as slow here): any pair holding the two names stands for all of them.
    key = l_id[rows] * width + r_id[rows]
    order = np.argsort(key)
    ranked = key[order]
    starts = np.empty(len(ranked), bool)
    starts[0] = True
    np.not_equal(ranked[1:], ranked[:-1], out=starts[1:])
    inverse = np.empty(len(key), np.int64)
    inverse[order] = np.cumsum(starts) - 1
    reps = rows[order[starts]]
    levels = np.empty(len(reps), np.int8)
    for lo in range(0, len(reps), CHUNK):
        at = reps[lo : lo + CHUNK]
        levels[lo : lo + CHUNK] = _name_pair(left, right, rec[at], cand[at], a, b, rare, words)
    out[rows] = levels[inverse]
    return out


def _names(
    left: Features,
    right: Features,
    rec: np.ndarray,
    cand: np.ndarray,
    rare: np.ndarray,
    words: Words,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(name level, other-names level, id of the equal name or -1 for each) per pair."""
    n = len(rec)
    k = left.name_ids.shape[1]
    # Only the name slots some row fills (most rows have one or two names).
    filled_l = [a for a in range(k) if (left.name_ids[:, a] >= 0).any()]
    filled_r = [b for b in range(k) if (right.name_ids[:, b] >= 0).any()]
    slots = [(a, b) for a in filled_l for b in filled_r if (a, b) != (0, 0)]
    first = _slot_levels(left, right, rec, cand, 0, 0, rare, words)
    first_id = np.where(first == 0, left.name_ids[rec, 0], -1)
    best = np.full(n, 99, np.int8)
    best_id = np.full(n, -1, np.int64)
    for a, b in slots:
        lv = _slot_levels(left, right, rec, cand, a, b, rare, words)
        better = (lv >= 0) & (lv < best)
        best[better] = lv[better]
        equal = better & (lv == 0)
        best_id[equal] = left.name_ids[rec[equal], a]
    other = np.where(best == 99, -1, best).astype(np.int8)
    return first, other, first_id, best_id


def _references(
    left: Features, right: Features, rec: np.ndarray, cand: np.ndarray, ref_share: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(level, share of candidates holding the rarest shared identifier, or NaN) per pair.

    Only pairs where both sides hold an identifier have a level (a row's own reference is one of
    its identifiers): those are compared, the rest keep -1 without being looked at.
    """
    n = len(rec)
    level = np.full(n, -1, np.int8)
    share = np.full(n, np.nan)
    rows = np.flatnonzero((left.ref_pad[rec, 0] >= 0) & (right.ref_pad[cand, 0] >= 0))
    for lo in range(0, len(rows), CHUNK):
        at = rows[lo : lo + CHUNK]
        r, c = rec[at], cand[at]
        lr, rr, own = left.ref_pad[r], right.ref_pad[c], left.own_pad[r]
        equal = (lr[:, :, None] == rr[:, None, :]).any(axis=2)
        shared = equal.any(axis=1)
        quoted = (own[:, :, None] == rr[:, None, :]).any(axis=(1, 2))
        lv = np.full(len(r), 2, np.int8)
        lv[shared] = 1
        lv[quoted] = 0
        level[at] = lv
        held = ref_share[np.clip(lr, 0, len(ref_share) - 1)] if len(ref_share) else 1.0
        rarest = np.where(equal, held, np.inf).min(axis=1)
        share[at] = np.where(shared & ~quoted, rarest, np.nan)
    return level, share


def compare(
    left: Features,
    right: Features,
    rec: np.ndarray,
    cand: np.ndarray,
    vat_rates: np.ndarray,
) -> Compared:
    """Levels of every comparison for the pairs (rec[k], cand[k])."""
    words = Words(list(left.vocabulary.words))  # by id: ids were given in insertion order
    n = len(rec)
    gamma = np.full((n, len(COMPARISONS)), -1, np.int8)
    tf = np.full((n, len(COMPARISONS)), np.nan)
    amount, rel, same = _amounts(left, right, rec, cand, vat_rates)
    gamma[:, AMOUNT_AT] = amount
    lag = _lag(left, right, rec, cand)
    gamma[:, DATE_AT] = np.searchsorted(np.array(DATE_EDGES), lag, side="left").astype(np.int8)
    candidates = max(1, right.n)
    word_df = np.asarray((right.words > 0).sum(axis=0)).ravel()
    rare = word_df <= max(3, RARE_SHARE * right.n)
    first, other, first_id, other_id = _names(left, right, rec, cand, rare, words)
    gamma[:, NAME_AT], gamma[:, OTHER_AT] = first, other
    ref_share = np.asarray((right.refs > 0).sum(axis=0)).ravel() / candidates
    gamma[:, REFERENCE_AT], tf[:, REFERENCE_AT] = _references(left, right, rec, cand, ref_share)
    gamma[:, CURRENCY_AT] = np.where(same, 0, 1)

    # Term frequencies: equal amounts (same currency) and equal names, among the candidates.
    eq_amount = amount == 0
    if eq_amount.any():
        key_right = right.currency * (1 << 42) + np.round(right.cents).astype(np.int64)
        key = left.currency[rec] * (1 << 42) + np.round(left.cents[rec]).astype(np.int64)
        tf[eq_amount, AMOUNT_AT] = _term_frequency(key_right, key[eq_amount], right.n)
    all_names = right.name_ids.ravel()
    for at, ids in ((NAME_AT, first_id), (OTHER_AT, other_id)):
        equal = ids >= 0
        if equal.any():
            tf[equal, at] = _term_frequency(all_names, ids[equal], right.n)
    return Compared(gamma, tf, rel, lag)
