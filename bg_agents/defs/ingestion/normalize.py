"""Validate raw provider rows into transaction rows; every rejected row keeps its reason."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision

from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.lib.money import MAX_ABS_AMOUNT, parse_currency, parse_plain_amount

# The largest plausible single bank row, in a currency's minor units (cents, fils, yen): 1e11 is
# a billion in a two-decimal currency, 100 billion yen, 100 million Kuwaiti dinars (three
# decimals), all far above what a business account books in one row yet far below the 1e13
# column limit, so a mangled number (an IBAN or an account number in the amount column) or a
# row meant to overflow weekly sums is quarantined instead of landing. Minor units scale the
# bound with the currency's magnitude for most codes; a few currencies whose unit is worth less
# than about a hundredth of a US cent get that many more powers of ten (capped at the column
# limit), so ordinary payments in them are not refused.
PLAUSIBLE_MINOR_UNITS = 11
_WEAK_UNIT_EXTRA_DIGITS = {
    "IRR": 3,
    "UZS": 2,
    "VND": 1,
    "LBP": 1,
    "IDR": 1,
    "LAK": 1,
    "SLL": 1,
    "GNF": 1,
    "STD": 1,
    "SYP": 1,
    "VES": 1,
}


@functools.cache
def plausible_limit(currency: str) -> Decimal:
    """Amounts at or above this (in absolute value) are implausible for one row in ``currency``."""
    digits = PLAUSIBLE_MINOR_UNITS - get_currency_precision(currency)
    limit = Decimal(10) ** (digits + _WEAK_UNIT_EXTRA_DIGITS.get(currency, 0))
    return min(limit, MAX_ABS_AMOUNT)


def _plausible(amount: Decimal, currency: str, label: str) -> Decimal:
    limit = plausible_limit(currency)
    if abs(amount) >= limit:
        raise ValueError(
            f"implausible {label} {format(amount, 'f')} {currency}: one bank row in {currency} "
            f"stays under {limit:,f}"
        )
    return amount


@dataclass(frozen=True)
class TeamRef:
    id: int
    base_currency: str


@dataclass
class Normalized:
    transactions: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:limit] or None


def normalize(rows: Iterable[RawTransaction], teams: Mapping[str, TeamRef]) -> Normalized:
    """Split rows into insertable transactions and quarantine entries (with a reason each)."""
    out = Normalized()
    for raw in rows:
        try:
            out.transactions.append(_transaction(raw, teams))
        except ValueError as exc:
            out.quarantined.append(
                {
                    "source": raw.source,
                    "batch_ref": raw.batch_ref,
                    "row_ref": raw.row_ref,
                    "team_ref": _clip(raw.team_ref, 64),
                    "raw": raw.as_dict(),
                    "reason": str(exc),
                }
            )
    return out


def _transaction(raw: RawTransaction, teams: Mapping[str, TeamRef]) -> dict[str, Any]:
    team = teams.get(raw.team_ref)
    if team is None:
        raise ValueError(f"unknown team {raw.team_ref!r}")
    external_id = (raw.external_id or "").strip()
    if not external_id or len(external_id) > 128:
        raise ValueError(f"missing or over-long external id {raw.external_id!r}")
    try:
        booking_date = date.fromisoformat((raw.booking_date or "").strip())
    except ValueError:
        raise ValueError(f"bad booking date {raw.booking_date!r}") from None
    currency = parse_currency(raw.currency)
    amount = _plausible(parse_plain_amount(raw.amount), currency, "amount")
    if raw.base_amount not in (None, ""):
        base_amount = _plausible(
            parse_plain_amount(raw.base_amount), team.base_currency, "base amount"
        )
    elif currency == team.base_currency:
        base_amount = amount
    else:
        base_amount = None
    value_date = None
    if raw.value_date not in (None, ""):
        try:
            value_date = date.fromisoformat(raw.value_date.strip())
        except ValueError:
            raise ValueError(f"bad value date {raw.value_date!r}") from None
    return {
        "team_id": team.id,
        "source": raw.source,
        "external_id": external_id,
        "booking_date": booking_date,
        "amount": amount,
        "currency": currency,
        "base_amount": base_amount,
        "description": (raw.description or "").strip(),
        "counterparty": _clip(raw.counterparty, 200),
        "reference": _clip(raw.reference, 200),
        "category": _clip(raw.category, 64),
        "value_date": value_date,
        "counterparty_iban": _clip("".join((raw.counterparty_iban or "").split()).upper(), 34),
    }
