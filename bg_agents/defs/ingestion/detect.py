"""``bg-agents import --detect``: what a file would be read as, without importing anything.

A user about to feed a year of statements wants to check first that the dates are read day-first,
that the decimal comma is a comma and that the balances add up. This reads the file exactly as the
import would (same dispatcher, same mapping lookup) and describes the result.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bg_agents.defs.ingestion.files import read_import_file
from bg_agents.defs.ingestion.formats import ImportFileError, load_mapping
from bg_agents.defs.ingestion.transactions import reason_kind

TOP_REASONS = 3


@dataclass
class Detection:
    file: str
    recognized: bool
    file_format: str = ""
    layout: dict[str, Any] = field(default_factory=dict)
    rows: int = 0  # entries the file holds (the reader's own count)
    readable: int = 0
    unreadable: int = 0
    reasons: list[tuple[str, int]] = field(default_factory=list)
    first_date: str | None = None
    last_date: str | None = None
    currencies: list[str] = field(default_factory=list)
    balances: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "reasons": dict(self.reasons)}

    def lines(self) -> list[str]:
        """The description a person reads."""
        if not self.recognized:
            return [f"{self.file}: not readable: {self.error}"]
        out = [f"{self.file}: {self.file_format}"]
        for key, value in self.layout.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v!r}" for k, v in value.items())
            elif isinstance(value, list):
                value = ", ".join(map(str, value))
            out.append(f"    {key.replace('_', ' ')}: {value}")
        out.append(f"    rows: {self.rows:,} ({self.readable:,} readable, {self.unreadable:,} not)")
        for reason, count in self.reasons:
            out.append(f"        {count:>6,}  {reason}")
        if self.first_date:
            out.append(f"    dates: {self.first_date} to {self.last_date}")
        if self.currencies:
            out.append(f"    currencies: {', '.join(self.currencies)}")
        for balance in self.balances:
            mark = {True: "agrees", False: "MISMATCH", None: "not stated"}[balance["ok"]]
            out.append(f"    balance ({mark}): {balance['describe']}")
        out.append("    nothing was imported")
        return out


def detect_file(path: Path, default_currency: str | None = None) -> Detection:
    """Read ``path`` as ``bg-agents import`` would and describe it; never raises for a bad file."""
    try:
        parsed = read_import_file(
            path, "detect", mapping=load_mapping(path), default_currency=default_currency
        )
    except (ImportFileError, ValueError) as exc:
        return Detection(path.name, False, error=str(exc))
    except OSError as exc:
        return Detection(path.name, False, error=f"cannot read the file: {exc.strerror or exc}")
    dates = sorted(r.booking_date for r in parsed.rows)
    return Detection(
        file=path.name,
        recognized=True,
        file_format=parsed.file_format,
        layout=parsed.layout,
        rows=parsed.rows_total,
        readable=len(parsed.rows),
        unreadable=len(parsed.rejected),
        reasons=Counter(reason_kind(r["reason"]) for r in parsed.rejected).most_common(TOP_REASONS),
        first_date=dates[0] if dates else None,
        last_date=dates[-1] if dates else None,
        currencies=sorted({r.currency for r in parsed.rows}),
        balances=[{**b.as_dict(), "describe": b.describe()} for b in parsed.balances],
    )
