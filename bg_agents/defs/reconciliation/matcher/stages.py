"""The rule matcher's decision stages: one-to-one, combined (one payment for several records),
partial (several payments for one record). The learned matcher reuses the last two."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal

from bg_agents.defs.reconciliation.matcher.assignment import assign
from bg_agents.defs.reconciliation.matcher.blocking import candidate_pairs, prepare
from bg_agents.defs.reconciliation.matcher.config import MatcherConfig
from bg_agents.defs.reconciliation.matcher.rules import Side, check_pair, money
from bg_agents.defs.reconciliation.matcher.scoring import ONE_TO_ONE, Scored, describe, score_pair
from bg_agents.defs.reconciliation.matcher.types import Feedback, Pair, TieBreaker

Report = Callable[[str, int, int], None]


def scored_pairs(
    records: Sequence[Side],
    candidates: Sequence[Side],
    config: MatcherConfig,
    feedback: Feedback | None,
    report: Report,
    stats: Counter[str],
) -> tuple[list[Scored], list[tuple[str, ...]]]:
    """The rule matcher's blocked pairs scored on exact Decimals (those worth a look), and the
    candidates' normalized names."""
    groups: dict[str, int] = {}
    left, right = prepare(records, groups), prepare(candidates, groups)
    report("candidates", 0, len(records))
    rec_idx, cand_idx = candidate_pairs(left, right, config)
    stats["candidate_pairs"] += len(rec_idx)
    report("scoring", 0, len(rec_idx))
    scored: list[Scored] = []
    for n, (i, j) in enumerate(zip(rec_idx.tolist(), cand_idx.tolist(), strict=True)):
        s = score_pair(records[i], candidates[j], left.names[i], right.names[j], config,
                       feedback, i, j)  # fmt: skip
        if s is not None:
            scored.append(s)
        if n and n % 200_000 == 0:
            report("scoring", n, len(rec_idx))
    return scored, right.names


class Stages:
    def __init__(
        self,
        records: Sequence[Side],
        candidates: Sequence[Side],
        config: MatcherConfig,
        feedback: Feedback | None,
        tie_breaker: TieBreaker | None,
        stats: Counter[str],
    ) -> None:
        self.records, self.candidates, self.cfg = records, candidates, config
        self.feedback, self.tie_breaker, self.stats = feedback, tie_breaker, stats
        self.pairs: list[Pair] = []
        self.used_left: set[int] = set()  # records settled (auto) or proposed in stages 2-3
        self.used_right: set[int] = set()  # candidates linked or proposed

    def _emit(self, s: Scored, decision: str, explanation: str, **extra: object) -> None:
        self.pairs.append(
            Pair(
                left_id=self.records[s.left].id,
                right_id=self.candidates[s.right].id,
                score=s.score,
                decision=decision,  # type: ignore[arg-type]
                relation=str(extra.pop("relation", s.relation)),
                explanation=explanation,
                **extra,  # type: ignore[arg-type]
            )
        )

    def _auto_ok(self, s: Scored) -> bool:
        """Amounts agree and the shared rules accept the pair (what ``match_record`` enforces)."""
        if s.relation != "amount" or s.penalized:
            return False
        record, cand = self.records[s.left], self.candidates[s.right]
        alias = self.feedback.known_alias(record, cand) if self.feedback else None
        if alias is not None:  # a person confirmed this label for the party: the rules hear it
            record = replace(record, aliases=(*record.aliases, alias))
        return check_pair(record, cand, self.cfg.rules).ok

    # -- stage 1 ------------------------------------------------------------------------------

    def one_to_one(self, scored: list[Scored], right_names: list[tuple[str, ...]]) -> None:
        cfg = self.cfg
        floor = cfg.rules.name_floor
        viable = {
            (s.left, s.right): s
            for s in scored
            if s.relation in ONE_TO_ONE
            and s.score >= cfg.suggest_min
            and not s.conflict  # it quotes another record's reference: it pays that one
            # An explained difference between unrelated names is a coincidence, not a lead.
            and (s.relation == "amount" or s.similarity > floor)
        }
        # Records that some candidate quotes by reference: a link to a candidate that does not
        # quote it would contradict that evidence (often: the record was paid in parts).
        quoted = {s.left for s in scored if s.quoted}
        candidates = self.candidates
        signature = {
            j: (abs(candidates[j].amount), candidates[j].currency, candidates[j].date,
                right_names[j])
            for j in {j for _, j in viable}
        }  # fmt: skip
        edges = [(i, j, s.score) for (i, j), s in viable.items()]
        by_left: dict[int, list[Scored]] = defaultdict(list)
        for s in viable.values():
            by_left[s.left].append(s)
        assigned = sorted(assign(edges, signature), key=lambda a: (a.left, a.right))
        taken = {a.right for a in assigned}
        self.stats["assigned"] = len(assigned)
        for a in assigned:
            s = viable[(a.left, a.right)]
            if not self._auto_ok(s):
                self._emit(s, "suggest", describe(s, cfg))
                continue
            if s.left in quoted and not s.quoted:
                note = "; another transaction quotes this record's reference"
                self._emit(s, "suggest", describe(s, cfg) + note)
                continue
            if a.margin >= cfg.tie_margin:
                note = "; no other answer within the tie margin"
                self._emit(s, "auto", describe(s, cfg) + note)
                self.used_left.add(s.left)
                self.used_right.add(s.right)
                continue
            self._tie(s, by_left[s.left], signature, taken)

    def _tie(self, s: Scored, options: list[Scored], signature: dict, taken: set[int]) -> None:
        """Another answer scores within the margin: the model may pick, a person decides."""
        cfg = self.cfg
        self.stats["ties"] += 1
        rivals = [
            o
            for o in options
            if o.right != s.right
            and o.score >= s.score - cfg.tie_margin
            and signature[o.right] != signature[s.right]
            and o.right not in self.used_right
            and (o.right not in taken or o.right == s.right)
        ]
        tied = [s, *sorted(rivals, key=lambda o: (-o.score, o.right))]
        record = self.records[s.left]
        if self.tie_breaker is not None and len(tied) > 1:
            self.stats["model_calls"] += 1
            choice = self.tie_breaker(record, [(self.candidates[o.right], o.score) for o in tied])
            chosen = next((o for o in tied if self.candidates[o.right].id == choice), None)
            if chosen is not None and self._auto_ok(chosen):
                self.stats["model_links"] += 1
                note = f"; a tie with {len(tied) - 1} other candidate(s), broken by the model"
                self._emit(chosen, "auto", describe(chosen, cfg) + note, decided_by="model")
                self.used_left.add(chosen.left)
                self.used_right.add(chosen.right)
                return
            if choice is not None:
                self.stats["model_refused"] += 1
        if len(tied) > 1:
            note = f"; a tie with {len(tied) - 1} other candidate(s): please choose"
        else:
            note = "; another record fits this candidate about as well: please choose"
        for o in tied:
            self._emit(o, "suggest", describe(o, cfg) + note)

    # -- stage 2 ------------------------------------------------------------------------------

    def combined(self, scored: list[Scored]) -> None:
        """Candidates several records add up to: one payment settling several invoices."""
        cfg = self.cfg
        parts: dict[int, list[Scored]] = defaultdict(list)
        for s in scored:
            if s.relation in ("over", "partial", *ONE_TO_ONE) and s.agrees:
                parts[s.right].append(s)
        for j in sorted(parts, key=lambda j: (self.candidates[j].date, j)):
            if j in self.used_right:
                continue
            options = [s for s in parts[j] if s.left not in self.used_left and s.a < s.b]
            if len(options) < 2:
                continue
            options.sort(key=lambda s: (-s.score, s.left))
            options = options[: cfg.max_subset_candidates]
            target = options[0].b
            tol = cfg.rules.tolerance(target)
            exact = cfg.rules.amount_abs
            hits = []
            for size in range(2, min(cfg.max_subset, len(options)) + 1):
                for combo in itertools.combinations(options, size):
                    total = sum((s.a for s in combo), Decimal(0))
                    if abs(total - target) <= tol:
                        hits.append((abs(total - target), combo))
            if not hits:
                continue

            def referenced(combo: tuple[Scored, ...]) -> int:
                return sum(s.quoted for s in combo)

            # The combination the bank text quotes best, then the closest, then the best scored.
            hits.sort(key=lambda h: (-referenced(h[1]), h[0], -sum(s.score for s in h[1])))
            diff, combo = hits[0]
            # Unique: the only exact combination, or the only one whose every record is quoted.
            unique = len(hits) == 1 or (
                referenced(combo) == len(combo)
                and sum(referenced(c) == len(c) for _, c in hits) == 1
            )
            in_window = all(s.days <= cfg.rules.date_days for s in combo)
            auto = unique and diff <= exact and in_window and not any(s.penalized for s in combo)
            self.stats["combined_groups"] += 1
            total = money(sum((s.a for s in combo), Decimal(0)))
            how = "exactly" if diff <= exact else f"within {money(diff)}"
            why = "the only combination" if unique else f"one of {len(hits)} combinations"
            for s in combo:
                note = (
                    f"; one of {len(combo)} records this candidate settles together "
                    f"(sum {total} matches {money(target)} {how}; {why})"
                )
                self._emit(
                    s,
                    "auto" if auto else "suggest",
                    describe(s, cfg) + note,
                    relation="combined",
                    matched_amount=s.a if s.unit != "base" else None,
                )
                self.used_left.add(s.left)
            self.used_right.add(j)

    # -- stage 3 ------------------------------------------------------------------------------

    def partial(self, scored: list[Scored]) -> None:
        """Records that several smaller candidates pay off (instalments): suggestions only."""
        proposed = {(p.left_id, p.right_id) for p in self.pairs}
        by_left: dict[int, list[Scored]] = defaultdict(list)
        for s in scored:
            if (
                s.relation == "partial"
                and s.agrees
                and (s.kind is not None or self.records[s.left].date_until is not None)
            ):
                by_left[s.left].append(s)
        order = sorted(by_left, key=lambda i: (self.records[i].date, i))
        # First the records that a set of instalments settles exactly, then the rest in date
        # order with what is left: an exact sum is the better evidence for whose money it is.
        for exact_only in (True, False):
            for i in order:
                if i in self.used_left:
                    continue
                chosen = self._instalments(by_left[i], exact_only)
                if chosen is None:
                    continue
                self._emit_partial(i, chosen, proposed)

    def _instalments(self, options: list[Scored], exact_only: bool) -> list[Scored] | None:
        """Payments (in date order) that settle a record exactly, else what fits so far."""
        cfg = self.cfg
        free = [s for s in options if s.right not in self.used_right]
        if not free:
            return None
        target = free[0].a
        tol = cfg.rules.tolerance(target)
        quoted = [s for s in free if s.quoted]
        pool = sorted(quoted or free, key=lambda s: (-s.score, s.right))
        pool = pool[: cfg.max_subset_candidates]
        for size in range(1, min(cfg.max_subset, len(pool)) + 1):
            for combo in itertools.combinations(pool, size):
                if abs(sum((s.b for s in combo), Decimal(0)) - target) <= tol:
                    return sorted(combo, key=lambda s: (self.candidates[s.right].date, s.right))
        if exact_only:
            return None
        chosen: list[Scored] = []
        paid = Decimal(0)
        for s in sorted(free, key=lambda s: (self.candidates[s.right].date, s.right)):
            if paid + s.b <= target + tol:  # instalments in date order, while they fit
                chosen.append(s)
                paid += s.b
        return chosen or None

    def _emit_partial(self, i: int, chosen: list[Scored], proposed: set) -> None:
        cfg = self.cfg
        target = chosen[0].a
        paid = sum((s.b for s in chosen), Decimal(0))
        settled = abs(paid - target) <= cfg.rules.tolerance(target)
        for s in chosen:
            if (self.records[i].id, self.candidates[s.right].id) in proposed:
                continue
            state = "together they settle it" if settled else f"{money(paid)} paid so far"
            note = f"; one of {len(chosen)} partial payment(s): {state}"
            self._emit(
                s, "suggest", describe(s, cfg) + note, relation="partial", matched_amount=s.b
            )
            self.used_right.add(s.right)
        self.used_left.add(i)
        self.stats["partial_groups"] += 1
