"""The seed's matcher taken literally: every record scans every candidate. A baseline, not a tool.

For each record (independently: no one-to-one assignment, as in the seed) the loop looks at
EVERY candidate, keeps those the shared rules accept (``check_pair`` with the seed's
``MatchRules``) and links the best-scoring one, if it scores at least ``min_confidence`` (0.8).
The work is n x m iterations whatever the data.

To keep a 10k x 10k run bearable the inner loop first rejects, on values computed once per side,
what ``check_pair`` would reject anyway: another group (team and direction), a date outside the
window, an amount outside the tolerance in every unit the rules compare. These pre-checks only
ever skip pairs ``check_pair`` refuses, so the links are the same as calling it on every pair;
they are still made on each (record, candidate) pair in turn: a full scan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from bg_agents.defs.reconciliation.matcher.rules import MatchRules, Side, check_pair, quoted_amounts
from bg_agents.defs.reconciliation.matcher.types import Pair

# Floats may round an amount by far less than this; the exact test is check_pair's (Decimals).
_SLACK = 1e-6


def _amounts(side: Side) -> tuple[str, float, float | None, dict[str, float]]:
    """(currency, |amount|, |base amount| or None, quoted foreign amounts by currency)."""
    quoted: dict[str, set[Decimal]] = {}
    for name in side.names:
        for currency, amount in quoted_amounts(name):
            quoted.setdefault(currency, set()).add(amount)
    unique = {c: float(next(iter(a))) for c, a in quoted.items() if len(a) == 1}
    base = None if side.base_amount is None else abs(float(side.base_amount))
    return side.currency, abs(float(side.amount)), base, unique


def _close(
    wanted: tuple[str, float, float, float | None, float | None],
    c_cur: str,
    c_amount: float,
    c_base: float | None,
    c_quoted: dict[str, float],
) -> bool:
    """Amounts within tolerance (with float slack) in the unit check_pair compares in: the same
    currency, an original amount the bank text quotes, or base amounts."""
    currency, amount, tol, base, base_tol = wanted
    if c_cur == currency:
        return abs(c_amount - amount) <= tol
    if currency in c_quoted:
        return abs(c_quoted[currency] - amount) <= tol
    if base is None or c_base is None or base_tol is None:
        return False
    return abs(c_base - base) <= base_tol


def naive_scanner(
    candidates: Sequence[Side], rules: MatchRules | None = None, *, prefilter: bool = True
) -> Callable[[Sequence[Side]], list[Pair]]:
    """The scan over ``candidates``, their values computed once: a function of the records that
    gives each record's best candidate under ``check_pair``, found by scanning all candidates.

    ``prefilter=False`` calls ``check_pair`` on every pair of the record's group (the seed's loop
    with no shortcut at all); the links are the same, only slower.
    """
    rules = rules or MatchRules()
    window = rules.date_days
    pct, floor = float(rules.amount_pct), float(rules.amount_abs)
    cands = [
        (
            c.group,
            c.date.toordinal(),
            (c.date_until or c.date).toordinal(),
            *_amounts(c),
        )
        for c in candidates
    ]

    def scan(records: Sequence[Side]) -> list[Pair]:
        pairs: list[Pair] = []
        for record in records:
            group = record.group
            lo = record.date.toordinal() - window
            hi = (record.date_until or record.date).toordinal() + window
            currency, amount, base, _ = _amounts(record)
            tol = max(amount * pct, floor) + _SLACK
            base_tol = None if base is None else max(base * pct, floor) + _SLACK
            wanted = (currency, amount, tol, base, base_tol)
            best: tuple[float, int] | None = None
            for j, (c_group, c_start, c_end, c_cur, c_amount, c_base, c_quoted) in enumerate(cands):
                if c_group != group:
                    continue
                if prefilter and (
                    c_start > hi
                    or c_end < lo
                    or not _close(wanted, c_cur, c_amount, c_base, c_quoted)
                ):
                    continue
                check = check_pair(record, candidates[j], rules)
                if check.ok and (best is None or check.score > best[0]):
                    best = (check.score, j)
            if best is not None:
                score, j = best
                pairs.append(
                    Pair(
                        left_id=record.id,
                        right_id=candidates[j].id,
                        score=score,
                        decision="auto",
                        relation="amount",
                        explanation="best candidate of a full scan under check_pair",
                    )
                )
        return pairs

    return scan
