"""Column maps: which of a file's columns holds which field, and how the file writes its values.

One syntax for imports and ``bg-agents match``, in either spelling a user already knows: the
command line's ``"id=unique_id,name=payee+memo"`` or the JSON of an import's mapping file
(``{"columns": {"date": "Buchungstag"}, "decimal": ","}``). Both parse into one ``ColumnMap``,
and both say what is wrong and how to write it right.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# How the file writes its values, beside the columns (JSON spelling only).
OPTIONS = ("date_format", "decimal", "default_currency")


_PAREN_SUFFIX = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*$")  # "Amount (EUR)" -> "Amount"
_NON_WORD = re.compile(r"[\W_]+")


def _plain(text: str) -> str:
    text = "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )
    return _NON_WORD.sub(" ", text).strip()


def fold_header(text: str) -> str:
    """A header without case, accents or punctuation, its unit suffix kept: "Amount (EUR)" and
    "Amount (Foreign Currency)" stay two headers."""
    return _plain(text.strip())


def norm_header(text: str) -> str:
    """A header as compared: no case, accents, punctuation or unit suffix ("Amount (EUR)")."""
    return _plain(_PAREN_SUFFIX.sub("", text.strip()) or text)


def find_column(wanted: str, columns: Sequence[str]) -> str | None:
    """The file's column called ``wanted``: exactly, else the only one that is the same but for
    case, accents and punctuation ("Base-Amount", "Währung"), else the only one that is the same
    but for a unit suffix too ("Amount (EUR)"). None when there is none or it reads two ways."""
    if wanted in columns:
        return wanted
    for key in (_plain, norm_header):
        found = [c for c in columns if key(c) == key(wanted)]
        if found:
            return found[0] if len(found) == 1 else None
    return None


class ColumnMapError(ValueError):
    """A column map cannot be used; the text says what to write instead."""


@dataclass(frozen=True)
class ColumnMap:
    """Field -> the file's column (``"payee+memo"`` joins columns for a joinable field), plus
    the options that say how the file writes dates (strptime), decimals and its currency."""

    columns: Mapping[str, str]
    options: Mapping[str, str] = field(default_factory=dict)


def parse_column_map(
    text: str,
    fields: Collection[str],
    *,
    joinable: Collection[str] = (),
    example: str = "date=Date,amount=Amount",
) -> ColumnMap:
    """Either spelling -> ``ColumnMap``: JSON when the text is an object, else ``field=column``."""
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ColumnMapError(f"invalid JSON ({exc})") from None
        return column_map_from_json(data, fields, joinable=joinable)
    return ColumnMap(_parse_pairs(text, fields, joinable, example))


def _parse_pairs(
    text: str, fields: Collection[str], joinable: Collection[str], example: str
) -> dict[str, str]:
    empty = f'empty column map: expected "field=column,..." such as "{example}"'
    if not text or not text.strip():
        raise ColumnMapError(empty)
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue  # a trailing comma
        key, sep, column = item.partition("=")
        key, column = key.strip().lower(), column.strip()
        if not sep or not key:
            raise ColumnMapError(
                f'bad column map entry {item.strip()!r}: expected "field=column" '
                f'(for example "{example}")'
            )
        _check_entry(key, column, fields, joinable)
        if key in out:
            raise ColumnMapError(f"the column map gives {key!r} twice")
        out[key] = column
    if not out:
        raise ColumnMapError(empty)
    return out


def _check_entry(key: str, column: str, fields: Collection[str], joinable: Collection[str]) -> None:
    if key not in fields:
        raise ColumnMapError(
            f"unknown field {key!r} in the column map; the fields are: {', '.join(fields)}"
        )
    if not column:
        raise ColumnMapError(f'the column map gives no column for {key!r}: write "{key}=<column>"')
    if key in joinable and any(not part.strip() for part in column.split("+")):
        raise ColumnMapError(
            f'bad {key} columns {column!r}: join column names with "+", e.g. "{key}=payee+memo"'
        )


def column_map_from_json(
    data: Any, fields: Collection[str], *, joinable: Collection[str] = ()
) -> ColumnMap:
    """The JSON spelling (already decoded) -> ``ColumnMap``, options checked."""
    if not isinstance(data, dict):
        raise ColumnMapError("expected a JSON object")
    unknown = sorted(set(data) - {"columns", *OPTIONS})
    if unknown:
        raise ColumnMapError(
            f"unknown key(s) {', '.join(unknown)}; known: columns, {', '.join(OPTIONS)}"
        )
    columns = data.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ColumnMapError('"columns" must map field names to column names')
    options = {k: data[k] for k in OPTIONS if data.get(k) is not None}
    if not all(isinstance(v, str) for v in options.values()):
        raise ColumnMapError(f"{', '.join(OPTIONS)} must be strings")
    out: dict[str, str] = {}
    for key, column in columns.items():
        key, column = key.strip().lower(), column.strip()
        _check_entry(key, column, fields, joinable)
        out[key] = column
    check_options(options)
    return ColumnMap(out, options)


def check_options(options: Mapping[str, str]) -> None:
    """Refuse an option that would make every row fail with a puzzling reason."""
    decimal = options.get("decimal")
    if decimal is not None and decimal not in (".", ","):
        raise ColumnMapError(f'decimal must be "." or ",", got {decimal!r}')
    fmt = options.get("date_format")
    if fmt is not None:
        check_date_format(fmt)
    currency = options.get("default_currency")
    if currency is not None and not (len(currency.strip()) == 3 and currency.strip().isalpha()):
        raise ColumnMapError(f"default_currency must be a 3-letter ISO code, got {currency!r}")


def check_date_format(fmt: str) -> None:
    """A strptime format that reads a whole date; "DD.MM.YYYY" is refused with the right form."""
    if "%" not in fmt:
        raise ColumnMapError(
            f"date_format must be a strptime format such as '%d.%m.%Y' or '%m/%d/%Y', got {fmt!r}"
        )
    sample = date(2026, 12, 31)
    try:
        parsed = datetime.strptime(sample.strftime(fmt), fmt).date()
    except ValueError as exc:
        raise ColumnMapError(f"date_format {fmt!r} is not usable: {exc}") from None
    if parsed != sample:
        raise ColumnMapError(f"date_format {fmt!r} must contain the day, month and year")
