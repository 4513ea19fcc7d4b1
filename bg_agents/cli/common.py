"""What every command group shares: count and date arguments, the engine, one-line failures."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time

# Ceilings of count arguments: a simulated world larger than this is a typo, and ten years of
# weeks is more history than any demo or delivery preview needs.
MAX_TEAMS = 100_000


MAX_WEEKS = 520


def open_engine(*, migrated: bool = True):  # type: ignore[no-untyped-def]
    from bg_agents.lib.db import migrate
    from bg_agents.lib.db.engine import check_connection, get_engine
    from bg_agents.lib.settings import load_settings

    engine = get_engine(load_settings().database_url)
    check_connection(engine)
    if migrated:
        migrate.ensure_current(engine)
    return engine


def reachable(settings):  # type: ignore[no-untyped-def]
    """``settings`` once its database answers (seed and demo open it themselves, later)."""
    from bg_agents.lib.db.engine import check_connection, get_engine

    check_connection(get_engine(settings.database_url))
    return settings


def print_stats(brief: bool = False) -> None:
    from bg_agents.lib.db.inventory import table_counts

    with open_engine().connect() as conn:
        counts = table_counts(conn)
    shown = (
        "teams",
        "users",
        "transactions",
        "transaction_enrichments",
        "customer_facts",
        "invoices",
        "documents",
        "quarantined_rows",
        "unmatched_records",
        "matches",
        "weekly_metrics",
        "insights",
        "notifications",
        "reminders",
        "reports",
    )
    for table, n in counts.items():
        if not brief or table in shown:
            print(f"  {table:<24} {n:>10,}")


def fail(message: str, code: int = 1) -> int:
    """A command that cannot do what was asked says why on one line (not a crash: exit 1)."""
    print(f"bg-agents: error: {message}", file=sys.stderr)
    return code


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def at_most(limit: int) -> Callable[[str], int]:
    """A positive count with a ceiling: beyond it, date arithmetic overflows or runs for days."""

    def count(text: str) -> int:
        value = positive(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:,}")
        return value

    return count


def iso_date(text: str) -> date:
    """A date argument the project can compute with (the same range as its settings)."""
    from bg_agents.lib.settings import check_date_range

    try:
        value = date.fromisoformat(text.strip())
        check_date_range(value, "the date")
    except ValueError as exc:
        message = str(exc) if "between" in str(exc) else f"not an ISO date (YYYY-MM-DD): {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    return value


def add_since(parser: argparse.ArgumentParser) -> None:
    """``--since YYYY-MM-DD`` of the commands that resend dead deliveries."""
    parser.add_argument(
        "--since",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="only deliveries created on this day (UTC) or later",
    )


def since_instant(day: date | None) -> datetime | None:
    """The start of ``day`` in UTC (what ``--since`` means), or None."""
    return datetime.combine(day, time(), UTC) if day else None
