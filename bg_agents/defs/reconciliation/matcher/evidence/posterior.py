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
EXPLAIN_AWAY_ROUNDS = 3


def twin_classes(side: Features) -> np.ndarray:
    """One id per set of rows that no comparison can tell apart."""
    if not side.n:
        return np.zeros(0, np.int64)
    return dense_key(
        [side.group, side.currency, np.round(side.cents).astype(np.int64), side.start,
         side.end, side.name_ids[:, 0]]
    )  # fmt: skip


class _View:
    """One side's view of the pairs: each pair's class on the other side, grouped once."""

    def __init__(
        self,
        own: np.ndarray,
        other_class: np.ndarray,
        class_size: np.ndarray,
        in_window: np.ndarray,
    ) -> None:
        self.own = own
        key = own * (int(other_class.max(initial=0)) + 1) + other_class
        _, self.first, inverse = np.unique(key, return_index=True, return_inverse=True)
        self.inverse = inverse.reshape(-1)
        self.size = class_size[self.first]
        self.owner = own[self.first]
        self.owners = int(own.max(initial=-1)) + 1
        self.in_window = np.maximum(in_window, 1)

    def evidence(self, bayes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pair, its class's evidence for ``own``: the Bayes factor of one member (twins
        have equal ones) times the members of the class, compared or not (blocking looks at
        only a few of 3,000 identical rows, but each could be the partner); and per pair the
        sum over the owner's classes."""
        per_class = bayes[self.first] * self.size
        total = np.bincount(self.owner, weights=per_class, minlength=self.owners)
        return per_class[self.inverse], total[self.own]

    def probability(self, bayes: np.ndarray, share: float) -> np.ndarray:
        """P(the partner of ``own[k]`` lies in the class of the other side of pair k)."""
        q = share / self.in_window
        mine, total = self.evidence(bayes)
        return q * mine / ((1 - share) + q * total)

    def elsewhere(self, probability: np.ndarray) -> np.ndarray:
        """Per pair, the probability that ``own[k]``'s partner is in another class than pair
        k's (each class counted once, however many of its twins were compared)."""
        per_class = probability[self.first]
        total = np.bincount(self.owner, weights=per_class, minlength=self.owners)
        return np.clip(total[self.own] - per_class[self.inverse], 0.0, 1.0)


class Competition:
    """The pairs' rivals on both sides, worked out once per file: a pair's probability is the
    smaller of the record's and the candidate's view that it belongs together."""

    def __init__(
        self,
        left: Features,
        right: Features,
        rec: np.ndarray,
        cand: np.ndarray,
        windows: Windows,
    ) -> None:
        right_class, left_class = twin_classes(right), twin_classes(left)
        right_size = np.bincount(right_class)[right_class] if right.n else right_class
        left_size = np.bincount(left_class)[left_class] if left.n else left_class
        lo, hi = windows.bounds(rec)
        self.records = _View(rec, right_class[cand], right_size[cand], hi - lo)
        self.candidates = _View(cand, left_class[rec], left_size[rec],
                                windows.candidate_counts()[cand])  # fmt: skip
        self.ratio = left.n / max(1, right.n)
        rows = np.flatnonzero(np.bincount(rec)) if len(rec) else rec
        self.rows = rows
        rlo, rhi = windows.bounds(rows)
        self.row_window = np.maximum(rhi - rlo, 1)
        self.record_count = left.n

    def probability(self, log2_bayes: np.ndarray, share: float) -> np.ndarray:
        bayes = np.exp2(np.clip(log2_bayes, -200, 200))
        # The candidates' share follows from the records': as many matches from either side.
        cand_share = float(np.clip(share * self.ratio, 0.01, 0.99))
        from_record = self.records.probability(bayes, share)
        from_candidate = self.candidates.probability(bayes, cand_share)
        # A rival that surely belongs elsewhere is no rival: in the record's view a candidate
        # weighs only as much as it is not another record's partner (in the candidate's view,
        # the same for records). Two monthly invoices of equal amounts, each with its payment:
        # each payment is explained by its own invoice, so neither is the other's rival.
        for _ in range(EXPLAIN_AWAY_ROUNDS):
            free_candidate = 1 - self.candidates.elsewhere(from_candidate)
            free_record = 1 - self.records.elsewhere(from_record)
            from_record = self.records.probability(bayes * np.maximum(free_candidate, 1e-9), share)
            from_candidate = self.candidates.probability(
                bayes * np.maximum(free_record, 1e-9), cand_share
            )
        return np.minimum(from_record, from_candidate)

    def share(self, log2_bayes: np.ndarray) -> float:
        """The share of records with a partner in their window, as a fixed point: the expected
        number of partners given the share, divided by the records. Per record the expected
        number is q T / ((1 - share) + q T), with T its classes' summed evidence, q = share / N."""
        if not len(self.rows):
            return MIN_SHARE
        bayes = np.exp2(np.clip(log2_bayes, -200, 200))
        _, per_pair_total = self.records.evidence(bayes)
        total = np.zeros(self.records.owners)
        total[self.records.own] = per_pair_total
        evidence = total[self.rows] / self.row_window
        share = 0.5
        for _ in range(200):
            expected = (share * evidence / ((1 - share) + share * evidence)).sum()
            new = float(np.clip(expected / max(1, self.record_count), MIN_SHARE, 0.99))
            if abs(new - share) < 1e-5:
                return new
            share = new
        return share
