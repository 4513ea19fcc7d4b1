"""The notification outbox: every message is a row with a unique idempotency key.

Callers build the key from the natural key of the event, e.g. ``insight:<team>:<week>:<user>``.
Enqueueing the same key twice (a retry, a re-materialization, two racing runs) yields one row, so a
user is never told the same thing twice. Channels deliver pending rows afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.db.models import Notification
from bg_agents.lib.db.types import utcnow
from bg_agents.lib.db.upsert import insert_missing

CHANNELS = ("in_app", "email", "webhook")


@dataclass(frozen=True)
class Message:
    idempotency_key: str
    team_id: int
    user_id: int
    category: str
    title: str
    body: str
    channel: str = "in_app"
    payload: dict[str, Any] | None = None


def enqueue(conn: Connection, messages: list[Message]) -> int:
    """Insert messages whose key is new; return how many were new."""
    for m in messages:
        if m.channel not in CHANNELS:
            raise ValueError(f"unknown channel {m.channel!r}; expected one of {CHANNELS}")
        if not m.idempotency_key or len(m.idempotency_key) > 255:
            raise ValueError("idempotency_key must be 1-255 characters")
    rows = [
        {
            "idempotency_key": m.idempotency_key,
            "team_id": m.team_id,
            "user_id": m.user_id,
            "channel": m.channel,
            "category": m.category,
            "title": m.title[:200],
            "body": m.body,
            "payload": m.payload or {},
            "status": "pending",
        }
        for m in messages
    ]
    return insert_missing(conn, Notification, rows, ["idempotency_key"])


def deliver_in_app(conn: Connection, now: datetime | None = None) -> int:
    """The in-app channel: a pending in-app row becomes visible to its user by being delivered."""
    result = conn.execute(
        sa.update(Notification)
        .where(Notification.channel == "in_app", Notification.status == "pending")
        .values(
            status="delivered", delivered_at=now or utcnow(), attempts=Notification.attempts + 1
        )
    )
    return result.rowcount


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
