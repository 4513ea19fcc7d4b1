"""A bank export as ``bg-agents match`` rows, read the way ``bg-agents import`` reads it.

So a file that imports also matches: the known export layouts, headers in six languages, title
lines above the header, debit and credit (or S/H) columns, OFX, MT940, camt and QIF. The matcher
and the import live in two domains that do not import each other; this module, in the CLI that
composes them, is the one place that knows both shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

from bg_agents.defs.ingestion.csv_file import MissingHeader, NeedsOption, is_derived_id
from bg_agents.defs.ingestion.files import read_import_file
from bg_agents.defs.ingestion.formats import SUPPORTED_SUFFIXES, ColumnMapping, ImportFileError
from bg_agents.defs.ingestion.raw import ParsedFile, RawTransaction
from bg_agents.defs.reconciliation.matcher.exports import MAX_SHOWN, InputError, MissingColumns
from bg_agents.defs.reconciliation.matcher.file_match import BankReader, InputRows
from bg_agents.defs.reconciliation.matcher.rules import Side

# Entries the bank has not booked (pending, information only) are left out, as the import
# leaves them out: they are no payment yet.
NOT_BOOKED = "not booked"
# What a row is matched by besides its amount and date; a table without either column is not a
# bank export (a ledger with a misspelt header, say): the matcher's own error is the better one.
NAME_FIELDS = ("counterparty", "description")


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


def _parse(path: Path, currency: str | None, options: Mapping[str, str]) -> ParsedFile:
    mapping = ColumnMapping(**options) if options else None  # options only: date_format, ...
    try:
        parsed = read_import_file(path, "match", mapping=mapping, default_currency=currency)
    except MissingHeader as exc:
        raise MissingColumns(f"{path.name}: {exc}") from None
    except NeedsOption as exc:  # match reads options from the file's column map
        raise InputError(
            f"{path.name}: {exc.problem}: give {{{exc.option}}} as this file's column map "
            "(--left-map or --right-map, whichever names this file; or the path of a .json file "
            "holding it)"
        ) from None
    except ImportFileError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    columns = parsed.layout.get("columns")
    if columns is not None and not any(f in columns for f in NAME_FIELDS):
        raise MissingColumns(f"{path.name}: no description or counterparty column")
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
    return parsed


def read_bank_export(path: Path, currency: str | None, options: Mapping[str, str]) -> InputRows:
    """Every booked entry of the export as a row, or InputError listing the entries that cannot
    be read. A row's id is the bank's own id where the file has one, else ``row N``: the N-th
    entry below the header (or in the statement), the numbering the errors use too. An entry
    whose bank id came before is the same transaction exported twice (overlapping statements)
    and is left out, as the import leaves it out."""
    parsed = _parse(path, currency, options)
    warnings = [
        f"{path.name}: the balances do not add up, {b.describe()}"
        for b in parsed.balances
        if b.ok is False
    ]
    given = {r.external_id for r in parsed.rows if not is_derived_id(r.external_id)}
    sides: list[Side] = []
    seen: set[str] = set()
    for row in parsed.rows:
        row_id = row.external_id
        if is_derived_id(row_id):
            row_id = f"row {row.row_ref}"
            if row_id in given:  # a bank id that reads like a position: keep both apart
                row_id += " (no id)"
        elif row_id in seen:
            continue
        seen.add(row_id)
        sides.append(_side(row, row_id))
    if len(sides) < len(parsed.rows):
        warnings.append(
            f"{path.name}: {len(parsed.rows) - len(sides):,} entries repeat a bank id given "
            "before (the same transaction twice, as in overlapping statements): left out"
        )
    columns = parsed.layout.get("columns") or {}
    layout = ", ".join(f"{field}={header}" for field, header in columns.items())
    how = f"{parsed.file_format}" + (f": {layout}" if layout else "")
    return InputRows(sides, how, warnings)


BANK_EXPORTS = BankReader(read=read_bank_export, suffixes=frozenset(SUPPORTED_SUFFIXES))
