"""OFX/QFX statements (1.x SGML and 2.x XML) read through ofxtools: one row per STMTTRN.

ofxtools parses the markup and converts each transaction with the spec's types; the file as a
whole is not converted, because one malformed transaction (or a missing balance) would then
sink every good one. Each STMTTRN is converted on its own and a bad one is rejected with a reason.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import io
import re
import warnings
import xml.etree.ElementTree as ET
from typing import Any

from ofxtools.header import OFXHeaderV2
from ofxtools.models.bank.stmt import STMTTRN
from ofxtools.models.base import Aggregate, OFXAggregateWarning
from ofxtools.Parser import OFXTree
from ofxtools.Types import OFXTypeWarning

from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.raw import RawTransaction
from bg_agents.lib.tabular.amounts import plain_decimal

_STATEMENTS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM", "INVSTMTRS": "INVACCTFROM"}
_STMTTRN_ORDER = {name.upper(): i for i, name in enumerate(STMTTRN.spec)}
_V2_VERSION = re.compile(rb'(<\?OFX[^>]*?VERSION=")(2\d\d)(")', re.IGNORECASE)
_V1_CHARSET = re.compile(rb"CHARSET:[ \t]*[\w-]+")
_CLOSING_TAG = re.compile(rb"</OFX\s*>", re.IGNORECASE)
_MISSING = re.compile(r"Can't set STMTTRN\.(\w+) to None")
_MAX_ID = 128
_STMTTRN_TAG = re.compile(rb"<STMTTRN\s*>", re.IGNORECASE)


def looks_like_ofx(data: bytes) -> bool:
    """OFX saved under a .csv/.txt name (some banks do): the content decides."""
    head = data[:1024].removeprefix(codecs.BOM_UTF8).lstrip().upper()
    return head.startswith(b"OFXHEADER") or (head.startswith(b"<?XML") and b"<?OFX" in head)


def _first_line(exc: Exception) -> str:
    # ofxtools puts the whole raw header into some messages; the first line is the useful part.
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _prepare(data: bytes) -> bytes:
    """Work around ofxtools' header checks that reject files banks really send."""
    # A UTF-8 BOM hides the XML declaration, and ofxtools then reports a malformed 1.x header.
    data = data.removeprefix(codecs.BOM_UTF8)
    # ofxtools knows 2.x versions up to 2.2; later 2.x files share the same statement markup.
    known = {str(v).encode() for v in OFXHeaderV2.version.valid}
    m = _V2_VERSION.search(data[:2048])
    if m and m[2] not in known:
        data = data[: m.start(2)] + b"220" + data[m.end(2) :]
    return data


_BAD_BYTE = re.compile("[\udc80-\udcff]")
_XML_OTHER_ENCODING = re.compile(rb'encoding=["\'](?!utf-?8["\'])', re.IGNORECASE)
_STMTTRN_END = re.compile(rb"</STMTTRN\s*>", re.IGNORECASE)


def _isolate_bad_bytes(data: bytes) -> tuple[bytes, dict[int, str]]:
    """Invalid bytes in an otherwise UTF-8 file: each becomes "?" and the transactions holding
    them (numbered in file order) are returned to be rejected.

    As for CSV, one bad byte must not make the whole file a legacy code page (or fail it): a file
    whose non-ASCII bytes are mostly not UTF-8 is left alone for the code-page fallback.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    bad = [m.start() for m in _BAD_BYTE.finditer(text)]
    if not bad:
        return data, {}
    # An XML (2.x) file that declares UTF-8 has no code-page fallback: it is UTF-8 regardless.
    xml_utf8 = data.lstrip().startswith(b"<") and not _XML_OTHER_ENCODING.search(data[:200])
    if not xml_utf8 and len(bad) > sum(1 for c in text if c > "\x7f") - len(bad):
        return data, {}
    # Byte offsets of the bad characters: every character before them is one byte or a valid
    # UTF-8 sequence, so re-encoding the prefix gives the offset.
    offsets = [len(text[:i].encode("utf-8", "surrogateescape")) for i in bad]
    starts = [m.start() for m in _STMTTRN_TAG.finditer(data)]
    damaged: dict[int, list[str]] = {}
    for offset in offsets:
        index = bisect.bisect_right(starts, offset)
        if index:
            end = _STMTTRN_END.search(data, starts[index - 1])
            if end is None or offset < end.start():
                damaged.setdefault(index, []).append(f"0x{data[offset]:02X}")
    cleaned = bytearray(data)
    for offset in offsets:
        cleaned[offset] = ord("?")
    return bytes(cleaned), {k: ", ".join(sorted(set(v))) for k, v in damaged.items()}


def _parse_tree(data: bytes) -> ET.Element:
    attempts = [data]
    if not data.lstrip().startswith(b"<"):
        # 1.x bodies are decoded with the charset the header names, and banks often declare
        # UTF-8 ("NONE") for Windows-1252 text; retry with the legacy code pages.
        attempts += [
            _V1_CHARSET.sub(b"CHARSET:" + cs, data, count=1) for cs in (b"1252", b"ISO-8859-1")
        ]
    error: Exception = UnicodeError("undecodable text")
    for attempt in attempts:
        tree = OFXTree()
        try:
            tree.parse(io.BytesIO(attempt))
        except UnicodeDecodeError as exc:
            error = exc
            continue
        # ofxtools raises SyntaxError subclasses, ValueError and others on malformed input.
        except Exception as exc:
            raise ImportFileError(f"not a readable OFX/QFX file: {_first_line(exc)}") from None
        root = tree.getroot()
        if root is None or root.tag != "OFX":
            raise ImportFileError("not a readable OFX/QFX file: no <OFX> element")
        return root
    raise ImportFileError(
        f"the OFX file's text is not valid in its declared character set ({_first_line(error)})"
    )


def _bank_error(root: ET.Element) -> str | None:
    for status in root.iter("STATUS"):
        code = (status.findtext("CODE") or "").strip()
        if code and code != "0":
            message = (status.findtext("MESSAGE") or "").strip()
            return f"code {code}" + (f": {message}" if message else "")
    return None


def _flatten(elem: ET.Element, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for child in elem:
        key = f"{prefix}{child.tag}"
        if len(child):
            out.update(_flatten(child, key + "/"))
        else:
            out[key] = (child.text or "").strip()
    return out


def _convert(elem: ET.Element) -> Any:
    # ofxtools rejects children out of spec order, which some banks send (MEMO before NAME).
    ordered = ET.Element(elem.tag)
    ordered.extend(sorted(elem, key=lambda c: _STMTTRN_ORDER.get(c.tag, len(_STMTTRN_ORDER))))
    return Aggregate.from_etree(ordered)


def _reason(exc: Exception, elem: ET.Element) -> str:
    message = _first_line(exc)
    lowered = message.lower()
    if m := _MISSING.match(message):
        return f"missing {m[1].upper()}"
    if "dtposted" in lowered:
        return f"bad date {(elem.findtext('DTPOSTED') or '').strip()!r}"
    if isinstance(exc, ArithmeticError) or "trnamt" in lowered:
        return f"bad amount {(elem.findtext('TRNAMT') or '').strip()!r}"
    return f"not a valid OFX transaction: {message}"


def _describe(name: str | None, memo: str | None) -> str:
    name, memo = (name or "").strip(), (memo or "").strip()
    if not name or not memo or memo in name:
        return name or memo
    if name in memo:
        return memo
    return f"{name} - {memo}"


def _external_id(account: str, fitid: str) -> str:
    external_id = f"{account}:{fitid}"
    if len(external_id) <= _MAX_ID:
        return external_id
    # FITID may be up to 255 characters; a hash keeps long ones stable and within the column.
    return "ofx-" + hashlib.sha256(external_id.encode()).hexdigest()


def parse_ofx(
    data: bytes, *, sha256: str, team_ref: str, default_currency: str | None
) -> tuple[list[RawTransaction], list[dict[str, Any]], int]:
    """Rows for every STMTTRN of every bank, card or investment statement in the file, the
    rejected ones with reasons, and how many STMTTRN tags the file holds.

    The tags are counted in the bytes, apart from the parser: a transaction the markup parser
    folded into another (or lost in a statement it did not recognize) is reported as a rejected
    row instead of disappearing.
    """
    data = _prepare(data)
    data, damaged = _isolate_bad_bytes(data)
    statements = _statements(data)
    rows: list[RawTransaction] = []
    rejected: list[dict[str, Any]] = []
    row_refs: set[str] = set()
    ordinal = 0
    with warnings.catch_warnings():
        # Unknown and private (INTU.*) tags and over-long names are normal in real files.
        warnings.simplefilter("ignore", OFXAggregateWarning)
        warnings.simplefilter("ignore", OFXTypeWarning)
        for statement in statements:
            account, currency = _statement_account(statement, default_currency)
            for elem in statement.iter("STMTTRN"):
                ordinal += 1
                fitid = (elem.findtext("FITID") or "").strip()
                row_ref = fitid if fitid and fitid not in row_refs else f"{fitid}#{ordinal}"
                row_refs.add(row_ref)
                read = _transaction(
                    elem,
                    row_ref=row_ref,
                    external_id=_external_id(account, fitid),
                    currency=currency,
                    bad_bytes=damaged.get(ordinal),
                    sha256=sha256,
                    team_ref=team_ref,
                )
                if isinstance(read, RawTransaction):
                    rows.append(read)
                else:
                    rejected.append(read)
    tags = len(_STMTTRN_TAG.findall(data))
    rejected.extend(_lost_transactions(tags, ordinal))
    return rows, rejected, max(tags, ordinal)


def _statements(data: bytes) -> list[ET.Element]:
    """The file's statements, refusing a file that is cut off or holds none (with the bank's
    own error, when it sent one instead)."""
    root = _parse_tree(data)
    if not _CLOSING_TAG.search(data):
        # ofxtools does not notice missing end tags, so a cut-off download would import partly.
        raise ImportFileError(
            "the OFX file is incomplete (no closing </OFX> tag): download the statement again"
        )
    statements = [elem for elem in root.iter() if elem.tag in _STATEMENTS]
    if not statements:
        problem = _bank_error(root)
        raise ImportFileError(
            "the OFX file holds no bank, credit card or investment statement"
            + (f" (the bank reported {problem})" if problem else "")
        )
    return statements


def _statement_account(statement: ET.Element, default_currency: str | None) -> tuple[str, str]:
    """The statement's account id and currency, which every one of its rows needs."""
    currency = (statement.findtext("CURDEF") or default_currency or "").strip().upper()
    if not currency:
        raise ImportFileError(
            "an OFX statement has no currency (CURDEF) and no default currency is known"
        )
    account = (statement.findtext(f"{_STATEMENTS[statement.tag]}/ACCTID") or "").strip()
    if not account:
        raise ImportFileError("an OFX statement has no account id (ACCTID)")
    return account, currency


def _transaction(
    elem: ET.Element,
    *,
    row_ref: str,
    external_id: str,
    currency: str,
    bad_bytes: str | None,
    sha256: str,
    team_ref: str,
) -> RawTransaction | dict[str, Any]:
    """One STMTTRN converted on its own, so a bad one is rejected without sinking the others."""
    if bad_bytes is not None:
        return {
            "row_ref": row_ref,
            "raw": _flatten(elem),
            "reason": f"invalid UTF-8 byte(s) {bad_bytes} in this "
            "transaction: the rest of the file is UTF-8, so it is not guessed",
        }
    try:
        trn = _convert(elem)
    except Exception as exc:  # ofxtools raises ValueError, decimal and type errors
        return {"row_ref": row_ref, "raw": _flatten(elem), "reason": _reason(exc, elem)}
    if trn.correctaction:
        return {
            "row_ref": row_ref,
            "raw": _flatten(elem),
            "reason": f"correction ({trn.correctaction} of FITID "
            f"{trn.correctfitid!r}) is not supported: fix the transaction by hand",
        }
    # The date as the bank wrote it: ofxtools converts DTPOSTED to UTC, which moves evening
    # transactions west of Greenwich to the next day.
    posted = (elem.findtext("DTPOSTED") or "").strip()
    payee = trn.payee.name if trn.payee is not None else None
    name = trn.extdname or trn.name or payee
    return RawTransaction(
        source="ofx",
        batch_ref=sha256,
        row_ref=row_ref,
        team_ref=team_ref,
        external_id=external_id,
        booking_date=f"{posted[0:4]}-{posted[4:6]}-{posted[6:8]}",
        amount=plain_decimal(trn.trnamt),
        # CURRENCY means TRNAMT is in that currency; ORIGCURRENCY means TRNAMT was already
        # converted to CURDEF.
        currency=trn.currency.cursym if trn.currency is not None else currency,
        description=_describe(name, trn.memo),
        counterparty=payee or trn.name,
        reference=trn.checknum or trn.refnum,
    )


def _lost_transactions(tags: int, read: int) -> list[dict[str, Any]]:
    """A rejected row for each STMTTRN tag the parser lost, so none disappears unreported."""
    return [
        {
            "row_ref": f"#{missing}",
            "raw": {},
            "reason": f"the file has {tags} <STMTTRN> tags but only {read} could be read "
            "as transactions of a statement: the markup around them is broken",
        }
        for missing in range(read + 1, tags + 1)
    ]
