"""Freshness: is each agent's output as recent as its schedule promises?

Three rules, decided here from plain facts the freshness sensor reads (the instance's last
materializations, the ``insights`` table) at ``clock.now()``:

* ``transactions`` is fetched hourly while its day is open: its last materialization (any day)
  is at most ``TRANSACTIONS_MAX_AGE`` old.
* ``weekly_metrics``: the last complete ISO week's partition was materialized after that week
  ended (Monday 00:00 UTC), at the latest ``METRICS_GRACE`` later.
* insight delivery: no insight of a (week, slot) unit is still undelivered ``DELIVERY_GRACE``
  after its due instant (07:00 local on the Monday after the week): neither a row left
  ``generated`` nor, for the last two weeks, a team without its row (the unit never ran).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.db.models import Insight, Team, customer_teams
from bg_agents.lib.delivery_slots import due_local
from bg_agents.lib.weeks import last_complete_week

TRANSACTIONS_MAX_AGE = timedelta(hours=2)
METRICS_GRACE = timedelta(hours=6)
DELIVERY_GRACE = timedelta(minutes=30)
MAX_LISTED = 10  # late insights named in one alert

TRANSACTIONS_CHECK = "transactions_fresh"
METRICS_CHECK = "last_week_measured"
DELIVERY_CHECK = "insights_delivered_on_time"


@dataclass(frozen=True)
class Freshness:
    asset: str
    check: str
    passed: bool
    reason: str


def transactions_fresh(last: datetime | None, now: datetime) -> Freshness:
    """Fresh when the last materialization of any day is at most two hours old."""
    if last is None:
        return Freshness("transactions", TRANSACTIONS_CHECK, False, "never materialized")
    age = now - last
    passed = age <= TRANSACTIONS_MAX_AGE
    what = f"last materialized {_ago(age)} ago ({last:%Y-%m-%d %H:%M} UTC)"
    limit = f", over {_ago(TRANSACTIONS_MAX_AGE)}" if not passed else ""
    return Freshness("transactions", TRANSACTIONS_CHECK, passed, what + limit)


def metrics_week(now: datetime) -> date:
    """The last complete ISO week at ``now`` (UTC): the partition expected to be measured."""
    return last_complete_week(now.astimezone(UTC).date())


def weekly_metrics_fresh(week: date, last: datetime | None, now: datetime) -> Freshness:
    """Fresh when ``week``'s partition was materialized after the week ended, or the grace for
    it has not run out yet. ``last`` is that partition's latest materialization."""
    ended = datetime.combine(week + timedelta(days=7), time(0), UTC)
    if last is not None and last >= ended:
        return Freshness(
            "weekly_metrics", METRICS_CHECK, True, f"week {week} measured at {last:%Y-%m-%d %H:%M}"
        )
    deadline = ended + METRICS_GRACE
    if now < deadline:
        return Freshness(
            "weekly_metrics", METRICS_CHECK, True, f"week {week} due by {deadline:%Y-%m-%d %H:%M}"
        )
    seen = f"last at {last:%Y-%m-%d %H:%M}, before it ended" if last else "never"
    return Freshness(
        "weekly_metrics",
        METRICS_CHECK,
        False,
        f"week {week} not measured since it ended ({seen}); due by {deadline:%Y-%m-%d %H:%M} UTC",
    )


def late_insights(conn: Connection, now: datetime) -> list[str]:
    """``team/week`` of each insight not delivered ``DELIVERY_GRACE`` after its due instant."""
    late: list[str] = []
    rows = conn.execute(
        sa.select(Team.slug, Team.time_zone, Insight.week_start)
        .join(Team, Team.id == Insight.team_id)
        .where(Insight.status == "generated", customer_teams())
        .order_by(Insight.week_start, Team.slug)
    ).all()
    for row in rows:
        if due_local(row.week_start, row.time_zone) + DELIVERY_GRACE <= now:
            late.append(f"{row.slug}/{row.week_start} generated, not delivered")
    newest = metrics_week(now)
    weeks = [newest - timedelta(days=7), newest]
    have = {
        (r.team_id, r.week_start)
        for r in conn.execute(
            sa.select(Insight.team_id, Insight.week_start).where(Insight.week_start.in_(weeks))
        )
    }
    teams = conn.execute(
        sa.select(Team.id, Team.slug, Team.time_zone, Team.created_at)
        .where(customer_teams())
        .order_by(Team.slug)
    ).all()
    for week in weeks:
        for team in teams:
            due = due_local(week, team.time_zone)
            created = _utc(team.created_at)
            if (
                due + DELIVERY_GRACE <= now < due + timedelta(days=7)
                and created <= due
                and (team.id, week) not in have
            ):
                late.append(f"{team.slug}/{week} never generated")
    return late


def delivery_fresh(late: list[str]) -> Freshness:
    if not late:
        return Freshness("weekly_insights", DELIVERY_CHECK, True, "every due insight delivered")
    listed = "; ".join(late[:MAX_LISTED]) + (
        f"; and {len(late) - MAX_LISTED} more" if len(late) > MAX_LISTED else ""
    )
    return Freshness(
        "weekly_insights",
        DELIVERY_CHECK,
        False,
        f"{len(late)} insight(s) not delivered {_ago(DELIVERY_GRACE)} after due: {listed}",
    )


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _ago(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 180 else f"{minutes / 60:.1f} h"
