"""The shapes every provider hands to ingestion: one bank row (fields still as received text), and
one file read (its rows, rejected rows, balances and what was recognized)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bg_agents.defs.ingestion.statement import StatementBalance


@dataclass(frozen=True)
class RawTransaction:
    """A bank row before validation.

    ``batch_ref`` and ``row_ref`` locate the row at its source (a file's sha256 and row number, or
    a feed day and the bank's id); quarantine is keyed on them, so re-reading a bad row records it
    once. ``external_id`` is the provider's id, or a stable one derived from the row's content.
    """

    source: str
    batch_ref: str
    row_ref: str
    team_ref: str
    external_id: str
    booking_date: str
    amount: str
    currency: str
    base_amount: str | None = None
    description: str = ""
    counterparty: str | None = None
    reference: str | None = None
    category: str | None = None
    # Statement formats (MT940, camt) state these; CSV exports may. ISO date / IBAN as text.
    value_date: str | None = None
    counterparty_iban: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ParsedFile:
    """One file's readable rows and, with a reason each, the rows that could not be read."""

    sha256: str
    file_format: str  # "csv" | "parquet" | "ofx" | "mt940" | "camt.05x" | "qif"
    rows: list[RawTransaction] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    # Rows the reader counted (CSV records, OFX STMTTRN tags), independently of how many were
    # parsed, so a row lost between reading and parsing shows as a gap in the file's report.
    rows_total: int = 0
    # One per statement in the file that states balances (see ``statement``); empty for formats
    # or exports that state none.
    balances: list[StatementBalance] = field(default_factory=list)
    # What the reader recognized, for ``bg-agents import --detect`` and the file's report:
    # e.g. {"profile": ..., "delimiter": ";", "columns": {"date": "Buchungstag"}, "decimal": ",",
    # "date_format": "%d.%m.%Y", "statements": 2, "accounts": [...]}. JSON-safe values only.
    layout: dict[str, Any] = field(default_factory=dict)
