"""Dates as finance exports write them: every format that reads one way only, and the
day/month order of numeric dates (03/04/2026) settled by the whole column.

One reader for imports and ``bg-agents match``: a date that reads two ways is never guessed per
row, and the same column reads the same in both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

from bg_agents.lib.tabular.text import TabularError


class AmbiguousDates(TabularError):
    """Numeric dates that read as day/month and as month/day, with nothing in the column to
    settle it. ``example`` is such a date; ``day_first``/``month_first`` are the strptime formats
    of the two readings, for a message that shows the fix."""

    def __init__(self, example: str, separator: str, year: str) -> None:
        self.example = example
        self.day_first = f"%d{separator}%m{separator}{year}"
        self.month_first = f"%m{separator}%d{separator}{year}"
        super().__init__(
            f'dates such as "{example}" could be day/month or month/day, and nothing settles it: '
            "export the dates as YYYY-MM-DD (ISO), which reads one way only"
        )


_TIME = (
    r"(?:[T ]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
)
_YMD = re.compile(rf"(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_TIME}")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DMY_DOT = re.compile(rf"(\d{{1,2}})\.(\d{{1,2}})\.(\d{{4}}|\d{{2}}){_TIME}")
_NUMERIC = re.compile(rf"(\d{{1,2}})([/-])(\d{{1,2}})\2(\d{{4}}|\d{{2}}){_TIME}")
_NAMED_DMY = re.compile(rf"(\d{{1,2}})[ -]([A-Za-z]{{3,9}})\.?,?[ -](\d{{4}}|\d{{2}}){_TIME}")
_NAMED_MDY = re.compile(rf"([A-Za-z]{{3,9}})\.? (\d{{1,2}}),? (\d{{4}}){_TIME}")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}


def _iso(year: int, month: int, day: int) -> str | None:
    if not 1900 <= year <= 2199:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def parse_date_auto(text: str, order: str) -> str | None:
    """ISO date for formats that read one way only; ``order`` settles dd/mm vs mm/dd."""
    if m := _YMD.fullmatch(text):
        return _iso(int(m[1]), int(m[3]), int(m[4]))
    if m := _COMPACT.fullmatch(text):
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY_DOT.fullmatch(text):  # dotted dates are day-first wherever they are used
        return _iso(_year(m[3]), int(m[2]), int(m[1]))
    if m := _NUMERIC.fullmatch(text):
        a, b = int(m[1]), int(m[3])
        return _iso(_year(m[4]), b, a) if order == "dmy" else _iso(_year(m[4]), a, b)
    if (m := _NAMED_DMY.fullmatch(text)) and (month := _MONTHS.get(m[2].lower())):
        return _iso(_year(m[3]), month, int(m[1]))
    if (m := _NAMED_MDY.fullmatch(text)) and (month := _MONTHS.get(m[1].lower())):
        return _iso(int(m[3]), month, int(m[2]))
    return None


def numeric_date_order(values: Iterable[str]) -> str:
    """Day-first ("dmy") or month-first ("mdy") for dates like 03/04/2026, settled by the file.

    Raises AmbiguousDates when no date settles it; the caller words the fix for its users.
    """
    day_first = month_first = 0
    example: re.Match[str] | None = None
    for value in values:
        m = _NUMERIC.fullmatch(value)
        if m is None:
            continue
        a, b, year = int(m[1]), int(m[3]), _year(m[4])
        dmy, mdy = _iso(year, b, a) is not None, _iso(year, a, b) is not None
        day_first += dmy
        month_first += mdy
        if dmy and mdy and a != b and example is None:
            example = m
    if day_first != month_first or example is None:
        return "mdy" if month_first > day_first else "dmy"
    raise AmbiguousDates(example[0], example[2], "%Y" if len(example[4]) == 4 else "%y")


class DateReader:
    """Cell text -> ISO date or None, cached: exports repeat the same few hundred dates."""

    def __init__(self, date_format: str | None, order: str) -> None:
        self.date_format = date_format
        self.order = order
        self.cache: dict[str, str | None] = {}

    def __call__(self, text: str) -> str | None:
        try:
            return self.cache[text]
        except KeyError:
            pass
        if self.date_format is None:
            value = parse_date_auto(text, self.order)
        else:
            try:
                value = datetime.strptime(text, self.date_format).date().isoformat()
            except ValueError:
                value = None
        self.cache[text] = value
        return value

    def reason(self, text: str) -> str:
        if self.date_format:
            return f"bad date {text!r} (expected format {self.date_format!r})"
        return f"bad date {text!r}"


def date_style(text: str, order: str) -> str | None:
    """How a date cell is written, for a person checking what was recognized: "DD.MM.YY",
    "MM/DD/YYYY", "YYYY-MM-DD hh:mm"...; None when ``parse_date_auto`` would not read it."""
    if parse_date_auto(text, order) is None:
        return None
    year = "YYYY"
    if m := _YMD.fullmatch(text):
        style = f"YYYY{m[2]}MM{m[2]}DD"
        clock = text[m.end(4) :]
    elif _COMPACT.fullmatch(text):
        return "YYYYMMDD"
    elif m := _DMY_DOT.fullmatch(text):
        year = "YYYY" if len(m[3]) == 4 else "YY"
        style, clock = f"DD.MM.{year}", text[m.end(3) :]
    elif m := _NUMERIC.fullmatch(text):
        year = "YYYY" if len(m[4]) == 4 else "YY"
        first, second = ("DD", "MM") if order == "dmy" else ("MM", "DD")
        style, clock = f"{first}{m[2]}{second}{m[2]}{year}", text[m.end(4) :]
    elif _NAMED_DMY.fullmatch(text):
        return "DD Mon YYYY"
    else:
        return "Mon DD, YYYY"
    return style + (" hh:mm" if clock.strip() else "")
