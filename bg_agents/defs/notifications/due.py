"""Whether ``flush`` or ``deliver`` has work at ``now``, and if not, when they next will.

The minute sensor asks this instead of running them: two aggregate queries that only read (the
waiting events through the index on ``message_id``, the due deliveries through the index on
``status, next_attempt_at``), so a tick costs milliseconds however many notifications were ever
sent, and takes no lock a flusher or deliverer would wait for. "Due" mirrors their rules: an
unbatched event at once, a batched one when its window closes (plus flush's grace), a group at
``max_items`` or a first-at-once group with nothing sent yet at once, a delivery at its next
attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.notifications.deliver import DUE_STATUSES
from bg_agents.defs.notifications.flush import GRACE, WAITING
from bg_agents.defs.notifications.policy import Policy, load_policy
from bg_agents.lib.db.models import Notification, NotificationEvent, NotificationMessage


@dataclass(frozen=True)
class Due:
    """The earliest instant each kind of work is due (None: there is none)."""

    window: datetime | None  # a waiting event's message (a window closing, or at once)
    delivery: datetime | None  # an e-mail or webhook delivery's next attempt

    @property
    def next(self) -> datetime | None:
        return min((t for t in (self.window, self.delivery) if t is not None), default=None)

    def at(self, now: datetime) -> bool:
        return self.next is not None and self.next <= now

    def describe(self) -> str:
        """Why nothing is due yet, for the sensor's skip reason."""
        if self.next is None:
            return "nothing due; no event waiting and no delivery to retry"
        parts = []
        if self.window is not None:
            parts.append(f"next window closes at {self.window:%Y-%m-%d %H:%M:%S} UTC")
        if self.delivery is not None:
            parts.append(f"next delivery attempt at {self.delivery:%Y-%m-%d %H:%M:%S} UTC")
        return "nothing due; " + ", ".join(parts)


def due(engine: Engine, now: datetime, *, policy: Policy | None = None) -> Due:
    policy = policy or load_policy()
    with engine.connect() as conn:
        window = _next_window(conn, now, policy)
        delivery = _next_delivery(conn, now)
    return Due(window, delivery)


def next_due(engine: Engine, now: datetime, *, policy: Policy | None = None) -> datetime | None:
    return due(engine, now, policy=policy).next


def anything_due(engine: Engine, now: datetime, *, policy: Policy | None = None) -> bool:
    return due(engine, now, policy=policy).at(now)


def _next_window(conn: sa.Connection, now: datetime, policy: Policy) -> datetime | None:
    """Per category: the oldest waiting window, the largest waiting group and (first-at-once
    categories only) whether some group has no message yet; one query over waiting events."""
    e = NotificationEvent
    group = (e.team_id, e.user_id, e.category, e.batch_key, e.window_start)
    firsts = [name for name, rules in policy.categories.items() if rules.first_at_once]
    unsent: sa.ColumnElement[int] = sa.literal(0)
    if firsts:
        m = NotificationMessage
        sent = sa.exists().where(
            m.team_id == e.team_id,
            m.user_id.is_not_distinct_from(e.user_id),
            m.batch_key == e.batch_key,
            m.window_start == e.window_start,
        )
        unsent = sa.case((sa.and_(e.category.in_(firsts), ~sent), 1), else_=0)
    groups = (
        sa.select(*group, sa.func.count().label("n"), unsent.label("unsent"))
        .where(WAITING)
        .group_by(*group)
        .subquery()
    )
    rows = conn.execute(
        sa.select(
            groups.c.category,
            sa.func.min(groups.c.window_start),
            sa.func.max(groups.c.n),
            sa.func.max(groups.c.unsent),
        ).group_by(groups.c.category)
    ).all()
    times = []
    for category, oldest, largest, unsent_group in rows:
        rules = policy.categories.get(category)
        if rules is None or not rules.batched:
            times.append(oldest)  # flush sends them at once (an unknown category alone)
        elif largest >= rules.max_items or unsent_group:
            times.append(min(oldest, now))
        else:
            times.append(oldest + rules.window + GRACE)
    return min(times, default=None)


def _next_delivery(conn: sa.Connection, now: datetime) -> datetime | None:
    """A row without a next attempt is due at once (``deliver`` claims it too)."""
    n = Notification
    earliest, undated = conn.execute(
        sa.select(
            sa.func.min(n.next_attempt_at),
            sa.func.count().filter(n.next_attempt_at.is_(None)),
        ).where(n.status.in_(DUE_STATUSES), n.channel.in_(("email", "webhook")))
    ).one()
    return now if undated else earliest
