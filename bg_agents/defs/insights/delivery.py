"""When and how a weekly insight reaches its team: exactly once, on time or caught up, else skipped.

The sensor asks :func:`units_to_run` which (week, slot) units are due and ready; the asset
generates them and calls :func:`deliver`, which notifies only inside the delivery window
(from 07:00 local on the Monday after the week until ``catch_up`` later). Earlier, nothing is
sent; later (the daemon was down longer than the window, or someone backfilled an old week), the
insight is stored but recorded as skipped. Every message goes through the outbox with the key
``insight:<team>:<week>:<user>``, so retries, re-materializations and backfills notify nobody twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.notifications import Event, Words, notify
from bg_agents.lib.db.models import Insight, User
from bg_agents.lib.delivery_slots import SLOTS, due_at, slot_for
from bg_agents.lib.delivery_slots import window_action as action
from bg_agents.lib.settings import catch_up_hours
from bg_agents.lib.weeks import week_start


def catch_up_window() -> timedelta:
    """``BG_AGENTS_INSIGHTS_CATCH_UP_HOURS`` (default 48): how late a missed delivery may go out."""
    return timedelta(hours=catch_up_hours())


def units_to_run(
    since: datetime,
    now: datetime,
    zones: Iterable[str],
    window: timedelta,
    *,
    done: Callable[[date, str], bool],
    ready: Callable[[date, str], bool],
) -> list[tuple[date, str]]:
    """The (week, slot) units of the given teams' zones to run at ``now``.

    A unit runs once it is due, not done yet, and its week's metrics were computed after its
    teams' local week ended (``ready``), so nobody gets a week without its Sunday. A unit whose
    window has passed runs anyway, to record the skip. Scanning starts one window before the
    last tick (``since``), so neither a long outage nor late metrics lose a unit.
    """
    zones = sorted(set(zones))
    start = min(since, now) - window - timedelta(hours=1)
    out = []
    monday = week_start((start - timedelta(days=8)).date())
    while monday <= week_start(now.date()):
        slots = sorted({slot_for(monday, z) for z in zones}, key=SLOTS.index)
        for slot in slots:
            due = due_at(monday, slot)
            if not start < due <= now or done(monday, slot):
                continue
            if due + window < now or ready(monday, slot):
                out.append((monday, slot))
        monday += timedelta(days=7)
    return sorted(out, key=lambda unit: due_at(*unit))


@dataclass
class DeliveryResult:
    action: str
    notified_users: int = 0
    teams: list[int] = field(default_factory=list)


def deliver(
    conn: Connection,
    week: date,
    slot: str,
    team_ids: list[int],
    now: datetime,
    window: timedelta,
) -> DeliveryResult:
    """Notify every member of the teams once, or record the skip, per the delivery window."""
    decision = action(due_at(week, slot), now, window)
    result = DeliveryResult(decision, teams=list(team_ids))
    if decision == "wait" or not team_ids:
        return result
    pending = conn.execute(
        sa.select(Insight.id, Insight.team_id, Insight.content).where(
            Insight.week_start == week,
            Insight.team_id.in_(team_ids),
            Insight.status == "generated",
        )
    ).all()
    ids = [p.id for p in pending]
    if decision == "skip":
        conn.execute(sa.update(Insight).where(Insight.id.in_(ids)).values(status="skipped"))
        return result
    members = Counter(
        conn.scalars(sa.select(User.team_id).where(User.team_id.in_([p.team_id for p in pending])))
    )
    for p in pending:
        event = Event(
            key=f"insight:{p.team_id}:{week.isoformat()}",
            team_id=p.team_id,
            category="weekly_insights",
            words=Words("weekly_insights", {"week": Words.day(week)}),
            body=p.content,
            payload={"insight_id": p.id, "week_start": week.isoformat()},
        )
        if notify(conn, [event], now):  # sent at once: the category is not batched
            result.notified_users += members[p.team_id]
    conn.execute(sa.update(Insight).where(Insight.id.in_(ids)).values(status="delivered"))
    return result
