"""ISO 20022 camt.053 statements and camt.054 notifications (camt.052 reports read the same way):
one row per booked entry, or per transaction of a batch entry.

The XML is streamed through defusedxml, so a document type (the door to entity expansion and
external references) is refused before anything is read, and a 200 MB statement is never held as
one tree: each entry is read when it ends and then dropped. Versions 001.02 to 001.13 differ in
their namespace, not in the element paths used here, so tags are matched by local name.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from bg_agents.defs.ingestion.csv_file import content_key, derived_external_id
from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.raw import ParsedFile, RawTransaction
from bg_agents.defs.ingestion.statement import StatementBalance
from bg_agents.lib.tabular.amounts import plain_decimal

# Message element -> (file format, the element holding one account's entries).
_MESSAGES = {
    "BkToCstmrStmt": ("camt.053", "Stmt"),
    "BkToCstmrDbtCdtNtfctn": ("camt.054", "Ntfctn"),
    "BkToCstmrAcctRpt": ("camt.052", "Rpt"),
}
_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[234]\.\d{3}\.\d{2})")
_DECLARED = re.compile(
    r"""xmlns(?::[\w.-]+)?\s*=\s*["']urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\."""
)
# ISO 20022 amounts: unsigned, at most 18 digits of which 5 after the point.
_AMOUNT = re.compile(r"\d{1,18}(?:\.\d{1,5})?")
# The independent count of entries: Ntry and TxDtls tags outside comments and CDATA.
_SCAN_TAG = re.compile(r"<(/?)(?:[\w.-]+:)?(Ntry|TxDtls)(?=[\s/>])")
_UNSCANNED = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.DOTALL)
# References banks write when they have none; an id built on them would merge distinct entries.
_NO_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED", "NONE", "N/A", "NA"})
_MAX_ID = 128
_OPENING = ("OPBD", "PRCD")  # opening booked; previously closed booked (the same amount)
_CLOSING = "CLBD"

PENDING_REASON = "pending entry (not booked yet): held until the bank books it"
INFO_REASON = "information-only entry (status INFO): not booked, so not imported"


def _scan_text(data: bytes) -> str:
    """The document as text in which ASCII markup reads right: UTF-16/32 decoded by their byte
    order mark, anything else as Latin-1 (which never fails and keeps every ASCII byte)."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    return data.removeprefix(codecs.BOM_UTF8).decode("latin-1")


def looks_like_camt(data: bytes) -> bool:
    """An XML document declaring a camt.052/053/054 namespace near its start, whatever the
    file's extension (banks name these .xml, .camt, .txt or nothing at all)."""
    head = _scan_text(data[:4096]).lstrip()
    return head.startswith("<") and _DECLARED.search(head) is not None


def count_units(data: bytes) -> int:
    """Entries times their transaction details (at least one per entry), counted in the text
    apart from the parser, so an entry the parser never reached shows as a gap."""
    text = _UNSCANNED.sub("", _scan_text(data))
    total, details, open_entry = 0, 0, False
    for m in _SCAN_TAG.finditer(text):
        closing, name = m[1] == "/", m[2]
        if name == "Ntry":
            if open_entry:
                total += max(1, details)
            open_entry, details = not closing, 0
        elif open_entry and not closing:
            details += 1
    return total + (max(1, details) if open_entry else 0)


# --- small readers -------------------------------------------------------------------------------


def _text(elem: ET.Element | None, path: str) -> str:
    if elem is None:
        return ""
    return " ".join((elem.findtext(path) or "").split())


def _status(ntry: ET.Element) -> str:
    """BOOK/PDNG/INFO: the element's text up to 001.08, its Cd (or Prtry) child since 001.09."""
    sts = ntry.find("Sts")
    if sts is None:
        return ""
    return (_text(sts, "Cd") or _text(sts, "Prtry") or _text(sts, ".")).upper()


def _date(elem: ET.Element | None) -> str:
    """ISO date of a Dt or DtTm choice, as the bank wrote it (no time zone conversion: a late
    evening booking stays on its day). Raises ValueError for a missing or impossible date."""
    text = _text(elem, "Dt") or _text(elem, "DtTm")
    day = text[:10]
    date.fromisoformat(day)  # validates; the text itself is kept
    return day


def _amount(text: str) -> Decimal:
    if not _AMOUNT.fullmatch(text):
        raise ValueError(text)
    return Decimal(text)


def _sign(indicator: str) -> int:
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise ValueError(indicator)


def _flatten(elem: ET.Element, prefix: str = "", skip: str = "") -> dict[str, str]:
    """An element's leaves as ``{"Path/To/Leaf": text}`` for a rejected row's ``raw``."""
    out: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for child in elem:
        if child.tag == skip:
            continue
        seen[child.tag] += 1
        key = prefix + child.tag + (f"[{seen[child.tag]}]" if seen[child.tag] > 1 else "")
        for name, value in child.attrib.items():
            out[f"{key}@{name}"] = value
        if len(child):
            out.update(_flatten(child, key + "/"))
        else:
            out[key] = (child.text or "").strip()
    return out


def _account_id(acct: ET.Element | None) -> str:
    return _text(acct, "Id/IBAN").replace(" ", "").upper() or _text(acct, "Id/Othr/Id")


def _party(parties: ET.Element | None, side: str) -> tuple[str | None, str | None]:
    """Name and IBAN of the debtor or creditor: ``Nm`` up to 001.07, ``Pty/Nm`` since 001.08, the
    ultimate party's name when the party itself has none."""
    name = (
        _text(parties, f"{side}/Nm")
        or _text(parties, f"{side}/Pty/Nm")
        or _text(parties, f"Ultmt{side}/Nm")
        or _text(parties, f"Ultmt{side}/Pty/Nm")
    )
    iban = _text(parties, f"{side}Acct/Id/IBAN").replace(" ", "").upper()
    return name or None, iban or None


def _counterparty(
    tx: ET.Element | None, original_out: bool, own_iban: str
) -> tuple[str | None, str | None]:
    """The other party: the creditor of money that went out, the debtor of money that came in.

    ``original_out`` is the direction of the original payment (a reversal's indicator is the
    reversing money's). When that side turns out to hold this account's own IBAN, as some banks
    write reversals, the other side is taken instead.
    """
    parties = tx.find("RltdPties") if tx is not None else None
    if parties is None:
        return None, None
    side, other = ("Cdtr", "Dbtr") if original_out else ("Dbtr", "Cdtr")
    name, iban = _party(parties, side)
    if own_iban and iban == own_iban:
        alt_name, alt_iban = _party(parties, other)
        if alt_iban != own_iban and (alt_name or alt_iban):
            return alt_name, alt_iban
    return name, iban


def _reference(tx: ET.Element | None) -> str | None:
    """The structured creditor reference (RF... or a national one), else the end-to-end id."""
    if tx is None:
        return None
    for ref in tx.iterfind("RmtInf/Strd/CdtrRefInf/Ref"):
        if text := " ".join((ref.text or "").split()):
            return text
    end_to_end = _text(tx, "Refs/EndToEndId")
    return end_to_end if end_to_end.upper() not in _NO_REFERENCE else None


def _description(ntry: ET.Element, tx: ET.Element | None, reversal: bool) -> str:
    ustrd = tx.iterfind("RmtInf/Ustrd") if tx is not None else ()
    text = (
        " ".join(line for u in ustrd if (line := " ".join((u.text or "").split())))
        or _text(tx, "AddtlTxInf")
        or _text(ntry, "AddtlNtryInf")
    )
    return f"Reversal: {text}" if reversal and text else ("Reversal" if reversal else text)


def _usable(ref: str) -> str | None:
    return ref if ref.upper() not in _NO_REFERENCE else None


# --- one statement -------------------------------------------------------------------------------


@dataclass
class _Statement:
    """One Stmt/Ntfctn/Rpt: its account, balances, and the booked entries read so far."""

    account: str
    iban: str
    name: str
    currency: str
    opening: Decimal | None
    closing: Decimal | None
    entries: Decimal = Decimal(0)
    entry_count: int = 0
    dates: list[str] = field(default_factory=list)

    def balance(self) -> StatementBalance:
        return StatementBalance(
            account=self.account,
            statement=self.name,
            currency=self.currency,
            opening=self.opening,
            closing=self.closing,
            entries=self.entries,
            entry_count=self.entry_count,
            first_date=min(self.dates, default=None),
            last_date=max(self.dates, default=None),
        )


def _balances(container: ET.Element, notes: list[str]) -> dict[str, tuple[Decimal, str]]:
    """The first balance of each type code, signed, with its currency."""
    found: dict[str, tuple[Decimal, str]] = {}
    for bal in container.iterfind("Bal"):
        code = (_text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")).upper()
        if code in found:
            continue
        amt = bal.find("Amt")
        try:
            value = _amount(_text(bal, "Amt")) * _sign(_text(bal, "CdtDbtInd"))
        except ValueError:
            notes.append(f"unreadable {code or 'untyped'} balance: not checked")
            continue
        found[code] = (value, (amt.get("Ccy") or "").strip().upper() if amt is not None else "")
    return found


def _statement(container: ET.Element, ordinal: int, kind: str, notes: list[str]) -> _Statement:
    acct = container.find("Acct")
    account = _account_id(acct)
    if not account:
        raise ImportFileError(
            f"{kind} number {ordinal} names no account (Acct/Id/IBAN or Acct/Id/Othr/Id): its "
            "entries could not be told apart from another account's"
        )
    balances = _balances(container, notes)
    opening = next((balances[c] for c in _OPENING if c in balances), None)
    closing = balances.get(_CLOSING)
    stated = [ccy for _, ccy in (b for b in (opening, closing) if b) if ccy]
    currency = _text(acct, "Ccy").upper() or next(iter(stated), "")
    return _Statement(
        account=account,
        iban=_text(acct, "Id/IBAN").replace(" ", "").upper(),
        name=_text(container, "Id") or _text(container, "ElctrncSeqNb") or str(ordinal),
        currency=currency,
        opening=opening[0] if opening else None,
        closing=closing[0] if closing else None,
    )


# --- the file ------------------------------------------------------------------------------------


class _Reader:
    """Turns each entry into rows or rejected rows, keeping ids stable and unique in the file."""

    def __init__(self, sha256: str, team_ref: str, default_currency: str | None) -> None:
        self.sha256, self.team_ref = sha256, team_ref
        self.default_currency = (default_currency or "").strip().upper()
        self.rows: list[RawTransaction] = []
        self.rejected: list[dict[str, Any]] = []
        self.units = 0
        self._ids: Counter[str] = Counter()
        self._contents: Counter[str] = Counter()

    def reject(self, row_ref: str, raw: dict[str, str], reason: str) -> None:
        self.rejected.append({"row_ref": row_ref, "raw": raw, "reason": reason})

    def entry(self, ntry: ET.Element, number: int, stmt: _Statement) -> None:
        """One Ntry: its rows (one per TxDtls of a batch), or each unit rejected with the reason."""
        details = ntry.findall("NtryDtls/TxDtls")
        units = details or [None]
        self.units += len(units)
        refs = (
            [str(number)]
            if len(units) == 1
            else [f"{number}.{i}" for i in range(1, len(units) + 1)]
        )

        def reject_all(reason: str) -> None:
            entry_raw = {"account": stmt.account, "statement": stmt.name}
            entry_raw.update(_flatten(ntry, skip="NtryDtls"))
            for ref, tx in zip(refs, units, strict=True):
                raw = {**entry_raw, **(_flatten(tx, "TxDtls/") if tx is not None else {})}
                self.reject(ref, raw, reason)

        status = _status(ntry)
        if status in ("PDNG", "FUTR"):
            return reject_all(PENDING_REASON)
        if status == "INFO":
            return reject_all(INFO_REASON)
        if status != "BOOK":
            return reject_all(
                f"unknown entry status {status!r}: only booked (BOOK) entries are imported"
                if status
                else "entry without a status (Sts): cannot tell whether it is booked"
            )
        amount_text, indicator = _text(ntry, "Amt"), _text(ntry, "CdtDbtInd")
        try:
            amount = _amount(amount_text)
        except ValueError:
            return reject_all(f"bad amount {amount_text!r}")
        try:
            sign = _sign(indicator)
        except ValueError:
            return reject_all(f"bad credit/debit indicator {indicator!r} (CRDT or DBIT expected)")
        signed = amount * sign
        try:
            booking_date = _date(ntry.find("BookgDt"))
        except ValueError:
            return reject_all(f"bad booking date {_text(ntry, 'BookgDt/*')!r}")
        stmt.entries += signed
        stmt.entry_count += 1
        stmt.dates.append(booking_date)
        try:
            valdt = ntry.find("ValDt")
            value_date = _date(valdt) if valdt is not None else None
        except ValueError:
            return reject_all(f"bad value date {_text(ntry, 'ValDt/*')!r}")
        amt = ntry.find("Amt")
        currency = (
            (
                (amt.get("Ccy") if amt is not None else None)
                or stmt.currency
                or self.default_currency
            )
            .strip()
            .upper()
        )
        if not currency:
            return reject_all("the entry's amount names no currency (Amt/@Ccy)")
        stmt.currency = stmt.currency or currency  # a notification states no account currency
        parts = self._parts(details, signed, indicator, currency) if len(units) > 1 else None
        if isinstance(parts, str):
            return reject_all(parts)
        reversal = _text(ntry, "RvslInd").lower() in ("true", "1")
        for index, (tx, row_ref) in enumerate(zip(units, refs, strict=True)):
            part_amount, part_indicator = parts[index] if parts else (signed, indicator)
            original_out = (part_indicator == "DBIT") != reversal
            counterparty, iban = _counterparty(tx, original_out, stmt.iban)
            description = _description(ntry, tx, reversal)
            reference = _reference(tx)
            external_id = self._external_id(
                ntry, tx, index, len(units) > 1, stmt.account, booking_date
            ) or self._derived_id(
                stmt.account, booking_date, part_amount, description, counterparty, reference
            )
            self.rows.append(
                RawTransaction(
                    source="camt",
                    batch_ref=self.sha256,
                    row_ref=row_ref,
                    team_ref=self.team_ref,
                    external_id=external_id,
                    booking_date=booking_date,
                    amount=plain_decimal(part_amount),
                    currency=currency,
                    description=description,
                    counterparty=counterparty,
                    reference=reference,
                    value_date=value_date,
                    counterparty_iban=iban,
                )
            )
        return None

    @staticmethod
    def _parts(
        details: list[ET.Element], signed: Decimal, indicator: str, currency: str
    ) -> list[tuple[Decimal, str]] | str:
        """Each transaction's signed amount, or why the batch cannot be split: its parts must add
        up to the entry, or no part lands without the rest."""
        n = len(details)
        parts: list[tuple[Decimal, str]] = []
        for i, tx in enumerate(details, 1):
            amt = tx.find("AmtDtls/TxAmt/Amt")
            if amt is None:
                amt = tx.find("Amt")
            text = " ".join((amt.text or "").split()) if amt is not None else ""
            own = _text(tx, "CdtDbtInd") or indicator
            try:
                value = _amount(text) * _sign(own)
            except ValueError:
                return (
                    f"batch entry of {n} transactions: transaction {i} has "
                    + (f"a bad amount {text!r}" if text else "no amount (AmtDtls/TxAmt/Amt)")
                    + ", so the batch is not split and none of its parts lands"
                )
            ccy = (amt.get("Ccy") or currency).strip().upper() if amt is not None else currency
            if ccy != currency:
                return (
                    f"batch entry of {n} transactions: transaction {i} is in {ccy}, the entry in "
                    f"{currency}, so the batch is not split and none of its parts lands"
                )
            parts.append((value, own))
        total = sum((v for v, _ in parts), Decimal(0))
        if total != signed:
            return (
                f"batch entry of {n} transactions: their amounts add up to "
                f"{plain_decimal(total)} but the entry is {plain_decimal(signed)} {currency}, so "
                "the batch is not split and none of its parts lands"
            )
        return parts

    def _external_id(
        self,
        ntry: ET.Element,
        tx: ET.Element | None,
        index: int,
        batch: bool,
        account: str,
        booking_date: str,
    ) -> str | None:
        """account + the bank's reference: the transaction's AcctSvcrRef, else the entry's (plus
        the transaction's position in a batch), else the entry's NtryRef with its booking date
        (some banks number entries per statement). A reference repeated in the file for the same
        account gets an occurrence number, so distinct entries never merge."""
        entry_ref = _usable(_text(ntry, "AcctSvcrRef"))
        tx_ref = _usable(_text(tx, "Refs/AcctSvcrRef"))
        if batch and tx_ref == entry_ref:
            tx_ref = None  # the entry's reference copied into each part identifies none of them
        if tx_ref:
            ref = tx_ref
        elif entry_ref:
            ref = f"{entry_ref}/{index + 1}" if batch else entry_ref
        elif ntry_ref := _usable(_text(ntry, "NtryRef")):
            ref = f"ntry:{booking_date}:{ntry_ref}" + (f"/{index + 1}" if batch else "")
        else:
            return None
        external_id = f"{account}:{ref}"
        self._ids[external_id] += 1
        if self._ids[external_id] > 1:
            external_id += f"#{self._ids[external_id]}"
        if len(external_id) <= _MAX_ID:
            return external_id
        return "camt-" + hashlib.sha256(external_id.encode()).hexdigest()

    def _derived_id(
        self,
        account: str,
        booking_date: str,
        amount: Decimal,
        description: str,
        counterparty: str | None,
        reference: str | None,
    ) -> str:
        key = (
            account
            + "\x1f"
            + content_key(booking_date, plain_decimal(amount), description, counterparty, reference)
        )
        self._contents[key] += 1
        return derived_external_id(key, self._contents[key])


def _refusal(exc: Exception) -> str:
    if isinstance(exc, DefusedXmlException):
        return (
            "the XML file declares a document type or entities, which bank statements never "
            "use and which can expand without limit or reach outside the file: refused"
        )
    position = getattr(exc, "position", None)
    where = f" at line {position[0]}" if position else ""
    return (
        f"the camt XML is malformed or cut off{where} ({str(exc).split(':')[0]}): "
        "download the statement again"
    )


def parse_camt(
    data: bytes, *, sha256: str, team_ref: str, default_currency: str | None
) -> ParsedFile:
    """Every entry as a row or a rejected row with its reason; balances per statement.

    Pending and information-only entries are rejected rows (they land when a later file books
    them); ``rows_total`` is ``count_units`` of the bytes, and any unit the parser did not reach
    becomes a rejected row, so nothing disappears unreported.
    """
    reader = _Reader(sha256, team_ref, default_currency)
    statements: list[_Statement] = []
    notes: list[str] = []
    kind = version = ""
    container_tag = ""
    stack: list[ET.Element] = []
    current: _Statement | None = None
    entry_number = 0
    try:
        for event, elem in iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                namespace, _, local = elem.tag.rpartition("}")
                elem.tag = local  # versions differ in namespace only: match local names
                if local in _MESSAGES and not kind:
                    kind, container_tag = _MESSAGES[local]
                    m = _NAMESPACE.search(namespace)
                    version = m[1] if m else kind
                stack.append(elem)
                continue
            stack.pop()
            parent = stack[-1] if stack else None
            if parent is None or parent.tag != container_tag and elem.tag != container_tag:
                continue
            if elem.tag == "Ntry" and parent.tag == container_tag:
                if current is None:
                    current = _statement(parent, len(statements) + 1, container_tag, notes)
                    statements.append(current)
                entry_number += 1
                reader.entry(elem, entry_number, current)
                parent.remove(elem)  # read: free it (it is the container's last child)
            elif elem.tag == container_tag and parent.tag in _MESSAGES:
                if current is None:  # a statement without entries still states its balances
                    statements.append(_statement(elem, len(statements) + 1, container_tag, notes))
                current = None
                parent.remove(elem)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise ImportFileError(_refusal(exc)) from None
    if not kind:
        raise ImportFileError(
            "not a camt.053/054 file: the XML holds no bank-to-customer statement "
            "(BkToCstmrStmt) or notification (BkToCstmrDbtCdtNtfctn)"
        )
    if not statements:
        raise ImportFileError(f"the {kind} file holds no statement ({container_tag})")
    counted = count_units(data)
    reader.rejected.extend(
        {
            "row_ref": f"#{missing}",
            "raw": {},
            "reason": f"the file has {counted} entries (Ntry x TxDtls) but only {reader.units} "
            "could be read as entries of a statement: the markup around them is broken",
        }
        for missing in range(reader.units + 1, counted + 1)
    )
    accounts = list(dict.fromkeys(s.account for s in statements))
    layout: dict[str, Any] = {
        "format": version,
        "statements": len(statements),
        "accounts": accounts,
    }
    if notes:
        layout["notes"] = notes
    return ParsedFile(
        sha256,
        kind,
        reader.rows,
        reader.rejected,
        max(counted, reader.units),
        [s.balance() for s in statements],
        layout,
    )
