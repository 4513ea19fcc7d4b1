"""Which (record, candidate) pairs are compared: a few per record, found by distinctive keys.

Blocking on "amount within the tolerance and date within the window" grows with the window: a
3-week window and a 15 % tolerance put thousands of rows in reach of a common amount (72 million
pairs on one real-world-style file). Here each rule returns at most a fixed number of candidates
per record, so the number of pairs grows with the records, not with any tolerance:

* equal amount, nearest in time: candidates of the same group, currency and amount in cents,
  the closest by date (``exact_before`` earlier, ``exact_after`` later);
* near amount, close in time: within ``near_weeks`` weeks of the record, the candidates whose
  amounts are nearest to the record's (by ratio, up to ``near_ratio``), in the record's currency
  and, where both sides know one, in base amounts (an FX pair);
* shared rare tokens: each record searches by its ``token_rarest`` rarest words and identifier
  tokens that at most ``token_df_max`` candidates hold; the best ``token_top`` by rarity;
* same name or word, similar amount, nearest later: for each of the record's first ``names``
  names (their first letters, so a name cut short still counts) and ``words`` rarest words, however
  common, the nearest later candidate in the record's amount bin, on two staggered bin grids of
  each width in ``key_bins``: a party paid daily, or the memo "rent", is told apart by amount and
  date, which no tolerance could do.

Every rule also requires the same group and a date inside [start - window_before, end +
window_after]. ``Blocking.max_per_record`` bounds the pairs per record (30 with the defaults),
whatever tolerances a user gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from bg_agents.defs.reconciliation.matcher.evidence.features import Features
from bg_agents.defs.reconciliation.matcher.evidence.order import (
    descending,
    group_rank,
    lexorder,
    row_key,
)
from bg_agents.lib import forked


@dataclass(frozen=True)
class Blocking:
    window_before: int = 7  # a candidate may be dated this many days before the record
    window_after: int = 45  # ... and this many after its end (due date, for an invoice)
    exact_before: int = 1
    exact_after: int = 2
    near_ratio: float = 0.35  # |log(b/a)| <= this: beyond, amounts are no evidence at all
    near_each: int = 1  # candidates each side of the record's amount, per week looked at
    near_weeks: int = 1  # weeks looked at from the record's day
    token_df_max: int = 400  # tokens more candidates hold say too little to search by
    token_rarest: int = 4  # a record searches by this many of its rarest tokens
    token_top: int = 5
    id_top: int = 2  # candidates sharing the record's rarest identifiers
    names: int = 2  # a record's names looked up (its party, its memo)
    words: int = 2  # and its rarest words
    key_after: int = 0  # per name or word: the nearest later candidates ...
    key_amount_after: int = 1  # ... and per amount bin grid the nearest later ones
    key_bins: tuple[float, ...] = (0.05, 0.15)  # bin widths (log ratio) for "a similar amount"

    @property
    def max_per_record(self) -> int:
        near = self.near_weeks * 2 * self.near_each * 2  # currency and base amounts
        keyed = (self.names + self.words) * (
            self.key_after + 2 * len(self.key_bins) * self.key_amount_after
        )
        tokens = self.token_top + self.id_top
        return self.exact_before + self.exact_after + near + tokens + keyed


def dense_key(columns: list[np.ndarray]) -> np.ndarray:
    """0, 1, 2, ... per row, equal exactly when all columns are."""
    _, inverse = np.unique(row_key(columns), return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def _composite(
    left_keys: list[np.ndarray],
    right_keys: list[np.ndarray],
    left_pos: np.ndarray,
    right_pos: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """One sortable int64 per row: a dense id of its key columns times ``width``, plus its
    position (0 <= position < width)."""
    n = len(left_pos)
    key_id = row_key([np.concatenate([lk, rk]) for lk, rk in zip(left_keys, right_keys,
                                                                   strict=True)])  # fmt: skip
    pos = np.concatenate([left_pos, right_pos]).astype(np.int64)
    pos = pos - pos.min() if len(pos) else pos
    width = int(pos.max()) + 1 if len(pos) else 1
    if (int(key_id.max(initial=0)) + 1) * width >= 1 << 62:  # compact the key ids first
        _, key_id = np.unique(key_id, return_inverse=True)
        key_id = key_id.reshape(-1).astype(np.int64)
    composite = key_id * width + pos
    return composite[:n], composite[n:], width


def _neighbours(
    left_comp: np.ndarray, right_comp: np.ndarray, before: int, after: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each left row, up to ``before`` right rows just below its composite value and
    ``after`` at or above it, among those with the same key.

    Left rows with equal values are spread over the right rows with that value (the k-th of
    3,000 identical coffees starts at the k-th identical bank row), so identical rows find
    distinct partners instead of all finding the same first few.
    """
    order = np.argsort(right_comp, kind="stable")
    sorted_comp = right_comp[order]
    left_order = np.argsort(left_comp, kind="stable")
    sorted_left = left_comp[left_order]
    # Searched in sorted order (each search starts where the last ended), then put back.
    at, ties, rank = (np.empty(len(left_comp), np.int64) for _ in range(3))
    at[left_order] = np.searchsorted(sorted_comp, sorted_left, side="left")
    ties[left_order] = np.searchsorted(sorted_comp, sorted_left, side="right")
    ties -= at
    rank[left_order] = group_rank(sorted_left)
    at = at + np.where(ties > 0, rank % np.maximum(ties, 1), 0)
    offsets = np.arange(-before, after, dtype=np.int64)
    idx = at[:, None] + offsets[None, :]
    inside = (idx >= 0) & (idx < len(order))
    idx_c = np.clip(idx, 0, max(0, len(order) - 1))
    if not len(order):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    same_key = (sorted_comp[idx_c] // width) == (left_comp[:, None] // width)
    keep = inside & same_key
    rows = np.broadcast_to(np.arange(len(left_comp))[:, None], idx.shape)[keep]
    return rows.astype(np.int64), order[idx_c[keep]].astype(np.int64)


def _window_keys(
    left: Features, right: Features, cfg: Blocking
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group and day in one key (groups a window's width apart): per candidate its key, per
    record the first and last key of its window. A pair is in the window when the candidate's
    key lies between its record's: two gathers and two comparisons for millions of pairs."""
    days = np.concatenate([left.start, left.end, right.start])
    low = int(days.min(initial=0)) - cfg.window_before
    span = int(days.max(initial=0)) + cfg.window_after - low + 1
    day = right.group * span + (right.start - low)
    base = left.group * span - low
    return day, base + left.start - cfg.window_before, base + left.end + cfg.window_after


def _in_window(
    left: Features, right: Features, rec: np.ndarray, cand: np.ndarray, cfg: Blocking
) -> np.ndarray:
    """Same group and the candidate's day within the record's window, per pair."""
    day, first, last = _window_keys(left, right, cfg)
    at = day[cand]
    return (at >= first[rec]) & (at <= last[rec])


def equal_amounts(left: Features, right: Features, cfg: Blocking) -> tuple[np.ndarray, np.ndarray]:
    lc = np.round(left.cents).astype(np.int64)
    rc = np.round(right.cents).astype(np.int64)
    lcomp, rcomp, width = _composite(
        [left.group, left.currency, lc],
        [right.group, right.currency, rc],
        left.start,
        right.start,
    )
    rec, cand = _neighbours(lcomp, rcomp, cfg.exact_before, cfg.exact_after, width)
    keep = _in_window(left, right, rec, cand, cfg)
    return rec[keep], cand[keep]


TOKEN_BLOCK = 4_096  # records scored by shared tokens at once
LOG_SCALE = 100_000  # log-amount positions as integers (1e-5 of a natural log unit)


def near_amounts(left: Features, right: Features, cfg: Blocking) -> tuple[np.ndarray, np.ndarray]:
    out_rec, out_cand = [], []
    for use_base in (False, True):
        la = left.base_cents if use_base else left.cents
        ra = right.base_cents if use_base else right.cents
        lok, rok = np.isfinite(la) & (la > 0), np.isfinite(ra) & (ra > 0)
        if not lok.any() or not rok.any():
            continue
        lrow, rrow = np.flatnonzero(lok), np.flatnonzero(rok)
        lpos = np.round(np.log(la[lrow]) * LOG_SCALE).astype(np.int64)
        rpos = np.round(np.log(ra[rrow]) * LOG_SCALE).astype(np.int64)
        lcur = np.zeros(len(lrow), np.int64) if use_base else left.currency[lrow]
        rcur = np.zeros(len(rrow), np.int64) if use_base else right.currency[rrow]
        rweek = right.start[rrow] // 7
        for week in range(cfg.near_weeks):
            lweek = (left.start[lrow] + 7 * week) // 7
            lcomp, rcomp, width = _composite(
                [left.group[lrow], lcur, lweek], [right.group[rrow], rcur, rweek], lpos, rpos
            )
            r, c = _neighbours(lcomp, rcomp, cfg.near_each, cfg.near_each, width)
            r, c = lrow[r], rrow[c]
            close = np.abs(np.log(ra[c]) - np.log(la[r])) <= cfg.near_ratio
            r, c = r[close], c[close]
            keep = _in_window(left, right, r, c, cfg)
            out_rec.append(r[keep])
            out_cand.append(c[keep])
    if not out_rec:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_rec), np.concatenate(out_cand)


def shared_identifiers(
    left: Features, right: Features, cfg: Blocking
) -> tuple[np.ndarray, np.ndarray]:
    """The best ``id_top`` candidates per record by the rarity of the identifiers (invoice or
    reference numbers) they share: a number quoted on both sides outweighs any words."""
    return _by_rare_tokens(left.refs, right.refs, left, right, cfg, cfg.id_top)


def shared_tokens(left: Features, right: Features, cfg: Blocking) -> tuple[np.ndarray, np.ndarray]:
    """The best ``token_top`` candidates per record by the rarity of the tokens they share.

    Each record searches by its ``token_rarest`` rarest tokens that at most ``token_df_max``
    candidates hold, so the work per record is bounded by their sum, never by the file.
    """
    lt = sparse.hstack([left.search, left.refs], format="csr")
    rt = sparse.hstack([right.search, right.refs], format="csr")
    return _by_rare_tokens(lt, rt, left, right, cfg, cfg.token_top)


def _by_rare_tokens(
    lt: sparse.csr_matrix,
    rt: sparse.csr_matrix,
    left: Features,
    right: Features,
    cfg: Blocking,
    top: int,
) -> tuple[np.ndarray, np.ndarray]:
    df = np.asarray((rt > 0).sum(axis=0)).ravel()
    if not lt.nnz or not rt.nnz:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    coo = lt.tocoo()
    row, col = coo.row.astype(np.int64), coo.col.astype(np.int64)
    usable = (df[col] >= 1) & (df[col] <= cfg.token_df_max)
    row, col = row[usable], col[usable]
    order = lexorder([row, df[col], col])
    row, col = row[order], col[order]
    rank = group_rank(row)
    row, col = row[rank < cfg.token_rarest], col[rank < cfg.token_rarest]
    idf = np.log((right.n + 1) / df[col]).astype(np.float32)
    chosen = sparse.csr_matrix((idf, (row, col)), shape=lt.shape)
    holders = sparse.csr_matrix(rt.T)  # token -> the candidates holding it
    day, first, last = _window_keys(left, right, cfg)
    out_rec, out_cand = [], []
    # A block of records at a time: the scores of all records at once run to millions of
    # entries (5.9M at 45k x 45k), whose fresh memory costs more than the product itself.
    for lo in range(0, lt.shape[0], TOKEN_BLOCK):
        scores = sparse.csr_matrix(chosen[lo : lo + TOKEN_BLOCK] @ holders)
        # Rows in order: a record's window bounds are repeated over its entries.
        per_record = np.diff(scores.indptr)
        at = day[scores.indices]
        keep = (at >= np.repeat(first[lo : lo + TOKEN_BLOCK], per_record)) & (
            at <= np.repeat(last[lo : lo + TOKEN_BLOCK], per_record)
        )
        rec = np.repeat(np.arange(lo, lo + len(per_record), dtype=np.int64), per_record)[keep]
        cand, val = scores.indices[keep].astype(np.int64), scores.data[keep]
        lag = np.abs(right.start[cand] - left.start[rec])
        order = lexorder([rec, descending(val), lag])
        rec, cand = rec[order], cand[order]
        best = group_rank(rec) < top
        out_rec.append(rec[best])
        out_cand.append(cand[best])
    return np.concatenate(out_rec), np.concatenate(out_cand)


def _keyed(
    left: Features,
    right: Features,
    keys: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    cfg: Blocking,
) -> tuple[np.ndarray, np.ndarray]:
    """For (record, key) and (candidate, key) rows: per record key, the nearest later
    candidates with that key (``key_after``), and per amount bin grid the nearest later ones
    whose amount falls in the record's bin (``key_amount_after``): a party paid often, or a
    word many memos hold, is told apart by the amount and the date."""
    l_rows, l_keys, r_rows, r_keys = keys
    if not len(l_rows) or not len(r_rows):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    out_rec, out_cand = [], []
    lg, rg = left.group[l_rows], right.group[r_rows]
    # From the day before the record: a row on the record's own day is found too.
    l_day, r_day = left.start[l_rows] - 1, right.start[r_rows]
    if cfg.key_after:
        lcomp, rcomp, width = _composite([lg, l_keys], [rg, r_keys], l_day, r_day)
        r, c = _neighbours(lcomp, rcomp, 0, cfg.key_after, width)
        out_rec.append(l_rows[r])
        out_cand.append(r_rows[c])
    for size in cfg.key_bins:
        la = np.log(np.maximum(left.cents[l_rows], 1.0)) / size
        ra = np.log(np.maximum(right.cents[r_rows], 1.0)) / size
        for shift in (0.0, 0.5):  # two staggered grids: neighbours across an edge still meet
            lb, rb = np.floor(la + shift).astype(np.int64), np.floor(ra + shift).astype(np.int64)
            lcomp, rcomp, width = _composite([lg, l_keys, lb], [rg, r_keys, rb], l_day, r_day)
            r, c = _neighbours(lcomp, rcomp, 0, cfg.key_amount_after, width)
            out_rec.append(l_rows[r])
            out_cand.append(r_rows[c])
    rec, cand = np.concatenate(out_rec), np.concatenate(out_cand)
    keep = _in_window(left, right, rec, cand, cfg)
    return rec[keep], cand[keep]


def same_names(left: Features, right: Features, cfg: Blocking) -> tuple[np.ndarray, np.ndarray]:
    """Candidates whose name starts like one of the record's names (its first NAME_KEY
    letters: a name cut short still counts), near in time and amount."""
    k = left.name_keys.shape[1]
    l_rows = np.repeat(np.arange(left.n), cfg.names)
    l_keys = left.name_keys[:, : cfg.names].reshape(-1)
    r_rows = np.repeat(np.arange(right.n), k)
    r_keys = right.name_keys.reshape(-1)
    lok, rok = l_keys >= 0, r_keys >= 0
    return _keyed(left, right, (l_rows[lok], l_keys[lok], r_rows[rok], r_keys[rok]), cfg)


def same_words(left: Features, right: Features, cfg: Blocking) -> tuple[np.ndarray, np.ndarray]:
    """Candidates holding one of the record's ``words`` rarest words (however common), near
    in time and amount: what a frequent word cannot find alone, it finds with the amount."""
    rt = right.search
    df = np.asarray((rt > 0).sum(axis=0)).ravel()
    coo = left.search.tocoo()
    row, col = coo.row.astype(np.int64), coo.col.astype(np.int64)
    held = df[col] >= 1
    row, col = row[held], col[held]
    order = lexorder([row, df[col], col])
    row, col = row[order], col[order]
    rank = group_rank(row)
    row, col = row[rank < cfg.words], col[rank < cfg.words]
    rcoo = rt.tocoo()
    keys = (row, col, rcoo.row.astype(np.int64), rcoo.col.astype(np.int64))
    return _keyed(left, right, keys, cfg)


EQUAL, NEAR, TOKENS, NAMES, WORDS, IDS = 1, 2, 4, 8, 16, 32  # which rule found a pair (bits)


def candidate_pairs(
    left: Features, right: Features, cfg: Blocking, processes: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (record, candidate) pairs of all rules, sorted by record then candidate, and
    the rules that found each (EQUAL | NEAR | TOKENS | NAMES | WORDS | IDS bits).

    With ``processes`` 2 and many records, the shared-token rule (about 40 % of the time) runs
    in a forked child beside the others: its pairs come back as two arrays."""
    others, tokens = forked.beside(
        lambda: [
            (EQUAL, equal_amounts(left, right, cfg)),
            (NEAR, near_amounts(left, right, cfg)),
            (NAMES, same_names(left, right, cfg)),
            (WORDS, same_words(left, right, cfg)),
            (IDS, shared_identifiers(left, right, cfg)),
        ],
        lambda: [(TOKENS, shared_tokens(left, right, cfg))],
        fork=forked.splits(processes, left.n),
    )
    # In bit order, which is the rules' order above (the result does not depend on it).
    found = sorted(others + tokens, key=lambda rule: rule[0])
    width = max(1, right.n)
    keys = np.concatenate([r * width + c for _, (r, c) in found])
    bits = np.concatenate([np.full(len(r), bit, np.int8) for bit, (r, _) in found])
    if not len(keys):
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8)
    uniq, inverse = np.unique(keys, return_inverse=True)
    rules = np.zeros(len(uniq), np.int8)
    np.bitwise_or.at(rules, inverse.reshape(-1), bits)
    return uniq // width, uniq % width, rules


class Windows:
    """Which candidates lie in each record's search window: for random pairs and for priors."""

    def __init__(self, left: Features, right: Features, cfg: Blocking) -> None:
        self.left, self.right, self.cfg = left, right, cfg
        starts = np.concatenate([left.start, right.start, left.end])
        self.base = int(starts.min(initial=0)) - cfg.window_before - cfg.window_after - 1
        self.width = (
            int(starts.max(initial=0)) + cfg.window_after + cfg.window_before - self.base + 2
        )
        self.order = np.argsort(right.group * self.width + (right.start - self.base), kind="stable")
        self.sorted = (right.group * self.width + (right.start - self.base))[self.order]

    def bounds(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[lo, hi) positions in ``order`` of the candidates in each record's window."""
        g = self.left.group[rows] * self.width
        lo = np.searchsorted(
            self.sorted, g + self.left.start[rows] - self.cfg.window_before - self.base, side="left"
        )
        hi = np.searchsorted(self.sorted, g + self.left.end[rows] + self.cfg.window_after
                             - self.base, side="right")  # fmt: skip
        return lo, hi

    def candidate_counts(self) -> np.ndarray:
        """Per candidate, the records of its group dated within the window around it (their
        start; a record's period is not counted, an approximation for priors)."""
        left, cfg = self.left, self.cfg
        keys = np.sort(left.group * self.width + (left.start - self.base))
        g = self.right.group * self.width
        lo = np.searchsorted(keys, g + self.right.start - cfg.window_after - self.base, "left")
        hi = np.searchsorted(keys, g + self.right.start + cfg.window_before - self.base, "right")
        return hi - lo
