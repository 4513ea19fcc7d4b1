"""The shape every provider hands to ingestion: one bank row, fields still as received text."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
