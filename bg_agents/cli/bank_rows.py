"""A bank export as ``bg-agents match`` rows, read the way ``bg-agents import`` reads it.

So a file that imports also matches: the known export layouts, headers in six languages, title
lines above the header, debit and credit (or S/H) columns, OFX, MT940, camt and QIF. The matcher
and the import live in two domains that do not import each other; this module, in the CLI that
composes them, is the one place that knows both shapes.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

from bg_agents.defs.ingestion.csv_file import MissingHeader, is_derived_id
from bg_agents.defs.ingestion.files import read_import_file
from bg_agents.defs.ingestion.formats import SUPPORTED_SUFFIXES, ImportFileError
from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.defs.reconciliation.matcher.exports import MAX_SHOWN, InputError, MissingColumns
from bg_agents.defs.reconciliation.matcher.file_match import BankReader
from bg_agents.defs.reconciliation.matcher.rules import Side

# Entries the bank has not booked (pending, information only) are left out, as the import
# leaves them out: they are no payment yet.
NOT_BOOKED = "not booked"


def _side(row: RawTransaction, row_id: str) -> Side:
    names = [t for t in (row.counterparty, row.description) if t]
    return Side(
        id=row_id,
        date=date.fromisoformat(row.booking_date),
        amount=Decimal(row.amount),
        currency=row.currency,
        name=names[0] if names else "",
        base_amount=Decimal(row.base_amount) if row.base_amount else None,
        aliases=tuple(names[1:]),
        reference=row.reference or None,
    )


def read_bank_export(path: Path, currency: str | None) -> list[Side]:
    """Every booked entry of the export as a row, or InputError listing the entries that cannot
    be read. A row's id is the bank's own id where the file has one, else ``row N``: the N-th
    entry below the header (or in the statement), the numbering the errors use too."""
    try:
        parsed = read_import_file(path, "match", default_currency=currency)
    except MissingHeader as exc:
        raise MissingColumns(f"{path.name}: {exc}") from None
    except ImportFileError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    problems = [r for r in parsed.rejected if NOT_BOOKED not in r["reason"]]
    if problems:
        shown = f" (the first {MAX_SHOWN})" if len(problems) > MAX_SHOWN else ""
        listed = "\n".join(f"  row {r['row_ref']}: {r['reason']}" for r in problems[:MAX_SHOWN])
        raise InputError(
            f"{path.name}: {len(problems):,} of {parsed.rows_total:,} entries cannot be "
            f"read{shown}:\n{listed}\nFix these entries in the file and run again."
        )
    if not parsed.rows:
        raise InputError(f"{path.name}: the file holds no booked entry")
    ids = [r.external_id if not is_derived_id(r.external_id) else f"row {r.row_ref}"
           for r in parsed.rows]  # fmt: skip
    # A bank id given twice (two statements of one account in one file) keeps both rows apart.
    seen: Counter[str] = Counter()
    unique = []
    for row_id in ids:
        seen[row_id] += 1
        unique.append(row_id if seen[row_id] == 1 else f"{row_id} ({seen[row_id]})")
    return [_side(row, row_id) for row, row_id in zip(parsed.rows, unique, strict=True)]


BANK_EXPORTS = BankReader(read=read_bank_export, suffixes=frozenset(SUPPORTED_SUFFIXES))
