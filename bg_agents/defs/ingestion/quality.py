"""Checks behind the ``transactions`` asset checks: one row per natural key, finite amounts."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.checks import CheckOutcome
from bg_agents.lib.db.digest import content_digest
from bg_agents.lib.db.models import Transaction
from bg_agents.lib.db.types import money_units


def duplicate_natural_keys(conn: Connection, start: date, end: date) -> CheckOutcome:
    """No (team, source, external id) appears twice among transactions booked in [start, end]."""
    dupes = conn.execute(
        sa.select(sa.func.count()).select_from(
            sa.select(Transaction.team_id)
            .where(Transaction.booking_date.between(start, end))
            .group_by(Transaction.team_id, Transaction.source, Transaction.external_id)
            .having(sa.func.count() > 1)
            .subquery()
        )
    ).scalar_one()
    return CheckOutcome(dupes == 0, f"{dupes} duplicated natural keys", {"duplicates": dupes})


def finite_amounts(conn: Connection, start: date, end: date) -> CheckOutcome:
    """Amounts are present and in range (Money refuses NaN/inf on write; this guards raw SQL)."""
    bad = conn.execute(
        sa.select(sa.func.count()).where(
            Transaction.booking_date.between(start, end),
            sa.or_(
                Transaction.amount.is_(None),
                sa.func.abs(money_units(Transaction.amount, conn.dialect.name)) >= 10**17,
            ),
        )
    ).scalar_one()
    return CheckOutcome(bad == 0, f"{bad} rows with a missing or out-of-range amount", {"bad": bad})


def rows_on(conn: Connection, day: date) -> int:
    """Transactions stored for booking day ``day`` (what its partition holds)."""
    return conn.execute(
        sa.select(sa.func.count()).where(Transaction.booking_date == day)
    ).scalar_one()


def stored_version(conn: Connection, start: date, end: date) -> str:
    """What the days [start, end] hold, as a digest: rows are only ever added, so each day's count
    and highest id change exactly when a row lands."""
    return content_digest(
        conn,
        sa.select(Transaction.booking_date, sa.func.count(), sa.func.max(Transaction.id))
        .where(Transaction.booking_date.between(start, end))
        .group_by(Transaction.booking_date)
        .order_by(Transaction.booking_date),
    )
