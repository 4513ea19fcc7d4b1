"""Read a written report back: its page count and the totals it prints, with pypdf.

The totals are parsed from the report's machine-readable line (``totals_line``, printed
on the last page in plain ASCII), not from the locale-formatted tables: one parser then works
for every locale (Arabic-Indic digits, apostrophe or narrow-space groups, right-to-left order),
and it still reads printed text, so a check compares what a reader sees with the database. The
same line is in the document's keywords; a reading where the two disagree is refused.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from decimal import Decimal

from pypdf import PdfReader

from bg_agents.defs.reports.figures import MonthFigures

TOTALS_PREFIX = "bg-agents-totals"
DIGEST_PREFIX = "content-sha256"

_TOTALS = re.compile(
    rf"{TOTALS_PREFIX}\s+month=(?P<month>\d{{4}}-\d{{2}})\s+currency=(?P<currency>[A-Z]{{3}})\s+"
    r"revenue=(?P<revenue>-?[\d.]+)\s+expenses=(?P<expenses>-?[\d.]+)\s+net=(?P<net>-?[\d.]+)"
)
_DIGEST = re.compile(rf"{DIGEST_PREFIX}=(?P<digest>[0-9a-f]{{64}})")


def totals_line(figures: MonthFigures) -> str:
    """The totals in a fixed, locale-free form, printed on the last page: what is read back."""
    c = figures.current
    return (
        f"{TOTALS_PREFIX} month={figures.month:%Y-%m} currency={figures.currency} "
        f"revenue={c.revenue:f} expenses={c.expenses:f} net={c.net:f}"
    )


@dataclass(frozen=True)
class ReportReading:
    pages: int
    month: str  # YYYY-MM
    currency: str
    revenue: Decimal
    expenses: Decimal
    net: Decimal
    content_sha256: str


def read_report(pdf_bytes: bytes) -> ReportReading:
    """Open the PDF and read its totals; ValueError when it is not a readable report."""
    reader = PdfReader(io.BytesIO(pdf_bytes))
    text = reader.pages[-1].extract_text()
    totals, digest = _TOTALS.search(text), _DIGEST.search(text)
    if totals is None or digest is None:
        raise ValueError("the report's last page has no readable totals line")
    keywords = (reader.metadata or {}).get("/Keywords", "")
    if totals.group(0) not in keywords or digest.group(0) not in keywords:
        raise ValueError("the printed totals differ from the document's keywords")
    return ReportReading(
        pages=len(reader.pages),
        month=totals["month"],
        currency=totals["currency"],
        revenue=Decimal(totals["revenue"]),
        expenses=Decimal(totals["expenses"]),
        net=Decimal(totals["net"]),
        content_sha256=digest["digest"],
    )
