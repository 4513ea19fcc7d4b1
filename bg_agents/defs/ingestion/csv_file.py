"""CSV bank exports: decode, sniff the delimiter, recognize the columns, read each row.

Bank CSVs differ in every detail (encoding, delimiter, decimal comma, date order, preamble lines,
sign conventions). A misread amount or date is worse than a rejected row, so anything that reads
two ways is settled from the export's known layout (``csv_profiles``) or the whole file's
evidence, or refused with the fix; nothing is guessed per row. Every non-blank line after the
header is a row, a rejected row with its reason, or (only when the export says so) a line that
states a balance or a summary and is listed in the file's layout.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from bg_agents.defs.ingestion.csv_profiles import Columns, aliases, resolve
from bg_agents.defs.ingestion.formats import MAPPING_HELP, ColumnMapping, ImportFileError
from bg_agents.defs.ingestion.raw import ParsedFile, RawTransaction
from bg_agents.defs.ingestion.statement import StatementBalance
from bg_agents.lib.tabular import text as text_rules
from bg_agents.lib.tabular.amounts import (
    AmbiguousDecimal,
    decimal_mark,
    is_zero,
    other_mark,
    parse_amount_and_currency,
)
from bg_agents.lib.tabular.balances import Entry, check_running_balance
from bg_agents.lib.tabular.columns import fold_header, norm_header
from bg_agents.lib.tabular.dates import (
    AmbiguousDates,
    DateReader,
    date_style,
    numeric_date_order,
    parse_date_auto,
)
from bg_agents.lib.tabular.text import (
    BAD_BYTE,
    HEADER_SCAN_ROWS,
    Record,
    bad_bytes_reason,
    data_records,
    decode_bank_text_as,
    line_endings,
    records_of,
    show_bad_bytes,
)

_MONEY_FIELDS = ("amount", "debit", "credit", "base_amount", "fee", "balance")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_TEXT_FIELDS = ("description", "counterparty", "reference", "external_id", "category")


def _explicit(mapping: ColumnMapping | None) -> dict[str, str]:
    return mapping.columns if mapping else {}


def _complete(columns: Columns, explicit: Mapping[str, str]) -> bool:
    return columns.complete and all(f in columns.index for f in explicit)


def sniff_delimiter(text: str, mapping: ColumnMapping | None = None) -> str:
    """The file's delimiter, a header being a line that names the date and amount columns."""
    explicit = _explicit(mapping)
    return text_rules.sniff_delimiter(
        text, lambda cells: _complete(resolve(cells, explicit), explicit)
    )


# --- header -----------------------------------------------------------------------------------


class NeedsOption(ImportFileError):
    """Nothing in the file settles how to read it (a decimal mark, a date order): ``option`` is
    the mapping entry that does, which ``bg-agents match`` takes as a column map instead."""

    def __init__(self, problem: str, option: str) -> None:
        self.problem, self.option = problem, option
        super().__init__(
            f"{problem}: add {option} to a mapping file (<file>.mapping.json next to the file, "
            "or mapping.json in the team folder)"
        )


class MissingHeader(ImportFileError):
    """No line near the top names the columns a bank row needs: not a bank export as far as
    this reader can tell (``bg-agents match`` then reports its own columns' problem)."""


def _find_header(
    text: str, delimiter: str, mapping: ColumnMapping | None
) -> tuple[int, list[str], Columns]:
    """The first row (within the first few) that names every needed column, with the number of
    physical lines up to and including it."""
    explicit = _explicit(mapping)
    best: list[str] | None = None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    for record in itertools.islice(records_of(reader), HEADER_SCAN_ROWS):
        cells = [c.strip() for c in record]
        if not any(cells):
            continue
        columns = resolve(cells, explicit)
        if _complete(columns, explicit):
            _check_unique(cells, columns)
            return reader.line_num, cells, columns
        if best is None or sum(map(bool, cells)) > sum(map(bool, best)):
            best = cells
    if best is None:
        raise ImportFileError("the file is empty (only blank lines)")
    raise MissingHeader(_missing_columns_message(best, mapping))


def _check_unique(cells: list[str], columns: Columns) -> None:
    """A field's header may appear once; an export's profile names its headers as written, the
    aliases only as compared ("Amount (EUR)" and "Amount (USD)" are then two amounts)."""
    fold = fold_header if columns.profile else norm_header
    normed = [fold(c) for c in cells]
    for field_name, index in columns.index.items():
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
    explicit = _explicit(mapping)
    columns = resolve(cells, explicit)
    unmatched = [f'"{h}" for {f}' for f, h in explicit.items() if f not in columns.index]
    if unmatched:
        return (
            f"the mapping names column(s) {', '.join(unmatched)}, but the file has no such "
            f"header. Headers found: {found}. Fix the mapping to use these header names"
        )
    missing = [] if "date" in columns.index else ["date"]
    if not any(f in columns.index for f in ("amount", "debit", "credit")):
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


# --- ids --------------------------------------------------------------------------------------


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


DERIVED_PREFIX = "derived-"


def derived_external_id(key: str, occurrence: int) -> str:
    """A stable id for the ``occurrence``-th row with ``key`` in a file (identical rows differ)."""
    return DERIVED_PREFIX + hashlib.sha256(f"{key}\x1f{occurrence}".encode()).hexdigest()[:32]


def is_derived_id(external_id: str) -> bool:
    """Whether an id was made from the row's content (the file gave none), perhaps after an
    account prefix (QIF) or hashed whole when too long (QIF's ``qif-``)."""
    return DERIVED_PREFIX in external_id or external_id.startswith("qif-")


# --- the file's formats -------------------------------------------------------------------------


@dataclass
class _Survey:
    """What the data rows show before any is read: their distinct dates (in file order), the
    money cells' decimal mark and whether every amount names its own currency."""

    dates: dict[str, None] = field(default_factory=dict)
    decimal: str = "."
    amounts: int = 0
    with_currency: int = 0


def _survey(
    records: Iterable[list[str]],
    date_cells: list[int],
    money: list[int],
    amount_cells: list[int],
    decimal: str | None,
    currency_cell: int | None = None,
    fallback: str = "",
    base_cell: int | None = None,
) -> _Survey:
    out = _Survey()
    cells: list[str] = []
    currencies: list[str | None] = []  # each money cell's row's, else the fallback
    for record in records:
        width = len(record)
        for i in date_cells:
            if i < width:
                out.dates[record[i].strip()] = None
        row_currency = record[currency_cell].strip().upper() if (
            currency_cell is not None and currency_cell < width
        ) else ""  # fmt: skip
        for i in money:
            if i < width and record[i].strip():
                cells.append(record[i])
                # A base amount is in the team's currency, which the file does not say.
                currencies.append(None if i == base_cell else row_currency or fallback or None)
        for i in amount_cells:
            cell = record[i].strip() if i < width else ""
            if cell:
                out.amounts += 1
                out.with_currency += parse_amount_and_currency(cell, decimal or ".")[1] is not None
    out.dates.pop("", None)
    if money:
        try:
            out.decimal = decimal_mark(cells, currencies)
        except AmbiguousDecimal as exc:
            raise NeedsOption(str(exc), '"decimal": "," (or ".")') from None
    return out


def _currency_fallback(
    columns: Columns, mapping: ColumnMapping | None, default_currency: str | None
) -> str:
    """The currency of rows that state none: the amount header's ("Betrag (EUR)"), the mapping's,
    the export's, then the team's."""
    profile = columns.profile
    for candidate in (
        columns.currency,
        mapping.default_currency if mapping else None,
        profile.default_currency if profile else None,
        default_currency,
    ):
        if candidate and candidate.strip():
            return candidate.strip().upper()
    return ""


_NO_CURRENCY = (
    'the file has no currency column and no default currency is known: add "currency" to the '
    'mapping\'s columns, or "default_currency": "EUR" (your code) to it'
)


def _file_formats(
    text: str,
    delimiter: str,
    header_at: int,
    width: int,
    columns: Columns,
    mapping: ColumnMapping | None,
    fallback: str,
) -> tuple[str, DateReader]:
    """The decimal mark and date reader, settled once from the export's profile or the whole
    file, never per row; refuses a file whose rows could have no currency."""
    profile = columns.profile
    date_format = mapping.date_format if mapping else None
    order = profile.date_order if profile and date_format is None else None
    decimal = (mapping.decimal if mapping else None) or (profile.decimal if profile else None)
    index = columns.index
    date_cells = [index[f] for f in ("date", "value_date") if f in index]
    currency_known = "currency" in index or bool(fallback)
    amount_cells = (
        [] if currency_known else [index[f] for f in ("amount", "debit", "credit") if f in index]
    )
    survey = _Survey()
    if (date_format is None and order is None) or decimal is None or amount_cells:
        survey = _survey(
            (r for r in data_records(text, delimiter, header_at, width) if r.problem is None),
            date_cells if date_format is None and order is None else [],
            [index[f] for f in _MONEY_FIELDS if f in index] if decimal is None else [],
            amount_cells,
            decimal,
            index.get("currency"),
            fallback,
            index.get("base_amount"),
        )
    if amount_cells and (survey.with_currency == 0 or survey.with_currency < survey.amounts):
        raise ImportFileError(_NO_CURRENCY)
    if date_format is None and order is None:
        try:
            order = numeric_date_order(survey.dates)
        except AmbiguousDates as exc:
            raise NeedsOption(
                f'dates such as "{exc.example}" could be day/month or month/day, and no date in '
                "the file settles it",
                f'"date_format": "{exc.day_first}" (or "{exc.month_first}")',
            ) from None
    return decimal or survey.decimal, DateReader(date_format, order or "dmy")


def parse_csv(
    data: bytes,
    *,
    sha256: str,
    team_ref: str,
    mapping: ColumnMapping | None,
    default_currency: str | None,
    text: str | None = None,
    file_format: str = "csv",
) -> ParsedFile:
    """Every non-blank data row as a row or a rejected row with its reason; ``rows_total`` counts
    them as the reader saw them. ``layout`` says what was recognized, ``balances`` holds the
    running balance's check when the export has one.

    ``text``: the file already as CSV text (a Parquet file's), instead of decoding ``data``.
    """
    layout: dict[str, Any] = {}
    if text is None:
        text, encoding = decode_bank_text_as(data)
        layout["encoding"] = encoding
        layout["line_endings"] = line_endings(text)
    if not text.strip():
        raise ImportFileError("the file is empty")
    delimiter = sniff_delimiter(text, mapping)
    header_at, header, columns = _find_header(text, delimiter, mapping)
    # A trailing delimiter on the header line only adds empty columns that rows may omit.
    while header and not header[-1]:
        header.pop()
    fallback = _currency_fallback(columns, mapping, default_currency)
    decimal, read_date = _file_formats(
        text,
        delimiter,
        header_at,
        len(header),
        columns,
        mapping,
        fallback,
    )
    reader = _RowReader(
        columns=columns,
        names=[show_bad_bytes(name) for name in _cell_names(header)],
        width=len(header),
        delimiter=delimiter,
        decimal=decimal,
        read_date=read_date,
        fallback=fallback,
        sha256=sha256,
        team_ref=team_ref,
    )
    rows, seen = reader.read(text, header_at)
    balances = reader.balances()
    profile = columns.profile
    layout = {
        "profile": profile.name if profile else None,
        "delimiter": delimiter,
        "header_line": header_at,
        "columns": {
            f: " | ".join(header[i] for i in (index, *columns.more.get(f, ())) if i < len(header))
            for f, index in sorted(columns.index.items(), key=lambda item: item[1])
        },
        "date_format": read_date.date_format or reader.date_style(),
        "decimal": decimal,
        **layout,
        **reader.notes(),
    }
    return ParsedFile(
        sha256=sha256,
        file_format=file_format,
        rows=rows,
        rejected=reader.rejected,
        rows_total=seen,
        balances=balances,
        layout=layout,
    )


# --- rows -------------------------------------------------------------------------------------

_NO_ROW_CURRENCY = "no currency: the row names none and the file has no default"


class _Values(NamedTuple):
    """A row's values besides its date and amount."""

    currency: str
    value_date: str | None
    base_amount: str | None


def _negate(plain: str) -> str:
    return plain[1:] if plain.startswith("-") else plain if is_zero(plain) else "-" + plain


def _cell(record: list[str], index: int | None) -> str:
    return record[index].strip() if index is not None and index < len(record) else ""


@dataclass
class _RowReader:
    """One file's settled layout and formats, applied to each data row in turn."""

    columns: Columns
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
    # Running balance, per (account, currency): the entries in file order.
    chains: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)
    balance_lines: list[str] = field(default_factory=list)
    summary_lines: list[str] = field(default_factory=list)
    not_booked: int = 0
    breaks: list[str] = field(default_factory=list)  # rows whose stated balance does not follow
    orders: set[str] = field(default_factory=set)
    first_date: str | None = None  # the first readable date cell, to show how dates are written

    def __post_init__(self) -> None:
        index, more = self.columns.index, self.columns.more
        profile = self.columns.profile
        self.i_date = index["date"]
        self.i_value_date = index.get("value_date")
        self.i_amount = index.get("amount")
        self.i_debit, self.i_credit = index.get("debit"), index.get("credit")
        self.i_direction = index.get("direction")
        self.i_fee = index.get("fee")
        self.i_balance = index.get("balance")
        self.i_currency = index.get("currency")
        self.i_base = index.get("base_amount")
        self.i_iban = index.get("counterparty_iban")
        self.i_status = index.get("status")
        self.i_account = index.get("account")
        self.money_cells = [index[f] for f in ("amount", "debit", "credit") if f in index]
        # Text fields: the column, then (rarely) where to look when a row leaves it empty.
        self.text_index = [index.get(f) for f in _TEXT_FIELDS]
        self.text_more = [(n, more[f]) for n, f in enumerate(_TEXT_FIELDS) if f in more]
        self.iban_cells = (
            (index["counterparty_iban"], *more.get("counterparty_iban", ()))
            if "counterparty_iban" in index
            else ()
        )
        self.sign = profile.sign if profile else 1
        words = aliases()
        self.money_out = (profile.money_out if profile else None) or words.money_out
        self.money_in = (profile.money_in if profile else None) or words.money_in
        self.booked = profile.booked if profile and self.i_status is not None else None
        self.summary_words = profile.summary_rows if profile else frozenset()

    def read(self, text: str, header_at: int) -> tuple[list[RawTransaction], int]:
        """Every data row read or rejected, and how many non-blank rows there were."""
        rows: list[RawTransaction] = []
        seen = 0
        has_bad_bytes = BAD_BYTE.search(text) is not None
        records = data_records(text, self.delimiter, header_at, self.width)
        for row_no, record in enumerate(records, 1):
            if not any(c.strip() for c in record):
                continue
            if (self.summary_words or self.i_balance is not None) and self._not_an_entry(
                row_no, record
            ):
                continue
            seen += 1
            if self._screened_out(row_no, record, has_bad_bytes):
                continue
            if self.booked is not None and self._not_booked(row_no, record):
                continue
            problems, booking_date, amount, values = self._values(record)
            if self.i_balance is not None:
                self._track(row_no, record, amount, values.currency, booking_date)
            if problems or booking_date is None or amount is None:
                self._reject(row_no, record, "; ".join(problems))
                continue
            rows.append(self._transaction(row_no, record, booking_date, amount, values))
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

    def _not_an_entry(self, row_no: int, record: Record) -> bool:
        """A line that records no entry, as the export writes them: a summary its profile names
        ("Kontostand ..."), or a line that only states a balance (Bank of America's "Beginning
        balance"), which the running balance check still uses."""
        if record.problem is not None:
            return False
        if record[0].strip().casefold() in self.summary_words:
            self.summary_lines.append(str(row_no))
            return True
        if self.i_balance is None or len(record) < self.width:
            return False
        if any(record[i].strip() for i in self.money_cells):
            return False
        balance = self._money(_cell(record, self.i_balance))
        if balance is None:
            return False
        self.balance_lines.append(str(row_no))
        key = (_cell(record, self.i_account), self._currency_of(record, None))
        self.chains.setdefault(key, []).append(
            Entry(str(row_no), Decimal(0), balance, None, counted=False)
        )
        return True

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
        date_text = record[self.i_date].strip()
        if not date_text and not any(record[i].strip() for i in self.money_cells):
            if any(c.strip() for c in record):
                self._reject(row_no, record, "no date and no amount in this row")
            return True
        return False

    def _not_booked(self, row_no: int, record: list[str]) -> bool:
        """Rejects a row the export marks pending, declined or reverted: it is not in the
        balance, and a later export lists it again once booked."""
        status = record[self.i_status].strip()  # type: ignore[index]
        if status.casefold() in self.booked:  # type: ignore[operator]
            return False
        self.not_booked += 1
        self._reject(
            row_no,
            record,
            f"not booked: {self.names[self.i_status]} is {status!r} "  # type: ignore[index]
            "(a pending, declined or reverted entry is not imported; once booked it comes in "
            "with a later export)",
        )
        return True

    def date_style(self) -> str | None:
        """How the file writes its dates ("DD.MM.YY"), from its first readable one."""
        return date_style(self.first_date, self.read_date.order) if self.first_date else None

    def _money(self, text: str) -> Decimal | None:
        plain = parse_amount_and_currency(text, self.decimal)[0] if text else None
        return None if plain is None else Decimal(plain)

    def _values(self, record: list[str]) -> tuple[list[str], str | None, str | None, _Values]:
        """The row's booking date, signed amount and the rest of its values, with every reason
        one of them cannot be read."""
        decimal = self.decimal
        problems: list[str] = []
        date_text = record[self.i_date].strip()
        booking_date = self.read_date(date_text) if date_text else None
        if booking_date is None:
            problems.append(self.read_date.reason(date_text) if date_text else "missing date")
        elif self.first_date is None:
            self.first_date = date_text
        value_date = None
        if self.i_value_date is not None and (value_text := record[self.i_value_date].strip()):
            value_date = self.read_date(value_text)
            if value_date is None:
                problems.append("value " + self.read_date.reason(value_text))
        cell_currency: str | None = None
        if self.i_amount is not None:
            amount_text = record[self.i_amount].strip()
            amount, cell_currency = (
                parse_amount_and_currency(amount_text, decimal) if amount_text else (None, None)
            )
            if amount is None:
                problems.append(
                    _amount_reason("amount", amount_text, decimal)
                    if amount_text
                    else "missing amount"
                )
            elif self.i_direction is not None:
                amount = self._directed(record, amount, problems)
        else:
            amount, cell_currency = _debit_credit(
                record, self.i_debit, self.i_credit, decimal, problems
            )
        if amount is not None:
            if self.sign < 0:
                amount = _negate(amount)
            if self.i_fee is not None and (fee_text := _cell(record, self.i_fee)):
                fee = parse_amount_and_currency(fee_text, decimal)[0]
                if fee is None:
                    problems.append(_amount_reason("fee", fee_text, decimal))
                elif not is_zero(fee):
                    amount = format(Decimal(amount) - abs(Decimal(fee)), "f")
        base_amount = None
        if self.i_base is not None and (base_text := record[self.i_base].strip()):
            base_amount = parse_amount_and_currency(base_text, decimal)[0]
            if base_amount is None:
                problems.append(_amount_reason("base amount", base_text, decimal))
        if cell_currency is None:  # the common case, inline: the column's, else the fallback
            i_cur = self.i_currency
            currency = (record[i_cur].strip().upper() if i_cur is not None else "") or self.fallback
            if not currency:
                problems.append(_NO_ROW_CURRENCY)
        else:
            currency = self._currency_of(record, cell_currency, problems)
        return problems, booking_date, amount, _Values(currency, value_date, base_amount)

    def _currency_of(
        self, record: list[str], in_cell: str | None, problems: list[str] | None = None
    ) -> str:
        """The currency column's, else the one the amount names, else the file's fallback; an
        amount naming another currency than its column is a problem."""
        column = _cell(record, self.i_currency).upper()
        stated = column or self.columns.currency
        if in_cell and stated and in_cell != stated and problems is not None:
            where = "the currency column" if column else "its header"
            problems.append(f"the amount is in {in_cell} but {where} says {stated}")
        currency = column or in_cell or self.fallback
        if not currency and problems is not None:
            problems.append(_NO_ROW_CURRENCY)
        return currency

    def _directed(self, record: list[str], amount: str, problems: list[str]) -> str | None:
        """An amount signed by the direction column ("Af"/"Bij", "D"/"C", "S"/"H")."""
        word = _cell(record, self.i_direction)
        folded = word.casefold()
        if folded in self.money_out:
            return amount if amount.startswith("-") else _negate(amount)
        if folded in self.money_in:
            if amount.startswith("-"):
                problems.append(
                    f"the amount {amount} is negative but {self.names[self.i_direction]} "  # type: ignore[index]
                    f"says {word!r} (money in)"
                )
                return None
            return amount
        problems.append(
            f"{self.names[self.i_direction]} is {word!r}, neither money out "  # type: ignore[index]
            f"({', '.join(sorted(self.money_out))}) nor money in "
            f"({', '.join(sorted(self.money_in))})"
        )
        return None

    def _track(
        self,
        row_no: int,
        record: list[str],
        amount: str | None,
        currency: str,
        booking_date: str | None,
    ) -> None:
        """The entry's place in its account's running balance (rejected entries too: an amount
        that could not be read is a gap the check shows)."""
        balance = self._money(_cell(record, self.i_balance))
        key = (_cell(record, self.i_account), currency)
        self.chains.setdefault(key, []).append(
            Entry(
                str(row_no),
                None if amount is None else Decimal(amount),
                balance,
                booking_date,
            )
        )

    def _transaction(
        self, row_no: int, record: list[str], booking_date: str, amount: str, values: _Values
    ) -> RawTransaction:
        """The readable row as a transaction, with a derived id when the bank gave none."""
        texts = [record[i].strip() if i is not None else "" for i in self.text_index]
        for n, cells in self.text_more:
            if not texts[n]:
                texts[n] = next((v for i in cells if (v := record[i].strip())), "")
        description, counterparty, reference, external_id, category = texts
        if not external_id:
            key = content_key(booking_date, amount, description, counterparty, reference)
            occurrence = self.occurrences[key] = self.occurrences.get(key, 0) + 1
            external_id = derived_external_id(key, occurrence)
        iban = None
        for index in self.iban_cells:
            candidate = "".join(record[index].split()).upper()
            if _IBAN.fullmatch(candidate):
                iban = candidate
                break
        return RawTransaction(
            source="csv",
            batch_ref=self.sha256,
            row_ref=str(row_no),
            team_ref=self.team_ref,
            external_id=external_id,
            booking_date=booking_date,
            amount=amount,
            currency=values.currency,
            base_amount=values.base_amount,
            description=description,
            counterparty=counterparty or None,
            reference=reference or None,
            category=category or None,
            value_date=values.value_date,
            counterparty_iban=iban,
        )

    def balances(self) -> list[StatementBalance]:
        """One check per account and currency of the running balance column."""
        out = []
        for (account, currency), entries in self.chains.items():
            chain = check_running_balance(entries)
            if chain.opening is None:
                continue
            refs = [e.ref for e in entries]
            out.append(
                StatementBalance(
                    account=account,
                    statement=f"rows {refs[0]}-{refs[-1]}" if len(refs) > 1 else f"row {refs[0]}",
                    currency=currency,
                    opening=chain.opening,
                    closing=chain.closing,
                    entries=chain.entries,
                    entry_count=chain.entry_count,
                    first_date=chain.first_date,
                    last_date=chain.last_date,
                )
            )
            self.breaks.extend(chain.breaks)
            self.orders.add("newest first" if chain.newest_first else "oldest first")
        return out

    def notes(self) -> dict[str, Any]:
        """What the layout adds about lines that are not entries and the balance column."""
        out: dict[str, Any] = {}
        if self.balance_lines:
            out["balance_lines"] = self.balance_lines
        if self.summary_lines:
            out["summary_lines"] = self.summary_lines
        if self.not_booked:
            out["not_booked"] = self.not_booked
        if self.orders:
            out["row_order"] = " and ".join(sorted(self.orders))
        if self.breaks:
            out["balance_breaks"] = self.breaks
        return out


def _debit_credit(
    record: list[str], i_debit: int | None, i_credit: int | None, decimal: str, problems: list[str]
) -> tuple[str | None, str | None]:
    """One signed amount from debit (money out) and credit (money in) cells, and the currency
    they name."""
    values: dict[str, str] = {}
    currencies: set[str] = set()
    bad: list[str] = []
    for label, index in (("debit", i_debit), ("credit", i_credit)):
        text = _cell(record, index)
        if not text:
            continue
        value, currency = parse_amount_and_currency(text, decimal)
        if value is None:
            bad.append(_amount_reason(label, text, decimal))
        else:
            values[label] = value
            if currency:
                currencies.add(currency)
    cell_currency = currencies.pop() if len(currencies) == 1 else None
    if bad:
        problems.extend(bad)
        return None, cell_currency
    nonzero = {label: v for label, v in values.items() if not is_zero(v)}
    if len(nonzero) == 2:
        problems.append(
            f"both debit {record[i_debit]!r} and credit {record[i_credit]!r} are set"  # type: ignore[index]
        )
        return None, cell_currency
    if "debit" in nonzero:
        return "-" + nonzero["debit"].lstrip("-"), cell_currency
    if "credit" in nonzero:
        return nonzero["credit"].lstrip("-"), cell_currency
    if values:
        return next(iter(values.values())).lstrip("-"), cell_currency
    problems.append("missing amount (debit and credit are both empty)")
    return None, cell_currency
