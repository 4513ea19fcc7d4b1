"""Parsing money: Decimal amounts and ISO 4217 currency codes."""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies

# Large enough for any real bank row, small enough to catch a mangled number (e.g. an IBAN read
# as an amount). NUMERIC(19, 4) holds up to 1e15.
MAX_ABS_AMOUNT = Decimal("1e13")


@functools.cache
def known_currencies() -> frozenset[str]:
    return frozenset(code.upper() for code in list_currencies())


def parse_currency(text: str | None) -> str:
    code = (text or "").strip().upper()
    if code not in known_currencies():
        raise ValueError(f"unknown currency {text!r}")
    return code


def parse_plain_amount(text: str | None) -> Decimal:
    """A plain decimal string ("-12.30"): providers normalize locale formats before this."""
    raw = (text or "").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"bad amount {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"amount must be finite, got {text!r}")
    if abs(value) >= MAX_ABS_AMOUNT:
        raise ValueError(f"amount {text!r} is out of range")
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError(f"amount {text!r} has more than 4 decimal places")
    return value


def plain_amount(amount: Decimal, currency: str) -> str:
    """``21.27`` for ``Decimal("21.2700")`` in USD: the currency's minor units, no exponent (text
    people read; stored money keeps four places)."""
    from babel.numbers import get_currency_precision

    places = Decimal(1).scaleb(-get_currency_precision(currency))
    exact = amount.quantize(places)
    return format(exact if exact == amount else amount.normalize(), "f")
