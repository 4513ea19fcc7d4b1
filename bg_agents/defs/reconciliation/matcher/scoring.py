"""Score one (record, candidate) pair on exact Decimals, and name how their amounts relate.

The score is the rules' own formula (``combined_score``: amount, date and name closeness weighted
0.5 / 0.2 / 0.3). What the matcher adds is the *relation*: an amount that differs is not just
"wrong", it may be explained (a VAT rate, a processor fee, an FX mark-up, one payment of several).
An explained difference earns partial amount credit and makes a suggestion; only ``amount``
(equal within the rules' tolerance) can become an automatic link, after ``check_pair`` agrees.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from bg_agents.defs.reconciliation.matcher.config import MatcherConfig
from bg_agents.defs.reconciliation.matcher.rules import (
    HUNDRED,
    Side,
    amount_closeness,
    combined_score,
    date_closeness,
    days_apart,
    format_pct,
    money,
    name_agreement,
    normalized_similarity,
    quoted_amount,
    reference_conflict,
    reference_found,
)
from bg_agents.defs.reconciliation.matcher.types import Feedback

ONE_TO_ONE = ("amount", "vat", "fee", "surcharge", "fx")
# Amount credit of an explained difference: a VAT rate or a fee explains the gap, but a same-sized
# gap could be chance; part of a payment is weaker still.
EXPLAINED_CREDIT = {"vat": 0.7, "fee": 0.7, "surcharge": 0.7, "fx": 0.75}
PART_CREDIT = 0.5
VAT_ROUNDING = Decimal("0.001")
CENT = Decimal("0.01")  # net x (1 + rate) lands within a rounding step of the gross


@dataclass(frozen=True)
class Scored:
    left: int
    right: int
    relation: str  # amount | vat | fee | surcharge | fx | partial | over
    score: float
    a: Decimal  # the record's amount as compared (absolute; base amount across currencies)
    b: Decimal  # the candidate's amount as compared
    unit: str
    days: int
    similarity: float
    evidence: str | None  # in words: "reference INV-1 in the bank text", ...
    kind: str | None  # what the evidence is: reference | alias | conflict
    agrees: bool  # names agree, or a reference or a confirmed alias ties the two
    vat_rate: Decimal | None
    penalized: bool

    @property
    def conflict(self) -> bool:
        """The bank text quotes another record's reference: it pays that one."""
        return self.kind == "conflict"

    @property
    def quoted(self) -> bool:
        """The bank text quotes this record's reference."""
        return self.kind == "reference"


def compared_amounts(record: Side, cand: Side) -> tuple[Decimal, Decimal, str] | None:
    """Both amounts in one unit: the same currency, a quoted original, or base amounts."""
    if record.currency == cand.currency:
        return abs(record.amount), abs(cand.amount), record.currency
    quoted = quoted_amount(cand, record.currency)
    if quoted is not None:
        return abs(record.amount), quoted, record.currency
    if record.base_amount is not None and cand.base_amount is not None:
        return abs(record.base_amount), abs(cand.base_amount), "base"
    return None


def relation(
    a: Decimal, b: Decimal, unit: str, cfg: MatcherConfig
) -> tuple[str, float, Decimal | None]:
    """(relation, amount credit, VAT rate if any) for record amount ``a``, candidate ``b``."""
    rules = cfg.rules
    tol = rules.tolerance(a)
    diff = b - a
    if abs(diff) <= tol:
        return "amount", amount_closeness(abs(diff), tol), None
    if unit == "base" and abs(diff) <= a * cfg.fx_markup + tol:
        return "fx", EXPLAINED_CREDIT["fx"], None
    if diff > 0 and a > 0 and cfg.vat_rates:
        rates = cfg.vat_rates
        k = bisect.bisect_left(rates, b / a - 1)
        for rate in rates[max(0, k - 1) : k + 1]:
            gross = a * (1 + rate)
            if abs(b - gross) <= max(rules.amount_abs, gross * VAT_ROUNDING):
                return "vat", EXPLAINED_CREDIT["vat"], rate
        if rates[0] <= diff / a <= rates[-1]:  # a local sales tax, a tip: still worth a look
            return "vat", EXPLAINED_CREDIT["vat"] - 0.1, None
    fee_room = a * cfg.fee_pct + cfg.fee_abs
    if 0 < diff <= fee_room:
        return "surcharge", EXPLAINED_CREDIT["surcharge"], None
    if 0 < -diff <= fee_room:
        return "fee", EXPLAINED_CREDIT["fee"], None
    return ("partial" if diff < 0 else "over"), PART_CREDIT, None


def relation_note(s: Scored, cfg: MatcherConfig) -> str:
    """How the two amounts relate, in words (built only for pairs that are shown)."""
    a, b, unit = s.a, s.b, s.unit
    diff = b - a
    pct = format_pct(abs(diff) / a * HUNDRED) if a else "0"
    if s.relation == "amount":
        note = "same amount" if diff == 0 else f"amounts differ by {money(abs(diff))} {unit}"
        limit = cfg.rules.tolerance(a).quantize(CENT, rounding=ROUND_HALF_UP)
        return f"{note} ({money(a)} {unit}, limit {money(limit)})"
    if s.relation == "fx":
        return f"base amounts differ by {pct} %, an FX mark-up"
    if s.relation == "vat" and s.vat_rate is not None:
        return f"{money(b)} = {money(a)} + {format_pct(s.vat_rate * HUNDRED)} % VAT"
    if s.relation == "vat":
        return f"{money(diff)} {unit} ({pct} %) more: sales tax, VAT or a tip"
    if s.relation == "surcharge":
        return f"{money(diff)} {unit} ({pct} %) more: a card or processor surcharge"
    if s.relation == "fee":
        return f"{money(-diff)} {unit} ({pct} %) less: paid net of a fee"
    if s.relation == "partial":
        return f"{money(b)} of {money(a)} {unit} ({format_pct(b / a * HUNDRED)} %)"
    return f"{money(b)} exceeds {money(a)} {unit}"


def score_pair(
    record: Side,
    cand: Side,
    left_names: tuple[str, ...],
    right_names: tuple[str, ...],
    cfg: MatcherConfig,
    feedback: Feedback | None,
    i: int,
    j: int,
) -> Scored | None:
    if feedback is not None and feedback.is_declined(record, cand):
        return None
    compared = compared_amounts(record, cand)
    if compared is None:
        return None
    a, b, unit = compared
    rules = cfg.rules
    sim = normalized_similarity(left_names, right_names)
    evidence = kind = None
    reference = reference_found(record, cand)
    if reference is not None:
        evidence, kind, sim = f"reference {reference} in the bank text", "reference", 1.0
    elif (conflict := reference_conflict(record, cand)) is not None:
        evidence, kind = f"the bank text quotes another reference ({conflict})", "conflict"
        sim = 0.0
    elif feedback is not None and (alias := feedback.known_alias(record, cand)) is not None:
        evidence, kind, sim = f"{alias!r} confirmed earlier as this party", "alias", 1.0
    if evidence is None and sim <= rules.name_floor and abs(b - a) > rules.tolerance(a):
        # Unrelated names: only equal amounts are worth a look (an explained difference or a
        # part payment between strangers is a coincidence). Most blocked pairs end here.
        return None
    rel, credit, rate = relation(a, b, unit, cfg)
    days = days_apart(record, cand)
    score = combined_score(
        rules, credit, date_closeness(days, rules.date_days), name_agreement(sim, rules)
    )
    penalized = feedback is not None and feedback.resembles_declined(record, cand)
    if penalized:
        score = round(max(0.0, score - Feedback.declined_penalty), 4)
    agrees = kind != "conflict" and sim >= rules.name_threshold
    return Scored(i, j, rel, score, a, b, unit, days, sim, evidence, kind, agrees, rate, penalized)


def describe(s: Scored, cfg: MatcherConfig) -> str:
    """The parts of a score in words, e.g. "same amount; 1 day apart; names agree (0.93)"."""
    window = cfg.rules.date_days
    if s.days == 0:
        when = "same date"
    else:
        when = f"{s.days} day{'s' if s.days != 1 else ''} apart"
        if s.days > window:
            when += f" (beyond the {window}-day window)"
    if s.evidence is not None:
        name = s.evidence
    elif s.similarity >= cfg.rules.name_threshold:
        name = f"names agree ({s.similarity:.2f})"
    else:
        name = f"names differ ({s.similarity:.2f})"
    text = f"score {s.score:.2f}: {relation_note(s, cfg)}; {when}; {name}"
    if s.penalized:
        text += "; a person declined a pair with these names before"
    return text
