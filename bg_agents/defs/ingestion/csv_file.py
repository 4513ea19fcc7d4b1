"""CSV bank exports: decode, sniff the delimiter, find the columns, read each row.

Bank CSVs differ in every detail (encoding, delimiter, decimal comma, date order, preamble lines).
A misread amount or date is worse than a rejected row, so anything that reads two ways is settled
from the whole file's evidence or refused with the fix; nothing is guessed per row.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bg_agents.defs.ingestion.formats import MAPPING_HELP, ColumnMapping, ImportFileError
from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.lib.tabular import text as text_rules
from bg_agents.lib.tabular.amounts import is_zero, mark_evidence, other_mark, parse_amount_text
from bg_agents.lib.tabular.columns import norm_header
from bg_agents.lib.tabular.dates import (
    AmbiguousDates,
    DateReader,
    numeric_date_order,
    parse_date_auto,
)
from bg_agents.lib.tabular.text import (
    BAD_BYTE,
    HEADER_SCAN_ROWS,
    Record,
    bad_bytes_reason,
    data_records,
    decode_bank_text,
    records_of,
    show_bad_bytes,
)

# Recognized headers, normalized (see norm_header), in order of preference per field: when an
# export has both "Transaction Date" and "Posted Date", the posting date is the booking date.
_ALIASES: dict[str, tuple[str, ...]] = {
    "date": (
        "booking date",
        "posting date",
        "posted date",
        "post date",
        "posted",
        "transaction date",
        "trans date",
        "date",
        "value date",
        "buchungstag",
        "buchungsdatum",
        "datum",
        "date operation",
        "boekingsdatum",
    ),
    "amount": (
        "amount",
        "transaction amount",
        "amt",
        "betrag",
        "umsatz",
        "montant",
        "bedrag",
        "importe",
    ),
    "debit": (
        "debit",
        "debit amount",
        "debits",
        "withdrawal",
        "withdrawals",
        "withdrawal amount",
        "money out",
        "paid out",
        "soll",
    ),
    "credit": (
        "credit",
        "credit amount",
        "credits",
        "deposit",
        "deposits",
        "deposit amount",
        "money in",
        "paid in",
        "haben",
    ),
    "description": (
        "description",
        "transaction description",
        "details",
        "transaction details",
        "narrative",
        "desc",
        "memo",
        "booking text",
        "verwendungszweck",
        "buchungstext",
        "libelle",
        "omschrijving",
    ),
    "currency": ("currency", "currency code", "ccy", "wahrung", "devise"),
    "external_id": (
        "transaction id",
        "id",
        "reference id",
        "transaction reference id",
        "fitid",
        "unique id",
    ),
    "counterparty": (
        "counterparty",
        "counterparty name",
        "payee",
        "payee name",
        "merchant",
        "merchant name",
        "name",
        "beneficiary",
        "payer",
        "auftraggeber empfanger",
        "begunstigter zahlungspflichtiger",
    ),
    "reference": (
        "reference",
        "ref",
        "reference number",
        "check number",
        "cheque number",
        "check no",
    ),
    "category": ("category", "kategorie"),
    "base_amount": ("base amount",),
}
_MONEY_FIELDS = ("amount", "debit", "credit", "base_amount")


def sniff_delimiter(text: str, mapping: ColumnMapping | None = None) -> str:
    """The file's delimiter, a header being a line that names the date and amount columns."""
    return text_rules.sniff_delimiter(
        text, lambda cells: _is_complete(_resolve_columns(cells, mapping), mapping)
    )


# --- header -----------------------------------------------------------------------------------


def _resolve_columns(cells: list[str], mapping: ColumnMapping | None) -> dict[str, int]:
    """Field -> cell index: the mapping's headers first, then recognized names for the rest."""
    normed = [norm_header(c) for c in cells]
    explicit = mapping.columns if mapping else {}
    columns: dict[str, int] = {}
    for field_name, header in explicit.items():
        wanted = header.strip()
        index = next((i for i, c in enumerate(cells) if c == wanted), None)
        if index is None:
            key = norm_header(wanted)
            index = next((i for i, n in enumerate(normed) if n == key), None)
        if index is not None:
            columns[field_name] = index
    taken = set(columns.values())
    skip = set(explicit)
    if "amount" in explicit:
        skip |= {"debit", "credit"}
    if explicit.keys() & {"debit", "credit"}:
        skip.add("amount")
    for field_name, aliases in _ALIASES.items():
        if field_name in skip or (field_name in ("debit", "credit") and "amount" in columns):
            continue
        for alias in aliases:
            index = next((i for i, n in enumerate(normed) if n == alias and i not in taken), None)
            if index is not None:
                columns[field_name] = index
                taken.add(index)
                break
    return columns


def _is_complete(columns: dict[str, int], mapping: ColumnMapping | None) -> bool:
    explicit = mapping.columns if mapping else {}
    return (
        all(f in columns for f in explicit)
        and "date" in columns
        and any(f in columns for f in ("amount", "debit", "credit"))
    )


def _find_header(
    text: str, delimiter: str, mapping: ColumnMapping | None
) -> tuple[int, list[str], dict[str, int]]:
    """The first row (within the first few) that names every needed column, with the number of
    physical lines up to and including it."""
    best: list[str] | None = None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    for record in itertools.islice(records_of(reader), HEADER_SCAN_ROWS):
        cells = [c.strip() for c in record]
        if not any(cells):
            continue
        columns = _resolve_columns(cells, mapping)
        if _is_complete(columns, mapping):
            _check_unique(cells, columns)
            return reader.line_num, cells, columns
        if best is None or sum(map(bool, cells)) > sum(map(bool, best)):
            best = cells
    if best is None:
        raise ImportFileError("the file is empty (only blank lines)")
    raise ImportFileError(_missing_columns_message(best, mapping))


def _check_unique(cells: list[str], columns: dict[str, int]) -> None:
    normed = [norm_header(c) for c in cells]
    for field_name, index in columns.items():
        count = normed.count(normed[index])
        if count > 1:
            raise ImportFileError(
                f'the header "{cells[index]}" appears {count} times, so the {field_name} column '
                "is ambiguous: rename the columns so each header is unique"
            )


def _missing_columns_message(cells: list[str], mapping: ColumnMapping | None) -> str:
    found = ", ".join(f'"{c}"' for c in cells if c) or "(none)"
    if any(parse_date_auto(c, "dmy") for c in cells):
        return (
            f"the file has no header row: its first line already holds data ({found}). Add a "
            "header line naming the columns (for example Date,Amount,Description)"
        )
    columns = _resolve_columns(cells, mapping)
    explicit = mapping.columns if mapping else {}
    unmatched = [f'"{h}" for {f}' for f, h in explicit.items() if f not in columns]
    if unmatched:
        return (
            f"the mapping names column(s) {', '.join(unmatched)}, but the file has no such "
            f"header. Headers found: {found}. Fix the mapping to use these header names"
        )
    missing = [] if "date" in columns else ["date"]
    if not any(f in columns for f in ("amount", "debit", "credit")):
        missing.append("amount (or debit and credit)")
    return (
        f"could not find the {' and '.join(missing)} column(s). Headers found: {found}. "
        f"To fix it, {MAPPING_HELP}"
    )


def _cell_names(header: list[str]) -> list[str]:
    """Keys for a row's ``raw`` dict: header names made unique, blanks named by position."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    for i, name in enumerate(header, 1):
        name = name or f"column {i}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _amount_reason(label: str, text: str, decimal: str) -> str:
    reason = f"bad {label} {text!r}"
    if other_mark(text, decimal):
        looks, other = ("point", ".") if decimal == "," else ("comma", ",")
        reason += f' (it looks like a decimal {looks}: set "decimal": "{other}" in the mapping)'
    return reason


# --- rows -------------------------------------------------------------------------------------


def _canonical_amount(plain: str) -> str:
    return format(Decimal(plain).normalize(), "f")


def _collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def content_key(
    booking_date: str,
    amount: str,
    description: str,
    counterparty: str | None,
    reference: str | None,
) -> str:
    """What identifies a row without a bank id; canonical so a reformatted re-export matches."""
    return "\x1f".join(
        (
            booking_date,
            _canonical_amount(amount),
            _collapse(description),
            _collapse(counterparty),
            _collapse(reference),
        )
    )


def derived_external_id(key: str, occurrence: int) -> str:
    """A stable id for the ``occurrence``-th row with ``key`` in a file (identical rows differ)."""
    return "derived-" + hashlib.sha256(f"{key}\x1f{occurrence}".encode()).hexdigest()[:32]


def _survey(
    records: Iterable[list[str]], date_index: int, money: list[int]
) -> tuple[dict[str, None], str]:
    """Distinct date cells (in file order) and the money cells' decimal mark, read up front."""
    dates: dict[str, None] = {}
    evidence: Counter[str | None] = Counter()
    for record in records:
        if date_index < len(record):
            dates[record[date_index].strip()] = None
        evidence.update(mark_evidence(record[i]) for i in money if i < len(record))
    dates.pop("", None)
    return dates, "," if evidence[","] > evidence["."] else "."


def parse_csv(
    data: bytes,
    *,
    sha256: str,
    team_ref: str,
    mapping: ColumnMapping | None,
    default_currency: str | None,
    text: str | None = None,
) -> tuple[list[RawTransaction], list[dict[str, Any]], int]:
    """Rows whose date and amount could be read, the rejected rows with their reasons, and the
    number of non-blank data rows the reader saw (each one is in exactly one of the lists).

    ``text``: the file already as CSV text (a Parquet file's), instead of decoding ``data``.
    """
    if text is None:
        text = decode_bank_text(data)
    if not text.strip():
        raise ImportFileError("the file is empty")
    delimiter = sniff_delimiter(text, mapping)
    header_at, header, columns = _find_header(text, delimiter, mapping)
    # A trailing delimiter on the header line only adds empty columns that rows may omit.
    while header and not header[-1]:
        header.pop()
    names = [show_bad_bytes(name) for name in _cell_names(header)]
    fallback = _fallback_currency(columns, mapping, default_currency)
    decimal, read_date = _file_formats(text, delimiter, header_at, len(header), columns, mapping)
    reader = _RowReader(
        columns=columns,
        names=names,
        width=len(header),
        delimiter=delimiter,
        decimal=decimal,
        read_date=read_date,
        fallback=fallback,
        sha256=sha256,
        team_ref=team_ref,
    )
    rows, seen = reader.read(text, header_at)
    return rows, reader.rejected, seen


def _fallback_currency(
    columns: dict[str, int], mapping: ColumnMapping | None, default_currency: str | None
) -> str:
    """The currency of rows without one; refuses a file whose rows could have none."""
    fallback = (mapping.default_currency if mapping else None) or default_currency
    fallback = (fallback or "").strip().upper()
    if "currency" not in columns and not fallback:
        raise ImportFileError(
            'the file has no currency column and no default currency is known: add "currency" '
            'to the mapping\'s columns, or "default_currency": "EUR" (your code) to it'
        )
    return fallback


def _file_formats(
    text: str,
    delimiter: str,
    header_at: int,
    width: int,
    columns: dict[str, int],
    mapping: ColumnMapping | None,
) -> tuple[str, DateReader]:
    """The decimal mark and date reader, settled once from the whole file, never per row."""
    date_format = mapping.date_format if mapping else None
    money = [columns[f] for f in _MONEY_FIELDS if f in columns]
    dates: dict[str, None] = {}
    guessed = "."
    if date_format is None or mapping is None:
        dates, guessed = _survey(
            (r for r in data_records(text, delimiter, header_at, width) if r.problem is None),
            columns["date"],
            money,
        )
    decimal = mapping.decimal if mapping else guessed
    try:
        order = numeric_date_order(dates) if date_format is None else "dmy"
    except AmbiguousDates as exc:
        raise ImportFileError(
            f'dates such as "{exc.example}" could be day/month or month/day, and no date in the '
            f'file settles it: add "date_format": "{exc.day_first}" (or "{exc.month_first}") to '
            "a mapping file (<file>.mapping.json next to the file, or mapping.json in the team "
            "folder)"
        ) from None
    return decimal, DateReader(date_format, order)


@dataclass
class _RowReader:
    """One file's settled layout and formats, applied to each data row in turn."""

    columns: dict[str, int]
    names: list[str]
    width: int
    delimiter: str
    decimal: str
    read_date: DateReader
    fallback: str
    sha256: str
    team_ref: str
    rejected: list[dict[str, Any]] = field(default_factory=list)
    occurrences: dict[str, int] = field(default_factory=dict)

    def read(self, text: str, header_at: int) -> tuple[list[RawTransaction], int]:
        """Every data row read or rejected, and how many non-blank rows there were."""
        rows: list[RawTransaction] = []
        seen = 0
        has_bad_bytes = BAD_BYTE.search(text) is not None
        records = data_records(text, self.delimiter, header_at, self.width)
        for row_no, record in enumerate(records, 1):
            if not any(c.strip() for c in record):
                continue
            seen += 1
            if self._screened_out(row_no, record, has_bad_bytes):
                continue
            problems, booking_date, amount, base_amount = self._values(record)
            if problems or booking_date is None or amount is None:
                self._reject(row_no, record, "; ".join(problems))
                continue
            rows.append(self._transaction(row_no, record, booking_date, amount, base_amount))
        return rows, seen

    def _reject(self, row_no: int, record: list[str], reason: str) -> None:
        """Keeps a row that cannot be read, with every cell named, so it can be fixed."""
        cell_names = self.names + [f"column {i}" for i in range(self.width + 1, len(record) + 1)]
        self.rejected.append(
            {
                "row_ref": str(row_no),
                "raw": dict(zip(cell_names, map(show_bad_bytes, record), strict=False)),
                "reason": reason,
            }
        )

    def _screened_out(self, row_no: int, record: Record, has_bad_bytes: bool) -> bool:
        """Rejects (or skips) a row whose shape or bytes rule out reading its values."""
        width = self.width
        if record.problem is not None:
            self.rejected.append(
                {
                    "row_ref": str(row_no),
                    "raw": {"line": record.line, "text": show_bad_bytes(record[0])},
                    "reason": record.problem,
                }
            )
            return True
        if len(record) != width:
            if not any(c.strip() for c in record):
                return True
            if len(record) < width:
                self._reject(
                    row_no, record, f"row has {len(record)} cells but the header has {width}"
                )
                return True
            if any(c.strip() for c in record[width:]):
                self._reject(
                    row_no,
                    record,
                    f"row has {len(record)} cells but the header has {width} (an unquoted "
                    f"{'tab' if self.delimiter == chr(9) else repr(self.delimiter)} inside a "
                    "value?)",
                )
                return True
        if has_bad_bytes and (reason := bad_bytes_reason(record)):
            self._reject(row_no, record, reason)
            return True
        money_cells = [self.columns[f] for f in ("amount", "debit", "credit") if f in self.columns]
        date_text = record[self.columns["date"]].strip()
        if not date_text and not any(record[i].strip() for i in money_cells):
            if any(c.strip() for c in record):
                self._reject(row_no, record, "no date and no amount in this row")
            return True
        return False

    def _values(self, record: list[str]) -> tuple[list[str], str | None, str | None, str | None]:
        """The row's date, amount and base amount, with every reason one cannot be read."""
        col = self.columns.get
        decimal = self.decimal
        date_text = record[self.columns["date"]].strip()
        problems: list[str] = []
        booking_date = self.read_date(date_text) if date_text else None
        if booking_date is None:
            problems.append(self.read_date.reason(date_text) if date_text else "missing date")
        i_amount = col("amount")
        if i_amount is not None:
            amount_text = record[i_amount].strip()
            amount = parse_amount_text(amount_text, decimal) if amount_text else None
            if amount is None:
                problems.append(
                    _amount_reason("amount", amount_text, decimal)
                    if amount_text
                    else "missing amount"
                )
        else:
            amount = _debit_credit(record, col("debit"), col("credit"), decimal, problems)
        base_amount = None
        i_base = col("base_amount")
        if i_base is not None and (base_text := record[i_base].strip()):
            base_amount = parse_amount_text(base_text, decimal)
            if base_amount is None:
                problems.append(_amount_reason("base amount", base_text, decimal))
        return problems, booking_date, amount, base_amount

    def _transaction(
        self,
        row_no: int,
        record: list[str],
        booking_date: str,
        amount: str,
        base_amount: str | None,
    ) -> RawTransaction:
        """The readable row as a transaction, with a derived id when the bank gave none."""
        col = self.columns.get
        i_desc, i_cur, i_id = col("description"), col("currency"), col("external_id")
        i_party, i_ref, i_cat = col("counterparty"), col("reference"), col("category")
        description = record[i_desc].strip() if i_desc is not None else ""
        counterparty = (record[i_party].strip() or None) if i_party is not None else None
        reference = (record[i_ref].strip() or None) if i_ref is not None else None
        external_id = record[i_id].strip() if i_id is not None else ""
        if not external_id:
            key = content_key(booking_date, amount, description, counterparty, reference)
            occurrence = self.occurrences[key] = self.occurrences.get(key, 0) + 1
            external_id = derived_external_id(key, occurrence)
        currency = (record[i_cur].strip().upper() if i_cur is not None else "") or self.fallback
        return RawTransaction(
            source="csv",
            batch_ref=self.sha256,
            row_ref=str(row_no),
            team_ref=self.team_ref,
            external_id=external_id,
            booking_date=booking_date,
            amount=amount,
            currency=currency,
            base_amount=base_amount,
            description=description,
            counterparty=counterparty,
            reference=reference,
            category=(record[i_cat].strip() or None) if i_cat is not None else None,
        )


def _debit_credit(
    record: list[str], i_debit: int | None, i_credit: int | None, decimal: str, problems: list[str]
) -> str | None:
    """One signed amount from debit (money out) and credit (money in) cells."""
    values: dict[str, str] = {}
    bad: list[str] = []
    for label, index in (("debit", i_debit), ("credit", i_credit)):
        text = record[index].strip() if index is not None else ""
        if not text:
            continue
        value = parse_amount_text(text, decimal)
        if value is None:
            bad.append(_amount_reason(label, text, decimal))
        else:
            values[label] = value
    if bad:
        problems.extend(bad)
        return None
    nonzero = {label: v for label, v in values.items() if not is_zero(v)}
    if len(nonzero) == 2:
        problems.append(
            f"both debit {record[i_debit]!r} and credit {record[i_credit]!r} are set"  # type: ignore[index]
        )
        return None
    if "debit" in nonzero:
        return "-" + nonzero["debit"].lstrip("-")
    if "credit" in nonzero:
        return nonzero["credit"].lstrip("-")
    if values:
        return next(iter(values.values())).lstrip("-")
    problems.append("missing amount (debit and credit are both empty)")
    return None
