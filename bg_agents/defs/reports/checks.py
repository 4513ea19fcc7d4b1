"""Checks on ``month_end_reports``, per month, after the asset: the latest version of every team's
report is a readable PDF with the pages recorded, prints the books' totals, and is the file whose
checksum was stored.

The totals are recomputed here with their own query (not through ``figures``), so a mistake in
the report's figures cannot hide behind the same mistake in its check.
"""

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.engine import Connection

from bg_agents.defs._shared.metadata import markdown_table
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.reports.partitions import month_of, monthly_partitions
from bg_agents.defs.reports.verify import read_report
from bg_agents.lib import blobs
from bg_agents.lib.db.models import Report, Team, Transaction

SHOWN = 10  # failing reports listed in the check's metadata


@dataclass(frozen=True)
class Latest:
    team_id: int
    slug: str
    currency: str
    version: int
    path: str
    sha256: str
    pages: int


def latest_versions(conn: Connection, month: date) -> list[Latest]:
    """The newest version of each team's report of ``month``."""
    newest = (
        sa.select(Report.team_id, sa.func.max(Report.version).label("version"))
        .where(Report.month == month)
        .group_by(Report.team_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(
            Report.team_id,
            Team.slug,
            Team.base_currency,
            Report.version,
            Report.path,
            Report.sha256,
            Report.pages,
        )
        .join(newest, (newest.c.team_id == Report.team_id) & (newest.c.version == Report.version))
        .join(Team, Team.id == Report.team_id)
        .where(Report.month == month)
        .order_by(Team.slug)
    )
    return [Latest(*row) for row in rows]


def books_totals(conn: Connection, month: date) -> dict[int, tuple[Decimal, Decimal]]:
    """team id -> (revenue, expenses) of the bookings dated in the month, base currency.

    Booking dates are the team's local dates, so the calendar month is the team's local month.
    """
    following = (month + timedelta(days=32)).replace(day=1)
    base = Transaction.base_amount
    rows = conn.execute(
        sa.select(
            Transaction.team_id,
            sa.func.sum(sa.case((base > 0, base), else_=0)),
            sa.func.sum(sa.case((base < 0, -base), else_=0)),
        )
        .where(Transaction.booking_date >= month, Transaction.booking_date < following)
        .group_by(Transaction.team_id)
    )
    return {team: (Decimal(rev or 0), Decimal(exp or 0)) for team, rev, exp in rows}


def _judge(
    app_db: AppDatabase,
    partition_key: str,
    what: str,
    problem: Callable[[Latest, bytes, Connection], str | None],
    prepare: Callable[[Connection, date], None] | None = None,
) -> dg.AssetCheckResult:
    """Run ``problem`` on every latest version of the month; pass when none has one."""
    month = month_of(partition_key)
    failures: list[tuple[str, int, str]] = []
    with app_db.engine.connect() as conn:
        if prepare:
            prepare(conn, month)
        reports = latest_versions(conn, month)
        for r in reports:
            try:
                data = blobs.read(r.path)
            except blobs.BlobError as exc:
                failures.append((r.slug, r.version, str(exc)))
                continue
            found = problem(r, data, conn)
            if found:
                failures.append((r.slug, r.version, found))
    metadata = {
        "reports_checked": dg.MetadataValue.int(len(reports)),
        "failing": dg.MetadataValue.int(len(failures)),
    }
    if failures:
        metadata["failures"] = markdown_table(failures[:SHOWN], ("team", "version", "problem"))
    return dg.AssetCheckResult(
        passed=not failures,
        description=(
            f"{len(reports)} reports of {month:%Y-%m}: "
            + (f"{len(failures)} fail: {what}" if failures else f"all pass: {what}")
        ),
        metadata=metadata,
    )


@dg.asset_check(
    asset="month_end_reports",
    partitions_def=monthly_partitions,
    description="Each team's latest version opens with pypdf, with the recorded pages (>= 1).",
)
def report_pdfs_open(
    context: dg.AssetCheckExecutionContext, app_db: AppDatabase
) -> dg.AssetCheckResult:
    def problem(r: Latest, data: bytes, _conn: Connection) -> str | None:
        try:
            pages = len(PdfReader(io.BytesIO(data)).pages)
        except Exception as exc:  # pypdf raises many kinds for a damaged file
            return f"does not open: {type(exc).__name__}: {exc}"
        if pages < 1 or pages != r.pages:
            return f"{pages} pages, {r.pages} recorded"
        return None

    return _judge(app_db, context.partition_key, "opens with the recorded pages", problem)


@dg.asset_check(
    asset="month_end_reports",
    partitions_def=monthly_partitions,
    description=(
        "The revenue, expenses and net printed in every team's latest version equal the month's "
        "bookings summed again in SQL by this check."
    ),
)
def report_totals_match_books(
    context: dg.AssetCheckExecutionContext, app_db: AppDatabase
) -> dg.AssetCheckResult:
    books: dict[int, tuple[Decimal, Decimal]] = {}

    def prepare(conn: Connection, month: date) -> None:
        books.update(books_totals(conn, month))

    def problem(r: Latest, data: bytes, _conn: Connection) -> str | None:
        try:
            printed = read_report(data)
        except Exception as exc:
            return f"totals unreadable: {exc}"
        revenue, expenses = books.get(r.team_id, (Decimal(0), Decimal(0)))
        expected = (r.currency, revenue, expenses, revenue - expenses)
        got = (printed.currency, printed.revenue, printed.expenses, printed.net)
        if got != expected:
            return f"printed {got[0]} {got[1]}/{got[2]}/{got[3]}, books {revenue}/{expenses}"
        return None

    return _judge(app_db, context.partition_key, "printed totals equal the books", problem, prepare)


@dg.asset_check(
    asset="month_end_reports",
    partitions_def=monthly_partitions,
    description="The SHA-256 stored for every team's latest version is the stored file's.",
)
def report_checksums_match(
    context: dg.AssetCheckExecutionContext, app_db: AppDatabase
) -> dg.AssetCheckResult:
    def problem(r: Latest, data: bytes, _conn: Connection) -> str | None:
        actual = hashlib.sha256(data).hexdigest()
        return None if actual == r.sha256 else f"file {actual[:12]}…, stored {r.sha256[:12]}…"

    return _judge(app_db, context.partition_key, "stored checksum is the file's", problem)
