"""The file side of ``bg-agents match``: read two exports into ``Side`` rows, write the pairs.

A finance user reconciles two exports (a ledger and a bank statement, invoices and payouts) without
a database or Dagster. Everything is read as text so amounts stay exact, and anything that reads
two ways is settled from the whole column or refused with the fix: an amount or a date that is
silently misread is worse than a file sent back. Every problem is an ``InputError`` whose text
names the file, the rows (as numbered in a spreadsheet) and what to change.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bg_agents.defs.reconciliation.matcher.rules import Side
from bg_agents.lib import forked
from bg_agents.lib.money import known_currencies
from bg_agents.lib.tabular.amounts import AmbiguousDecimal, decimal_mark, parse_amount
from bg_agents.lib.tabular.columns import ColumnMap, ColumnMapError, find_column
from bg_agents.lib.tabular.columns import parse_column_map as _parse_column_map
from bg_agents.lib.tabular.dates import AmbiguousDates, DateReader, numeric_date_order
from bg_agents.lib.tabular.parquet import read_parquet
from bg_agents.lib.tabular.suffixes import PARQUET_SUFFIXES, TABULAR_SUFFIXES
from bg_agents.lib.tabular.text import (
    BAD_BYTE,
    HEADER_SCAN_ROWS,
    TabularError,
    bad_bytes_reason,
    data_records,
    decode_bank_text,
    records_of,
    show_bad_bytes,
    sniff_delimiter,
)

if TYPE_CHECKING:
    from bg_agents.defs.reconciliation.matcher.types import Pair


class InputError(ValueError):
    """An input (file, column map, option) cannot be used; the text says why and how to fix it."""


class MissingColumns(InputError):
    """The file has no column for a required field: it may be laid out as a bank export instead
    (``file_match`` then tries the import's readers, when it is given them)."""


REQUIRED_FIELDS = ("id", "date", "amount", "name")
OPTIONAL_FIELDS = ("currency", "reference", "base_amount", "date_until")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
READ_SUFFIXES = TABULAR_SUFFIXES
WRITE_SUFFIXES = frozenset({".csv", ".parquet", ".pq"})
MAP_EXAMPLE = "id=unique_id,date=transaction_date,amount=amount,name=memo"
MAX_SHOWN = 10  # offending rows quoted in an error; the total is always given


# --- column maps ---------------------------------------------------------------------------------


def parse_column_map(text: str) -> ColumnMap:
    """``--left-map``: ``"id=unique_id,date=transaction_date,name=payee+memo"``, the JSON of an
    import's mapping file, or the path of such a ``.json`` file -> ``ColumnMap``.

    ``name`` may join several columns with ``+``: the first non-empty one is the name, the others
    become aliases. Any other column name is taken literally (it may contain ``+``).
    """
    source = text.strip()
    if source.lower().endswith(".json") and not source.startswith("{"):
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"column map {source}: cannot be read ({exc})") from None
    try:
        return _parse_column_map(text, FIELDS, joinable=("name",), example=MAP_EXAMPLE)
    except ColumnMapError as exc:
        raise InputError(str(exc)) from None


def _quoted(items: Iterable[str]) -> str:
    return ", ".join(f'"{c}"' for c in items) or "(none)"


def _resolve(
    name: str, columns: Sequence[str], column_map: Mapping[str, str]
) -> dict[str, list[str]]:
    """Field -> the file's column(s) holding it (several only for ``name``)."""
    unknown = sorted(set(column_map) - set(FIELDS))
    if unknown:
        raise InputError(
            f"unknown field(s) {', '.join(unknown)}; the fields are: {', '.join(FIELDS)}"
        )
    resolved: dict[str, list[str]] = {}
    not_found: list[str] = []
    for field_name in FIELDS:
        wanted = column_map.get(field_name)
        if wanted is None:
            column = find_column(field_name, columns)
            if column is not None:
                resolved[field_name] = [column]
            continue
        parts = [wanted]
        if field_name == "name" and find_column(wanted, columns) is None and "+" in wanted:
            parts = [p.strip() for p in wanted.split("+")]
        found = [find_column(p, columns) for p in parts]
        missing = [p for p, c in zip(parts, found, strict=True) if c is None]
        if missing:
            not_found.extend(f'"{p}" (for {field_name})' for p in missing)
        else:
            resolved[field_name] = [c for c in found if c is not None]
    if not_found:
        raise InputError(
            f"{name}: the column map names {', '.join(not_found)}, but the file has no such "
            f"column. Its columns are: {_quoted(columns)}"
        )
    missing_fields = [f for f in REQUIRED_FIELDS if f not in resolved]
    if missing_fields:
        listed = ", ".join(missing_fields)
        example = ",".join(f"{f}=<column>" for f in missing_fields)
        raise MissingColumns(
            f"{name}: no column for {listed}. The file's columns are: {_quoted(columns)}. "
            f'Say which column holds what with a column map, e.g. "{example}"'
        )
    return resolved


# --- dates ---------------------------------------------------------------------------------------


def date_order(values: Iterable[str], column: str = "date", file: str = "") -> str:
    """The column's day/month order for numeric dates ("dmy" or "mdy"), or InputError saying
    how to settle it when nothing in the column does."""
    try:
        return numeric_date_order(dict.fromkeys(v.strip() for v in values if v.strip()))
    except AmbiguousDates as exc:
        where = f"{file}: " if file else ""
        raise InputError(
            f'{where}the dates in column "{column}" (such as "{exc.example}") could be '
            "day/month or month/day, and no date in the column settles it: export the dates as "
            "YYYY-MM-DD (ISO), which reads one way only, or give the format as a JSON column map "
            f'(--left-map or --right-map \'{{"date_format": "{exc.day_first}"}}\', or '
            f'"{exc.month_first}")'
        ) from None


def _settled_mark(
    values: list[str], currencies: list[str | None] | None, column: str, file: str
) -> str:
    """The column's decimal mark, or InputError saying how to settle it when nothing does."""
    try:
        return decimal_mark(values, currencies)
    except AmbiguousDecimal as exc:
        where = f"{file}: " if file else ""
        raise InputError(
            f'{where}column "{column}": {exc}: give the mark as a JSON column map '
            '(--left-map or --right-map \'{"decimal": ","}\', or ".")'
        ) from None


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Table:
    """An export's cells as read, before any field is read from them."""

    columns: list[str]
    cells: dict[str, list[str]]  # column -> stripped text per row
    rows: list[str]  # how a user finds each row: "line 7" (CSV, header = line 1) or "row 6"
    problems: list[str] = field(default_factory=list)  # lines that are no row, with the reason


def check_input_path(path: Path, suffixes: Iterable[str] = READ_SUFFIXES) -> None:
    """Refuse an input that is missing or of a kind no reader takes (``suffixes``)."""
    if path.suffix.lower() not in suffixes:
        raise InputError(
            f"{path.name}: cannot read {path.suffix or 'files without a suffix'!s}; "
            f"give a {', '.join(sorted(suffixes))} file"
        )
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")


def check_output_path(path: Path, inputs: Iterable[Path] = ()) -> None:
    """Refuse an output the writer cannot produce, before any work is done."""
    if path.suffix.lower() not in WRITE_SUFFIXES:
        raise InputError(
            f"{path.name}: cannot write {path.suffix or 'files without a suffix'}; "
            f"the output must end in {', '.join(sorted(WRITE_SUFFIXES))}"
        )
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name for the output")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent}: no such folder for the output")
    target = path.resolve()
    for source in inputs:
        if source.resolve() == target:
            raise InputError(f"{path}: the output would overwrite an input file")


def _read_csv(path: Path, column_map: Mapping[str, str]) -> Table:
    """The file split by the import's record reader: a stray quote or a row wider than the
    header is that line's problem (listed with the others), never a whole file misread."""
    try:
        text = decode_bank_text(path.read_bytes())
    except TabularError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    if not text.strip():
        raise InputError(f"{path.name}: the file is empty")
    delimiter = (
        "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text, _header(column_map))
    )
    try:
        header, header_end = _find_header(text, delimiter, column_map)
    except TabularError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    if header is None:
        raise InputError(f"{path.name}: the file is empty")
    while header and not header[-1].strip():
        header.pop()  # a trailing separator on the header line only
    width = len(header)
    columns = _unique_names([show_bad_bytes(c).strip() for c in header])
    kept: list[list[str]] = []
    rows: list[str] = []
    problems: list[str] = []
    shown = "tab" if delimiter == "\t" else repr(delimiter)
    # A file without a marked byte anywhere has none in any row: no row needs the look.
    marked = BAD_BYTE.search(text) is not None
    for record in data_records(text, delimiter, header_end, width):
        where = f"line {record.line}"
        if record.problem is not None:
            problems.append(f"{where}: {record.problem}")
            continue
        if len(record) > width and any(c.strip() for c in record[width:]):
            problems.append(
                f"{where} has {len(record)} cells but the header has {width}: a value that "
                f"contains the separator {shown} must be quoted"
            )
            continue
        if marked and (reason := bad_bytes_reason(record)):
            problems.append(f"{where}: {reason}")
            continue
        kept.append(record if len(record) == width else [*record[:width], *[""] * width][:width])
        rows.append(where)
    # Column by column: one list per column, not an append per cell.
    cells = {c: [r[k].strip() for r in kept] for k, c in enumerate(columns)}
    return Table(columns, cells, rows, problems)


def _find_header(
    text: str, delimiter: str, column_map: Mapping[str, str]
) -> tuple[list[str] | None, int]:
    """The header and the physical line it ends on: the first line near the top that names
    every field (an export may put a title or an account above it), else the one naming the
    most, else the first line that is not blank (the error then lists its cells as the file's
    columns). (None, 0) for a file of blank lines."""
    names_all = _header(column_map)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    best: tuple[int, list[str], int] | None = None  # (fields named, record, line)
    try:
        for record in itertools.islice(records_of(reader), HEADER_SCAN_ROWS):
            cells = [c.strip() for c in record]
            if not any(cells):
                continue
            if names_all(cells):
                return record, reader.line_num
            named = sum(find_column(column_map.get(f, f), cells) is not None for f in FIELDS)
            if best is None or named > best[0]:
                best = (named, record, reader.line_num)
    except TabularError:
        if best is None:
            raise
        # A broken line below the first one: no header further down; its rows say what is wrong.
    return (best[1], best[2]) if best is not None else (None, 0)


def _unique_names(header: list[str]) -> list[str]:
    """Header cells as column names: blanks named by position, repeats numbered."""
    names: list[str] = []
    for i, cell in enumerate(header, 1):
        base = name = cell or f"column {i}"
        n = 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.append(name)
    return names


def _read_parquet(path: Path) -> Table:
    try:
        columns, values = read_parquet(path)
    except TabularError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    rows = len(values[0]) if values else 0
    cells = dict(zip(columns, values, strict=True))
    return Table(columns, cells, [f"row {i}" for i in range(1, rows + 1)])


def _header(column_map: Mapping[str, str]) -> Callable[[list[str]], bool]:
    """Whether a line's cells name every required field: the header, for the delimiter sniffer."""

    def names_all(cells: list[str]) -> bool:
        try:
            _resolve("", cells, column_map)
        except InputError:
            return False
        return True

    return names_all


def _read_table(path: Path, column_map: Mapping[str, str]) -> Table:
    check_input_path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        table = _read_parquet(path)
    else:
        table = _read_csv(path, column_map)
    # Blank lines (and rows of empty cells) are not rows anyone means.
    keep = [i for i in range(len(table.rows)) if any(table.cells[c][i] for c in table.columns)]
    if len(keep) < len(table.rows):
        table = Table(
            table.columns,
            {c: [v[i] for i in keep] for c, v in table.cells.items()},
            [table.rows[i] for i in keep],
            table.problems,
        )
    if not table.rows and not table.problems:
        raise InputError(
            f"{path.name}: the file has column headers ({_quoted(table.columns)}) but no rows"
        )
    return table


def read_table(
    path: str | os.PathLike[str], column_map: ColumnMap | Mapping[str, str] | None
) -> Table:
    """The export's cells, rows and unreadable lines, before any field is read: the part of
    :func:`read_sides` another process can do (plain strings, cheap to send back)."""
    return _read_table(Path(path), _column_map(column_map).columns)


def _column_map(column_map: ColumnMap | Mapping[str, str] | None) -> ColumnMap:
    return column_map if isinstance(column_map, ColumnMap) else ColumnMap(column_map or {})


def read_sides(
    path: str | os.PathLike[str],
    column_map: ColumnMap | Mapping[str, str] | None,
    *,
    default_currency: str | None,
    table: Table | None = None,
) -> list[Side]:
    """Every row of a CSV or Parquet export as a ``Side``, or InputError listing what to fix.

    ``column_map`` says which column holds which field (``parse_column_map``); a field it leaves
    out is read from a column named like the field, if there is one. ``default_currency`` is the
    currency of rows without one (required when the file has no currency column). ``table``:
    the file as :func:`read_table` already read it.
    """
    path = Path(path)
    name = path.name
    column_map = _column_map(column_map)
    options = column_map.options
    if table is None:
        table = _read_table(path, column_map.columns)
    columns = _resolve(name, table.columns, column_map.columns)
    fallback = _fallback_currency(
        name, columns, default_currency or options.get("default_currency")
    )
    reader = _SideReader.settle(table, columns, options, fallback, name)

    sides: list[Side] = []
    problems: list[str] = list(table.problems)
    where: dict[str, list[str]] = {}
    for i, row in enumerate(table.rows):
        if reader.ids[i]:
            where.setdefault(reader.ids[i], []).append(row)
        side = reader.side(i, row)
        if isinstance(side, Side):
            sides.append(side)
        else:
            problems.append(side)

    duplicates = {k: v for k, v in where.items() if len(v) > 1}
    if problems or duplicates:
        problems.sort(key=lambda text: int(re.match(r"\w+ (\d+)", text)[1]))  # type: ignore[index]
        total = len(table.rows) + len(table.problems)
        raise InputError(_problems_message(name, total, problems, duplicates))
    return sides


def _fallback_currency(name: str, columns: Mapping[str, Any], default: str | None) -> str | None:
    """The currency of rows without one; refuses a file whose rows could have none."""
    fallback = check_currency(default)
    if "currency" not in columns and not fallback:
        raise InputError(
            f"{name}: the file has no currency column, so give the currency of its amounts "
            "(on the command line: --currency EUR), or map the column that holds it "
            "(currency=<column>)"
        )
    return fallback


@dataclass
class _SideReader:
    """The file's columns with their decimal marks and date orders, settled once for all rows."""

    ids: list[str]
    amounts: list[str]
    base_amounts: list[str] | None
    dates: list[str]
    untils: list[str] | None
    currencies: list[str] | None
    references: list[str] | None
    names: list[list[str]]
    mark: str
    base_mark: str
    fmt: str | None
    date_reader: DateReader
    until_reader: DateReader
    known: frozenset[str]
    fallback: str | None

    @classmethod
    def settle(
        cls,
        table: Table,
        columns: Mapping[str, list[str]],
        options: Mapping[str, str],
        fallback: str | None,
        name: str = "",
    ) -> _SideReader:
        """Reads each column's decimal mark and date order from the whole column, not per row."""
        cells = table.cells

        def column(field_name: str) -> list[str] | None:
            found = columns.get(field_name)
            return cells[found[0]] if found else None

        ids, amounts, base_amounts = column("id"), column("amount"), column("base_amount")
        dates, untils = column("date"), column("date_until")
        currencies, references = column("currency"), column("reference")
        names = [cells[c] for c in columns["name"]]
        assert ids is not None and amounts is not None and dates is not None

        row_currencies = (
            [c.upper() or fallback for c in currencies] if currencies else [fallback] * len(amounts)
        )
        mark = options.get("decimal") or _settled_mark(
            amounts, row_currencies, columns["amount"][0], name
        )
        base_mark = options.get("decimal") or (
            _settled_mark(base_amounts, None, columns["base_amount"][0], name)
            if base_amounts is not None
            else "."
        )
        fmt = options.get("date_format")
        date_reader = DateReader(fmt, "dmy" if fmt else date_order(dates, columns["date"][0], name))
        until_reader = date_reader
        if untils is not None and not fmt:
            until_reader = DateReader(None, date_order(untils, columns["date_until"][0], name))
        return cls(
            ids=ids,
            amounts=amounts,
            base_amounts=base_amounts,
            dates=dates,
            untils=untils,
            currencies=currencies,
            references=references,
            names=names,
            mark=mark,
            base_mark=base_mark,
            fmt=fmt,
            date_reader=date_reader,
            until_reader=until_reader,
            known=known_currencies(),
            fallback=fallback,
        )

    def _date(self, text: str, reader: DateReader, label: str) -> date:
        """One date cell, or ValueError saying what format was expected."""
        if not text:
            raise ValueError(f"missing {label}")
        value = reader(text)
        if value is None:
            expected = f"format {self.fmt!r}" if self.fmt else "a date such as 2026-03-31"
            raise ValueError(f"bad {label} {text!r} (expected {expected})")
        return date.fromisoformat(value)

    def side(self, i: int, row: str) -> Side | str:
        """Row ``i`` as a ``Side``, or the text naming the row and everything wrong with it."""
        issues: list[str] = []
        if not self.ids[i]:
            issues.append("empty id")
        amount, when, base, until, currency = self._values(i, issues)
        if issues:
            return f"{row}: {'; '.join(issues)}"
        assert amount is not None and when is not None
        if until is not None and until < when:
            return f"{row}: date_until {until} is before the date {when}"
        texts = [v[i] for v in self.names if v[i]]
        return Side(
            id=self.ids[i],
            date=when,
            amount=amount,
            currency=currency,
            name=texts[0] if texts else "",
            base_amount=base,
            date_until=until,
            aliases=tuple(dict.fromkeys(t for t in texts[1:] if t != texts[0])),
            reference=(self.references[i] or None) if self.references is not None else None,
        )

    def _values(
        self, i: int, issues: list[str]
    ) -> tuple[Decimal | None, date | None, Decimal | None, date | None, str]:
        """Row ``i``'s amount, date, base amount, end date and currency; problems go to issues."""
        amount = when = base = until = None
        try:
            amount = parse_amount(self.amounts[i], self.mark)
        except ValueError as exc:
            issues.append(str(exc))
        try:
            when = self._date(self.dates[i], self.date_reader, "date")
        except ValueError as exc:
            issues.append(str(exc))
        if self.base_amounts is not None and self.base_amounts[i]:
            try:
                base = parse_amount(self.base_amounts[i], self.base_mark)
            except ValueError as exc:
                issues.append(f"base_amount: {exc}")
        if self.untils is not None and self.untils[i]:
            try:
                until = self._date(self.untils[i], self.until_reader, "date_until")
            except ValueError as exc:
                issues.append(str(exc))
        currencies = self.currencies
        currency = (currencies[i].upper() if currencies is not None else "") or self.fallback or ""
        if not currency:
            issues.append("missing currency")
        elif currency not in self.known:
            issues.append(f"unknown currency {currency!r}")
        return amount, when, base, until, currency


def _problems_message(
    name: str, total: int, problems: list[str], duplicates: dict[str, list[str]]
) -> str:
    parts: list[str] = []
    if problems:
        shown = f" (the first {MAX_SHOWN})" if len(problems) > MAX_SHOWN else ""
        parts.append(
            f"{name}: {len(problems):,} of {total:,} rows cannot be read{shown}:\n"
            + "\n".join(f"  {p}" for p in problems[:MAX_SHOWN])
        )
    if duplicates:
        listed = [
            f'"{k}" ({", ".join(v[:3])}{", ..." if len(v) > 3 else ""})'
            for k, v in list(duplicates.items())[:MAX_SHOWN]
        ]
        more = f" and {len(duplicates) - MAX_SHOWN:,} more" if len(duplicates) > MAX_SHOWN else ""
        parts.append(
            f"{name}: {len(duplicates):,} id(s) appear more than once, so the pairs could not "
            f"say which row is meant: {', '.join(listed)}{more}"
        )
    # Another id column only helps when ids are what is wrong.
    ids_wrong = duplicates or any("empty id" in p for p in problems)
    another = " (or map another id column)" if ids_wrong else ""
    return "\n".join(parts) + f"\nFix these rows in the file{another} and run again."


# --- writing -------------------------------------------------------------------------------------

PAIR_COLUMNS = (
    "left_id",
    "right_id",
    "decision",
    "score",
    "relation",
    "matched_amount",
    "decided_by",
    "explanation",
)


def write_pairs(
    path: str | os.PathLike[str],
    pairs: Sequence[Pair],
    left: Mapping[str, Side] | None = None,
    right: Mapping[str, Side] | None = None,
    processes: int = 1,
) -> None:
    """Write the pairs as CSV or Parquet (by suffix), all at once or not at all.

    With ``left``/``right`` each row also carries both sides' date, amount, currency and name, so
    a reviewer sees what was paired without opening the inputs. The file appears only complete:
    it is written next to its destination and renamed over it. ``processes`` 2: a large CSV's
    second half is written by a forked child.
    """
    path = Path(path)
    check_output_path(path)
    records: dict[str, list[Any]] = {
        "left_id": [p.left_id for p in pairs],
        "right_id": [p.right_id for p in pairs],
        "decision": [p.decision for p in pairs],
        "score": [round(float(p.score), 4) for p in pairs],
        "relation": [p.relation for p in pairs],
        "matched_amount": [p.matched_amount for p in pairs],
        "decided_by": [p.decided_by for p in pairs],
        "explanation": [p.explanation for p in pairs],
    }
    for prefix, sides, key in (("left", left, "left_id"), ("right", right, "right_id")):
        if sides is None:
            continue
        found = [sides.get(i) for i in records[key]]
        records[f"{prefix}_date"] = [s.date if s else None for s in found]
        records[f"{prefix}_amount"] = [s.amount if s else None for s in found]
        records[f"{prefix}_currency"] = [s.currency if s else None for s in found]
        records[f"{prefix}_name"] = [s.name if s else None for s in found]

    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    try:
        if parquet:
            _write_parquet(Path(temp_name), records)
        else:
            _write_csv_in_halves(Path(temp_name), records, processes)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


# A spreadsheet runs a cell starting with one of these as a formula ("CSV injection"): an id or
# a name from a bank export like =HYPERLINK(...) or =cmd|' /C calc'!A0 must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def spreadsheet_safe(value: str) -> str:
    """``value`` as a spreadsheet shows it, never runs it: a leading quote makes a cell text.

    A plain negative number (``-42.50``) stays a number: it cannot run anything, and a
    reviewer sums the column.
    """
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _write_csv_in_halves(path: Path, records: dict[str, list[Any]], processes: int) -> None:
    """The CSV, its second half formatted and written by a forked child into a file of its own
    (appended here) when there are many rows and ``processes`` is 2."""
    rows = len(records["left_id"])
    if not forked.splits(processes, rows):
        _write_csv(path, records)
        return
    half = rows // 2
    handle, tail_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tail")
    os.close(handle)
    tail = Path(tail_name)
    try:
        forked.beside(
            lambda: _write_csv(path, {c: v[:half] for c, v in records.items()}),
            lambda: _write_csv(tail, {c: v[half:] for c, v in records.items()}, header=False),
        )
        with path.open("ab") as out, tail.open("rb") as rest:
            shutil.copyfileobj(rest, out)
    finally:
        tail.unlink(missing_ok=True)


def _write_csv(path: Path, records: dict[str, list[Any]], header: bool = True) -> None:
    text: dict[str, list[Any]] = {}
    for column, values in records.items():
        if column == "score":
            text[column] = [f"{v:.4f}" for v in values]
        elif column.endswith("amount"):
            text[column] = ["" if v is None else format(v, "f") for v in values]
        elif column.endswith("_date"):
            days: dict[Any, str] = {}  # a file holds a few hundred distinct dates
            text[column] = [
                (days.get(v) or days.setdefault(v, v.isoformat())) if v else "" for v in values
            ]
        else:
            # A text that starts like no formula is its own safe form (most cells): no call.
            text[column] = [
                v
                if type(v) is str and not v.startswith(FORMULA_STARTS)
                else ("" if v is None else spreadsheet_safe(str(v)))
                for v in values
            ]
    # utf-8-sig: spreadsheet programs then show accented names correctly (a file's start only).
    with path.open("w", encoding="utf-8-sig" if header else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if header:
            writer.writerow(records)
        writer.writerows(zip(*text.values(), strict=True))


def _write_parquet(path: Path, records: dict[str, list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays: dict[str, pa.Array] = {}
    for column, values in records.items():
        if column == "score":
            arrays[column] = pa.array(values, type=pa.float64())
        elif column.endswith("amount"):
            scale = max((-v.as_tuple().exponent for v in values if v is not None), default=2)
            scale = min(max(scale, 2), 18)
            arrays[column] = pa.array(
                [None if v is None else v.quantize(Decimal(1).scaleb(-scale)) for v in values],
                type=pa.decimal128(38, scale),
            )
        elif column.endswith("_date"):
            arrays[column] = pa.array(values, type=pa.date32())
        else:
            arrays[column] = pa.array(values, type=pa.string())
    pq.write_table(pa.table(arrays), path)


def check_currency(code: str | None) -> str | None:
    if code is None:
        return None
    value = code.strip().upper()
    if value not in known_currencies():
        raise InputError(f"unknown currency {code!r}: use an ISO code such as EUR or USD")
    return value
