"""Checks behind the ``notifications`` asset: the engine's promises, proven on the stored rows.

The unique keys make a second digest per window or a second delivery per recipient impossible as
long as every writer derives its keys the same way; these queries check the rows themselves, so a
writer that keys differently (a new producer, a hand-made fix, a bug in the key) shows up.

A run every minute cannot scan tables that grow for years, so each check reads the newest
``scope`` rows by primary key (an index range, milliseconds at any size): racing writers create
their duplicates moments apart, so the newest rows are where one would appear.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.checks import CheckOutcome
from bg_agents.lib.db.models import Notification, NotificationEvent, NotificationMessage

SCOPE = 50_000
SAMPLE = 5


def _newest(conn: Connection, id_column: sa.ColumnElement[int], scope: int) -> int:
    """The lowest id among the newest ``scope`` rows (0 for an empty table)."""
    top = conn.scalar(sa.select(sa.func.max(id_column))) or 0
    return max(top - scope, 0)


def one_message_per_window(conn: Connection, scope: int = SCOPE) -> CheckOutcome:
    """No (team, addressee, category, batch key, window, part) has two digests (or a digest and a
    closing single): the window a digest's key names. A window's first-at-once message shares
    part 0 with its digest, so it is left out."""
    m = NotificationMessage
    window = (m.team_id, m.user_id, m.category, m.batch_key, m.window_start, m.part)
    since = _newest(conn, m.id, scope)
    rows = conn.execute(
        sa.select(*window, sa.func.count())
        .where(m.id > since, m.window_start.is_not(None), m.kind != "first")
        .group_by(*window)
        .having(sa.func.count() > 1)
        .order_by(*window)
    ).all()
    checked = conn.scalar(sa.select(sa.func.count()).where(m.id > since)) or 0
    sample = "; ".join(
        f"team {r[0]} {'team-wide' if r[1] is None else f'user {r[1]}'} {r[3]} "
        f"window {r[4]:%Y-%m-%d %H:%M} part {r[5]}: {r[6]} messages"
        for r in rows[:SAMPLE]
    )
    return CheckOutcome(
        not rows,
        f"{len(rows)} windows with more than one message among the newest {checked:,} messages"
        + (f" ({sample})" if sample else ""),
        {"messages_checked": checked, "windows_with_duplicates": len(rows)},
    )


def events_match_messages(conn: Connection, scope: int = SCOPE) -> CheckOutcome:
    """Each message carries exactly the events that point at it: as many as it says it has.

    An event sent twice would leave one of its messages short; an event lost from its message
    too; a message without events was sent about nothing.
    """
    m, e = NotificationMessage, NotificationEvent
    since = _newest(conn, m.id, scope)
    linked = (
        sa.select(e.message_id, sa.func.count().label("n"))
        .where(e.message_id > since)
        .group_by(e.message_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(m.id, m.item_count, sa.func.coalesce(linked.c.n, 0))
        .outerjoin(linked, linked.c.message_id == m.id)
        .where(m.id > since, m.item_count != sa.func.coalesce(linked.c.n, 0))
        .order_by(m.id)
    ).all()
    checked = conn.scalar(sa.select(sa.func.count()).where(m.id > since)) or 0
    sample = "; ".join(f"message {i}: says {c}, carries {n}" for i, c, n in rows[:SAMPLE])
    return CheckOutcome(
        not rows,
        f"{len(rows)} of the newest {checked:,} messages carry other than their item count of "
        "events" + (f" ({sample})" if sample else ""),
        {"messages_checked": checked, "messages_mismatched": len(rows)},
    )


def one_delivery_per_recipient(conn: Connection, scope: int = SCOPE) -> CheckOutcome:
    """No message reaches one recipient (member or endpoint) twice on one channel."""
    n = Notification
    recipient = (n.message_id, n.channel, n.user_id, n.endpoint_id)
    since = _newest(conn, n.id, scope)
    rows = conn.execute(
        sa.select(*recipient, sa.func.count())
        .where(n.id > since, n.message_id.is_not(None))
        .group_by(*recipient)
        .having(sa.func.count() > 1)
        .order_by(*recipient)
    ).all()
    checked = conn.scalar(sa.select(sa.func.count()).where(n.id > since)) or 0
    sample = "; ".join(
        f"message {r[0]} {r[1]} to {'user ' + str(r[2]) if r[2] else 'endpoint ' + str(r[3])}: "
        f"{r[4]} deliveries"
        for r in rows[:SAMPLE]
    )
    return CheckOutcome(
        not rows,
        f"{len(rows)} recipients with a message twice on one channel among the newest "
        f"{checked:,} deliveries" + (f" ({sample})" if sample else ""),
        {"deliveries_checked": checked, "recipients_with_duplicates": len(rows)},
    )
