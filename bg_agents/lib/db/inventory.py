"""What is in the application database: row counts and the list of teams."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.db.models import Base, Team, User, customer_teams


def table_counts(conn: Connection) -> dict[str, int]:
    """Row count of every application table, in a stable (alphabetical) order."""
    return {
        table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name)
    }


def list_teams(conn: Connection) -> list[dict]:
    users = sa.select(User.team_id, sa.func.count().label("n")).group_by(User.team_id).subquery()
    rows = conn.execute(
        sa.select(Team.slug, Team.name, Team.time_zone, Team.base_currency, users.c.n)
        .outerjoin(users, users.c.team_id == Team.id)
        .where(customer_teams())
        .order_by(Team.slug)
    )
    return [
        {"slug": s, "name": n, "time_zone": tz, "currency": c, "users": u or 0}
        for s, n, tz, c, u in rows
    ]
