"""How the matcher searches and decides, on top of the rules that say what may be linked.

``MatchRules`` (domain/match_rules.py) is the guard shared with the agent's ``match_record`` tool:
a pair that fails it is never auto-linked, by the matcher or by a model. ``MatcherConfig`` adds
what only the search needs: which explained differences to look for (VAT, fees, FX mark-ups,
partial and combined payments), when two candidates count as a tie, and how far to search.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from bg_agents.defs.reconciliation.matcher.evidence.candidates import Blocking
from bg_agents.defs.reconciliation.matcher.rules import MatchRules

# Standard VAT/GST rates seen on receipts (5-25 %, docs/architecture.md, the matcher's rules). A
# receipt that shows the net amount pays out as net x (1 + rate). A payment 5-25 % above a
# receipt at another rate (a local sales tax such as 8.875 %, a tip) is still proposed, with a
# little less credit.
VAT_RATES = tuple(
    Decimal(r)
    for r in (
        "0.05", "0.06", "0.07", "0.08", "0.09", "0.10", "0.12", "0.13", "0.14", "0.15",
        "0.16", "0.17", "0.18", "0.19", "0.20", "0.21", "0.22", "0.23", "0.24", "0.25",
    )
)  # fmt: skip


@dataclass(frozen=True)
class MatcherConfig:
    rules: MatchRules = field(default_factory=MatchRules)
    vat_rates: tuple[Decimal, ...] = VAT_RATES
    # A processor or bank fee: up to this share of the amount plus a fixed part (card surcharges
    # are added to a purchase; payouts and wires arrive net of the fee).
    fee_pct: Decimal = Decimal("0.035")
    fee_abs: Decimal = Decimal(0)
    # Card FX mark-up over the mid rate, when two currencies are compared through base amounts.
    fx_markup: Decimal = Decimal("0.035")
    # An invoice may be paid this many days after it is due and still be proposed (as a
    # suggestion: beyond rules.date_days it cannot be auto-linked).
    late_days: int = 60
    # A bank text that quotes a record's reference is searched this long after its date/period:
    # a payment for several invoices can come months after the first was issued.
    reference_days: int = 180
    suggest_min: float = 0.5  # below this a pair is not worth a person's time
    # Two candidates whose optimal assignments differ by less than this are a tie: the model may
    # break it (under the rules) or a person decides.
    tie_margin: float = 0.1
    max_subset: int = 4  # invoices one payment may settle (subset-sum search depth)
    max_subset_candidates: int = 14
    # Name tokens shared by more candidates than this within the date window say little
    # ("payment", a city) and are not used to find partial or combined payments.
    max_name_block: int = 60
    # "rules": the seed's weighted score and thresholds; "learned": evidence weighed by a model
    # learned from the data (learned.py), searched by distinctive keys within a wide window.
    engine: str = "rules"
    blocking: Blocking = field(default_factory=Blocking)
    # An automatic link needs this probability against all rivals (chosen for >= 99.5 %
    # precision on data the matcher was not tuned on, docs/architecture.md); a suggestion this.
    auto_probability: float = 0.995
    suggest_probability: float = 0.2

    def __post_init__(self) -> None:
        object.__setattr__(self, "vat_rates", tuple(sorted(self.vat_rates)))

    def with_tolerances(
        self,
        *,
        amount_pct: Decimal | None = None,
        amount_abs: Decimal | None = None,
        date_days: int | None = None,
    ) -> MatcherConfig:
        """The same profile with some rule tolerances replaced (``None`` keeps the profile's)."""
        changes: dict[str, object] = {}
        if amount_pct is not None:
            changes["amount_pct"] = amount_pct
        if amount_abs is not None:
            changes["amount_abs"] = amount_abs
        if date_days is not None:
            changes["date_days"] = date_days
        config = replace(self, rules=replace(self.rules, **changes))
        if date_days is not None and self.engine == "learned":  # search at least that far
            window = max(self.blocking.window_after, date_days)
            blocking = replace(
                self.blocking,
                window_after=window,
                window_before=max(self.blocking.window_before, date_days),
            )
            config = replace(config, blocking=blocking)
        return config


PROFILES: dict[str, MatcherConfig] = {
    # The seed's rules: amount within 0.5 % (at least 0.01), dates within 5 days, confidence 0.8.
    "seed": MatcherConfig(),
    # For books that must balance to the cent: exact amounts, 3 days, confidence 0.9.
    "strict": MatcherConfig(
        rules=MatchRules(
            amount_pct=Decimal(0), amount_abs=Decimal("0.005"), date_days=3, min_confidence=0.9
        ),
        tie_margin=0.15,
    ),
    # For card feeds that post late: 1 % and 10 days; still never below the seed's confidence.
    "lenient": MatcherConfig(
        rules=MatchRules(amount_pct=Decimal("0.01"), date_days=10),
    ),
    # For files nobody tuned anything on: decide by evidence learned from the files themselves.
    # The rules are only the guard: no automatic link beyond 15 % or 35 days.
    "learned": MatcherConfig(
        rules=MatchRules(amount_pct=Decimal("0.15"), date_days=35, min_confidence=0.0),
        engine="learned",
    ),
}
DEFAULT_CONFIG = PROFILES["seed"]


def profile(name: str) -> MatcherConfig:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown matching profile {name!r} (known: {known})") from None
