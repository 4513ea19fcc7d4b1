"""The Fellegi-Sunter model: how much each comparison level says, learned from the data at hand.

For every comparison level, m = P(level | the pair is a match) and u = P(level | it is not). A
pair's evidence is its Bayes factor, the product of m/u over its comparisons (a sum of log2
"match weights"; a comparison with no evidence adds nothing). u is counted on random pairs within
the search window (almost all non-matches). m is estimated by expectation-maximisation in
sessions, one per blocking rule, as splink does: the pairs an equal amount found say nothing about
how often matches have equal amounts, but their names, references and currencies do; the pairs
shared words found tell about amounts and dates. Each session estimates only the comparisons its
rule did not select on, with u fixed, and m is averaged over the sessions that estimated it. m is
re-estimated from people's decisions when there are some. An agreement on a value many
candidates share (an amount of 60.00, the memo "payment") is weighed by that value's own
frequency instead of the level's average (term-frequency adjustment).

Nothing here is tuned to one data set: what is strong evidence in one file (an equal amount) may
be weak in another (where one amount recurs 1,400 times), and the model learns which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bg_agents.defs.reconciliation.matcher.evidence.comparisons import COMPARISONS

SMOOTH = 1.0  # pseudo-count per level, so a level never seen is rare, not impossible
# No level is impossible for a match either: a vendor abbreviated beyond recognition ("FBL" for
# FiberLink) must not veto a pair whose amount and date agree exactly.
M_FLOOR = 0.005
LABEL_WEIGHT = 50.0  # people's decisions count like this many pairs of EM's estimate
MAX_ITERATIONS = 60
TOLERANCE = 1e-5


def _initial_m(levels: int, name: str) -> np.ndarray:
    """A starting point that says "agreement is likelier for matches" and nothing more."""
    # Date levels run from earlier to later, the same day at index 3; others from the
    # strongest agreement down.
    center = 3 if name == "date" else 0
    m = 0.5 ** np.abs(np.arange(levels) - center)
    return m / m.sum()


def _level_shares(
    patterns: np.ndarray, weight: np.ndarray, only: tuple[int, ...] | None = None
) -> list[np.ndarray]:
    """Per comparison, each level's share of ``weight`` (patterns without evidence left out);
    with ``only``, just those comparisons' (the others' entries are None)."""
    shares: list = []
    for c, comparison in enumerate(COMPARISONS):
        if only is not None and c not in only:
            shares.append(None)
            continue
        col = patterns[:, c]
        seen = col >= 0
        mass = np.bincount(col[seen], weights=weight[seen], minlength=len(comparison.levels))
        shares.append((mass + 1e-3) / (mass.sum() + 1e-3 * len(mass)))
    return shares


def _floored(m: np.ndarray) -> np.ndarray:
    m = np.maximum(m, M_FLOOR)
    return m / m.sum()


def _codes(gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``gamma`` (comparison patterns), their counts, each row's pattern."""
    shifted = gamma.astype(np.int64) + 1
    base = int(shifted.max()) + 1 if shifted.size else 1
    code = np.zeros(len(gamma), np.int64)
    for c in range(gamma.shape[1]):
        code = code * base + shifted[:, c]
    uniq, first, inverse, counts = np.unique(
        code, return_index=True, return_inverse=True, return_counts=True
    )
    return gamma[first], counts, inverse


def _expectation_maximisation(
    gamma: np.ndarray, estimated: tuple[int, ...], m: list[np.ndarray], u: list[np.ndarray]
) -> tuple[list[np.ndarray], int]:
    """m of the ``estimated`` comparisons (and the session's match share) with u fixed."""
    patterns, counts, _ = _codes(gamma)
    counts = counts.astype(float)
    prior = 0.1
    # Each estimated comparison's levels, with -1 (no evidence) pointing at an appended 0.
    columns = {c: np.where(patterns[:, c] >= 0, patterns[:, c], len(u[c])) for c in estimated}
    for iteration in range(1, MAX_ITERATIONS + 1):
        logit = np.full(len(patterns), np.log2(prior / (1 - prior)))
        for c in estimated:
            # A table per level, not a logarithm per pattern: the same numbers, fewer calls.
            logit += np.append(np.log2(m[c]) - np.log2(u[c]), 0.0)[columns[c]]
        p = 1 / (1 + np.exp2(-np.clip(logit, -60, 60)))
        shares = _level_shares(patterns, counts * p, estimated)
        new_prior = float(np.clip((counts * p).sum() / counts.sum(), 1e-6, 1 - 1e-6))
        change = abs(new_prior - prior)
        for c in estimated:
            change = max(change, float(np.abs(shares[c] - m[c]).max()))
            m[c] = shares[c]
        prior = new_prior
        if change < TOLERANCE:
            return m, iteration
    return m, MAX_ITERATIONS


@dataclass
class PairLevels:
    """Pairs' levels by comparison, and where a term frequency replaces u: the pairs' part of
    their weights, which does not change while m does."""

    pairs: int
    columns: np.ndarray  # (comparisons, pairs) levels, a comparison's contiguous
    # Per comparison: the pairs whose agreement has a term frequency, their levels, -log2(tf).
    adjusted: list[tuple[np.ndarray, np.ndarray, np.ndarray]]

    @classmethod
    def of(cls, gamma: np.ndarray, tf: np.ndarray | None) -> PairLevels:
        columns = np.ascontiguousarray(gamma.T)
        adjusted = []
        for c, col in enumerate(columns):
            if tf is None:
                adjusted.append((np.empty(0, np.int64), np.empty(0, col.dtype), np.empty(0)))
                continue
            tf_c = np.ascontiguousarray(tf[:, c])
            rows = np.flatnonzero((col >= 0) & np.isfinite(tf_c))
            adjusted.append((rows, col[rows], -np.log2(np.maximum(tf_c[rows], 1e-9))))
        return cls(gamma.shape[0], columns, adjusted)


@dataclass
class EvidenceModel:
    m: list[np.ndarray]
    u: list[np.ndarray]  # among random pairs within the search window
    match_share: float  # share of records with a partner within the window
    trained_on: dict[str, int] = field(default_factory=dict)

    # -- learning -------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        sessions: list[tuple[np.ndarray, tuple[int, ...]]],
        random_gamma: np.ndarray,
    ) -> EvidenceModel:
        """u from ``random_gamma``; m by EM in ``sessions``: (levels of the pairs one blocking
        rule found, the comparisons that session estimates)."""
        u = []
        for c, comparison in enumerate(COMPARISONS):
            levels = len(comparison.levels)
            col = random_gamma[:, c]
            counts = np.bincount(col[col >= 0], minlength=levels).astype(float)
            u.append((counts + SMOOTH) / (counts.sum() + SMOOTH * levels))
        start = [_initial_m(len(c.levels), c.name) for c in COMPARISONS]
        estimates: list[list[np.ndarray]] = [[] for _ in COMPARISONS]
        iterations = 0
        for gamma, estimated in sessions:
            if not len(gamma):
                continue
            m, n = _expectation_maximisation(gamma, estimated, [x.copy() for x in start], u)
            iterations += n
            for c in estimated:
                estimates[c].append(m[c])
        m = [np.mean(found, axis=0) if found else start[c] for c, found in enumerate(estimates)]
        trained = {
            "pairs": int(sum(len(g) for g, _ in sessions)),
            "random_pairs": int(len(random_gamma)),
            "iterations": iterations,
            "labels": 0,
        }
        return cls(m, u, match_share=0.5, trained_on=trained)

    def reestimate(self, gamma: np.ndarray, probability: np.ndarray) -> EvidenceModel:
        """m of every comparison from pairs weighted by their probability of being a match."""
        m = [_floored(x) for x in _level_shares(gamma, probability)]
        trained = {**self.trained_on, "refined": self.trained_on.get("refined", 0) + 1}
        return EvidenceModel(m, self.u, self.match_share, trained)

    def relearn(self, gamma: np.ndarray, is_match: np.ndarray) -> EvidenceModel:
        """m re-estimated from people's decisions: confirmed pairs are matches (declined ones
        are not, but u is better counted on random pairs). EM's estimate weighs as
        ``LABEL_WEIGHT`` pairs, so a handful of decisions nudges and many decide."""
        confirmed = gamma[is_match]
        m = []
        for c, comparison in enumerate(COMPARISONS):
            col = confirmed[:, c]
            counts = np.bincount(col[col >= 0], minlength=len(comparison.levels)).astype(float)
            blended = counts + LABEL_WEIGHT * self.m[c]
            m.append(blended / blended.sum())
        trained = {**self.trained_on, "labels": int(len(gamma)), "confirmed": int(is_match.sum())}
        return EvidenceModel(m, self.u, self.match_share, trained)

    # -- evidence -------------------------------------------------------------------------------

    def weights(self, gamma: np.ndarray, tf: np.ndarray | None) -> np.ndarray:
        """(pairs, comparisons) log2 Bayes factors; 0 where a comparison has no evidence."""
        return self.weigh(PairLevels.of(gamma, tf))

    def weigh(self, levels: PairLevels) -> np.ndarray:
        """:meth:`weights` of pairs arranged once (learning weighs the same pairs each round)."""
        out = np.empty((len(levels.columns), levels.pairs))  # a comparison's weights contiguous
        for c, col in enumerate(levels.columns):
            log_m = np.log2(self.m[c])
            # Index a per-level table: a logarithm per level, not per pair. Level -1 (no
            # evidence) takes the last entry, 0.
            out[c] = np.append(log_m - np.log2(self.u[c]), 0.0)[col]
            rows, at, minus_log_tf = levels.adjusted[c]
            if len(rows):
                # Agreement on this very value: as likely by chance as the value is common.
                out[c, rows] = log_m[at] + minus_log_tf
        return np.ascontiguousarray(out.T)

    # -- storage and display --------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        return {
            "comparisons": [
                {
                    "name": comparison.name,
                    "levels": [
                        {"label": label, "m": float(self.m[c][k]), "u": float(self.u[c][k])}
                        for k, label in enumerate(comparison.levels)
                    ],
                }
                for c, comparison in enumerate(COMPARISONS)
            ],
            "match_share": self.match_share,
            "trained_on": dict(self.trained_on),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceModel:
        by_name = {c["name"]: c for c in data["comparisons"]}
        m, u = [], []
        for comparison in COMPARISONS:
            stored = by_name.get(comparison.name)
            labels = [lv["label"] for lv in stored["levels"]] if stored else []
            if labels != list(comparison.levels):
                raise ValueError(
                    f"the stored match model's {comparison.name!r} levels differ from this "
                    "version's; train it again"
                )
            m.append(np.array([lv["m"] for lv in stored["levels"]]))
            u.append(np.array([lv["u"] for lv in stored["levels"]]))
        return cls(m, u, float(data["match_share"]), dict(data.get("trained_on", {})))

    def weight_table(self) -> list[dict[str, Any]]:
        """Every level's match weight (log2 m/u), for metadata and charts."""
        rows = []
        for c, comparison in enumerate(COMPARISONS):
            for k, label in enumerate(comparison.levels):
                m, u = float(self.m[c][k]), float(self.u[c][k])
                rows.append({"comparison": comparison.name, "level": label, "m": m, "u": u,
                             "weight": float(np.log2(m / u))})  # fmt: skip
        return rows
