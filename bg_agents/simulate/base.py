"""What every step of a SIMULATED team's generation shares.

The calendar of the history window, a merchant and a customer as one team sees them, and
:class:`_TeamBase`: the team's RNG and the primitives that append a bank row or a receipt, move a
day to a business day and draw an amount. Every amount becomes integer minor units at once and
then Decimal or text: no money is summed as a float.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bg_agents.simulate.catalogs import (
    _ALNUM,
    _DIGITS,
    _PRICE_LEVEL,
    _REGIONS,
    _STEP,
    _WEEKDAY_WEIGHT,
    _Spec,
)

Row = dict[str, Any]


def _ascii(text: str) -> str:
    """Bank labels are ASCII: strip accents, and spell umlauts the way German banks do."""
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = text.replace("Ä", "AE").replace("Ö", "OE").replace("Ü", "UE")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _text(minor: int, digits: int) -> str:
    """Integer minor units as the plain decimal string a bank sends ("-42.50", "-1200")."""
    if not digits:
        return str(minor)
    s = str(abs(minor)).rjust(digits + 1, "0")
    return f"{'-' if minor < 0 else ''}{s[:-digits]}.{s[-digits:]}"


def _dec(minor: int, digits: int) -> Decimal:
    return Decimal(minor).scaleb(-digits)


@dataclass(frozen=True)
class _Calendar:
    """Per-day facts of the history window, computed once and shared by every team."""

    days: tuple[date, ...]
    weekday: tuple[int, ...]
    iso: tuple[str, ...]
    compact: tuple[str, ...]
    years: tuple[int, ...]
    card_weight: tuple[float, ...]
    months: tuple[tuple[int, int], ...]

    @classmethod
    def build(cls, end: date, weeks: int) -> _Calendar:
        start = end - timedelta(days=7 * weeks - 1)
        days = tuple(start + timedelta(days=i) for i in range(7 * weeks))
        iso = tuple(d.isoformat() for d in days)
        months = tuple(dict.fromkeys((d.year, d.month) for d in days))

        def weight(d: date) -> float:
            # Offices go quiet between Christmas and New Year.
            holiday = (d.month == 12 and d.day >= 24) or (d.month == 1 and d.day == 1)
            return _WEEKDAY_WEIGHT[d.weekday()] * (0.3 if holiday else 1.0)

        return cls(
            days=days,
            weekday=tuple(d.weekday() for d in days),
            iso=iso,
            compact=tuple(s.replace("-", "") for s in iso),
            years=tuple(d.year for d in days),
            card_weight=tuple(weight(d) for d in days),
            months=months,
        )

    def index(self, year: int, month: int, day: int) -> int:
        return (date(year, month, day) - self.days[0]).days


class _Merchant:
    """A merchant as one team sees it: store number fixed, amount distribution in minor units."""

    __slots__ = (
        "vendor", "desc", "alias", "code", "category", "mu", "sigma", "slug", "cp", "alias_cp"
    )  # fmt: skip

    def __init__(
        self, spec: _Spec, store: int, unit: float, seats: int, prefix: str, counterparty: bool
    ) -> None:
        self.vendor = spec.vendor
        label = spec.descriptor.replace("{n}", str(store))
        self.desc = prefix + label
        self.alias = None if spec.alias is None else prefix + spec.alias
        self.code = spec.code
        self.category = spec.category
        self.mu = math.log(spec.usd * unit * (seats if spec.per_seat else 1))
        self.sigma = spec.sigma
        self.slug = "".join(ch for ch in spec.vendor.lower() if ch.isalnum()) or "receipt"
        self.cp = spec.descriptor.replace("{n}", "").strip() if counterparty else None
        # Under an alias the bank's counterparty is the alias too, not the clean name.
        self.alias_cp = spec.alias.strip(" *") if counterparty and spec.alias else None


class _Customer:
    __slots__ = ("external_id", "payers", "habit", "amount", "recurrence", "dom", "rate")

    def __init__(self, external_id: str, payers: tuple[str, ...], habit: tuple[float, ...]):
        self.external_id = external_id
        self.payers = payers
        self.habit = habit
        self.amount = 0
        self.recurrence: str | None = None
        self.dom = 1
        self.rate = 0.0


class _TeamBase:
    """One SIMULATED team's state and primitives; all randomness comes from the team's own RNG."""

    def __init__(self, k: int, seed: int, cal: _Calendar) -> None:
        self.k = k
        self.rng = random.Random(f"bg-agents-sim:{seed}:{k}")
        self.cal = cal
        self.n = len(cal.days)
        self.region = _REGIONS[k % len(_REGIONS)]
        self.currency = self.region.currency
        self.digits = _DIGITS[self.currency]
        self.step = _STEP[self.currency]
        self.unit = _PRICE_LEVEL[self.currency] * 10**self.digits
        self.feed: list[Row] = []
        self.docs: list[Row] = []
        # (record kind, document row or invoice number, feed row, case, allocated amount)
        self.truth: list[tuple[str, Any, Row, str, Decimal | None]] = []

    # -- feed, documents, truth ------------------------------------------------------------------

    def _row(
        self,
        di: int,
        minor: int,
        description: str,
        counterparty: str | None,
        category: str | None,
        reference: str | None = None,
    ) -> Row:
        if category is not None and self.rng.random() < self.no_category:
            category = None  # left for enrichment to fill, as many banks do
        row = {
            "team_slug": self.slug,
            "external_id": "",
            "value_date": self.cal.days[di],
            "amount": _text(minor, self.digits),
            "currency": self.currency,
            "base_amount": None,
            "description": description,
            "counterparty": counterparty,
            "reference": reference,
            "category": category,
        }
        self.feed.append(row)
        return row

    def _doc(
        self,
        di: int,
        vendor: str,
        slug: str,
        minor: int,
        currency: str | None = None,
        base_minor: int | None = None,
    ) -> Row:
        rng, cal = self.rng, self.cal
        if currency is None:
            currency, digits = self.currency, self.digits
            amount = _dec(minor, digits)
            base = amount
        else:
            digits = _DIGITS[currency]
            amount = _dec(minor, digits)
            base = None if base_minor is None else _dec(base_minor, self.digits)
        u = rng.random()
        if u < 0.35:
            file_name = f"{slug}_{cal.compact[di]}.pdf"
        elif u < 0.6:
            file_name = f"IMG_{rng.randrange(1000, 10000)}.jpg"
        elif u < 0.75:
            file_name = f"Receipt-{cal.iso[di]}.pdf"
        elif u < 0.9:
            file_name = f"scan_{rng.randrange(1, 10000):04d}.pdf"
        else:
            file_name = f"{slug}-invoice-{rng.randrange(10000, 100000)}.pdf"
        doc = {
            "team_slug": self.slug,
            "external_id": "",
            "kind": "receipt",
            "vendor": vendor,
            "amount": amount,
            "currency": currency,
            "base_amount": base,
            "document_date": cal.days[di],
            "file_name": file_name,
        }
        self.docs.append(doc)
        return doc

    def _code(self, n: int) -> str:
        return "".join(self.rng.choices(_ALNUM, k=n)) if n else ""

    def _on(self, year: int, month: int, day: int, business: bool = True) -> int:
        """Day index of a monthly event, moved to a business day; -1 outside the history."""
        di = self.cal.index(year, month, day)
        if not 0 <= di < self.n:
            return -1
        return self._bday(di) if business else di

    def _bday(self, di: int) -> int:
        """The first business day on or after ``di``, or -1 when that is past the history."""
        wd = self.cal.weekday
        while di < self.n and wd[di] >= 5:
            di += 1
        return di if di < self.n else -1

    def _draw(self, m: _Merchant) -> int:
        minor = int(math.exp(m.mu + m.sigma * self.rng.gauss(0.0, 1.0)))
        return max(self.step, minor - minor % self.step)

    def _nice(self, usd: float, round_to: float = 10) -> int:
        """A round local amount (rent, salaries, invoice totals) in minor units."""
        major = usd * _PRICE_LEVEL[self.currency]
        unit = round_to * 10 ** max(0, round(math.log10(_PRICE_LEVEL[self.currency])))
        return max(1, round(major / unit)) * round(unit * 10**self.digits)
