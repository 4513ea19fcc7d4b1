"""Quicken Interchange Format (QIF) exports: one row per ``^``-ended entry of a bank, cash, credit
card or other asset/liability register.

Hand-written: the format is a list of one-letter lines, and the ``quiffen`` package reads dates
with dateutil per entry (``13/01/2024`` and ``01/02/2024`` in one file read in opposite orders),
drops every character but digits, ``.`` and ``-`` from amounts (``1.234,56`` became 1.23456) and
fails the whole file on one bad date. Here the day/month order and the decimal mark are settled
by the whole file, and a bad entry is rejected with its reason while the others are read.

QIF states no currency (the team's base currency applies), no balances and no ids: each row's id
is derived from its content, numbered per occurrence, and prefixed with the ``!Account`` name. An
``Opening Balance`` entry is a normal row (Quicken writes the account's starting balance as an
entry whose category is the account itself, ``[Checking]``); the layout counts them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bg_agents.defs.ingestion.csv_file import content_key, derived_external_id
from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.raw import ParsedFile, RawTransaction
from bg_agents.lib.tabular.amounts import AmbiguousDecimal, decimal_mark, parse_amount_text
from bg_agents.lib.tabular.dates import AmbiguousDates, numeric_date_order, parse_date_auto
from bg_agents.lib.tabular.text import (
    BAD_BYTE,
    bad_bytes_reason,
    decode_bank_text,
    show_bad_bytes,
)

# Registers whose entries are money in and out of one account ("!Type:Oth A"/"Oth L" are other
# asset and liability accounts, with the same entry lines as a bank register).
_REGISTERS = {"bank": "Bank", "ccard": "CCard", "cash": "Cash", "otha": "Oth A", "othl": "Oth L"}
_LINES = re.compile(r"\r\n|\r|\n")
# Quicken writes M/D'YY (apostrophe for years 2000 on, spaces for leading zeros: " 1/ 5' 4"),
# M/D/YYYY, D/M/YYYY outside the US, and MM-DD-YYYY.
_QIF_DATE = re.compile(
    r"(\d{1,2}) *([/-]) *(\d{1,2}) *(?:(')\s*(\d{1,2}|\d{4})|[/-] *(\d{2}|\d{4}))"
)
_FIELD_NAMES = {
    "D": "date",
    "T": "amount",
    "U": "amount (U)",
    "P": "payee",
    "M": "memo",
    "N": "number",
    "L": "category",
    "C": "cleared",
    "A": "address",
    "S": "split category",
    "E": "split memo",
    "$": "split amount",
    "%": "split percent",
}
_MAX_ID = 128


def looks_like_qif(data: bytes) -> bool:
    """A QIF export under another extension: its first line is a ``!Type:`` or ``!Account``
    header (or an ``!Option:`` line before one)."""
    head = data[:256].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith((b"!type:", b"!account", b"!option:", b"!clear:"))


def _header(line: str) -> tuple[str, str]:
    """``("type", "bank")``, ``("account", "")``, ``("option", "autoswitch")``..."""
    kind, _, name = line[1:].partition(":")
    return kind.strip().lower(), name.replace(" ", "").lower()


def count_entries(lines: list[str]) -> int:
    """The ``^``-ended entries of the file's registers, counted apart from the parser (an entry
    cut off by the next header or the end of the file counts too), so a lost entry shows."""
    count = 0
    in_register = pending = False
    for line in lines:
        text = line.strip()
        if text.startswith("!"):
            kind, name = _header(text)
            if kind in ("type", "account"):
                count += in_register and pending
                in_register, pending = kind == "type" and name in _REGISTERS, False
        elif text == "^":
            count += in_register
            pending = False
        elif text:
            pending = True
    return count + (in_register and pending)


class _Entry(NamedTuple):
    """One entry's lines by code, in file order, and where it starts.

    Tuples all the way down, which the garbage collector stops tracking: a file's entries are
    all held until it is read, and 50,000 entries as objects holding lists made each collection
    walk half a million objects (a third of the read time).
    """

    line: int
    fields: dict[str, tuple[str, ...]]

    def first(self, code: str) -> str:
        values = self.fields.get(code)
        return values[0] if values else ""

    def raw(self) -> dict[str, str]:
        raw = {"line": str(self.line)}
        for code, values in self.fields.items():
            raw[_FIELD_NAMES.get(code, code)] = show_bad_bytes("; ".join(values))
        return raw


@dataclass
class _Register:
    """The entries of one account's register sections, and the entries that ended badly."""

    account: str | None
    kind: str
    entries: list[tuple[_Entry, str | None]] = field(default_factory=list)  # (entry, problem)


@dataclass
class _Structure:
    registers: list[_Register] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # "!Type:Invst" -> entries
    directives: list[str] = field(default_factory=list)


def _structure(lines: list[str]) -> _Structure:
    """The file cut into registers and their entries; other sections are counted and skipped."""
    out = _Structure()
    section: str | None = None  # "register" | "account" | "skip" | None (before any header)
    skip_name = ""
    account: str | None = None
    entry: _Entry | None = None
    register: _Register | None = None

    def close(problem: str | None) -> None:
        nonlocal entry
        if entry is not None and register is not None:
            register.entries.append((entry, problem))
        entry = None

    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("!"):
            kind, name = _header(text)
            if kind not in ("type", "account"):
                out.directives.append(text)
                continue
            if entry is not None and entry.fields and section == "account":
                account = entry.first("N") or account  # an account block without its ^
            elif entry is not None and entry.fields:
                close(f"entry not ended by a ^ line before {text!r} on line {number}")
            entry = None
            if kind == "account":
                section = "account"
            elif name in _REGISTERS:
                section = "register"
                register = _Register(account, _REGISTERS[name])
                out.registers.append(register)
            else:
                section, skip_name = "skip", text
                out.skipped.setdefault(skip_name, 0)
            continue
        if section is None:
            raise ImportFileError(
                f"not a QIF file: line {number} comes before any header (a QIF export starts "
                "with a line such as !Type:Bank)"
            )
        if section == "skip":
            out.skipped[skip_name] += text == "^"
            continue
        if entry is None:
            entry = _Entry(number, {})
        if text == "^":
            if section == "account":
                account = entry.first("N") or account
                entry = None
            else:
                close(None if entry.fields else "empty entry (a ^ line with nothing before it)")
            continue
        fields = entry.fields
        fields[text[0]] = fields.get(text[0], ()) + (text[1:].strip(),)
    if section == "register" and entry is not None and entry.fields:
        close("entry not ended by a ^ line at the end of the file: the export may be cut off")
    return out


def _canonical_date(text: str) -> str:
    """QIF's date spellings as ``M/D/YYYY`` (then read like any export's dates); others as is."""
    m = _QIF_DATE.fullmatch(text)
    if m is None:
        return text
    if m[4]:  # the apostrophe marks a year from 2000 on
        year = int(m[5]) if len(m[5]) == 4 else 2000 + int(m[5])
    else:  # two digits without it: 1970-2069, as strptime's %y reads them
        year = int(m[6]) if len(m[6]) == 4 else int(m[6]) + (1900 if int(m[6]) >= 70 else 2000)
    return f"{int(m[1])}/{int(m[3])}/{year}"


def _date_order(registers: list[_Register]) -> str | None:
    """ "mdy" or "dmy" for the file's numeric dates, settled by all of them; None if none is."""
    dates = {
        _canonical_date(entry.first("D"))
        for register in registers
        for entry, problem in register.entries
        if problem is None
    }
    dates = {d for d in dates if d.count("/") == 2}
    if not dates:
        return None
    try:
        return numeric_date_order(sorted(dates))
    except AmbiguousDates as exc:
        raise ImportFileError(
            f'dates such as "{exc.example}" could be day/month or month/day, and no date in the '
            "file settles it: export again from Quicken with a date range that includes a day "
            "after the 12th of a month (that settles the order for the whole file), or export "
            "the account as OFX, whose dates read one way only"
        ) from None


def _describe(payee: str, memo: str) -> str:
    if not payee or not memo or memo in payee:
        return payee or memo
    return memo if payee in memo else f"{payee} - {memo}"


def _category(entry: _Entry) -> str | None:
    """The entry's category; for a split entry, its first split's (one row per entry, never
    one per split, which would count the money twice)."""
    category = entry.first("L")
    if not category or category == "--Splits--":
        category = entry.first("S")
    return category or None


def _reference(number: str) -> str | None:
    """The check or reference number; Quicken's type codes (ATM, DEP, EFT, Print) are not
    references, and would mislead matching by quoted reference."""
    return number if any(c.isdigit() for c in number) else None


@dataclass
class _Reader:
    sha256: str
    team_ref: str
    currency: str
    decimal: str
    order: str
    has_bad_bytes: bool  # invalid UTF-8 bytes somewhere in the file (see decode_bank_text)
    occurrences: dict[tuple[str | None, str], int] = field(default_factory=dict)
    dates: dict[str, str | None] = field(default_factory=dict)

    def date(self, text: str) -> str | None:
        if text not in self.dates:
            self.dates[text] = parse_date_auto(_canonical_date(text), self.order)
        return self.dates[text]

    def read(
        self, row_ref: str, account: str | None, entry: _Entry
    ) -> RawTransaction | dict[str, Any]:
        """One entry as a row, or rejected with every reason it cannot be read."""
        if self.has_bad_bytes and (
            reason := bad_bytes_reason([v for vs in entry.fields.values() for v in vs])
        ):
            return {"row_ref": row_ref, "raw": entry.raw(), "reason": reason}
        problems = [
            f"two {_FIELD_NAMES[code]}s in one entry ({' and '.join(map(repr, entry.fields[code]))}"
            "): a ^ line between two entries is missing"
            for code in ("D", "T")
            if len(entry.fields.get(code, ())) > 1
        ]
        date_text, amount_text = entry.first("D"), entry.first("T") or entry.first("U")
        booking_date = self.date(date_text) if date_text else None
        if booking_date is None:
            problems.append(f"bad date {date_text!r}" if date_text else "missing date (D line)")
        amount = parse_amount_text(amount_text, self.decimal) if amount_text else None
        if amount is None:
            problems.append(
                f"bad amount {amount_text!r}" if amount_text else "missing amount (T line)"
            )
        if problems or booking_date is None or amount is None:
            return {"row_ref": row_ref, "raw": entry.raw(), "reason": "; ".join(problems)}
        payee, memo, number = entry.first("P"), entry.first("M"), entry.first("N")
        description = _describe(payee, memo)
        key = content_key(booking_date, amount, description, payee or None, number or None)
        occurrence = self.occurrences[account, key] = self.occurrences.get((account, key), 0) + 1
        return RawTransaction(
            source="qif",
            batch_ref=self.sha256,
            row_ref=row_ref,
            team_ref=self.team_ref,
            external_id=_external_id(account, derived_external_id(key, occurrence)),
            booking_date=booking_date,
            amount=amount,
            currency=self.currency,
            description=description,
            counterparty=payee or None,
            reference=_reference(number),
            category=_category(entry),
        )


def _external_id(account: str | None, derived: str) -> str:
    if not account:
        return derived
    external_id = f"{account}:{derived}"
    if len(external_id) <= _MAX_ID:
        return external_id
    return "qif-" + hashlib.sha256(external_id.encode()).hexdigest()


def _amount_texts(registers: list[_Register]) -> Iterator[str]:
    for register in registers:
        for entry, _ in register.entries:
            for code in ("T", "U", "$"):
                yield from entry.fields.get(code, ())


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


def parse_qif(
    data: bytes, *, sha256: str, team_ref: str, default_currency: str | None
) -> ParsedFile:
    """Every register entry as a row or a rejected row with its reason (QIF has no balances).

    Investment registers, category, class and memorized lists are skipped and named in
    ``layout["skipped"]`` with their entry counts; they are not rows.
    """
    text = decode_bank_text(data)
    lines = _LINES.split(text)
    counted = count_entries(lines)
    structure = _structure(lines)
    del lines  # half a million strings the garbage collector would walk while rows are made
    registers = structure.registers
    if not registers:
        found = ", ".join(structure.skipped) or "no !Type: section"
        raise ImportFileError(
            f"the QIF file holds no bank, cash or credit card register (it holds {found}): "
            "export the account's transactions from Quicken"
        )
    currency = (default_currency or "").strip().upper()
    if not currency:
        raise ImportFileError(
            "a QIF file states no currency and no default currency is known: QIF rows are "
            "imported in the team's base currency"
        )
    order = _date_order(registers)
    amounts = list(_amount_texts(registers))
    try:
        decimal = decimal_mark(amounts, [currency] * len(amounts))
    except AmbiguousDecimal as exc:
        raise ImportFileError(
            f"{exc}: export the account as OFX, whose amounts read one way only"
        ) from None
    reader = _Reader(
        sha256,
        team_ref,
        currency,
        decimal,
        order or "",
        has_bad_bytes=BAD_BYTE.search(text) is not None,
    )
    parsed = ParsedFile(sha256, "qif")
    accounts: dict[tuple[str | None, str], int] = {}
    ordinal = 0
    for register in registers:
        key = (register.account, register.kind)
        accounts[key] = accounts.get(key, 0) + len(register.entries)
        for entry, problem in register.entries:
            ordinal += 1
            if problem is not None:
                parsed.rejected.append(
                    {"row_ref": str(ordinal), "raw": entry.raw(), "reason": problem}
                )
                continue
            read = reader.read(str(ordinal), register.account, entry)
            if isinstance(read, RawTransaction):
                parsed.rows.append(read)
            else:
                parsed.rejected.append(read)
    parsed.rejected.extend(
        {
            "row_ref": f"#{missing}",
            "raw": {},
            "reason": f"the file has {counted} entries but only {ordinal} could be read: the "
            "lines around them are broken",
        }
        for missing in range(ordinal + 1, counted + 1)
    )
    parsed.rows_total = max(counted, ordinal)
    layout: dict[str, Any] = {
        "format": "QIF",
        "accounts": [
            f"{name or 'unnamed'} ({kind}, {_entries(n)})" for (name, kind), n in accounts.items()
        ],
        "date_order": order,
        "decimal": reader.decimal,
        "skipped": [f"{s} ({_entries(n)})" for s, n in structure.skipped.items()],
        "directives": structure.directives,
        "opening_balance_entries": sum(
            r.description.lower().startswith("opening balance") for r in parsed.rows
        ),
    }
    parsed.layout = {k: v for k, v in layout.items() if v or k == "date_order"}
    return parsed
