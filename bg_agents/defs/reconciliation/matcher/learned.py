"""Matching by learned evidence: what agrees, weighed by how telling it is in the data at hand.

1. candidates: a few per record from distinctive keys (evidence/candidates.py);
2. comparisons: each pair's levels of amount, date, name, reference, currency (comparisons.py);
3. evidence: a Fellegi-Sunter model learned from these very files (or given: the application
   trains one on all teams' data and people's decisions) turns levels into Bayes factors;
4. probability: each pair against its rivals on both sides (posterior.py);
5. one-to-one assignment (assignment.py), then the decision: an automatic link only when the
   probability clears ``auto_probability`` (chosen for >= 99.5 % precision, docs/architecture.md)
   and the rule guard agrees; suggestions ranked by probability otherwise; the model may break a
   tie the evidence cannot, under the same guard;
6. what is left goes through the one-to-many stages (one payment for several invoices,
   instalments) of the rule matcher, which need exact sums rather than evidence.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields

import numpy as np

from bg_agents.defs.reconciliation.matcher.assignment import assign
from bg_agents.defs.reconciliation.matcher.config import PROFILES, MatcherConfig
from bg_agents.defs.reconciliation.matcher.evidence.candidates import (
    EQUAL,
    NAMES,
    NEAR,
    TOKENS,
    WORDS,
    Windows,
    candidate_pairs,
)
from bg_agents.defs.reconciliation.matcher.evidence.comparisons import (
    AMOUNT_AT,
    COMPARISONS,
    CURRENCY_AT,
    DATE_AT,
    NAME_AT,
    OTHER_AT,
    REFERENCE_AT,
    Compared,
    compare,
)
from bg_agents.defs.reconciliation.matcher.evidence.explain import (
    Explanations,
    amount_words,
    describe,
    period_words,
)
from bg_agents.defs.reconciliation.matcher.evidence.features import Features, build_pair
from bg_agents.defs.reconciliation.matcher.evidence.model import EvidenceModel, PairLevels
from bg_agents.defs.reconciliation.matcher.evidence.posterior import Competition, twin_classes
from bg_agents.defs.reconciliation.matcher.rules import MatchRules, Side, reference_conflict
from bg_agents.defs.reconciliation.matcher.scoring import compared_amounts
from bg_agents.defs.reconciliation.matcher.stages import Stages, scored_pairs
from bg_agents.defs.reconciliation.matcher.types import (
    Feedback,
    MatchResult,
    Pair,
    TieBreaker,
)
from bg_agents.lib import forked

REFINE_ROUNDS = 3
# Fewer rows than this on either side, and there is too little to learn from: the file matcher
# uses the seed's rules instead (the application always brings a model trained on all teams).
MIN_ROWS_TO_LEARN = 100
# Pairs drawn to count u (how often each level occurs by chance): one per record, at least
# RANDOM_FLOOR (so the rare levels are seen), at most RANDOM_PAIRS. Measured: on the simulated
# labelled set 20,000 to 100,000 pairs, on the independent transfers (45k, both seeds) 30,000 to
# 100,000 pairs gave the same quality (auto-link precision and share within 0.1 point, F1 within
# 0.001); counting 100,000 whatever the size was a third of the learning at 10k x 10k.
RANDOM_PAIRS = 100_000
RANDOM_FLOOR = 30_000
RANDOM_PER_RECORD = 1
SEED = 20261129  # the draw is seeded: the same files give the same model and the same answer
# Amount levels -> the relation a Pair reports (the domain's words for the difference).
# Up to 10 % less is a fee taken on the way, more a surcharge; beyond, part of a payment (less)
# or more than the record (over), the words the rule matcher uses too.
RELATION = {0: "amount", 1: "vat", 2: "fee", 3: "surcharge", 4: "fee", 5: "surcharge",
            6: "fee", 7: "surcharge", 8: "partial", 9: "over", 10: "other"}  # fmt: skip


def random_pair_count(records: int) -> int:
    """How many random pairs count u for a file of ``records`` records."""
    return min(RANDOM_PAIRS, max(RANDOM_FLOOR, RANDOM_PER_RECORD * records))


def random_pairs(windows: Windows, records: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs drawn uniformly within each record's search window: almost all non-matches."""
    if not records or not windows.right.n:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rng = np.random.default_rng(SEED)
    rec = rng.integers(0, records, count)
    lo, hi = windows.bounds(rec)
    has = hi > lo
    rec, lo, hi = rec[has], lo[has], hi[has]
    pick = lo + (rng.random(len(rec)) * (hi - lo)).astype(np.int64)
    return rec, windows.order[np.minimum(pick, hi - 1)]


# Each blocking rule's pairs estimate the comparisons that rule did not select on.
SESSIONS = (
    (EQUAL, (NAME_AT, OTHER_AT, REFERENCE_AT)),
    (NEAR, (NAME_AT, OTHER_AT, REFERENCE_AT)),
    (TOKENS, (AMOUNT_AT, DATE_AT, CURRENCY_AT)),
    (NAMES, (REFERENCE_AT,)),
    (WORDS, (REFERENCE_AT,)),
)


def _vat(config: MatcherConfig) -> np.ndarray:
    return np.array([float(r) for r in config.vat_rates])


def fit_model(
    records: Sequence[Side], candidates: Sequence[Side], config: MatcherConfig | None = None
) -> EvidenceModel:
    """A model learned from these records and candidates alone (no labels)."""
    config = config or PROFILES["learned"]
    left, right, _ = build_pair(sorted(records, key=_canonical), sorted(candidates, key=_canonical))
    rec, cand, rules = candidate_pairs(left, right, config.blocking)
    compared = compare(left, right, rec, cand, _vat(config))
    windows = Windows(left, right, config.blocking)
    competition = Competition(left, right, rec, cand, windows)
    return _fit(left, right, rules, compared, windows, competition, config)[0]


def _compare_in_halves(
    left: Features,
    right: Features,
    rec: np.ndarray,
    cand: np.ndarray,
    vat: np.ndarray,
    processes: int,
) -> Compared:
    """:func:`compare`, the second half of the pairs in a forked child when ``processes`` is 2
    and the pairs are many: a pair's levels depend on its two rows alone (and on the candidates'
    frequencies, the same in both halves)."""
    half = len(rec) // 2
    if not forked.splits(processes, half):  # each half as many as a split needs
        return compare(left, right, rec, cand, vat)
    first, second = forked.beside(
        lambda: compare(left, right, rec[:half], cand[:half], vat),
        lambda: compare(left, right, rec[half:], cand[half:], vat),
    )
    names = [f.name for f in fields(Compared)]
    return Compared(*(np.concatenate([getattr(first, n), getattr(second, n)]) for n in names))


def _fit(
    left: Features,
    right: Features,
    rules: np.ndarray,
    compared: Compared,
    windows: Windows,
    competition: Competition,
    config: MatcherConfig,
) -> tuple[EvidenceModel, np.ndarray]:
    """The model learned from the compared pairs, and its weights of those pairs."""
    r_rec, r_cand = random_pairs(windows, left.n, random_pair_count(left.n))
    random_gamma = compare(left, right, r_rec, r_cand, _vat(config)).gamma
    sessions = [(compared.gamma[(rules & bit) > 0], est) for bit, est in SESSIONS]
    model = EvidenceModel.fit(sessions, random_gamma)
    # A model's weights do not depend on its match share: each model's are worked out once.
    levels = PairLevels.of(compared.gamma, compared.tf)
    weights = model.weigh(levels)
    model.match_share = competition.share(weights.sum(axis=1))
    # Then EM over all compared pairs, with the one-to-one probability as the E-step: a
    # record's partner out-competes its look-alikes (last month's salary with the same memo
    # and amount), which independent EM would count as matches too.
    for _ in range(REFINE_ROUNDS):
        probability = competition.probability(weights.sum(axis=1), model.match_share)
        model = model.reestimate(compared.gamma, probability)
        weights = model.weigh(levels)
        model.match_share = competition.share(weights.sum(axis=1))
    return model, weights


def comparisons_of(
    pairs: Sequence[tuple[Side, Side]], config: MatcherConfig | None = None
) -> np.ndarray:
    """Levels of given (record, candidate) pairs, e.g. the ones people decided (for relearn)."""
    config = config or PROFILES["learned"]
    if not pairs:
        return np.zeros((0, len(COMPARISONS)), np.int8)
    left, right, _ = build_pair([p[0] for p in pairs], [p[1] for p in pairs])
    idx = np.arange(len(pairs))
    return compare(left, right, idx, idx, _vat(config)).gamma


def guard(
    relative: np.ndarray,
    lag: np.ndarray,
    log2_bayes: np.ndarray,
    records: Sequence[Side],
    candidates: Sequence[Side],
    rec: np.ndarray,
    cand: np.ndarray,
    rules: MatchRules,
) -> np.ndarray:
    """The rule guard on pairs: amounts within the rules' tolerance (in base amounts across
    currencies), dates within the window, the evidence in favour (a Bayes factor above 1), and
    the bank text quoting no other reference of the record's series. The same check
    ``match_record`` applies to a model's choice (:func:`check_learned`)."""
    a = np.abs(np.array([r.amount for r in records], np.float64))[rec]  # float() of each
    tolerance = np.maximum(a * float(rules.amount_pct), float(rules.amount_abs))
    amount_ok = np.isfinite(relative) & (np.abs(relative) * a <= tolerance + 1e-9)
    date_ok = np.abs(lag) <= rules.date_days
    ok = amount_ok & date_ok & (log2_bayes > 0)
    for k in np.flatnonzero(ok):
        record = records[rec[k]]
        if record.reference and reference_conflict(record, candidates[cand[k]]) is not None:
            ok[k] = False
    return ok


@dataclass(frozen=True)
class LearnedCheck:
    """The guard's verdict on one pair, in the shape the ``match_record`` tool reports."""

    ok: bool
    score: float  # the pair's log2 Bayes factor
    problems: list[str]
    text: str

    def explanation(self) -> str:
        return self.text


def check_learned(
    record: Side, candidate: Side, model: EvidenceModel, config: MatcherConfig | None = None
) -> LearnedCheck:
    """:func:`guard` for one pair, as the model's ``match_record`` tool applies it.

    Without the other candidates there are no term frequencies, so each level weighs its
    average; the guard's limits are the same as in the matcher.
    """
    config = config or PROFILES["learned"]
    rules = config.rules
    left, right, _ = build_pair([record], [candidate])
    idx = np.zeros(1, np.int64)
    compared = compare(left, right, idx, idx, _vat(config))
    weights = model.weights(compared.gamma, None)
    log2_bayes = weights.sum(axis=1)
    ok = bool(guard(compared.relative, compared.lag, log2_bayes, [record], [candidate], idx,
                    idx, rules)[0])  # fmt: skip
    problems: list[str] = []
    rel, lag = float(compared.relative[0]), int(compared.lag[0])
    if not np.isfinite(rel):
        problems.append("the amounts cannot be compared (different currencies, no base amount)")
    elif abs(rel) > float(rules.amount_pct) and abs(rel) * abs(float(record.amount)) > float(
        rules.amount_abs
    ):
        problems.append(f"amounts differ by {abs(rel):.1%} (limit {float(rules.amount_pct):.1%})")
    if abs(lag) > rules.date_days:
        problems.append(f"dates {abs(lag)} days apart (limit {rules.date_days})")
    if log2_bayes[0] <= 0:
        problems.append(f"the evidence is against this pair (weight {log2_bayes[0]:+.1f})")
    if not ok and not problems:
        problems.append("the bank text quotes another reference of the record's series")
    compared_amount = compared_amounts(record, candidate)
    amount_text = amount_words(*compared_amount) if compared_amount else None
    text = describe(compared.gamma[0].tolist(), weights[0].tolist(), [np.nan] * len(COMPARISONS),
                    0, amount_text, None)  # fmt: skip
    return LearnedCheck(ok, round(float(log2_bayes[0]), 2), problems, text)


def _apply_feedback(
    feedback: Feedback,
    records: Sequence[Side],
    candidates: Sequence[Side],
    rec: np.ndarray,
    cand: np.ndarray,
    compared: Compared,
) -> tuple[np.ndarray, np.ndarray]:
    """Declined pairs dropped; a confirmed alias counts as equal names; (keep, penalized)."""
    keep = np.ones(len(rec), bool)
    penalized = np.zeros(len(rec), bool)
    for k, (i, j) in enumerate(zip(rec.tolist(), cand.tolist(), strict=True)):
        record, candidate = records[i], candidates[j]
        if feedback.is_declined(record, candidate):
            keep[k] = False
        elif feedback.resembles_declined(record, candidate):
            penalized[k] = True
        elif feedback.aliases and feedback.known_alias(record, candidate) is not None:
            compared.gamma[k, NAME_AT] = 0
            compared.tf[k, NAME_AT] = np.nan
    return keep, penalized


def _silent(stage: str, done: int, total: int) -> None:
    """No progress for the one-to-many pass: it works on what the main pass left."""


def _canonical(side: Side) -> tuple[str, str]:
    return side.group, side.id


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while, as it was afterwards.

    A match allocates hundreds of thousands of small objects (names, pairs, explanations) among
    as many that live on (the rows): each full collection walks them all, a third of the time
    of explaining and a tenth of the whole match at 45k x 45k. The matcher makes no reference
    cycles worth collecting meanwhile; they are collected when the collector is back on.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@collector_paused()
def match_learned(
    records: Sequence[Side],
    candidates: Sequence[Side],
    config: MatcherConfig,
    *,
    model: EvidenceModel | None = None,
    feedback: Feedback | None = None,
    tie_breaker: TieBreaker | None = None,
    progress=None,
    processes: int = 1,
) -> MatchResult:
    report = progress or (lambda stage, done, total: None)
    stats: Counter[str] = Counter(records=len(records), candidates=len(candidates))
    report("preparing", 0, len(records))
    # One canonical order, so neither the model learned from the file nor the answer depends on
    # how the rows were sorted when they came in.
    records = sorted(records, key=_canonical)
    candidates = sorted(candidates, key=_canonical)
    left, right, _ = build_pair(records, candidates, processes)
    report("candidates", 0, len(records))
    rec, cand, rules = candidate_pairs(left, right, config.blocking, processes)
    windows = Windows(left, right, config.blocking)
    stats["candidate_pairs"] = len(rec)
    report("comparing", 0, len(rec))
    compared = _compare_in_halves(left, right, rec, cand, _vat(config), processes)
    penalized = np.zeros(len(rec), bool)
    if feedback is not None:
        keep, penalized = _apply_feedback(feedback, records, candidates, rec, cand, compared)
        rec, cand, rules, penalized = rec[keep], cand[keep], rules[keep], penalized[keep]
        compared = Compared(compared.gamma[keep], compared.tf[keep], compared.relative[keep],
                            compared.lag[keep])  # fmt: skip
    competition = Competition(left, right, rec, cand, windows)
    if model is None:
        report("learning", 0, 1)
        model, weights = _fit(left, right, rules, compared, windows, competition, config)
        stats["em_iterations"] = model.trained_on.get("iterations", 0)
    else:
        weights = model.weights(compared.gamma, compared.tf)
    stats["match_share_pct"] = round(100 * model.match_share)
    log2_bayes = weights.sum(axis=1)
    probability = competition.probability(log2_bayes, model.match_share)
    report("deciding", 0, len(rec))
    stages = _Decide(records, candidates, config, feedback, tie_breaker, stats, left, right)
    stages.one_to_one(rec, cand, compared, weights, probability, penalized, processes)
    stages.one_to_many(feedback)
    result = MatchResult(stages.pairs, stats)
    for decision, count in result.by_decision().items():
        stats[decision] = count
    stats["unmatched_records"] = len(records) - len({p.left_id for p in stages.pairs})
    report("done", len(records), len(records))
    return result


class _Decide:
    def __init__(self, records, candidates, config, feedback, tie_breaker, stats, left, right):
        self.records, self.candidates, self.cfg = records, candidates, config
        self.feedback, self.tie_breaker, self.stats = feedback, tie_breaker, stats
        self.left, self.right = left, right
        self.pairs: list[Pair] = []
        self.used_left: set[int] = set()
        self.used_right: set[int] = set()
        self.texts: list[str] | None = None  # every shown pair's explanation, when prepared

    def _explain(self, n: int, i: int, j: int, probability: float, lag: int) -> str:
        compared = compared_amounts(self.records[i], self.candidates[j])
        text = amount_words(*compared) if compared is not None else None
        when = period_words(lag) if self.records[i].date_until is not None else None
        return self.explanations.text(n, text, probability, date_text=when)

    def _emit(self, k: int, decision: str, note: str = "", decided_by: str = "evidence") -> None:
        n = self.shown[k]
        i, j, relation, p, lag = self.view[n]
        self.pairs.append(
            Pair(
                left_id=self.records[i].id,
                right_id=self.candidates[j].id,
                score=round(p, 4),
                decision=decision,  # type: ignore[arg-type]
                relation=relation,
                explanation=(
                    self._explain(n, i, j, p, lag) if self.texts is None else self.texts[n]
                )
                + note,  # fmt: skip
                decided_by=decided_by,
            )
        )
        if decision == "auto":
            self.used_left.add(i)
            self.used_right.add(j)

    def one_to_one(self, rec, cand, compared, weights, probability, penalized, processes=1):
        cfg = self.cfg
        self.rec, self.cand, self.compared = rec, cand, compared
        self.weights, self.probability = weights, probability
        viable = np.flatnonzero(probability >= cfg.suggest_probability)
        # Only these pairs can be shown: their explanations are prepared together.
        self.shown = dict(zip(viable.tolist(), range(len(viable)), strict=True))
        # What a shown pair's Pair holds, as plain values: (record, candidate, relation,
        # probability, lag), read once here rather than element by element from the arrays.
        levels = compared.gamma[viable]
        relations = [
            RELATION.get(level, "amount") if same else "fx"
            for level, same in zip(
                levels[:, AMOUNT_AT].tolist(), (levels[:, CURRENCY_AT] == 0).tolist(), strict=True
            )
        ]
        self.view = list(zip(rec[viable].tolist(), cand[viable].tolist(), relations,
                             probability[viable].tolist(), compared.lag[viable].tolist(),
                             strict=True))  # fmt: skip
        self.explanations = Explanations(
            compared.gamma[viable], weights[viable], compared.tf[viable], self.right.n
        )
        if forked.splits(processes, len(viable)):
            # On two cores every viable pair's words are written up front, half in a forked
            # child (one process writes only the pairs emitted: 41,797 of 41,935 at 45k).
            view = self.view
            self.texts = forked.halves(
                lambda n: self._explain(n, view[n][0], view[n][1], view[n][3], view[n][4]),
                range(len(viable)),
                processes,
            )
        allowed = np.zeros(len(rec), bool)
        allowed[viable] = guard(
            compared.relative[viable],
            compared.lag[viable],
            weights[viable].sum(axis=1),
            self.records,
            self.candidates,
            rec[viable],
            cand[viable],
            cfg.rules,
        )
        allowed &= ~penalized
        # The viable pairs as plain lists: the loops below read them one at a time.
        ks, lefts, rights = viable.tolist(), rec[viable].tolist(), cand[viable].tolist()
        index = dict(zip(zip(lefts, rights, strict=True), ks, strict=True))
        signature = dict(zip(rights, twin_classes(self.right)[cand[viable]].tolist(),
                             strict=True))  # fmt: skip
        edges = list(zip(lefts, rights, probability[viable].tolist(), strict=True))
        by_left: dict[int, list[int]] = {}
        for i, k in zip(lefts, ks, strict=True):
            by_left.setdefault(i, []).append(k)
        assigned = sorted(assign(edges, signature), key=lambda a: (a.left, a.right))
        self.stats["assigned"] = len(assigned)
        for a in assigned:
            k = index[(a.left, a.right)]
            if probability[k] >= cfg.auto_probability and allowed[k]:
                self._emit(k, "auto")
                continue
            rivals = [o for o in by_left[a.left] if o != k
                      and signature[int(cand[o])] != signature[a.right]]  # fmt: skip
            rivals.sort(key=lambda o: -probability[o])
            # A tie: the guard allows this pair and a rival, the evidence cannot choose (what
            # the model is asked, when one is configured).
            allowed_rivals = [o for o in rivals if allowed[o]] if allowed[k] else []
            if allowed_rivals:
                self.stats["ties"] += 1
                if self.tie_breaker is not None and self._ask_model(k, allowed_rivals):
                    continue
            note = ""
            if rivals:
                note = f"; {len(rivals)} other candidate(s) possible: please choose"
            # A person reads a record's options best first.
            for o in sorted([k, *rivals], key=lambda o: (-probability[o], int(cand[o]))):
                self._emit(o, "suggest", note)

    def _ask_model(self, k: int, rivals: list[int]) -> bool:
        """A tie between pairs the guard allows: the model may pick one (re-checked)."""
        options = [k, *rivals]
        record = self.records[int(self.rec[k])]
        self.stats["model_calls"] += 1
        choice = self.tie_breaker(
            record, [(self.candidates[int(self.cand[o])], float(self.probability[o]))
                     for o in options]
        )  # fmt: skip
        chosen = next((o for o in options if self.candidates[int(self.cand[o])].id == choice), None)
        if chosen is None or int(self.cand[chosen]) in self.used_right:
            if choice is not None:
                self.stats["model_refused"] += 1
            return False
        self.stats["model_links"] += 1
        note = f"; a tie with {len(options) - 1} other candidate(s), broken by the model"
        self._emit(chosen, "auto", note, decided_by="model")
        return True

    def one_to_many(self, feedback: Feedback | None) -> None:
        """Invoices not linked one to one: one payment for several, or instalments, found by
        the rule matcher's exact sums. (Only a record with a period or a reference is paid that
        way: an invoice, not a receipt or a transfer.) They are proposed beside any one-to-one
        suggestion for the same record: a person chooses."""
        linked = {p.left_id for p in self.pairs if p.decision == "auto"}
        taken = {p.right_id for p in self.pairs if p.decision == "auto"}
        rest_left = [
            i
            for i, r in enumerate(self.records)
            if r.id not in linked and (r.date_until is not None or r.reference)
        ]
        rest_right = [j for j, c in enumerate(self.candidates) if c.id not in taken]
        if not rest_left or not rest_right:
            return
        seed = PROFILES["seed"]
        records = [self.records[i] for i in rest_left]
        candidates = [self.candidates[j] for j in rest_right]
        scored, _ = scored_pairs(records, candidates, seed, feedback, _silent, Counter())
        stages = Stages(records, candidates, seed, feedback, None, self.stats)
        stages.combined(scored)
        stages.partial(scored)
        proposed = {(p.left_id, p.right_id) for p in self.pairs}
        self.pairs.extend(p for p in stages.pairs if (p.left_id, p.right_id) not in proposed)
