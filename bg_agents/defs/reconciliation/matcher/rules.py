"""Business rules for linking a record (receipt, invoice) to a bank transaction.

Pure and deterministic, so the matcher, the agent's ``match_record`` tool and the tests all judge a
pair the same way (docs/architecture.md, principle 2: the LLM proposes, the tools dispose).

A pair is linkable when the amounts agree within tolerance, the dates within a window, and the
combined score reaches ``min_confidence`` (the seed's rules: 0.5 %, 5 days, 0.8).

Score = ``weight_amount`` x amount closeness + ``weight_date`` x date closeness + ``weight_name`` x
name agreement, with default weights 0.5 / 0.2 / 0.3:

* amount 0.5: an amount equal within 0.5 % is the strongest evidence, rarely met by chance;
* name 0.3: bank labels are noisy (processor prefixes, truncation, aliases), so a name alone must
  never decide, yet an unrelated name must stop an auto-link: exact amount on the same day with a
  completely different name scores 0.7, below 0.8, and goes to review instead;
* date 0.2: card settlement lags 1-3 days routinely, so the date is the weakest signal.

Closeness curves are piecewise linear: amount 1.0 when equal, 0.8 at the tolerance edge, 0 at 5x
the tolerance; date 1.0 on the same day, 0.5 at the window edge, 0 at twice the window; name
agreement 0 up to ``name_floor`` (0.5) and 1 from ``name_threshold`` (0.8, ERPNext's party-name
cut-off), linear between. The floor exists because the token-set ratio of two unrelated names is
often 0.3-0.5 from shared letters; without it "Schaefer Bakery" vs "STARBUCKS STORE" at the same
amount one day apart scored 0.8 on the simulated world and linked. A pair at the edge of both
tolerances with agreeing names scores exactly 0.8 and still links; anything worse needs a better
amount or date.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

HUNDRED = Decimal(100)
FOUR_PLACES = Decimal("0.0001")  # the precision money is stored with


@dataclass(frozen=True)
class MatchRules:
    amount_pct: Decimal = Decimal("0.005")  # relative tolerance, of the record's amount
    amount_abs: Decimal = Decimal("0.01")  # absolute tolerance; the larger of the two applies
    date_days: int = 5
    min_confidence: float = 0.8
    name_threshold: float = 0.8  # similarity at which names count as the same party
    name_floor: float = 0.5  # similarity at or below which names count as unrelated
    weight_amount: float = 0.5
    weight_date: float = 0.2
    weight_name: float = 0.3

    def __post_init__(self) -> None:
        if self.amount_pct < 0 or self.amount_abs < 0 or self.date_days < 0:
            raise ValueError("tolerances must not be negative")
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"min_confidence must lie in [0, 1], got {self.min_confidence}")
        if not 0 <= self.name_floor < self.name_threshold <= 1:
            raise ValueError("need 0 <= name_floor < name_threshold <= 1")
        weights = (self.weight_amount, self.weight_date, self.weight_name)
        if min(weights) < 0 or abs(sum(weights) - 1) > 1e-9:
            raise ValueError(f"weights must be non-negative and sum to 1, got {weights}")

    def tolerance(self, amount: Decimal) -> Decimal:
        return max(self.amount_pct * abs(amount), self.amount_abs)


DEFAULT_RULES = MatchRules()


@dataclass(frozen=True, slots=True)  # slots: a file brings 100,000s of rows
class Side:
    """One side of a pair: a record or a bank transaction, reduced to what the rules compare.

    ``date_until`` makes the date a period (an invoice may be paid any day from issue to due date).
    ``aliases`` are further names for the same party (a bank row's counterparty, merchant and
    description; an invoice's customer name); the best-agreeing name counts. ``reference`` is an
    identifier the other side may quote (an invoice number, a payment reference). ``group`` keeps
    apart what must never pair (one team's records and another team's transactions).
    """

    id: str
    date: date
    amount: Decimal
    currency: str
    name: str
    base_amount: Decimal | None = None
    date_until: date | None = None
    aliases: tuple[str, ...] = ()
    reference: str | None = None
    group: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class PairCheck:
    ok: bool
    score: float
    reasons: list[str]  # every observation, in the order amount, date, name, score
    parts: dict[str, Any]  # the numbers behind the score (JSON-serializable)
    problems: list[str] = field(default_factory=list)  # the reasons that forbid a link

    def explanation(self) -> str:
        shown = {k: v for k, v in self.parts.items() if k != "weights"}
        details = ", ".join(f"{k}={v}" for k, v in shown.items())
        return f"score {self.score:.2f}: {'; '.join(self.reasons)} ({details})"


# --- name normalization ------------------------------------------------------------------------

# German banks spell umlauts out; doing the same on both sides keeps "Müller" == "MUELLER".
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# Card processors and marketplaces that prefix the merchant ("SQ *BLUE BOTTLE").
_PROCESSOR = re.compile(
    r"\b(?:sq|sumup|ztl|tst|iz|paypal|pp|stripe|square|sp|ppl|payu|zettle|adyen)\s*\*\s*"
)
_ALIASES = ((re.compile(r"\bamzn\s*(?:mktp|mktplace|marketplace)?\b"), "amazon "),)
_DOMAIN = re.compile(r"\.(?:com|net|org|io|co\.uk|co|us|de|fr|uk)\b")
_INITIALS = re.compile(r"\b(?:[a-z]\.){2,}")  # "s.a." -> "sa", "k.k." -> "kk"
_NON_WORD = re.compile(r"[^a-z0-9]+")
# How a bank prefixes a card payment or transfer; dropped only at the start of a label.
_LEADING_NOISE = frozenset(
    {"pos", "card", "purchase", "debit", "credit", "visa", "mc", "mastercard", "refund", "sepa"}
    | {"ach", "contactless", "payment", "transfer", "online"}
)
_COMPANY_SUFFIXES = frozenset(
    {"gmbh", "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "plc", "sa", "sas"}
    | {"sarl", "ag", "ug", "kg", "bv", "nv", "srl", "spa", "oy", "ab", "pty", "pvt", "pte", "co"}
    | {"corp", "corporation", "company", "kk", "gk", "ltda"}
)


@lru_cache(maxsize=1 << 17)  # bank labels and vendors repeat: most calls are cache hits
def normalize_name(text: str) -> str:
    """Comparable form of a party name: lower case, ASCII, no punctuation, suffixes or prefixes.

    "Hetzner Online GmbH" and "HETZNER ONLINE" both become "hetzner online"; "CARD PURCHASE SQ
    *BLUE BOTTLE 4417" becomes "blue bottle"; "AMZN Mktp *66D9Q" becomes "amazon 66d9q".
    If stripping would leave nothing (a vendor called "Square"), the unstripped words are kept.
    """
    text = text.lower().translate(_UMLAUTS)
    if not text.isascii():  # ASCII is its own NFKD form: only accents need folding
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.replace("'", "").replace("&", " ")
    # Each pattern below needs a character most names lack: skipping it then changes nothing
    # and halves the time (a file brings ~100,000 distinct names).
    if "." in text:
        text = _INITIALS.sub(lambda m: m.group().replace(".", ""), text)
        text = _DOMAIN.sub(" ", text)
    plain = [t for t in _NON_WORD.split(text) if t and not t.isdigit()]
    words = plain
    if "amzn" in text or "*" in text:
        for pattern, replacement in _ALIASES:
            text = pattern.sub(replacement, text)
        text = _PROCESSOR.sub(" ", text)
        words = [t for t in _NON_WORD.split(text) if t and not t.isdigit()]
    words = words[:]  # trimmed below; ``plain`` stays whole
    while len(words) > 1 and words[0] in _LEADING_NOISE:
        words.pop(0)
    while len(words) > 1 and words[-1] in _COMPANY_SUFFIXES:
        words.pop()
    return " ".join(words or plain)


def name_similarity(a: str, b: str) -> float:
    """Token-set similarity in [0, 1] of two normalized names (word order and extras forgiven)."""
    left, right = normalize_name(a), normalize_name(b)
    if not left or not right:
        return 0.0
    return fuzz.token_set_ratio(left, right, processor=None) / 100


def best_similarity(left: tuple[str, ...], right: tuple[str, ...]) -> float:
    """The best-agreeing pair of names of two sides."""
    return normalized_similarity(
        tuple(n for n in map(normalize_name, left) if n),
        tuple(n for n in map(normalize_name, right) if n),
    )


@lru_cache(maxsize=1 << 18)  # vendors and bank labels repeat: most pairs of parties recur
def normalized_similarity(left: tuple[str, ...], right: tuple[str, ...]) -> float:
    """:func:`best_similarity` of names already normalized (what the matcher holds)."""
    best = max((fuzz.token_set_ratio(x, y, processor=None) for x in left for y in right),
               default=0.0)  # fmt: skip
    return best / 100


# --- references and amounts quoted in bank text ------------------------------------------------

_TOKEN = re.compile(r"[^\s,;/|]+")
_ALNUM = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=1 << 17)
def reference_tokens(text: str) -> frozenset[str]:
    """Identifier-like tokens of a text (invoice numbers, references): 4+ digits, lower case.

    "RE-2025-0042" -> "re20250042" (Odoo looks for such tokens before amounts); separators and
    case are dropped, so "RE20250042" and "re-2025-0042" in a bank label count as the same.
    """
    found = set()
    for token in _TOKEN.findall(text.lower()):
        plain = _ALNUM.sub("", token)
        if sum(c.isdigit() for c in plain) >= 4:
            found.add(plain)
    return frozenset(found)


def reference_found(record: Side, candidate: Side) -> str | None:
    """The record's reference (e.g. its invoice number) when the candidate's text quotes it."""
    if not record.reference:
        return None
    wanted = reference_tokens(record.reference)
    if not wanted:
        return None
    for text in (*candidate.names, candidate.reference or ""):
        if text and wanted & reference_tokens(text):
            return record.reference
    return None


def _series(token: str) -> str:
    """The letters an identifier starts with: "inv20250044" -> "inv", "20250044" -> ""."""
    return token[: len(token) - len(token.lstrip("abcdefghijklmnopqrstuvwxyz"))]


def reference_conflict(record: Side, candidate: Side) -> str | None:
    """Another identifier of the record's series that the candidate quotes instead of its own.

    A payment whose text says "INV-2025-0032" pays that invoice, not INV-2025-0044 for the same
    amount (monthly invoices often have equal amounts). Returns the quoted token, or None.
    """
    if not record.reference:
        return None
    wanted = reference_tokens(record.reference)
    if not wanted:
        return None
    quoted: set[str] = set()
    for text in (*candidate.names, candidate.reference or ""):
        if text:
            quoted |= reference_tokens(text)
    if wanted & quoted:
        return None
    series = {(_series(t), len(t)) for t in wanted}
    return next((t for t in sorted(quoted) if (_series(t), len(t)) in series), None)


_QUOTED = re.compile(
    r"\b([A-Z]{3})\s+(\d{1,3}(?:[.,]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)\b"
)


def _quoted_number(number: str) -> Decimal:
    """A separator followed by one or two final digits is the decimal point; others group."""
    whole, frac = number, ""
    if len(number) > 3 and number[-3] in ".,":
        whole, frac = number[:-3], number[-2:]
    elif len(number) > 2 and number[-2] in ".,":
        whole, frac = number[:-2], number[-1:]
    whole = whole.replace(".", "").replace(",", "")
    return Decimal(f"{whole}.{frac}" if frac else whole)


@lru_cache(maxsize=1 << 17)
def quoted_amounts(text: str) -> tuple[tuple[str, Decimal], ...]:
    """Foreign amounts a card label quotes, e.g. "AMAZON USD 12.34" -> (("USD", 12.34),)."""
    return tuple((currency, _quoted_number(n)) for currency, n in _QUOTED.findall(text))


def quoted_amount(candidate: Side, currency: str) -> Decimal | None:
    """The amount in ``currency`` the candidate's text quotes, when it quotes exactly one."""
    amounts = {a for name in candidate.names for c, a in quoted_amounts(name) if c == currency}
    return amounts.pop() if len(amounts) == 1 else None


def combined_score(
    rules: MatchRules, amount_part: float, date_part: float, name_part: float
) -> float:
    return round(
        rules.weight_amount * amount_part
        + rules.weight_date * date_part
        + rules.weight_name * name_part,
        4,
    )


# --- the rules ---------------------------------------------------------------------------------


def format_pct(value: Decimal) -> str:
    """3.125 -> "3.1", 0.5 -> "0.5", 0.31 -> "0.31", 12 -> "12": enough digits to read."""
    places = Decimal("0.1") if abs(value) >= 1 else Decimal("0.01")
    text = f"{value.quantize(places):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: Decimal) -> str:
    """An absolute amount with at least two decimals: 42.5 -> \"42.50\"."""
    whole, _, frac = f"{abs(value):f}".partition(".")  # as normalize() would, without its cost
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


def days_apart(a: Side, b: Side) -> int:
    """Distance in days between two dates or periods (0 when they overlap)."""
    a_end, b_end = a.date_until or a.date, b.date_until or b.date
    if b.date > a_end:
        return (b.date - a_end).days
    if a.date > b_end:
        return (a.date - b_end).days
    return 0


def amount_closeness(diff: Decimal, tolerance: Decimal) -> float:
    """1.0 when equal, 0.8 at the tolerance edge, 0.0 at five times the tolerance."""
    if diff <= 0:
        return 1.0
    if tolerance <= 0:
        return 0.0
    r = float(diff / tolerance)
    return 1 - 0.2 * r if r <= 1 else max(0.0, 0.8 * (1 - (r - 1) / 4))


def date_closeness(days: int, window: int) -> float:
    """1.0 on the same day, 0.5 at the window edge, 0.0 at twice the window."""
    if days <= 0:
        return 1.0
    if window <= 0:
        return 0.0
    r = days / window
    return 1 - 0.5 * r if r <= 1 else max(0.0, 0.5 * (2 - r))


def name_agreement(similarity: float, rules: MatchRules) -> float:
    """0.0 at or below the floor (unrelated names share letters by chance), 1.0 from threshold."""
    span = rules.name_threshold - rules.name_floor
    return min(1.0, max(0.0, (similarity - rules.name_floor) / span))


def check_pair(record: Side, candidate: Side, rules: MatchRules = DEFAULT_RULES) -> PairCheck:
    """Judge whether ``record`` may be linked to the bank transaction ``candidate``.

    Amounts compare by absolute value (a 42.50 receipt pays out as -42.50), in the base currency
    when the currencies differ. The relative tolerance is taken of the record's amount.
    """
    reasons: list[str] = []
    problems: list[str] = []
    parts: dict[str, Any] = {}

    compared = _compared_amounts(record, candidate, parts, reasons)
    if compared is None:
        reason = "different currency and no base amount"
        return PairCheck(False, 0.0, [reason], parts, [reason])
    a, b, unit = compared

    diff = abs(a - b)
    tol = rules.tolerance(a)
    amount_ok = diff <= tol
    amount_reason = _amount_reason(a, diff, tol, unit, rules)
    reasons.append(amount_reason)
    if not amount_ok:
        problems.append(amount_reason)

    days = days_apart(record, candidate)
    date_ok = days <= rules.date_days
    date_reason = _date_reason(days, record, rules)
    reasons.append(date_reason)
    if not date_ok:
        problems.append(date_reason)

    similarity, conflict = _name_check(record, candidate, rules, reasons, problems)

    amount_part = amount_closeness(diff, tol)
    date_part = date_closeness(days, rules.date_days)
    name_part = name_agreement(similarity, rules)
    score = combined_score(rules, amount_part, date_part, name_part)
    if score < rules.min_confidence:
        low = f"score {score:.2f} below the minimum {rules.min_confidence:.2f}"
        reasons.append(low)
        problems.append(low)

    parts.update(
        amount=round(amount_part, 4),
        date=round(date_part, 4),
        name=round(name_part, 4),
        amount_diff=str(diff.quantize(FOUR_PLACES)),
        amount_tolerance=str(tol.quantize(FOUR_PLACES)),
        days_apart=days,
        name_similarity=round(similarity, 4),
        weights={
            "amount": rules.weight_amount,
            "date": rules.weight_date,
            "name": rules.weight_name,
        },
    )
    ok = amount_ok and date_ok and conflict is None and score >= rules.min_confidence
    return PairCheck(ok, score, reasons, parts, problems)


def _compared_amounts(
    record: Side, candidate: Side, parts: dict[str, Any], reasons: list[str]
) -> tuple[Decimal, Decimal, str] | None:
    """The two amounts check_pair compares and their unit; None when no two are comparable.

    Sets ``parts["compared"]`` to what was compared, and explains a quoted or base amount.
    """
    quoted = None
    if record.currency != candidate.currency:
        quoted = quoted_amount(candidate, record.currency)
    if record.currency == candidate.currency:
        a, b, unit = abs(record.amount), abs(candidate.amount), record.currency
        parts["compared"] = "amount"
    elif quoted is not None:
        a, b, unit = abs(record.amount), quoted, record.currency
        parts["compared"] = "quoted_amount"
        reasons.append(f"the bank text quotes the original {money(b)} {unit}")
    elif record.base_amount is None or candidate.base_amount is None:
        parts["compared"] = "none"
        return None
    else:
        a, b, unit = abs(record.base_amount), abs(candidate.base_amount), "base"
        parts["compared"] = "base_amount"
        reasons.append(
            f"different currencies ({record.currency}, {candidate.currency}): "
            f"compared base amounts {money(a)} and {money(b)}"
        )
    return a, b, unit


def _amount_reason(a: Decimal, diff: Decimal, tol: Decimal, unit: str, rules: MatchRules) -> str:
    if diff == 0:
        return f"same amount ({money(a)} {unit})"
    if rules.amount_pct * a >= rules.amount_abs and a > 0:
        pct, limit = format_pct(diff / a * HUNDRED), format_pct(rules.amount_pct * HUNDRED)
        return f"amount differs by {pct} % (limit {limit} %)"
    return f"amount differs by {money(diff)} {unit} (limit {money(tol)} {unit})"


def _date_reason(days: int, record: Side, rules: MatchRules) -> str:
    if days == 0:
        return "same date" if record.date_until is None else "date within the record's period"
    unit_days = "day" if days == 1 else "days"
    return f"dates {days} {unit_days} apart (limit {rules.date_days})"


def _name_check(
    record: Side, candidate: Side, rules: MatchRules, reasons: list[str], problems: list[str]
) -> tuple[float, str | None]:
    """(name similarity, the other reference the bank text quotes); explains either."""
    similarity = best_similarity(record.names, candidate.names)
    reference = reference_found(record, candidate)
    conflict = reference_conflict(record, candidate)
    if reference is not None:
        reasons.append(f"reference {reference} found in the bank text")
        similarity = 1.0
    elif conflict is not None:
        quoted = f"the bank text quotes another reference ({conflict})"
        reasons.append(quoted)
        problems.append(quoted)
        similarity = 0.0
    elif similarity >= rules.name_threshold:
        reasons.append(f"names agree (similarity {similarity:.2f})")
    else:
        reasons.append(
            f"names differ (similarity {similarity:.2f}, threshold {rules.name_threshold:.2f})"
        )
    return similarity, conflict
