"""What a bank statement says about itself: its balances, so a partial export or lost rows show.

MT940 (``:60F:``/``:62F:``), camt.053 (OPBD/CLBD) and CSV exports with a running balance state an
opening and a closing balance; the booked entries read from the file must bridge them exactly. A
reader reports one ``StatementBalance`` per statement (per account and statement number); the file's
report shows every mismatch. A mismatch never blocks the rows that were read: they are real bank
rows, and refusing them would lose data; the mismatch is what tells the user something is missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class StatementBalance:
    """One statement's arithmetic: opening + booked entries read = closing, or the difference.

    ``opening``/``closing`` are None when the file does not state them (then nothing is checked).
    ``entries`` is the signed sum of the booked entries this reader turned into rows or into
    rejected rows of this statement (pending entries are not booked and are left out, as banks
    leave them out of the closing balance).
    """

    account: str
    statement: str
    currency: str
    opening: Decimal | None
    closing: Decimal | None
    entries: Decimal
    entry_count: int
    first_date: str | None = None  # ISO dates of the statement's first and last booked entry
    last_date: str | None = None

    @property
    def difference(self) -> Decimal | None:
        """closing - (opening + entries): 0 when the statement adds up, None when unchecked."""
        if self.opening is None or self.closing is None:
            return None
        return self.closing - (self.opening + self.entries)

    @property
    def ok(self) -> bool | None:
        difference = self.difference
        return None if difference is None else difference == 0

    def describe(self) -> str:
        """One line for the file's report."""
        where = (
            f"statement {self.statement} of account {self.account}"
            if self.account
            else (f"statement {self.statement}")
        )
        if self.ok is None:
            return f"{where}: {self.entry_count} entries, no opening/closing balance to check"
        if self.ok:
            return (
                f"{where}: opening {self.opening:f} + {self.entry_count} entries "
                f"= closing {self.closing:f} {self.currency}"
            )
        return (
            f"{where}: opening {self.opening:f} + {self.entry_count} entries ({self.entries:f}) "
            f"= {self.opening + self.entries:f}, but the closing balance is {self.closing:f} "
            f"{self.currency} (difference {self.difference:f}): a partial export or lost rows"
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StatementBalance:
        """The inverse of ``as_dict`` (derived keys ignored)."""

        def money(key: str) -> Decimal | None:
            return None if data.get(key) is None else Decimal(data[key])

        return cls(
            account=data["account"],
            statement=data["statement"],
            currency=data["currency"],
            opening=money("opening"),
            closing=money("closing"),
            entries=Decimal(data["entries"]),
            entry_count=data["entry_count"],
            first_date=data.get("first_date"),
            last_date=data.get("last_date"),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe (decimals as text) for the ``import_files.statements`` column."""
        data = asdict(self)
        for key in ("opening", "closing", "entries"):
            data[key] = None if data[key] is None else format(data[key], "f")
        data["difference"] = None if self.difference is None else format(self.difference, "f")
        data["ok"] = self.ok
        return data
