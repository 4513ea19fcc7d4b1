"""From a pair's evidence to the probability that it is *the* match, given its rivals.

The model's Bayes factor says how much likelier a pair's comparisons are for a match than for a
non-match. Whether the pair is the record's partner also depends on the record's other
candidates: a record has at most one partner, a priori any of the N candidates in its search
window (with probability ``match_share`` it has one there at all). So

    P(partner is j) = (share / N) x BF_j / ((1 - share) + (share / N) x sum_k BF_k)

where the sum runs over the compared candidates (the others' Bayes factors are negligible).

and the same from the candidate's side over its records. A pair is as likely as the smaller of
the two: a strong pair with an equally strong rival is a coin toss, not a link. Candidates
(records) that are indistinguishable (same amount, currency, date and name: two identical
coffees on one day) count as one: either pairing is right, so a twin is no rival.
"""

from __future__ import annotations

import numpy as np

from bg_agents.defs.reconciliation.matcher.evidence.candidates import Windows
from bg_agents.defs.reconciliation.matcher.evidence.features import Features


def twin_classes(side: Features) -> np.ndarray:
    """One id per set of rows that no comparison can tell apart."""
    if not side.n:
        return np.zeros(0, np.int64)
    columns = np.stack(
        [side.group, side.currency, np.round(side.cents).astype(np.int64), side.start,
         side.end, side.name_ids[:, 0]],
        axis=1,
    )  # fmt: skip
    _, inverse = np.unique(columns, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def _one_side(
    own: np.ndarray,
    other_class: np.ndarray,
    bayes: np.ndarray,
    in_window: np.ndarray,
    share: float,
) -> np.ndarray:
    """P(the partner of ``own[k]`` lies in ``other_class[k]``'s class), per pair."""
    if not len(own):
        return np.zeros(0)
    q = share / np.maximum(in_window, 1)
    total = np.bincount(own, weights=bayes)
    key = own * (int(other_class.max()) + 1) + other_class
    uniq, inverse = np.unique(key, return_inverse=True)
    class_total = np.bincount(inverse.reshape(-1), weights=bayes)[inverse.reshape(-1)]
    denominator = (1 - share) + q * total[own]
    return q * class_total / denominator


def pair_probability(
    left: Features,
    right: Features,
    rec: np.ndarray,
    cand: np.ndarray,
    log2_bayes: np.ndarray,
    match_share: float,
    windows: Windows,
) -> np.ndarray:
    """The smaller of the record's and the candidate's view that the pair belongs together."""
    bayes = np.exp2(np.clip(log2_bayes, -200, 200))
    lo, hi = windows.bounds(rec)
    # The candidates' share follows from the records': as many matches seen from either side.
    cand_share = float(np.clip(match_share * left.n / max(1, right.n), 0.01, 0.99))
    from_record = _one_side(rec, twin_classes(right)[cand], bayes, hi - lo, match_share)
    from_candidate = _one_side(cand, twin_classes(left)[rec], bayes,
                               windows.candidate_counts()[cand], cand_share)  # fmt: skip
    return np.minimum(from_record, from_candidate)


def record_view(
    rec: np.ndarray, log2_bayes: np.ndarray, windows: Windows, share: float
) -> np.ndarray:
    """P(record's partner is this candidate), without the candidate side or twins."""
    bayes = np.exp2(np.clip(log2_bayes, -200, 200))
    lo, hi = windows.bounds(rec)
    q = share / np.maximum(hi - lo, 1)
    total = np.bincount(rec, weights=bayes)
    return q * bayes / ((1 - share) + q * total[rec])


def estimate_share(
    rec: np.ndarray, log2_bayes: np.ndarray, windows: Windows, records: int
) -> float:
    """The share of records with a partner in their window, as a fixed point: the expected
    number of partners given the share, divided by the records."""
    share = 0.5
    for _ in range(50):
        expected = record_view(rec, log2_bayes, windows, share).sum()
        new = float(np.clip(expected / max(1, records), 0.01, 0.99))
        if abs(new - share) < 1e-4:
            return new
        share = new
    return share
