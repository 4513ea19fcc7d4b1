"""Amounts as finance exports write them, read exactly, with the decimal mark decided per column.

One parser for imports and ``bg-agents match``: "1.234,56" must be the same number in both, and a
column's decimal mark is settled by the evidence of the whole column, never guessed per cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from babel.numbers import get_currency_precision

from bg_agents.lib.money import MAX_ABS_AMOUNT

_CURRENCY = (
    r"(?:[A-Z]{3}|[A-Z]{1,2}\$|kr\.?|zł|Kč|Ft|lei|Rs\.?|Fr\.?"
    r"|[$\u00a2-\u00a5\u058f\u060b\u09f2\u09f3\u0e3f\u17db\u20a0-\u20cf\ufdfc\uff04\uffe0\uffe1\uffe5\uffe6])"
)
# "CR"/"DR" (credit, debit) beside the number sign it, as UK and Australian statements write it.
_AMOUNT = re.compile(
    rf"(?P<pre>(?:[-+(\s]|{_CURRENCY})*)(?P<num>\d[\d.,' ]*\d|\d|[.,]\d+)"
    rf"(?P<post>(?:[-+)\s]|[CD][Rr]\b|{_CURRENCY})*)"
)
_MARKS = re.compile(r"[-+()\s]+")
# Symbols that name one currency; "$", "kr", "Rs" and "Fr." name several, so they settle nothing.
_SYMBOLS = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "₩": "KRW",
    "₺": "TRY",
    "₽": "RUB",
    "₪": "ILS",
    "₴": "UAH",
    "₦": "NGN",
    "₱": "PHP",
    "zł": "PLN",
    "Kč": "CZK",
    "Ft": "HUF",
    "lei": "RON",
    "US$": "USD",
    "C$": "CAD",
    "A$": "AUD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "S$": "SGD",
    "R$": "BRL",
}
_VAGUE = frozenset({"$", "kr", "kr.", "Rs", "Rs.", "Fr.", "¥", "￥", "¢"})
_PLAIN = {
    ".": re.compile(r"-?\d+(?:\.\d+)?"),
    ",": re.compile(r"-?\d+(?:,\d+)?"),
}


# A number in the file's convention: plain, or grouped in thousands (or Indian lakhs) by one
# separator used throughout.
def _number_pattern(point: str, separators: str) -> re.Pattern[str]:
    p = re.escape(point)
    return re.compile(
        rf"(?P<int>\d*)(?:{p}(?P<frac>\d+))?"
        rf"|(?P<gint>\d{{1,3}}(?P<g>[{separators}])(?:\d{{2,3}}(?P=g))*\d{{3}})(?:{p}(?P<gfrac>\d+))?"
    )


_NUMBER = {".": _number_pattern(".", ",' "), ",": _number_pattern(",", ".' ")}
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2212": "-"})
# Evidence for the decimal mark: "12,50" or "1.234,5" (comma) vs "12.50" or "1,234.5" (point);
# after thousands grouped by a space ("12 345,678"), the mark that follows is the decimal one;
# Indian lakh grouping ("1,23,456": two digits between commas) is a point file's; a leading
# zero is never grouped ("0.500" is half a unit). The two-digit comma group of a lakh number is
# no decimal comma. A lone "1,234" or "1.234" reads both ways and is settled by the rest of the
# column.
_SPACED_GROUP = r"\d[ \u00a0\u202f]\d{3}"
_LEADING_ZERO = r"(?<![\d.,'])0"
COMMA_DECIMAL = re.compile(
    rf"\d,\d{{1,2}}(?!\d)(?![.,]\d)|\d\.\d{{3}}(?:\.\d{{3}})*,|\d\.\d{{3}}\.\d{{3}}(?!\d)"
    rf"|{_SPACED_GROUP},\d|{_LEADING_ZERO},\d"
)
DOT_DECIMAL = re.compile(
    rf"\d\.\d{{1,2}}(?!\d)|\d,\d{{3}}(?:,\d{{3}})*\.|\d,\d{{3}},\d{{3}}(?!\d)|{_SPACED_GROUP}\.\d"
    rf"|\d,\d\d,\d{{3}}(?!\d)|{_LEADING_ZERO}\.\d"
)


def mark_evidence(text: str) -> str | None:
    """``","`` or ``"."`` when this cell shows its decimal mark, else None."""
    if COMMA_DECIMAL.search(text):
        return ","
    if DOT_DECIMAL.search(text):
        return "."
    return None


def decimal_mark(values: Iterable[str], currencies: Iterable[str | None] | None = None) -> str:
    """``","`` if the amounts show a decimal comma more often than a point, else ``"."``.

    When no amount shows its mark, a lone "1,234" or "1.234" is a thousands separator in a
    currency of two decimals or none (no bank writes 1.234 EUR or 1.234 JPY), and could be
    either in one of three (1.234 KWD): :class:`AmbiguousDecimal` then. A cell's own currency
    ("1,234 KWD") counts, else ``currencies``: each amount's row's (None: not known, taken as
    two decimals). Only such lone cells are looked at twice.
    """
    values = list(values)
    seen = [mark_evidence(v) for v in values]
    if seen.count(",") or seen.count("."):
        return "," if seen.count(",") > seen.count(".") else "."
    shown: set[str] = set()
    for value, currency in zip(values, currencies or [None] * len(values), strict=True):
        lone = _LONE_GROUP.search(value)
        if lone is None:
            continue
        currency = parse_amount_and_currency(value.strip(), ".")[1] or currency
        if currency and get_currency_precision(currency) >= 3:
            raise AmbiguousDecimal(value.strip(), currency)
        shown.add(lone["sep"])
    if len(shown) > 1:  # "1.234" and "5,678": one of them must be a decimal mark
        example = next(v for v in values if _LONE_GROUP.search(v))
        raise AmbiguousDecimal(example.strip(), None)
    return "," if shown == {"."} else "."


# One group of exactly three digits after a separator, and no other mark: "1,234", "-5.000".
# Not "0.500" (no number is grouped after a leading zero: a decimal mark), nor a group after a
# space ("1 234,567": the space groups, so the other mark is the decimal one).
_LONE_GROUP = re.compile(
    r"(?<![\d.,'])(?<!\d[ \u00a0\u202f])[1-9]\d{0,2}(?P<sep>[.,])\d{3}(?![\d.,'])"
)


class AmbiguousDecimal(ValueError):
    """No amount of a column shows its decimal mark, and ``example`` reads two ways that are
    both money: "1,234" as 1234 or as 1.234 in a currency of three decimals (``currency``), or
    a column showing both "1.234" and "5,678"."""

    def __init__(self, example: str, currency: str | None) -> None:
        self.example, self.currency = example, currency
        digits = re.sub(r"[^\d.,]", "", example)
        whole = digits.replace(",", "").replace(".", "")
        if currency:
            reading = f"{whole} or {digits.replace(',', '.')} {currency}"
            why = f"{currency} has three decimals"
        else:
            reading = "a thousands separator or a decimal mark"
            why = "the column writes both marks that way"
        super().__init__(
            f'amounts such as "{example}" could be {reading} ({why}), and no amount settles it'
        )


def other_mark(text: str, decimal: str) -> bool:
    """Whether ``text`` shows the decimal mark other than ``decimal`` (and not ``decimal``)."""
    this, other = (COMMA_DECIMAL, DOT_DECIMAL) if decimal == "," else (DOT_DECIMAL, COMMA_DECIMAL)
    return other.search(text) is not None and this.search(text) is None


def parse_amount_text(text: str, decimal: str) -> str | None:
    """A bank's amount text -> plain signed decimal ("-1234.56"), or None if it is not one.

    Handles thousands separators, a decimal comma, (parentheses), trailing minus and a "DR"
    suffix for negatives, a leading + or "CR", and currency symbols or codes on either side.
    """
    return parse_amount_and_currency(text, decimal)[0]


def parse_amount_and_currency(text: str, decimal: str) -> tuple[str | None, str | None]:
    """``parse_amount_text`` and the currency the cell names ("12,50 EUR", "£4.00"), if it
    names exactly one: ISO code or a symbol only one currency uses (not "$")."""
    if _PLAIN[decimal].fullmatch(text):
        plain = text.replace(",", ".") if decimal == "," else text
        return _drop_negative_zero(plain), None
    m = _AMOUNT.fullmatch(text.translate(_SPACES).strip())
    if m is None:
        return None, None
    pre, post = m["pre"], m["post"]
    marks = _MARKS.split(post.upper()) if post.strip() else []
    debit, credit = marks.count("DR"), marks.count("CR")
    minus = pre.count("-") + post.count("-") + debit
    plus = pre.count("+") + post.count("+") + credit
    parens = pre.count("(")
    if parens != post.count(")") or minus + plus + parens > 1:
        return None, None
    n = _NUMBER[decimal].fullmatch(m["num"])
    if n is None:
        return None, None
    currency: str | None = None
    if pre.strip() or post.strip():
        codes = {_currency_of(t) for t in _MARKS.split(f"{pre} {post}") if t}
        codes.discard("")  # CR/DR
        if len(codes) > 1:
            return None, None  # "USD 5 EUR" is no amount
        currency = codes.pop() if codes else None
    if n["gint"]:
        whole, frac = n["gint"].replace(n["g"], ""), n["gfrac"]
    else:
        whole, frac = n["int"] or "0", n["frac"]
    plain = f"{'-' if minus or parens else ''}{whole}{'.' + frac if frac else ''}"
    return _drop_negative_zero(plain), currency


def _currency_of(token: str) -> str | None:
    """A currency mark around an amount -> its ISO code; None for one several currencies use,
    "" for the CR/DR sign marks."""
    if token.upper() in ("CR", "DR"):
        return ""
    if len(token) == 3 and token.isalpha() and token.isupper():
        return token
    return None if token in _VAGUE else _SYMBOLS.get(token)


def _drop_negative_zero(plain: str) -> str:
    if plain.startswith("-") and not plain.strip("-0."):
        return plain[1:]
    return plain


def is_zero(plain: str) -> bool:
    return not plain.strip("-0.")


def parse_amount(text: str, decimal: str | None = None) -> Decimal:
    """An amount as a finance export writes it -> exact ``Decimal``; ValueError if it is not one.

    ``decimal`` is the column's decimal mark; None decides it from this value alone (a lone
    "1.234" then reads as thousands, as :func:`decimal_mark` reads it). The ValueError's text is
    the reason a user reads ("bad amount '42.5O'").
    """
    raw = text.strip()
    if not raw:
        raise ValueError("missing amount")
    mark = decimal or decimal_mark([raw])
    plain = parse_amount_text(raw, mark)
    if plain is None:
        reason = f"bad amount {raw!r}"
        if other_mark(raw, mark):
            shown = "comma" if mark == "." else "point"
            usual = "point" if mark == "." else "comma"
            reason += f" (a decimal {shown}, but the column's other amounts use a decimal {usual})"
        raise ValueError(reason)
    value = Decimal(plain)
    if abs(value) >= MAX_ABS_AMOUNT:
        raise ValueError(f"amount {raw!r} is too large to be an amount")
    return value


def plain_decimal(value: Decimal) -> str:
    """A parsed amount as plain text, without exponent and without a minus on zero (a bank's
    ``-0.00`` is no debit)."""
    text = format(value, "f")
    return text[1:] if text.startswith("-") and value == 0 else text
