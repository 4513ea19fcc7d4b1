"""SWIFT MT940 statements: one row per ``:61:`` entry, one balance check per ``:20:`` statement.

The ``mt-940`` library knows the ``:61:`` grammar and the German ``:86:`` sub-fields (``?20``-
``?33``, ``SVWZ+``/``EREF+``/``IBAN+``), but its whole-file parse stops at the first bad entry and
merges ``:61:`` lines that carry no transaction type into one. So this reader splits the file
into statements and tags itself, hands each entry's tags to the library's tag parsers one at a
time, and checks dates and amounts itself: a bad entry is rejected with its reason, the others
are kept, and the ``:61:`` tags counted in the text show any entry lost on the way.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import mt940
from mt940 import processors
from mt940.tags import StatementGLS, Tags

from bg_agents.defs.ingestion.csv_file import content_key, derived_external_id
from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.raw import ParsedFile, RawTransaction
from bg_agents.defs.ingestion.statement import StatementBalance
from bg_agents.lib.tabular.amounts import plain_decimal
from bg_agents.lib.tabular.text import BAD_BYTE, bad_bytes_reason, decode_bank_text, show_bad_bytes

_MAX_ID = 128
# A tag opens a line: ``:61:``, ``:60F:``, ``:NS:``. Other ``:xx:`` lines continue the last tag.
_TAG = re.compile(r":(\d\d[A-Z]?|NS):")
_KNOWN_TAGS = frozenset(
    {"13", "13D", "20", "21", "25", "25P", "28", "28C", "34F", "60F", "60M", "61"}
    | {"62F", "62M", "64", "65", "86", "90C", "90D", "NS"}
)
_ENTRY_TAGS = frozenset({"86", "NS"})  # what follows a :61: and belongs to it
_COUNT_61 = re.compile(r"(?:^|\{4:):61:", re.MULTILINE)
_HEAD_20 = re.compile(r"^:20:", re.MULTILINE)
_HEAD_ACCOUNT = re.compile(r"^:(?:25P?|28C?|60[FM]):", re.MULTILINE)
_BALANCE = re.compile(
    r"(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d+(?:,\d*)?)", re.I
)
_AMOUNT = re.compile(r"\d+(?:,\d*)?")
_SUBFIELD = re.compile(r"\?(\d\d)")
# German sub-fields are cut at 27 characters: a full one continues mid-word, a shorter one ended
# where the bank meant it to, so it is joined to the next with a space.
_SUBFIELD_WIDTH = 27
_JOINED_SUBFIELDS = frozenset({*(f"2{i}" for i in range(10)), "32", "33", "60", "61", "62", "63"})
_GVC_KEYWORD = re.compile("|".join(re.escape(k) + r"\+" for k in processors.GVC_KEYS if k))
_SWIFT_LINE = 65  # an unstructured :86: line of full width was wrapped mid-text
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}")
_RF = re.compile(r"\bRF\d\d(?: ?[A-Za-z0-9]){1,21}\b")
# An IBAN written into text ("IBAN+DE89...", "IBAN: DE89 3704 ..."), possibly followed by more.
_IBAN_IN_TEXT = re.compile(r"(?:\bIBAN[+:/ ]\s*|^)([A-Z]{2}\d\d(?: ?[A-Z0-9]){11,30})")
# Dutch and other banks write :86: as /CODE/value/ pairs (the SWIFT structured form).
_CODED = re.compile(
    r"/(TRTP|IBAN|BIC|NAME|REMI|EREF|MARF|CSID|CNTP|ORDP|BENM|PURP|RTRN|ULTC|ULTD)/"
)
# The library's tag parsers read only the options from their collection; one serves every entry.
_CONTEXT = mt940.models.Transactions(
    options=mt940.Options(applicant_iban=True, gvc_leading_text=True, unbounded_details=True)
)
_GLS = StatementGLS()
# The library logs every line its grammar refuses at ERROR level, with its whole pattern; here
# such a line is a rejected row with a one-line reason, so the log would only be noise.
logging.getLogger("mt940").setLevel(logging.CRITICAL)


def looks_like_mt940(data: bytes) -> bool:
    """MT940 saved as .txt (banks do): a ``:20:`` line near the start, then ``:25:``/``:60F:``,
    optionally inside a SWIFT ``{1:...}{4:`` envelope or after a bank's own header lines."""
    head = data[:4096].removeprefix(codecs.BOM_UTF8).decode("latin-1")
    head = "\n".join(_unwrapped(head.replace("\r\n", "\n").replace("\r", "\n").split("\n")))
    first = _HEAD_20.search(head)
    return first is not None and _HEAD_ACCOUNT.search(head, first.end()) is not None


def _unwrapped(lines: list[str]) -> list[str]:
    """The message text without SWIFT envelope blocks (``{1:...}{2:...}{4:``, ``-}``, ``{5:``)
    and statement separator lines (``-``), so tags start their lines again."""
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("{1:", "{2:", "{3:", "{4:")):
            at = line.find("{4:")
            line = line[at + 3 :] if at >= 0 else ""
        elif stripped.startswith(("-}", "{5:")) or stripped == "-":
            line = ""
        out.append(line)
    return out


@dataclass
class _Tag:
    name: str
    text: str
    line: int  # 1-based line of the file where the tag starts


@dataclass
class _Entry:
    statement_line: _Tag
    details: list[_Tag] = field(default_factory=list)


@dataclass
class _Statement:
    reference: str
    line: int
    number: str = ""
    account: str = ""
    opening: tuple[Decimal, str] | None = None
    closing: tuple[Decimal, str] | None = None
    closed: bool = False  # a closing balance tag was seen (readable or not)
    entries: list[_Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.number or self.reference or f"at line {self.line}"


def _decode(data: bytes) -> str:
    """Text with LF line ends: UTF-8 or the Windows code page banks use, bad bytes marked."""
    if b"\x00" in data or data.startswith(b"PK\x03\x04"):
        raise ImportFileError("not an MT940 statement: the file holds binary data")
    text = decode_bank_text(data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _tags(text: str) -> list[_Tag]:
    """Every known tag with its (multi-line) value; lines before the first are headers."""
    tags: list[_Tag] = []
    for number, line in enumerate(_unwrapped(text.split("\n")), 1):
        m = _TAG.match(line)
        if m and m[1] in _KNOWN_TAGS:
            tags.append(_Tag(m[1], line[m.end() :], number))
        elif tags and line:
            tags[-1].text += "\n" + line
    for tag in tags:
        tag.text = tag.text.strip()
    return tags


def _balance(tag: _Tag, statement: _Statement) -> tuple[Decimal, str] | None:
    m = _BALANCE.fullmatch("".join(tag.text.split()))
    if m is None:
        statement.problems.append(
            f"balance :{tag.name}:{show_bad_bytes(tag.text)!r} cannot be read"
        )
        return None
    amount = Decimal(m["amount"].replace(",", "."))
    return (-amount if m["mark"].upper() == "D" else amount), m["currency"].upper()


def _statements(tags: list[_Tag]) -> list[_Statement]:
    """Tags grouped into statements (one per ``:20:``) and entries (``:61:`` and its details)."""
    statements: list[_Statement] = []
    entry: _Entry | None = None
    for tag in tags:
        if tag.name == "20" or not statements:
            reference = show_bad_bytes(tag.text) if tag.name == "20" else ""
            statements.append(_Statement(reference, tag.line))
            entry = None
            if tag.name == "20":
                continue
        statement = statements[-1]
        if tag.name == "61":
            entry = _Entry(tag)
            statement.entries.append(entry)
        elif tag.name in _ENTRY_TAGS and entry is not None:
            entry.details.append(tag)
        else:
            entry = None
            # Statement-level text goes into the file's stored details, which cannot hold
            # undecodable bytes: they are spelled \xNN there.
            text = show_bad_bytes(tag.text)
            if tag.name in ("25", "25P"):  # 25P: the account, then the bank's BIC on a line
                statement.account = " ".join(text.split("\n")[0].split())
            elif tag.name in ("28", "28C"):
                statement.number = text
            elif tag.name in ("60F", "60M") and statement.opening is None:
                statement.opening = _balance(tag, statement)
            elif tag.name in ("62F", "62M"):
                statement.closing, statement.closed = _balance(tag, statement), True
    return statements


# --- one entry ----------------------------------------------------------------------------------


class _Unreadable(Exception):
    """An entry that cannot be read; ``str(exc)`` is the reason."""


def _statement_line(text: str) -> dict[str, Any]:
    """The ``:61:`` fields through the library's grammar (GLS/Atruvia long references too)."""
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    one_line = text.split("\n", 1)[0]
    try:
        fields = Tags.STATEMENT.value.parse(_CONTEXT, text)
    except RuntimeError:
        raise _Unreadable(f"not a valid :61: statement line {one_line!r}") from None
    if fields["bank_reference"] is None and "//" in (fields["extra_details"] or "").split("\n")[0]:
        fields = _GLS.parse(_CONTEXT, text)
    return fields


def _signed_amount(fields: dict[str, Any]) -> Decimal:
    text = fields["amount"]
    if not _AMOUNT.fullmatch(text):
        raise _Unreadable(f"bad amount {text!r}")
    amount = Decimal(text.replace(",", "."))
    # D = money out, C = in; RD reverses a debit (money back in), RC reverses a credit (out).
    return -amount if fields["status"].upper() in ("D", "RC") else amount


def _dates(fields: dict[str, Any]) -> tuple[str, str]:
    """(booking date, value date) as ISO text. The entry date (MMDD) takes the year, among the
    value date's and its neighbours, that puts it nearest the value date: a December value date
    with a January entry date is booked in the next year."""
    raw_value = f"{fields['year']}{fields['month']}{fields['day']}"
    try:
        value = date(2000 + int(fields["year"]), int(fields["month"]), int(fields["day"]))
    except ValueError:
        raise _Unreadable(f"bad value date {raw_value!r} (YYMMDD)") from None
    month, day = (fields["entry_month"] or "").strip(), (fields["entry_day"] or "").strip()
    if not (month and day):
        return value.isoformat(), value.isoformat()
    candidates = []
    for year in (value.year - 1, value.year, value.year + 1):
        try:
            candidates.append(date(year, int(month), int(day)))
        except ValueError:
            continue
    if not candidates:
        raise _Unreadable(f"bad entry date {month + day!r} (MMDD)")
    booked = min(candidates, key=lambda d: abs((d - value).days))
    return booked.isoformat(), value.isoformat()


def _padded_details(details: str) -> tuple[str, str]:
    """German sub-fields with a space after each short name or purpose part (see
    ``_SUBFIELD_WIDTH``), and the purpose (``?20``-``?29``) as one text."""
    parts = _SUBFIELD.split(details)
    out, purpose = [parts[0]], []
    for code, value in zip(parts[1::2], parts[2::2], strict=True):
        if code in _JOINED_SUBFIELDS and len(value) < _SUBFIELD_WIDTH:
            value += " "
        out.append(f"?{code}{value}")
        if code.startswith("2"):
            purpose.append(value)
    return "".join(out), "".join(purpose)


def _german_details(details: str) -> dict[str, str | None]:
    """``?00``-``?63`` sub-fields and ``SVWZ+``/``EREF+``/``IBAN+`` keywords, via the library.

    The library drops purpose text written before the first keyword (``Rechnung 4711 EREF+...``);
    it is put back in front of the ``SVWZ+`` text here.
    """
    padded, purpose = _padded_details(details.replace("\n", ""))
    tag = Tags.TRANSACTION_DETAILS.value
    fields = dict(tag.parse(_CONTEXT, padded))
    fields = processors.transaction_details_post_processor(_CONTEXT, tag, fields, dict(fields))
    first = _GVC_KEYWORD.search(purpose)
    text = fields.get("purpose") or ""
    if first is not None and purpose[: first.start()].strip():
        text = f"{purpose[: first.start()]} {text}"
    extra = fields.get("additional_purpose")
    return {
        "description": _clean(f"{text} {extra or ''}") or _clean(fields.get("posting_text")),
        "counterparty": _clean(fields.get("applicant_name")),
        "iban": _iban(fields.get("applicant_iban"))
        or _iban_in_text(fields.get("gvc_applicant_iban") or ""),
        "end_to_end": _clean(fields.get("end_to_end_reference")),
    }


def _coded_details(details: str) -> dict[str, str | None]:
    """The SWIFT structured form ``/NAME/.../REMI/.../EREF/...`` of Dutch and other banks."""
    text = details.replace("\n", "")
    parts = _CODED.split(text)
    values = {code: value.strip("/ ") for code, value in zip(parts[1::2], parts[2::2], strict=True)}
    name, iban = values.get("NAME"), values.get("IBAN")
    if "CNTP" in values:  # /CNTP/account/BIC/name/city/
        cntp = values["CNTP"].split("/")
        iban = iban or cntp[0]
        name = name or (cntp[2] if len(cntp) > 2 else None)
    remittance = values.get("REMI", "")
    remittance = re.sub(r"^(?:USTD//?|STRD/[A-Z]*/)", "", remittance)
    return {
        "description": _clean(remittance) or _clean(values.get("TRTP")),
        "counterparty": _clean(name),
        "iban": _iban(iban),
        "end_to_end": _clean(values.get("EREF")),
    }


def _free_text(details: str) -> str:
    """Unstructured :86: lines joined: a full-width line was wrapped mid-word."""
    lines = details.split("\n")
    return _clean(
        "".join(line if len(line) >= _SWIFT_LINE else line + " " for line in lines[:-1]) + lines[-1]
    )


def _details(details: str) -> dict[str, str | None]:
    if re.match(r"\d{3}\?\d\d", details):
        return _german_details(details)
    if details.startswith("/") and _CODED.match(details):
        return _coded_details(details)
    text = _free_text(details)
    return {
        "description": text,
        "counterparty": None,
        "iban": _iban_in_text(text),
        "end_to_end": None,
    }


def _clean(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def _iban(text: str | None) -> str | None:
    compact = "".join((text or "").split()).upper()
    return compact if _IBAN.fullmatch(compact) else None


def _mod97(compact: str) -> bool:
    """The ISO 7064 check that IBANs (ISO 13616) and creditor references (ISO 11649) share."""
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _creditor_reference(text: str) -> str | None:
    """An ISO 11649 creditor reference (RF + check digits), as written, if one checks out."""
    for m in _RF.finditer(text):
        groups = m[0].split(" ")  # "RF18 5390 0754 7034 INV 2": the reference is a prefix
        for end in range(len(groups), 0, -1):
            written = " ".join(groups[:end])
            if _mod97(written.replace(" ", "").upper()):
                return written
    return None


def _iban_in_text(text: str) -> str | None:
    """The first IBAN written in remittance text whose check digits hold, compact. The text may
    run on ("DE89 3704 0044 0532 0130 00 BIC COBADEFF"), so the longest valid prefix wins."""
    for m in _IBAN_IN_TEXT.finditer(text):
        compact = m[1].replace(" ", "")
        for end in range(len(compact), 14, -1):
            if _mod97(compact[:end]):
                return compact[:end]
    return None


# --- the file -----------------------------------------------------------------------------------


@dataclass
class _Reader:
    sha256: str
    team_ref: str
    default_currency: str | None
    rows: list[RawTransaction] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    occurrences: Counter[str] = field(default_factory=Counter)
    ordinal: int = 0

    def statement(self, statement: _Statement) -> StatementBalance:
        """Each entry read or rejected; the statement's balance arithmetic."""
        currency = next(
            (b[1] for b in (statement.opening, statement.closing) if b is not None),
            (self.default_currency or "").strip().upper(),
        )
        if not currency:
            raise ImportFileError(
                f"MT940 statement {statement.label} has no readable balance (:60F:) to give its "
                "currency, and no default currency is known"
            )
        total, dates = Decimal(0), []
        for entry in statement.entries:
            self.ordinal += 1
            amount = self.entry(entry, statement, currency)
            if amount is not None:
                total += amount[0]
                if amount[1]:
                    dates.append(amount[1])
        return StatementBalance(
            account=statement.account,
            statement=statement.label,
            currency=currency,
            opening=statement.opening[0] if statement.opening else None,
            closing=statement.closing[0] if statement.closing else None,
            entries=total,
            entry_count=len(statement.entries),
            first_date=min(dates, default=None),
            last_date=max(dates, default=None),
        )

    def entry(
        self, entry: _Entry, statement: _Statement, currency: str
    ) -> tuple[Decimal, str | None] | None:
        """The entry as a row or a rejected row; its amount (and booking date) if readable."""
        line = entry.statement_line.text
        # :NS: lines are bank-specific data, kept in a rejected entry's raw text only.
        details = "\n".join(t.text for t in entry.details if t.name == "86")
        raw = {
            "statement": statement.label,
            "account": statement.account,
            "line": entry.statement_line.line,
            ":61:": show_bad_bytes(line),
            **{f":{t.name}:": show_bad_bytes(t.text) for t in entry.details},
        }
        amount = None
        try:
            fields = _statement_line(line)
            amount = _signed_amount(fields)
            booked, value = _dates(fields)
            if reason := bad_bytes_reason([line, *(t.text for t in entry.details)]):
                raise _Unreadable(reason.replace("this row", "this entry"))
        except _Unreadable as exc:
            self.rejected.append({"row_ref": str(self.ordinal), "raw": raw, "reason": str(exc)})
            return None if amount is None else (amount, None)
        self.rows.append(self.row(fields, amount, booked, value, details, statement, currency))
        return amount, booked

    def row(
        self,
        fields: dict[str, Any],
        amount: Decimal,
        booked: str,
        value: str,
        details: str,
        statement: _Statement,
        currency: str,
    ) -> RawTransaction:
        info = _details(details)
        description = info["description"] or _clean(fields.get("extra_details"))
        if fields["status"].upper().startswith("R"):
            description = f"Reversal: {description}".strip()
        reference = _creditor_reference(description) or (
            info["end_to_end"] if info["end_to_end"] not in (None, "", "NOTPROVIDED") else None
        )
        text_amount = plain_decimal(amount)
        bank_ref = (fields.get("bank_reference") or "").strip()
        if bank_ref and bank_ref.upper() != "NONREF":
            external_id = f"{statement.account}:{bank_ref}"
            if len(external_id) > _MAX_ID:
                external_id = "mt940-" + hashlib.sha256(external_id.encode()).hexdigest()
        else:
            key = "\x1f".join(
                (
                    statement.account,
                    value,
                    content_key(booked, text_amount, description, info["counterparty"], reference),
                )
            )
            self.occurrences[key] += 1
            external_id = derived_external_id(key, self.occurrences[key])
        return RawTransaction(
            source="mt940",
            batch_ref=self.sha256,
            row_ref=str(self.ordinal),
            team_ref=self.team_ref,
            external_id=external_id,
            booking_date=booked,
            amount=text_amount,
            currency=currency,
            description=description,
            counterparty=info["counterparty"] or None,
            reference=reference,
            value_date=value,
            counterparty_iban=info["iban"],
        )


def parse_mt940(
    data: bytes, *, sha256: str, team_ref: str, default_currency: str | None
) -> ParsedFile:
    """Every entry as a row or a rejected row with its reason; balances per statement."""
    text = _decode(data)
    statements = _statements(_tags(text))
    if not any(s.reference or s.entries or s.opening for s in statements):
        raise ImportFileError(
            "not an MT940 statement: no :20: statement header or :61: entry was found"
        )
    last = statements[-1]
    if not last.closed:
        raise ImportFileError(
            f"the MT940 file is incomplete: its last statement ({last.label}) has no closing "
            "balance (:62F:), so the file was cut off; download the statement again"
        )
    reader = _Reader(sha256, team_ref, default_currency)
    balances = [reader.statement(s) for s in statements]
    total = len(_COUNT_61.findall(text))
    reader.rejected.extend(
        {
            "row_ref": f"#{n}",
            "raw": {},
            "reason": f"the file has {total} :61: entries but only {reader.ordinal} could be "
            "placed in a statement: the text around them is broken",
        }
        for n in range(reader.ordinal + 1, total + 1)
    )
    dates = [b.first_date for b in balances if b.first_date]
    dates += [b.last_date for b in balances if b.last_date]
    layout: dict[str, Any] = {
        "format": "MT940",
        "statements": len(statements),
        "accounts": list(dict.fromkeys(s.account for s in statements)),
        "currencies": sorted({b.currency for b in balances}),
        "swift_envelope": "{4:" in text,
        "date_range": [min(dates), max(dates)] if dates else None,
        "balances_ok": all(b.ok is not False for b in balances),
    }
    problems = [f"statement {s.label}: {p}" for s in statements for p in s.problems]
    problems += [
        f"statement {s.label}: no closing balance (:62F:)" for s in statements[:-1] if not s.closed
    ]
    if problems:
        layout["problems"] = problems
    if BAD_BYTE.search(text):
        layout["invalid_bytes"] = True
    return ParsedFile(
        sha256,
        "mt940",
        reader.rows,
        reader.rejected,
        max(total, reader.ordinal),
        balances,
        layout,
    )
