"""The report's text: the embedded font, locale formatting with babel, right-to-left display.

One font family (DejaVu Sans, shipped with matplotlib) is embedded, so a reader needs no font
of its own: it covers Latin with accents, Greek, Cyrillic, Arabic, Hebrew and the currency signs
(€ £ ¥ ₹ ₪ ₩ ...), not CJK ideographs. Every locale-formatted text is therefore chosen among
babel's forms by what the font can draw ("2026年11月" is written "2026/11" in ja_JP, "￥" as
"JPY"): no report shows a missing-glyph box.

PDF text is drawn left to right in the order given, so right-to-left text (an Arabic or Hebrew
team name, Arabic month names) is put in visual order here: Arabic letters are joined into
their contextual forms (arabic-reshaper) and runs reordered by the Unicode bidi algorithm
(python-bidi). Invisible direction marks babel inserts (RLM, ALM) are then dropped: they have
no glyph and their work is done.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import arabic_reshaper
from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.numbers import get_currency_precision, get_currency_symbol, get_group_symbol
from bidi import get_display
from fontTools.ttLib import TTFont as FontFile
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from bg_agents.lib.locales import resolve_locale

REGULAR = "ReportSans"
BOLD = "ReportSans-Bold"
_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf"}

# Digits of the numbering systems babel names but does not substitute (it only swaps symbols).
_DIGITS = {
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
    "beng": "০১২৩৪৫৬৭৮৯",
    "deva": "०१२३४५६७८९",
}
_RTL_CLASSES = {"R", "AL", "AN"}


def font_path(name: str = REGULAR) -> Path:
    """The font file inside the installed matplotlib (found without importing it: slow)."""
    spec = importlib.util.find_spec("matplotlib")
    assert spec is not None and spec.submodule_search_locations
    package = Path(spec.submodule_search_locations[0])
    return package / "mpl-data" / "fonts" / "ttf" / _FILES[name]


@functools.cache
def register_fonts() -> frozenset[int]:
    """Register the report fonts with reportlab once per process; the code points both draw."""
    covered: frozenset[int] | None = None
    for name in _FILES:
        pdfmetrics.registerFont(TTFont(name, str(font_path(name))))
        cmap = frozenset(FontFile(str(font_path(name)), lazy=True).getBestCmap())
        covered = cmap if covered is None else covered & cmap
    assert covered is not None
    return covered


def drawable(text: str) -> bool:
    """Whether the embedded font has a glyph for every visible character of ``text``."""
    covered = register_fonts()
    return all(ord(ch) in covered or _invisible(ch) for ch in text)


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def visual(text: str) -> str:
    """``text`` in the order and glyph forms to draw left to right (see the module doc)."""
    if any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in text):
        text = get_display(arabic_reshaper.reshape(text))
    return "".join(ch for ch in text if not _invisible(ch))


@dataclass(frozen=True)
class Style:
    """How one team's report writes numbers, money, dates and instants (babel, its locale)."""

    locale: Locale
    currency: str
    zone: ZoneInfo

    @staticmethod
    def of(locale: str, currency: str, zone: str) -> Style:
        return Style(resolve_locale(locale), currency, ZoneInfo(zone))

    @property
    def right_to_left(self) -> bool:
        return self.locale.character_order == "right-to-left"

    @property
    def currency_sign(self) -> str:
        return visual(self.sign_of(self.currency))

    def sign_of(self, currency: str) -> str:
        """The locale's sign for ``currency``, its narrow form ("￥" -> "¥") or the ISO code,
        whichever the font draws first."""
        sign = get_currency_symbol(currency, self.locale)
        for form in (sign, unicodedata.normalize("NFKC", sign)):
            if drawable(form):
                return form
        return currency

    def money(self, value: Decimal) -> str:
        """``value`` in the team's currency: its minor digits, the locale's currency pattern."""
        return self.money_in(value, self.currency)

    def money_in(self, value: Decimal, currency: str) -> str:
        pattern = self.locale.currency_formats["standard"]
        places = Decimal(1).scaleb(-get_currency_precision(currency))
        text = pattern.apply(
            value.quantize(places),
            self.locale,
            currency=currency,
            group_separator=False,
            numbering_system="default",
        )
        text = self._grouped(text, pattern.grouping)
        sign = get_currency_symbol(currency, self.locale)
        return self._display(text.replace(sign, self.sign_of(currency)))

    def count(self, value: int) -> str:
        pattern = self.locale.decimal_formats[None]
        text = pattern.apply(value, self.locale, group_separator=False, numbering_system="default")
        return self._display(self._grouped(text, pattern.grouping))

    def percent(self, value: Decimal) -> str:
        """A ratio as a percentage with one decimal, in the locale's percent pattern."""
        pattern = copy.copy(self.locale.percent_formats[None])
        pattern.frac_prec = (1, 1)
        text = pattern.apply(
            value.quantize(Decimal("0.001")),
            self.locale,
            group_separator=False,
            numbering_system="default",
        )
        return self._display(self._grouped(text, pattern.grouping))

    def day(self, value: date) -> str:
        return self._first_drawable(
            [format_date(value, form, locale=self.locale) for form in ("medium", "short")],
            value.isoformat(),
        )

    def month(self, value: date) -> str:
        forms = [format_skeleton(s, value, locale=self.locale) for s in ("yMMMM", "yMMM", "yMM")]
        return self._first_drawable(forms, f"{value:%Y-%m}")

    def instant(self, value: datetime) -> str:
        """An instant in the team's zone, with the zone's name (the reader's clock)."""
        forms = [
            format_datetime(value, form, tzinfo=self.zone, locale=self.locale)
            for form in ("medium", "short")
        ]
        fallback = f"{value.astimezone(self.zone):%Y-%m-%d %H:%M}"
        return self._first_drawable(forms, fallback)

    def _first_drawable(self, forms: list[str], fallback: str) -> str:
        for form in forms:
            if drawable(form):
                return self._display(form)
        return fallback

    def _grouped(self, text: str, grouping: tuple[int, int]) -> str:
        """Group the integer digits here: babel drops an apostrophe group symbol (de_CH) as if
        it quoted a pattern literal, so it is asked for no groups and they are inserted by the
        pattern's own sizes (3 then 3; 3 then 2 in en_IN)."""
        digits = re.search(r"\d+", text)
        if digits is None:
            return text
        whole, size, groups = digits.group(), grouping[0], []
        while len(whole) > size:
            groups.insert(0, whole[-size:])
            whole, size = whole[:-size], grouping[1]
        symbol = get_group_symbol(self.locale, numbering_system="default")
        return text[: digits.start()] + symbol.join([whole, *groups]) + text[digits.end() :]

    def _display(self, text: str) -> str:
        system = self.locale.default_numbering_system
        if system in _DIGITS:
            text = text.translate(str.maketrans("0123456789", _DIGITS[system]))
        return visual(text)
