"""Text files of rows: decode the bytes, sniff the delimiter, split the text into records.

Imports and ``bg-agents match`` read the same exports, so they decode and split them the same way.
A file that cannot be read at all raises ``TabularError`` with the reason a user reads.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any


class TabularError(Exception):
    """The whole file is unusable; ``str(exc)`` is the reason the user reads."""


DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_SNIFF_ROWS = 60
HEADER_SCAN_ROWS = 30  # preamble lines (account number, period...) some banks put above the header


# One invalid byte in a UTF-8 export is one damaged row, not a Windows-1252 file: decoding the
# whole file as cp1252 would turn every "ä" into "Ã¤" and give each row a different derived id
# than the same row from a clean export. So a legacy code page is used only when the file's
# non-ASCII bytes are mostly not UTF-8; otherwise the bad bytes stay marked (as lone surrogates,
# see ``BAD_BYTE``) and the rows holding them are quarantined.
BAD_BYTE = re.compile("[\udc80-\udcff]")


def decode_bank_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (BOM or not), UTF-16 with BOM, else the legacy Windows code page;
    invalid bytes in a UTF-8 file are kept as ``BAD_BYTE`` marks (see ``bad_bytes_reason``)."""
    return _decode(data)[0]


def decode_bank_text_as(data: bytes) -> tuple[str, str]:
    """``decode_bank_text`` and the encoding it read ("utf-8", "utf-8-sig", "utf-16", "cp1252",
    "latin-1"), which ``--detect`` shows so a user sees why "ä" came out right or wrong."""
    return _decode(data)


def show_bad_bytes(text: str) -> str:
    """Marked bytes as ``\\xNN`` text, so a quarantined row can be stored and read."""
    return BAD_BYTE.sub(lambda m: f"\\x{ord(m[0]) - 0xDC00:02X}", text)


def bad_bytes_reason(cells: list[str]) -> str | None:
    """Why a row holding marked bytes (``decode_bank_text``) is not read, or None if it holds
    none: its text would be a guess, and the same row from a clean export would differ."""
    bad = sorted({m[0] for c in cells for m in BAD_BYTE.finditer(c)})
    if not bad:
        return None
    shown = ", ".join(show_bad_bytes(b).replace("\\x", "0x") for b in bad)
    return (
        f"invalid UTF-8 byte(s) {shown} in this row: the rest of the file is UTF-8, so "
        "the row is not guessed; export it again or fix it by hand"
    )


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"PK\x03\x04"):
        raise TabularError(
            "this is an Excel workbook (.xlsx) or another zip file, not CSV: open it and save it "
            "as CSV (comma or semicolon separated)"
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TabularError(
            "this is an old Excel workbook (.xls), not CSV: open it and save it as CSV"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise TabularError(
                f"the file starts like UTF-16 text but byte {exc.start} is not valid UTF-16: "
                "export it again as UTF-8 CSV"
            ) from None
    else:
        if b"\x00" in data:
            raise TabularError(
                "the file holds binary data (NUL bytes), not CSV text: export the statement "
                "as CSV or OFX"
            )
        body = data.removeprefix(codecs.BOM_UTF8)
        encoding = "utf-8-sig" if len(body) < len(data) else "utf-8"
        text = body.decode("utf-8", errors="surrogateescape")
        bad = len(BAD_BYTE.findall(text))
        if bad:
            good = sum(1 for c in text if c > "\x7f") - bad
            declared = data.startswith(codecs.BOM_UTF8)  # a UTF-8 BOM settles the question
            if bad > good and not declared:
                # Legacy exports are Windows-1252; latin-1 accepts the bytes cp1252 leaves unused.
                try:
                    text, encoding = body.decode("cp1252"), "cp1252"
                except UnicodeDecodeError:
                    text, encoding = body.decode("latin-1"), "latin-1"
    if "\x00" in text:
        raise TabularError("the file holds binary data (NUL characters), not CSV text")
    return text, encoding


def sniff_delimiter(text: str, is_header: Callable[[list[str]], bool] | None = None) -> str:
    """The file's delimiter: the one that splits a leading line into cells ``is_header`` accepts
    as the header, else (or among several) the one that splits the most lines into the same
    number (>1) of cells.

    Each physical line is split on its own: a stray quote (``;"Joe's Diner Berlin;``) read by
    one reader over the sample swallows every line after it, so the file's real delimiter lost
    to another that only splits each decimal comma ("-1,00") and the whole file was refused.
    Read line by line, a stray quote costs its delimiter one line, and the header settles it.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    lines = [line for line in LINES.findall(sample) if line.strip()][:_SNIFF_ROWS]
    best, best_score = ",", (False, 0, 0)
    for delimiter in DELIMITERS:
        widths: Counter[int] = Counter()
        has_header = False
        for number, line in enumerate(lines):
            try:
                cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
            except csv.Error:
                continue  # an over-long value, say: this line tells nothing
            if len(cells) > 1:
                widths[len(cells)] += 1
                if number < HEADER_SCAN_ROWS and not has_header and is_header is not None:
                    has_header = is_header([c.strip() for c in cells])
        if widths:
            width, rows = max(widths.items(), key=lambda item: (item[1], item[0]))
            if (has_header, rows, width) > best_score:
                best, best_score = delimiter, (has_header, rows, width)
    return best


def records_of(reader: Any) -> Iterator[list[str]]:
    """The csv reader's records; a quote never closed is ``TabularError`` naming the line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise TabularError(
            f"the file is not valid CSV near line {reader.line_num} ({exc}); this is usually a "
            "quote that is never closed"
        ) from None


# A physical line ends at \r\n, \r or \n, as for the csv module with newline="".
LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# A quoted value longer than this that spans lines is a stray quote, not a bank's memo.
MAX_MULTILINE_VALUE = 1_000


class Record(list[str]):
    """A record's cells, the physical line it starts on and, for a line that could not be read
    as a record of its own, the reason."""

    line: int = 0
    problem: str | None = None


def _swallows(cells: list[str], block: list[str], delimiter: str, width: int) -> bool:
    """Whether a record that spans several lines is a stray quote eating whole rows.

    Banks do quote memos with line breaks; such a record has the header's width and none of its
    inner lines reads as a row by itself. A stray quote (``"Joe's Diner, Berlin``) runs on until
    the next quote, so its record has the wrong width or swallows lines that are full rows.
    """
    if len(cells) < width or any(c.strip() for c in cells[width:]):
        return True
    if any(len(c) > MAX_MULTILINE_VALUE for c in cells):
        return True
    # A bank's memo is well-formed: its closing quote ends the value. Stray quotes on two
    # neighbouring lines pair up instead and leave text after the second one ('"Joe's Diner;TX5
    # <newline> ...;"Joe's Diner;TX6' reads as one value, then "Joe's Diner"), which a strict
    # reader refuses: without this, two rows became one and a row vanished uncounted.
    try:
        next(csv.reader(block, delimiter=delimiter, skipinitialspace=True, strict=True))
    except csv.Error:
        return True
    for line in block[1:-1]:
        alone = next(csv.reader([line], delimiter=delimiter), [])
        if len(alone) >= max(2, width - 1):
            return True
    # Two stray quotes in the same column of neighbouring rows ('...;"-22,21;EUR' then
    # '...;-23,22";EUR') pair up into a record of exactly the header's width that a strict reader
    # accepts, so the two rows read as one. Read with quotes as plain text, each of those lines is
    # a whole row by itself; a memo's first and last lines are not (its text holds the delimiter
    # only by chance, and would need to hold it many times on both lines).
    whole = 0
    for line in (block[0], block[-1]):
        try:
            plain = next(csv.reader([line], delimiter=delimiter, quoting=csv.QUOTE_NONE), [])
        except csv.Error:  # an over-long line: no row by itself
            continue
        whole += len(plain) >= max(2, width)
    return whole == 2


def data_records(text: str, delimiter: str, start: int, width: int) -> Iterator[Record]:
    """Records from physical line ``start`` (0-based) on, each knowing where it starts.

    The reader, not the parser, decides what a row is: when a quote swallows following lines
    (see ``_swallows``), only its own line is yielded, with the problem, and reading resumes on
    the next line, so the swallowed rows are read as themselves instead of vanishing into one
    value. A quote left open at the end of the file is the same case.
    """
    lines = LINES.findall(text)
    at = start
    while at < len(lines):
        # line_num counts the lines the reader took from its source, so it tells how many
        # physical lines each record used.
        reader = csv.reader(
            itertools.islice(lines, at, None), delimiter=delimiter, skipinitialspace=True
        )
        while at < len(lines):
            before = reader.line_num
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                record = Record([lines[at].rstrip("\r\n")])
                record.line, record.problem = at + 1, f"this line is not valid CSV ({exc})"
                if reader.line_num - before > 1:
                    record.problem += "; a quote opened on this line is never closed"
                yield record
                at += 1
                break
            used = reader.line_num - before
            record = Record(cells)
            record.line = at + 1
            if used > 1 and _swallows(cells, lines[at : at + used], delimiter, width):
                record = Record([lines[at].rstrip("\r\n")])
                record.line = at + 1
                record.problem = (
                    f"a quote opened on line {at + 1} is not closed on that line and would "
                    f"swallow the next {used - 1} line(s) into one value: fix the quote in "
                    "this line and import the file again"
                )
                yield record
                at += 1
                break  # a fresh reader from the next line: the swallowed lines are rows
            yield record
            at += used


def line_endings(text: str) -> str:
    """ "CRLF", "LF", "CR" (old Mac, as some accounting exports still write) or "mixed"; all
    read alike (see ``LINES``), this only tells ``--detect`` what the file holds."""
    crlf = text.count("\r\n")
    cr, lf = text.count("\r") - crlf, text.count("\n") - crlf
    kinds = [name for name, count in (("CRLF", crlf), ("LF", lf), ("CR", cr)) if count]
    if len(kinds) > 1:
        return "mixed"
    return kinds[0] if kinds else "none"
