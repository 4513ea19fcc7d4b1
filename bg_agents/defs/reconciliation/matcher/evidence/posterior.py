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

from bg_agents.defs.reconciliation.matcher.evidence.candidates import Windows, dense_key
from bg_agents.defs.reconciliation.matcher.evidence.features import Features

# A file given to reconcile is expected to pair at least this share of its records: when the data
# holds no contrast at all (3,000 identical coffees on both sides), the estimate would collapse to
# zero and nothing would be proposed, although any pairing of twins is right.
MIN_SHARE = 0.5


def twin_classes(side: Features) -> np.ndarray:
    """One id per set of rows that no comparison can tell apart."""
    if not side.n:
        return np.zeros(0, np.int64)
    return dense_key(
        [side.group, side.currency, np.round(side.cents).astype(np.int64), side.start,
         side.end, side.name_ids[:, 0]]
    )  # fmt: skip


def _class_evidence(
    own: np.ndarray, other_class: np.ndarray, class_size: np.ndarray, bayes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, its class's evidence for ``own``: the Bayes factor of one member (twins have
    equal ones) times the members of the class, compared or not (blocking looks at only a few of
    3,000 identical rows, but each could be the partner); and per ``own`` the sum over classes."""
    key = own * (int(other_class.max()) + 1) + other_class
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    per_class = bayes[first] * class_size[first]
    total = np.bincount(own[first], weights=per_class, minlength=int(own.max()) + 1)
    return per_class[inverse], total[own]


def _one_side(
    own: np.ndarray,
    other_class: np.ndarray,
    class_size: np.ndarray,
    bayes: np.ndarray,
    in_window: np.ndarray,
    share: float,
) -> np.ndarray:
    """P(the partner of ``own[k]`` lies in ``other_class[k]``'s class), per pair."""
    if not len(own):
        return np.zeros(0)
    q = share / np.maximum(in_window, 1)
    mine, total = _class_evidence(own, other_class, class_size, bayes)
    return q * mine / ((1 - share) + q * total)


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
    right_class, left_class = twin_classes(right), twin_classes(left)
    right_size = np.bincount(right_class)[right_class]
    left_size = np.bincount(left_class)[left_class]
    from_record = _one_side(rec, right_class[cand], right_size[cand], bayes, hi - lo, match_share)
    from_candidate = _one_side(cand, left_class[rec], left_size[rec], bayes,
                               windows.candidate_counts()[cand], cand_share)  # fmt: skip
    return np.minimum(from_record, from_candidate)


def estimate_share(
    rec: np.ndarray,
    cand: np.ndarray,
    right: Features,
    log2_bayes: np.ndarray,
    windows: Windows,
    records: int,
) -> float:
    """The share of records with a partner in their window, as a fixed point: the expected
    number of partners given the share, divided by the records. Per record the expected number
    is q T / ((1 - share) + q T), with T its candidates' summed Bayes factors and q = share / N."""
    if not len(rec):
        return MIN_SHARE
    bayes = np.exp2(np.clip(log2_bayes, -200, 200))
    right_class = twin_classes(right)
    size = np.bincount(right_class)[right_class]
    _, per_record = _class_evidence(rec, right_class[cand], size[cand], bayes)
    total = np.zeros(int(rec.max()) + 1)
    total[rec] = per_record
    rows = np.flatnonzero(np.bincount(rec))
    lo, hi = windows.bounds(rows)
    evidence = total[rows] / np.maximum(hi - lo, 1)
    share = 0.5
    for _ in range(200):
        expected = (share * evidence / ((1 - share) + share * evidence)).sum()
        new = float(np.clip(expected / max(1, records), MIN_SHARE, 0.99))
        if abs(new - share) < 1e-5:
            return new
        share = new
    return share
