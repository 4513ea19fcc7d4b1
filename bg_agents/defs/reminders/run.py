"""One unit of the 09:00 reminders: a local day and a delivery slot, run once, on time or caught up.

The sensor asks :func:`units_to_run` which (day, slot) units are due; the asset (or the CLI) calls
:func:`run_slot`, which decides by the catch-up window as the weekly insights do: before 09:00
nothing happens, inside the window reminders are sent, after it they are recorded as skipped
(``skipped_late``), so an outage longer than the window never sends yesterday's reminders today.
Recurring invoices are issued either way: an invoice is a record, not a message.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bg_agents.defs.reminders import rules
from bg_agents.defs.reminders.customers import queue_customer_reminders, send_customer_reminders
from bg_agents.defs.reminders.recurring import issue_recurring
from bg_agents.defs.reminders.team import TeamSendResult, chunks, send_team, teams_of_slot
from bg_agents.lib.delivery_slots import SLOTS, day_due_at, day_slot
from bg_agents.lib.delivery_slots import window_action as action
from bg_agents.lib.settings import reminders_catch_up_hours


def catch_up_window() -> timedelta:
    """``BG_AGENTS_REMINDERS_CATCH_UP_HOURS`` (default 24): how late a missed 09:00 may go out."""
    return timedelta(hours=reminders_catch_up_hours())


@functools.lru_cache(maxsize=65_536)
def slot_due_at(local_date: date, slot: str) -> datetime:
    """09:00 on ``local_date`` for the teams of ``slot``, as a UTC instant."""
    return day_due_at(local_date, rules.REMINDER_TIME, slot)


def units_to_run(
    since: datetime,
    now: datetime,
    zones: Iterable[str],
    window: timedelta,
    done: Callable[[date, str], bool],
) -> list[tuple[date, str]]:
    """The (local day, slot) units of the zones whose 09:00 is in (since - window, now] and that
    have not run: after an outage the scan reaches back one window, so a unit missed inside it
    is caught up and one older than it (still in reach) runs to record the skip."""
    zones = sorted(set(zones))
    start = min(since, now) - window
    out = []
    # 09:00 local is between 19:00 UTC the day before (UTC+14) and 21:00 UTC (UTC-12).
    day = start.date() - timedelta(days=1)
    while day <= now.date() + timedelta(days=1):
        for slot in sorted({day_slot(day, rules.REMINDER_TIME, z) for z in zones}, key=SLOTS.index):
            if start < slot_due_at(day, slot) <= now and not done(day, slot):
                out.append((day, slot))
        day += timedelta(days=1)
    return sorted(out, key=lambda unit: slot_due_at(*unit))


def next_due(now: datetime, zones: Iterable[str]) -> datetime | None:
    """The next 09:00 instant after ``now`` among the zones (for a sensor's skip reason)."""
    zones = set(zones)
    instants = [
        slot_due_at(day, day_slot(day, rules.REMINDER_TIME, z))
        for z in zones
        for day in (now.date() + timedelta(days=d) for d in range(-1, 3))
    ]
    return min((t for t in instants if t > now), default=None)


@dataclass
class SlotResult:
    action: str
    teams: int = 0
    notified: Counter[str] = field(default_factory=Counter)  # team reminders by kind
    skipped_paid: int = 0  # team and customer reminders of invoices paid since planned
    skipped_late: int = 0  # reminders past the catch-up window, recorded instead of sent
    customers_queued: int = 0
    customers_emailed: int = 0
    recurring_issued: int = 0
    upcoming_notices: int = 0

    def as_metadata(self) -> dict[str, Any]:
        """Plain numbers per count (the UI plots them across partitions) and the action."""
        return {
            "action": self.action,
            "teams": self.teams,
            "reminders": sum(self.notified.values()),
            **{f"reminders_{kind}": self.notified[kind] for kind in KINDS},
            "skipped_paid": self.skipped_paid,
            "skipped_late": self.skipped_late,
            "customers_queued": self.customers_queued,
            "customers_emailed": self.customers_emailed,
            "recurring_issued": self.recurring_issued,
            "upcoming_notices": self.upcoming_notices,
        }

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.notified.items()) if n) or "none"
        return (
            f"{self.action}: {self.teams} teams; team reminders {sum(self.notified.values())} "
            f"({kinds}); skipped paid {self.skipped_paid}, late {self.skipped_late}; customer "
            f"e-mails queued {self.customers_queued}, sent {self.customers_emailed}; recurring "
            f"invoices issued {self.recurring_issued}, upcoming notices {self.upcoming_notices}"
        )


# Every team kind, so each appears in the metadata (as 0 too) and plots as a series.
KINDS = ("due_soon", *(f"overdue_{d}" for d in rules.OVERDUE_DAYS))


def run_slot(
    engine: Engine,
    local_date: date,
    slot: str,
    now: datetime,
    window: timedelta,
    *,
    team_ids: list[int] | None = None,
    run_id: str | None = None,
    smtp: Any = None,
) -> SlotResult:
    """Run one (day, slot): team reminders, customer reminders queued, recurring invoices issued,
    one transaction per chunk of teams (a failure leaves the earlier chunks done; the re-run
    finds their keys stored and sends nothing twice); then the queued customer e-mails are sent.
    ``team_ids`` limits the unit to those teams (the CLI's ``--team``)."""
    if slot not in SLOTS:
        raise ValueError(f"unknown delivery slot {slot!r}")
    decision = action(slot_due_at(local_date, slot), now, window)
    result = SlotResult(decision)
    if decision == "wait":
        return result
    with engine.connect() as conn:
        teams = [t.id for t in teams_of_slot(conn, local_date, slot, team_ids)]
    result.teams = len(teams)
    team = TeamSendResult()
    for chunk in chunks(teams):
        with engine.begin() as conn:
            team.add(send_team(conn, local_date, slot, now, decision, run_id, team_ids=chunk))
            queued = queue_customer_reminders(
                conn, local_date, slot, chunk, now, decision=decision, run_id=run_id
            )
            recurring = issue_recurring(
                conn, local_date, chunk, now, announce=decision == "deliver"
            )
        result.customers_queued += queued.queued
        result.skipped_paid += queued.skipped_paid
        result.skipped_late += queued.skipped_late
        result.recurring_issued += recurring.issued
        result.upcoming_notices += recurring.upcoming_notices
    result.notified = team.notified
    result.skipped_paid += team.skipped_paid
    result.skipped_late += team.skipped_late
    if result.customers_queued:
        sent = send_customer_reminders(engine, now, window=window, team_ids=teams, smtp=smtp)
        result.customers_emailed = sent.sent
        result.skipped_paid += sent.skipped_paid
    return result
