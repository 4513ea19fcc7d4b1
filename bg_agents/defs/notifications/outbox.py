"""The in-app inbox: a member's delivered in-app notifications, and marking them read.

Deliveries (rows of ``notifications``) are made by the engine (``flush.py``); an in-app delivery
is visible to its member from the moment it is created.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.db.models import Notification
from bg_agents.lib.db.types import utcnow

CHANNELS = ("in_app", "email", "webhook")


def inbox(conn: Connection, user_id: int, *, unread_only: bool = False, limit: int = 50) -> list:
    """A user's delivered in-app notifications, newest first."""
    query = (
        sa.select(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.channel == "in_app",
            Notification.status == "delivered",
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(conn.execute(query).all())


def mark_read(conn: Connection, user_id: int, ids: list[int], now: datetime | None = None) -> int:
    result = conn.execute(
        sa.update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.id.in_(ids),
            Notification.read_at.is_(None),
        )
        .values(read_at=now or utcnow())
    )
    return result.rowcount
