"""A team's locale, read leniently: every text it formats must still come out."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError


def resolve_locale(name: str | None) -> Locale:
    """The team's locale; an unknown or malformed one (``en-US``, ``xx_XX``) falls back to en_US
    rather than failing the insight, report or e-mail being written."""
    try:
        return Locale.parse((name or "").replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse("en_US")
