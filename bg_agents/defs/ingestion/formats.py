"""What an import file may be: accepted suffixes, the size limit, column mappings, and the error
every reader raises.

The readers (``csv_file``, ``ofx_file``) and the dispatcher (``files``) all import these; keeping
them apart from the dispatcher is what lets ``files`` import the readers without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bg_agents.lib.tabular.columns import OPTIONS, check_options, parse_column_map
from bg_agents.lib.tabular.suffixes import TABULAR_SUFFIXES
from bg_agents.lib.tabular.text import TabularError

MAX_FILE_BYTES = 200 * 1024 * 1024
OFX_SUFFIXES = frozenset({".ofx", ".qfx"})
# Statement formats; the readers also recognize their content under another extension.
MT940_SUFFIXES = frozenset({".sta", ".mt940", ".940", ".swi"})
CAMT_SUFFIXES = frozenset({".xml", ".camt"})
QIF_SUFFIXES = frozenset({".qif"})
STATEMENT_SUFFIXES = OFX_SUFFIXES | MT940_SUFFIXES | CAMT_SUFFIXES | QIF_SUFFIXES
# The tabular suffixes are ``bg-agents match``'s too: a file one accepts, the other does.
SUPPORTED_SUFFIXES = TABULAR_SUFFIXES | STATEMENT_SUFFIXES
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
OPTION_FIELDS = OPTIONS

MAPPING_HELP = (
    f"add a mapping file (<file>{MAPPING_SUFFIX} next to the file, or {TEAM_MAPPING_NAME} in the "
    'team folder) such as {"columns": {"date": "<date header>", "amount": "<amount header>"}}, '
    "or holding the line date=<date header>,amount=<amount header>"
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
    decimal: str | None = None  # None: the profile's, else settled from the file's amounts
    default_currency: str | None = None

    def __post_init__(self) -> None:
        if self.amount and (self.debit or self.credit):
            raise ValueError("map either amount or debit/credit columns, not both")
        options = {name: getattr(self, name) for name in OPTION_FIELDS}
        check_options({k: v for k, v in options.items() if v is not None})
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
        """Build from ``{field: header}`` (e.g. a ``ColumnMap``'s columns) plus options."""
        unknown = sorted(set(columns) - set(COLUMN_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown mapping field(s) {', '.join(unknown)}; known: {', '.join(COLUMN_FIELDS)}"
            )
        bad_options = sorted(set(options) - set(OPTION_FIELDS))
        if bad_options:
            raise ValueError(
                f"unknown mapping option(s) {', '.join(bad_options)}; "
                f"known: {', '.join(OPTION_FIELDS)}"
            )
        return cls(**dict(columns), **options)


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
    """Read the mapping for the data file ``path``; None when there is none.

    JSON: ``{"columns": {"date": "Buchungstag", ...}, "date_format": "%d.%m.%Y", "decimal": ",",
    "default_currency": "EUR"}``, or the command line's ``date=Buchungstag,amount=Betrag`` (the
    one column-map syntax ``bg-agents match`` reads too). A broken mapping makes the file
    unusable, so it raises ``ImportFileError`` naming the mapping file.
    """
    if path.suffix.lower() in STATEMENT_SUFFIXES:
        return None  # statements name their fields; a broken CSV mapping must not block them
    source = mapping_path(path)
    if source is None:
        return None
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"mapping file {source.name}: cannot be read ({exc})") from None
    try:
        parsed = parse_column_map(text, COLUMN_FIELDS)
        return ColumnMapping.from_columns(parsed.columns, **parsed.options)
    except (ValueError, TypeError) as exc:
        raise ImportFileError(f"mapping file {source.name}: {exc}") from None
