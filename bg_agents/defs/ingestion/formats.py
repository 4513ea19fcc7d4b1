"""What an import file may be: accepted suffixes, the size limit, column mappings, and the error
every reader raises.

The readers (``csv_file``, ``ofx_file``) and the dispatcher (``files``) all import these; keeping
them apart from the dispatcher is what lets ``files`` import the readers without a cycle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bg_agents.lib.tabular.text import TabularError

MAX_FILE_BYTES = 200 * 1024 * 1024
CSV_SUFFIXES = frozenset({".csv", ".txt"})
OFX_SUFFIXES = frozenset({".ofx", ".qfx"})
SUPPORTED_SUFFIXES = CSV_SUFFIXES | OFX_SUFFIXES
MAPPING_SUFFIX = ".mapping.json"
TEAM_MAPPING_NAME = "mapping.json"

COLUMN_FIELDS = (
    "date",
    "amount",
    "description",
    "currency",
    "external_id",
    "counterparty",
    "reference",
    "category",
    "base_amount",
    "debit",
    "credit",
)
_OPTION_FIELDS = ("date_format", "decimal", "default_currency")

MAPPING_HELP = (
    f"add a mapping file (<file>{MAPPING_SUFFIX} next to the file, or {TEAM_MAPPING_NAME} in the "
    'team folder) such as {"columns": {"date": "<date header>", "amount": "<amount header>"}}, '
    'or pass --map "date=<date header>,amount=<amount header>"'
)


# The whole file is unusable; ``str(exc)`` is the reason the user reads in the error report. The
# shared reader raises it too, so it is one class, not a wrapper to forget at each call.
ImportFileError = TabularError


@dataclass(frozen=True)
class ColumnMapping:
    """Which header holds which field, plus how the file writes dates and numbers.

    Column fields left as None are recognized from the headers (so a mapping may carry only
    ``date_format``/``decimal``). ``debit``/``credit`` replace a signed ``amount`` column; debit is
    money out. ``date_format`` None accepts ISO 8601 and formats that cannot be misread.
    """

    date: str | None = None
    amount: str | None = None
    description: str | None = None
    currency: str | None = None
    external_id: str | None = None
    counterparty: str | None = None
    reference: str | None = None
    category: str | None = None
    base_amount: str | None = None
    debit: str | None = None
    credit: str | None = None
    date_format: str | None = None
    decimal: str = "."
    default_currency: str | None = None

    def __post_init__(self) -> None:
        if self.decimal not in (".", ","):
            raise ValueError(f'decimal must be "." or ",", got {self.decimal!r}')
        if self.amount and (self.debit or self.credit):
            raise ValueError("map either amount or debit/credit columns, not both")
        if self.date_format is not None:
            _check_date_format(self.date_format)
        if self.default_currency is not None and not (
            len(self.default_currency.strip()) == 3 and self.default_currency.strip().isalpha()
        ):
            raise ValueError(
                f"default_currency must be a 3-letter ISO code, got {self.default_currency!r}"
            )
        for name in COLUMN_FIELDS:
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise ValueError(f"column for {name} is empty")

    @property
    def columns(self) -> dict[str, str]:
        """The fields that name a header explicitly."""
        return {name: getattr(self, name) for name in COLUMN_FIELDS if getattr(self, name)}

    @classmethod
    def from_columns(cls, columns: Mapping[str, str], **options: Any) -> ColumnMapping:
        """Build from ``{field: header}`` (e.g. ``parse_mapping_spec`` output) plus options."""
        unknown = sorted(set(columns) - set(COLUMN_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown mapping field(s) {', '.join(unknown)}; known: {', '.join(COLUMN_FIELDS)}"
            )
        bad_options = sorted(set(options) - set(_OPTION_FIELDS))
        if bad_options:
            raise ValueError(
                f"unknown mapping option(s) {', '.join(bad_options)}; "
                f"known: {', '.join(_OPTION_FIELDS)}"
            )
        return cls(**dict(columns), **options)


def _check_date_format(fmt: str) -> None:
    # A user writing "DD.MM.YYYY" would otherwise see every row rejected with a puzzling reason.
    if "%" not in fmt:
        raise ValueError(
            f"date_format must be a strptime format such as '%d.%m.%Y' or '%m/%d/%Y', got {fmt!r}"
        )
    sample = date(2026, 12, 31)
    try:
        parsed = datetime.strptime(sample.strftime(fmt), fmt).date()
    except ValueError as exc:
        raise ValueError(f"date_format {fmt!r} is not usable: {exc}") from None
    if parsed != sample:
        raise ValueError(f"date_format {fmt!r} must contain the day, month and year")


def parse_mapping_spec(spec: str) -> dict[str, str]:
    """``"date=Booking Date,amount=Amount"`` -> ``{"date": "Booking Date", "amount": "Amount"}``."""
    if not spec or not spec.strip():
        raise ValueError(
            'empty mapping: expected "field=Header,..." such as "date=Date,amount=Amount"'
        )
    out: dict[str, str] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        key, sep, header = item.partition("=")
        key, header = key.strip().lower(), header.strip()
        if not sep or not key:
            raise ValueError(f'bad mapping item {item.strip()!r}: expected "field=Header"')
        if key not in COLUMN_FIELDS:
            raise ValueError(
                f"unknown mapping field {key!r}; known fields: {', '.join(COLUMN_FIELDS)}"
            )
        if not header:
            raise ValueError(f"mapping field {key!r} has no header name")
        if key in out:
            raise ValueError(f"mapping field {key!r} is given twice")
        out[key] = header
    if not out:
        raise ValueError(
            'empty mapping: expected "field=Header,..." such as "date=Date,amount=Amount"'
        )
    return out


def mapping_path(path: Path) -> Path | None:
    """The sidecar mapping that applies to ``path``: its own, else the team folder's."""
    own = path.with_name(path.name + MAPPING_SUFFIX)
    try:
        if own.is_file():
            return own
    except OSError:  # the data file's name is too long to have a sidecar: none can exist
        pass
    team = path.parent / TEAM_MAPPING_NAME
    return team if team.is_file() else None


def load_mapping(path: Path) -> ColumnMapping | None:
    """Read the JSON mapping for the data file ``path``; None when there is none.

    JSON: ``{"columns": {"date": "Buchungstag", ...}, "date_format": "%d.%m.%Y", "decimal": ",",
    "default_currency": "EUR"}``. A broken mapping makes the file unusable, so it raises
    ``ImportFileError`` naming the mapping file.
    """
    if path.suffix.lower() in OFX_SUFFIXES:
        return None  # OFX names its fields; a broken CSV mapping must not block it
    source = mapping_path(path)
    if source is None:
        return None
    try:
        data = json.loads(source.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"mapping file {source.name}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"mapping file {source.name}: invalid JSON ({exc})") from None
    try:
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        unknown = sorted(set(data) - {"columns", *_OPTION_FIELDS})
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(unknown)}; known: columns, {', '.join(_OPTION_FIELDS)}"
            )
        columns = data.get("columns") or {}
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise ValueError('"columns" must map field names to header names')
        options = {k: data[k] for k in _OPTION_FIELDS if data.get(k) is not None}
        if not all(isinstance(v, str) for v in options.values()):
            raise ValueError(f"{', '.join(_OPTION_FIELDS)} must be strings")
        return ColumnMapping.from_columns(columns, **options)
    except (ValueError, TypeError) as exc:
        raise ImportFileError(f"mapping file {source.name}: {exc}") from None
