"""Claiming due rows under a lease: how a sender takes work that several senders may race for.

The e-mail and webhook deliveries and the customer reminder e-mails are sent the same way: a
sender marks up to ``limit`` due rows ``sending`` with a lease (``next_attempt_at = now +
lease``) and one more attempt, sends, and records the outcome; a sender that died leaves rows
whose lease expires and which the next one takes. One implementation, so a fix to the claim
reaches every sender.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def claim_due(
    conn: Connection,
    model: Any,
    due: sa.ColumnElement[bool],
    limit: int,
    now: datetime,
    lease: timedelta,
) -> list[Any]:
    """Mark up to ``limit`` rows of ``model`` matching ``due`` (lowest ids first) ``sending``
    until ``now + lease``, one attempt more each; return them as they are now.

    The ids are chosen first, then updated: as a subquery of the UPDATE, PostgreSQL may run the
    locking ``LIMIT ... SKIP LOCKED`` query once per row scanned and so claim every due row. On
    PostgreSQL rows another sender holds are skipped; SQLite writes one transaction at a time.
    """
    ids = sa.select(model.id).where(due).order_by(model.id).limit(limit)
    if conn.dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    chosen = list(conn.scalars(ids))
    if not chosen:
        return []
    return conn.execute(
        sa.update(model)
        .where(model.id.in_(chosen), due)
        .values(status="sending", next_attempt_at=now + lease, attempts=model.attempts + 1)
        .returning(model)
    ).all()
