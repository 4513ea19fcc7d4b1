"""CSV bank exports: decode, sniff the delimiter, find the columns, read each row.

Bank CSVs differ in every detail (encoding, delimiter, decimal comma, date order, preamble lines).
A misread amount or date is worse than a rejected row, so anything that reads two ways is settled
from the whole file's evidence or refused with the fix; nothing is guessed per row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bg_agents.defs.ingestion.formats import MAPPING_HELP, ColumnMapping, ImportFileError
from bg_agents.defs.ingestion.raw import RawTransaction

_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_SNIFF_ROWS = 60
_HEADER_SCAN_ROWS = 30  # preamble lines (account number, period...) some banks put above the header

# Recognized headers, normalized (see _norm_header), in order of preference per field: when an
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

_PAREN_SUFFIX = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*$")  # "Amount (EUR)" -> "Amount"
_NON_WORD = re.compile(r"[\W_]+")


def _norm_header(text: str) -> str:
    text = _PAREN_SUFFIX.sub("", text.strip()) or text
    text = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )
    return _NON_WORD.sub(" ", text).strip()


# --- decoding and dialect ---------------------------------------------------------------------


def decode_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (BOM or not), UTF-16 with BOM, else the legacy Windows code page."""
    return _decode(data, keep_bad_bytes=False)


# One invalid byte in a UTF-8 export is one damaged row, not a Windows-1252 file: decoding the
# whole file as cp1252 would turn every "ä" into "Ã¤" and give each row a different derived id
# than the same row from a clean export. So a legacy code page is used only when the file's
# non-ASCII bytes are mostly not UTF-8; otherwise the bad bytes stay marked (as lone surrogates,
# see ``BAD_BYTE``) and the rows holding them are quarantined.
BAD_BYTE = re.compile("[\udc80-\udcff]")


def decode_bank_text(data: bytes) -> str:
    """Like ``decode_text``, but invalid bytes in a UTF-8 file are kept as ``BAD_BYTE`` marks."""
    return _decode(data, keep_bad_bytes=True)


def show_bad_bytes(text: str) -> str:
    """Marked bytes as ``\\xNN`` text, so a quarantined row can be stored and read."""
    return BAD_BYTE.sub(lambda m: f"\\x{ord(m[0]) - 0xDC00:02X}", text)


def _decode(data: bytes, *, keep_bad_bytes: bool) -> str:
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "this is an Excel workbook (.xlsx) or another zip file, not CSV: open it and save it "
            "as CSV (comma or semicolon separated)"
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            "this is an old Excel workbook (.xls), not CSV: open it and save it as CSV"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"the file starts like UTF-16 text but byte {exc.start} is not valid UTF-16: "
                "export it again as UTF-8 CSV"
            ) from None
    else:
        if b"\x00" in data:
            raise ImportFileError(
                "the file holds binary data (NUL bytes), not CSV text: export the statement "
                "as CSV or OFX"
            )
        body = data.removeprefix(codecs.BOM_UTF8)
        text = body.decode("utf-8", errors="surrogateescape")
        bad = len(BAD_BYTE.findall(text))
        if bad:
            good = sum(1 for c in text if c > "\x7f") - bad
            declared = data.startswith(codecs.BOM_UTF8)  # a UTF-8 BOM settles the question
            if not keep_bad_bytes or (bad > good and not declared):
                # Legacy exports are Windows-1252; latin-1 accepts the bytes cp1252 leaves unused.
                try:
                    text = body.decode("cp1252")
                except UnicodeDecodeError:
                    text = body.decode("latin-1")
    if "\x00" in text:
        raise ImportFileError("the file holds binary data (NUL characters), not CSV text")
    return text


def sniff_delimiter(text: str, mapping: ColumnMapping | None = None) -> str:
    """The file's delimiter: the one that splits a leading line into a header naming the date
    and amount columns, else (or among several) the one that splits the most lines into the same
    number (>1) of cells.

    Each physical line is split on its own: a stray quote (``;"Joe's Diner Berlin;``) read by
    one reader over the sample swallows every line after it, so the file's real delimiter lost
    to another that only splits each decimal comma ("-1,00") and the whole file was refused.
    Read line by line, a stray quote costs its delimiter one line, and the header settles it.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    lines = [line for line in _LINES.findall(sample) if line.strip()][:_SNIFF_ROWS]
    best, best_score = ",", (False, 0, 0)
    for delimiter in _DELIMITERS:
        widths: Counter[int] = Counter()
        has_header = False
        for number, line in enumerate(lines):
            try:
                cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
            except csv.Error:
                continue  # an over-long value, say: this line tells nothing
            if len(cells) > 1:
                widths[len(cells)] += 1
                if number < _HEADER_SCAN_ROWS and not has_header:
                    stripped = [c.strip() for c in cells]
                    has_header = _is_complete(_resolve_columns(stripped, mapping), mapping)
        if widths:
            width, rows = max(widths.items(), key=lambda item: (item[1], item[0]))
            if (has_header, rows, width) > best_score:
                best, best_score = delimiter, (has_header, rows, width)
    return best


def _records_of(reader: Any) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise ImportFileError(
            f"the file is not valid CSV near line {reader.line_num} ({exc}); this is usually a "
            "quote that is never closed"
        ) from None


# A physical line ends at \r\n, \r or \n, as for the csv module with newline="".
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# A quoted value longer than this that spans lines is a stray quote, not a bank's memo.
MAX_MULTILINE_VALUE = 1_000


class _Record(list[str]):
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
    return False


def _data_records(text: str, delimiter: str, start: int, width: int) -> Iterator[_Record]:
    """Records from physical line ``start`` (0-based) on, each knowing where it starts.

    The reader, not the parser, decides what a row is: when a quote swallows following lines
    (see ``_swallows``), only its own line is yielded, with the problem, and reading resumes on
    the next line, so the swallowed rows are read as themselves instead of vanishing into one
    value. A quote left open at the end of the file is the same case.
    """
    lines = _LINES.findall(text)
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
                record = _Record([lines[at].rstrip("\r\n")])
                record.line, record.problem = at + 1, f"this line is not valid CSV ({exc})"
                if reader.line_num - before > 1:
                    record.problem += "; a quote opened on this line is never closed"
                yield record
                at += 1
                break
            used = reader.line_num - before
            record = _Record(cells)
            record.line = at + 1
            if used > 1 and _swallows(cells, lines[at : at + used], delimiter, width):
                record = _Record([lines[at].rstrip("\r\n")])
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


# --- header -----------------------------------------------------------------------------------


def _resolve_columns(cells: list[str], mapping: ColumnMapping | None) -> dict[str, int]:
    """Field -> cell index: the mapping's headers first, then recognized names for the rest."""
    normed = [_norm_header(c) for c in cells]
    explicit = mapping.columns if mapping else {}
    columns: dict[str, int] = {}
    for field_name, header in explicit.items():
        wanted = header.strip()
        index = next((i for i, c in enumerate(cells) if c == wanted), None)
        if index is None:
            key = _norm_header(wanted)
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
    for record in itertools.islice(_records_of(reader), _HEADER_SCAN_ROWS):
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
    normed = [_norm_header(c) for c in cells]
    for field_name, index in columns.items():
        count = normed.count(normed[index])
        if count > 1:
            raise ImportFileError(
                f'the header "{cells[index]}" appears {count} times, so the {field_name} column '
                "is ambiguous: rename the columns so each header is unique"
            )


def _missing_columns_message(cells: list[str], mapping: ColumnMapping | None) -> str:
    found = ", ".join(f'"{c}"' for c in cells if c) or "(none)"
    if any(_parse_date_auto(c, "dmy") for c in cells):
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


# --- dates ------------------------------------------------------------------------------------

_TIME = (
    r"(?:[T ]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
)
_YMD = re.compile(rf"(\d{{4}})([-/.])(\d{{1,2}})\2(\d{{1,2}}){_TIME}")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DMY_DOT = re.compile(rf"(\d{{1,2}})\.(\d{{1,2}})\.(\d{{4}}|\d{{2}}){_TIME}")
_NUMERIC = re.compile(rf"(\d{{1,2}})([/-])(\d{{1,2}})\2(\d{{4}}|\d{{2}}){_TIME}")
_NAMED_DMY = re.compile(rf"(\d{{1,2}})[ -]([A-Za-z]{{3,9}})\.?,?[ -](\d{{4}}|\d{{2}}){_TIME}")
_NAMED_MDY = re.compile(rf"([A-Za-z]{{3,9}})\.? (\d{{1,2}}),? (\d{{4}}){_TIME}")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}


def _iso(year: int, month: int, day: int) -> str | None:
    if not 1900 <= year <= 2199:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _year(text: str) -> int:
    return int(text) if len(text) == 4 else 2000 + int(text)


def _parse_date_auto(text: str, order: str) -> str | None:
    """ISO date for formats that read one way only; ``order`` settles dd/mm vs mm/dd."""
    if m := _YMD.fullmatch(text):
        return _iso(int(m[1]), int(m[3]), int(m[4]))
    if m := _COMPACT.fullmatch(text):
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY_DOT.fullmatch(text):  # dotted dates are day-first wherever they are used
        return _iso(_year(m[3]), int(m[2]), int(m[1]))
    if m := _NUMERIC.fullmatch(text):
        a, b = int(m[1]), int(m[3])
        return _iso(_year(m[4]), b, a) if order == "dmy" else _iso(_year(m[4]), a, b)
    if (m := _NAMED_DMY.fullmatch(text)) and (month := _MONTHS.get(m[2].lower())):
        return _iso(_year(m[3]), month, int(m[1]))
    if (m := _NAMED_MDY.fullmatch(text)) and (month := _MONTHS.get(m[1].lower())):
        return _iso(int(m[3]), month, int(m[2]))
    return None


def numeric_date_order(values: Iterable[str]) -> str:
    """Day-first ("dmy") or month-first ("mdy") for dates like 03/04/2026, settled by the file.

    Raises ImportFileError when no date in the file settles it.
    """
    day_first = month_first = 0
    example: re.Match[str] | None = None
    for value in values:
        m = _NUMERIC.fullmatch(value)
        if m is None:
            continue
        a, b, year = int(m[1]), int(m[3]), _year(m[4])
        dmy, mdy = _iso(year, b, a) is not None, _iso(year, a, b) is not None
        day_first += dmy
        month_first += mdy
        if dmy and mdy and a != b and example is None:
            example = m
    if day_first != month_first or example is None:
        return "mdy" if month_first > day_first else "dmy"
    sep, year = example[2], "%Y" if len(example[4]) == 4 else "%y"
    raise ImportFileError(
        f'dates such as "{example[0]}" could be day/month or month/day, and no date in the file '
        f'settles it: add "date_format": "%d{sep}%m{sep}{year}" (or "%m{sep}%d{sep}{year}") to a '
        "mapping file (<file>.mapping.json next to the file, or mapping.json in the team folder)"
    )


class _DateReader:
    """Cell text -> ISO date or None, cached: exports repeat the same few hundred dates."""

    def __init__(self, date_format: str | None, order: str) -> None:
        self.date_format = date_format
        self.order = order
        self.cache: dict[str, str | None] = {}

    def __call__(self, text: str) -> str | None:
        try:
            return self.cache[text]
        except KeyError:
            pass
        if self.date_format is None:
            value = _parse_date_auto(text, self.order)
        else:
            try:
                value = datetime.strptime(text, self.date_format).date().isoformat()
            except ValueError:
                value = None
        self.cache[text] = value
        return value

    def reason(self, text: str) -> str:
        if self.date_format:
            return f"bad date {text!r} (expected format {self.date_format!r})"
        return f"bad date {text!r}"


# --- amounts ----------------------------------------------------------------------------------

# Currency marks that may surround an amount: ISO codes, local abbreviations, and the Unicode
# currency symbols ($, ¢-¥, ₠-₿ ...).
_CURRENCY = (
    r"(?:[A-Z]{3}|[A-Z]{1,2}\$|kr\.?|zł|Kč|Ft|lei|Rs\.?|Fr\.?"
    r"|[$\u00a2-\u00a5\u058f\u060b\u09f2\u09f3\u0e3f\u17db\u20a0-\u20cf\ufdfc\uff04\uffe0\uffe1\uffe5\uffe6])"
)
_AMOUNT = re.compile(
    rf"(?P<pre>(?:[-+(\s]|{_CURRENCY})*)(?P<num>\d[\d.,' ]*\d|\d|[.,]\d+)"
    rf"(?P<post>(?:[-+)\s]|{_CURRENCY})*)"
)
_PLAIN = {
    ".": re.compile(r"-?\d+(?:\.\d+)?"),
    ",": re.compile(r"-?\d+(?:,\d+)?"),
}


# A number in the file's convention: plain, or grouped in thousands (or Indian lakhs) by one
# separator used throughout.
def _number_pattern(point: str, separators: str) -> re.Pattern[str]:
    p = re.escape(point)
    return re.compile(
        rf"(?P<int>\d*)(?:{p}(?P<frac>\d+))?"
        rf"|(?P<gint>\d{{1,3}}(?P<g>[{separators}])(?:\d{{2,3}}(?P=g))*\d{{3}})(?:{p}(?P<gfrac>\d+))?"
    )


_NUMBER = {".": _number_pattern(".", ",' "), ",": _number_pattern(",", ".' ")}
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2212": "-"})
_COMMA_DECIMAL = re.compile(r"\d,\d{1,2}(?!\d)|\d\.\d{3},")
_DOT_DECIMAL = re.compile(r"\d\.\d{1,2}(?!\d)|\d,\d{3}\.")


def parse_amount_text(text: str, decimal: str) -> str | None:
    """A bank's amount text -> plain signed decimal ("-1234.56"), or None if it is not one.

    Handles thousands separators, a decimal comma, (parentheses) and trailing minus for
    negatives, a leading +, and currency symbols or codes on either side.
    """
    if _PLAIN[decimal].fullmatch(text):
        plain = text.replace(",", ".") if decimal == "," else text
        return _drop_negative_zero(plain)
    m = _AMOUNT.fullmatch(text.translate(_SPACES).strip())
    if m is None:
        return None
    pre, post = m["pre"], m["post"]
    minus = pre.count("-") + post.count("-")
    plus = pre.count("+") + post.count("+")
    parens = pre.count("(")
    if parens != post.count(")") or minus + plus + parens > 1:
        return None
    n = _NUMBER[decimal].fullmatch(m["num"])
    if n is None:
        return None
    if n["gint"]:
        whole, frac = n["gint"].replace(n["g"], ""), n["gfrac"]
    else:
        whole, frac = n["int"] or "0", n["frac"]
    plain = f"{'-' if minus or parens else ''}{whole}{'.' + frac if frac else ''}"
    return _drop_negative_zero(plain)


def _drop_negative_zero(plain: str) -> str:
    if plain.startswith("-") and not plain.strip("-0."):
        return plain[1:]
    return plain


def _is_zero(plain: str) -> bool:
    return not plain.strip("-0.")


def _amount_reason(label: str, text: str, decimal: str) -> str:
    reason = f"bad {label} {text!r}"
    if decimal == "." and _COMMA_DECIMAL.search(text) and not _DOT_DECIMAL.search(text):
        reason += ' (it looks like a decimal comma: set "decimal": "," in the mapping)'
    elif decimal == "," and _DOT_DECIMAL.search(text) and not _COMMA_DECIMAL.search(text):
        reason += ' (it looks like a decimal point: set "decimal": "." in the mapping)'
    return reason


def _guess_decimal(comma: int, dot: int) -> str:
    return "," if comma > dot else "."


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
) -> tuple[dict[str, None], int, int]:
    """Distinct date cells (in file order) and decimal-comma/point evidence, read up front."""
    dates: dict[str, None] = {}
    comma = dot = 0
    comma_search, dot_search = _COMMA_DECIMAL.search, _DOT_DECIMAL.search
    for record in records:
        if date_index < len(record):
            dates[record[date_index].strip()] = None
        for index in money:
            if index < len(record):
                cell = record[index]
                if "," in cell and comma_search(cell):
                    comma += 1
                elif "." in cell and dot_search(cell):
                    dot += 1
    dates.pop("", None)
    return dates, comma, dot


def parse_csv(
    data: bytes,
    *,
    sha256: str,
    team_ref: str,
    mapping: ColumnMapping | None,
    default_currency: str | None,
) -> tuple[list[RawTransaction], list[dict[str, Any]], int]:
    """Rows whose date and amount could be read, the rejected rows with their reasons, and the
    number of non-blank data rows the reader saw (each one is in exactly one of the lists)."""
    text = decode_bank_text(data)
    if not text.strip():
        raise ImportFileError("the file is empty")
    delimiter = sniff_delimiter(text, mapping)
    header_at, header, columns = _find_header(text, delimiter, mapping)
    # A trailing delimiter on the header line only adds empty columns that rows may omit.
    while header and not header[-1]:
        header.pop()
    names = [show_bad_bytes(name) for name in _cell_names(header)]
    width = len(header)

    fallback = (mapping.default_currency if mapping else None) or default_currency
    fallback = (fallback or "").strip().upper()
    if "currency" not in columns and not fallback:
        raise ImportFileError(
            'the file has no currency column and no default currency is known: add "currency" '
            'to the mapping\'s columns, or "default_currency": "EUR" (your code) to it'
        )

    date_format = mapping.date_format if mapping else None
    money = [columns[f] for f in _MONEY_FIELDS if f in columns]
    dates: dict[str, None] = {}
    comma = dot = 0
    if date_format is None or mapping is None:
        dates, comma, dot = _survey(
            (r for r in _data_records(text, delimiter, header_at, width) if r.problem is None),
            columns["date"],
            money,
        )
    decimal = mapping.decimal if mapping else _guess_decimal(comma, dot)
    order = numeric_date_order(dates) if date_format is None else "dmy"
    read_date = _DateReader(date_format, order)

    col = columns.get
    i_date = columns["date"]
    i_amount, i_debit, i_credit = col("amount"), col("debit"), col("credit")
    i_base, i_desc = col("base_amount"), col("description")
    i_cur, i_id = col("currency"), col("external_id")
    i_party, i_ref, i_cat = col("counterparty"), col("reference"), col("category")
    money_cells = [i for i in (i_amount, i_debit, i_credit) if i is not None]

    rows: list[RawTransaction] = []
    rejected: list[dict[str, Any]] = []
    occurrences: dict[str, int] = {}

    def reject(row_no: int, record: list[str], reason: str) -> None:
        cell_names = names + [f"column {i}" for i in range(width + 1, len(record) + 1)]
        rejected.append(
            {
                "row_ref": str(row_no),
                "raw": dict(zip(cell_names, map(show_bad_bytes, record), strict=False)),
                "reason": reason,
            }
        )

    seen = 0
    has_bad_bytes = BAD_BYTE.search(text) is not None
    for row_no, record in enumerate(_data_records(text, delimiter, header_at, width), 1):
        if not any(c.strip() for c in record):
            continue
        seen += 1
        if record.problem is not None:
            rejected.append(
                {
                    "row_ref": str(row_no),
                    "raw": {"line": record.line, "text": show_bad_bytes(record[0])},
                    "reason": record.problem,
                }
            )
            continue
        if len(record) != width:
            if not any(c.strip() for c in record):
                continue
            if len(record) < width:
                reject(row_no, record, f"row has {len(record)} cells but the header has {width}")
                continue
            if any(c.strip() for c in record[width:]):
                reject(
                    row_no,
                    record,
                    f"row has {len(record)} cells but the header has {width} (an unquoted "
                    f"{'tab' if delimiter == chr(9) else repr(delimiter)} inside a value?)",
                )
                continue
        if has_bad_bytes and (bad := sorted({m[0] for c in record for m in BAD_BYTE.finditer(c)})):
            shown = ", ".join(show_bad_bytes(b).replace("\\x", "0x") for b in bad)
            reject(
                row_no,
                record,
                f"invalid UTF-8 byte(s) {shown} in this row: the rest of the file is UTF-8, so "
                "the row is not guessed; export it again or fix it by hand",
            )
            continue
        date_text = record[i_date].strip()
        if not date_text and not any(record[i].strip() for i in money_cells):
            if any(c.strip() for c in record):
                reject(row_no, record, "no date and no amount in this row")
            continue

        problems: list[str] = []
        booking_date = read_date(date_text) if date_text else None
        if booking_date is None:
            problems.append(read_date.reason(date_text) if date_text else "missing date")
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
            amount = _debit_credit(record, i_debit, i_credit, decimal, problems)
        base_amount = None
        if i_base is not None and (base_text := record[i_base].strip()):
            base_amount = parse_amount_text(base_text, decimal)
            if base_amount is None:
                problems.append(_amount_reason("base amount", base_text, decimal))
        if problems or booking_date is None or amount is None:
            reject(row_no, record, "; ".join(problems))
            continue

        description = record[i_desc].strip() if i_desc is not None else ""
        counterparty = (record[i_party].strip() or None) if i_party is not None else None
        reference = (record[i_ref].strip() or None) if i_ref is not None else None
        external_id = record[i_id].strip() if i_id is not None else ""
        if not external_id:
            key = content_key(booking_date, amount, description, counterparty, reference)
            occurrence = occurrences[key] = occurrences.get(key, 0) + 1
            external_id = derived_external_id(key, occurrence)
        currency = (record[i_cur].strip().upper() if i_cur is not None else "") or fallback
        rows.append(
            RawTransaction(
                source="csv",
                batch_ref=sha256,
                row_ref=str(row_no),
                team_ref=team_ref,
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
        )
    return rows, rejected, seen


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
    nonzero = {label: v for label, v in values.items() if not _is_zero(v)}
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
