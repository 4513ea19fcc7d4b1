"""``bg-agents match`` as a function: options checked, two exports read, matched and written.

The CLI stays a thin shell around :func:`match_files`; exports.py reads and writes the files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from bg_agents.defs.reconciliation.matcher.config import MatcherConfig, profile
from bg_agents.defs.reconciliation.matcher.exports import (
    READ_SUFFIXES,
    InputError,
    MissingColumns,
    Table,
    check_input_path,
    check_output_path,
    read_sides,
    read_table,
    write_pairs,
)
from bg_agents.defs.reconciliation.matcher.learned import MIN_ROWS_TO_LEARN, collector_paused
from bg_agents.defs.reconciliation.matcher.matcher import Progress, match
from bg_agents.defs.reconciliation.matcher.rules import Side
from bg_agents.defs.reconciliation.matcher.types import MatchResult
from bg_agents.lib.forked import beside
from bg_agents.lib.tabular.columns import ColumnMap

# --- the whole run -------------------------------------------------------------------------------

# A right file at least this large (about 13,000 rows of a bank export) is read in a child
# process beside the left one: below it, the fork costs about what it saves.
FORK_BYTES = 1_000_000


@dataclass(frozen=True)
class InputRows:
    """One input's rows; for a file read as a bank export also how it was read (its format and
    the columns used, for the summary) and what a user should know (a statement whose balances
    do not add up)."""

    sides: list[Side]
    read_as: str = ""  # "" when read by the matcher's own columns
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BankReader:
    """How a file the matcher's columns do not describe is read: as a bank export, the way
    ``bg-agents import`` reads one (known layouts, headers in six languages, title lines above
    the header, debit and credit columns, OFX, MT940, camt, QIF). The CLI passes the import's
    readers in: the reconciliation domain does not depend on the ingestion domain."""

    # (path, default currency, a map's options: date_format, decimal, default_currency)
    read: Callable[[Path, str | None, Mapping[str, str]], InputRows]
    suffixes: frozenset[str]  # every suffix it reads, CSV and Parquet included


def _read_side(
    path: Path,
    column_map: ColumnMap | Mapping[str, str] | None,
    currency: str | None,
    table: Table | None,
    bank: BankReader | None,
) -> InputRows:
    """One input's rows: by the matcher's columns (named like the fields, or mapped); a file
    without them, and with no map naming columns, as a bank export when a reader is given."""
    given = column_map if isinstance(column_map, ColumnMap) else ColumnMap(column_map or {})
    if table is None and path.suffix.lower() not in READ_SUFFIXES and bank is not None:
        return bank.read(path, currency, given.options)  # a statement: no columns at all
    try:
        return InputRows(read_sides(path, given, default_currency=currency, table=table))
    except MissingColumns as missing:
        if bank is None or given.columns:
            raise
        try:
            return bank.read(path, currency, given.options)
        except MissingColumns:
            raise missing from None  # no bank export either: the matcher's columns are the fix
        except InputError as exc:
            raise InputError(
                f"{exc}\n(The file lacks the matcher's own columns, so it was read as a bank "
                "export, as bg-agents import reads one. In bg-agents match a mapping's options "
                """go in a JSON map, e.g. --left-map '{"date_format": "%d.%m.%Y"}', and the """
                "currency of a file without one in --currency; a map naming columns reads the "
                "file by the matcher's fields instead.)"
            ) from None


def _read_table_of(path: Path, column_map: ColumnMap | Mapping[str, str] | None) -> Table | None:
    """The cells of a CSV or Parquet file (None for a bank statement format)."""
    return read_table(path, column_map) if path.suffix.lower() in READ_SUFFIXES else None


@dataclass(frozen=True)
class Summary:
    left_file: str
    right_file: str
    out: str
    profile: str
    left_rows: int
    right_rows: int
    auto: int
    suggest: int
    left_unmatched: int  # records with no pair at all, auto or suggested
    right_unmatched: int
    seconds: float
    note: str = ""  # why the profile differs from the one asked for
    left_read_as: str = ""  # how a file read as a bank export was read ("" by the fields)
    right_read_as: str = ""
    warnings: tuple[str, ...] = ()  # e.g. a statement whose balances do not add up

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def summarize(
    result: MatchResult,
    left: Sequence[Side],
    right: Sequence[Side],
    **details: Any,
) -> Summary:
    decisions = result.by_decision()
    paired_left = {p.left_id for p in result.pairs}
    paired_right = {p.right_id for p in result.pairs}
    return Summary(
        left_rows=len(left),
        right_rows=len(right),
        auto=decisions.get("auto", 0),
        suggest=decisions.get("suggest", 0),
        left_unmatched=sum(s.id not in paired_left for s in left),
        right_unmatched=sum(s.id not in paired_right for s in right),
        **details,
    )


@collector_paused()  # reading and writing allocate per row too (learned.py says why)
def match_files(
    left_path: Path,
    right_path: Path,
    out_path: Path,
    *,
    config: MatcherConfig,
    profile_name: str,
    left_map: ColumnMap | Mapping[str, str] | None = None,
    right_map: ColumnMap | Mapping[str, str] | None = None,
    currency: str | None = None,
    same_sign: bool = False,
    progress: Progress | None = None,
    small_files_config: MatcherConfig | None = None,
    processes: int = 1,
    bank: BankReader | None = None,
) -> Summary:
    """Read both exports, match them, write the pairs; nothing is written unless all succeed.

    ``same_sign``: both exports are signed from the same point of view (money out negative), so
    a refund never pairs with a purchase of the same size; by default amounts pair by size.
    ``small_files_config``: used instead of a learned ``config`` when a file holds fewer than
    MIN_ROWS_TO_LEARN rows (a model learned from a handful of rows would be noise).
    ``processes``: 2 reads the files and does the matcher's string work on two cores.
    ``bank``: reads a file laid out as a bank export rather than with the matcher's columns.
    """
    started = time.monotonic()
    note = ""
    suffixes = READ_SUFFIXES | bank.suffixes if bank is not None else READ_SUFFIXES
    check_input_path(left_path, suffixes)
    check_input_path(right_path, suffixes)
    check_output_path(out_path, (left_path, right_path))
    report = progress or (lambda stage, done, total: None)

    stage = f"reading {left_path.name} and {right_path.name}"
    report(stage, 0, 1)
    # The right file's cells are read beside the left file (a forked child, when processes
    # allow); the left file's problems are still the ones reported first.
    left_rows, right_table = beside(
        lambda: _read_side(left_path, left_map, currency, None, bank),
        lambda: _read_table_of(right_path, right_map),
        fork=processes > 1 and right_path.stat().st_size >= FORK_BYTES,
    )
    right_rows = _read_side(right_path, right_map, currency, right_table, bank)
    left, right = left_rows.sides, right_rows.sides
    report(stage, 1, 1)
    if same_sign:
        left, right = ([replace(x, group="-" if x.amount < 0 else "+") for x in side]
                       for side in (left, right))  # fmt: skip
    small = min(len(left), len(right)) < MIN_ROWS_TO_LEARN
    if config.engine == "learned" and small and small_files_config is not None:
        config = small_files_config
        note = (
            f"the {profile_name} profile needs {MIN_ROWS_TO_LEARN} rows a side to learn from; "
            f"these files have {min(len(left), len(right))}"
        )
        profile_name = "seed"
    result = match(left, right, config, progress=progress, processes=processes)
    report(f"writing {out_path.name}", 0, 1)
    write_pairs(out_path, result.pairs, {s.id: s for s in left}, {s.id: s for s in right},
                processes=processes)  # fmt: skip
    report(f"writing {out_path.name}", 1, 1)
    return summarize(
        result,
        left,
        right,
        left_file=str(left_path),
        right_file=str(right_path),
        out=str(out_path),
        profile=profile_name,
        note=note,
        left_read_as=left_rows.read_as,
        right_read_as=right_rows.read_as,
        warnings=tuple(left_rows.warnings + right_rows.warnings),
        seconds=round(time.monotonic() - started, 2),
    )


# --- options -------------------------------------------------------------------------------------


MAX_OPTION_VALUE = Decimal(1_000_000_000)
MAX_DATE_WINDOW_DAYS = 3660  # ten years


def _decimal_option(text: str, option: str, example: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        value = Decimal("NaN")
    # The upper bound keeps the rules' Decimal context (28 digits) from overflowing; no amount
    # an import accepts is this large.
    if not value.is_finite() or value < 0 or value > MAX_OPTION_VALUE:
        raise InputError(
            f"{option} must be a number from 0 to {MAX_OPTION_VALUE:,}, such as {example}; "
            f"got {text!r}"
        )
    return value


def parse_percent(text: str) -> Decimal:
    """``"0.5"`` or ``"0.5%"`` (0.5 per cent) -> ``Decimal("0.005")``."""
    value = _decimal_option(text.strip().removesuffix("%"), "--amount-tolerance", "0.5 or 0.5%")
    if value > 100:
        raise InputError(f"--amount-tolerance is a percentage up to 100, got {text!r}")
    return value / 100


def matcher_config(
    profile_name: str,
    *,
    amount_tolerance: str | None = None,
    amount_abs: str | None = None,
    date_window_days: int | None = None,
) -> MatcherConfig:
    """The named profile with the tolerances given on the command line (as text) replaced."""

    try:
        config = profile(profile_name)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if date_window_days is not None and not 0 <= date_window_days <= MAX_DATE_WINDOW_DAYS:
        raise InputError(
            f"--date-window-days must be from 0 to {MAX_DATE_WINDOW_DAYS}, got {date_window_days}"
        )
    return config.with_tolerances(
        amount_pct=parse_percent(amount_tolerance) if amount_tolerance is not None else None,
        amount_abs=(
            _decimal_option(amount_abs, "--amount-abs", "0.01") if amount_abs is not None else None
        ),
        date_days=date_window_days,
    )
