"""Team reminders: at 09:00 local, each open invoice due soon or on an escalation day, once.

A unit of work is a local day and a delivery slot (the UTC offset of 09:00 that day): every team
of the slot is due at the same instant. ``plan_team`` only reads (the CLI's preview);
``send_team`` decides again at send time: it re-reads each invoice under a row lock (PostgreSQL),
so a payment committed in the meantime is seen, and stores one ``Reminder`` per natural key
(invoice, kind, local date) with the event that tells the team. A key already stored sends
nothing, so a re-run, a backfill or a racing run notifies nobody twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.notifications import Event, Words, notify
from bg_agents.defs.reminders import rules
from bg_agents.lib.db.models import OPEN_INVOICE, Customer, Invoice, Reminder, Team, customer_teams
from bg_agents.lib.db.upsert import insert_missing
from bg_agents.lib.delivery_slots import day_due_at, day_slot
from bg_agents.lib.money import plain_amount

CATEGORY = "invoice.overdue"  # due-soon reminders share it: one digest of unpaid invoices
CHUNK = 1_000  # teams per query (and per transaction in run.py)


@dataclass(frozen=True)
class SlotTeam:
    id: int
    slug: str
    name: str
    time_zone: str


@dataclass(frozen=True)
class Planned:
    """One reminder the team would get: its invoice as read, and its natural key."""

    key: str
    team_id: int
    invoice_id: int
    number: str
    customer: str | None
    kind: str
    amount_due: Decimal
    currency: str
    due_date: date
    local_date: date
    slot: str
    due_at: datetime

    def words(self) -> Words:
        """'Invoice RE-2026-0012 (Acme GmbH): 1,234.00 EUR, 7 days overdue', in each reader's
        language."""
        days = (self.due_date - self.local_date).days
        if days > 1:
            when = Words("due_in", {"days": days})
        elif days == 1:
            when = Words("due_tomorrow")
        elif days == 0:
            when = Words("due_today")
        else:
            when = Words("overdue_one" if days == -1 else "overdue", {"days": -days})
        return Words("reminder", {
            "number": self.number,
            "customer": f" ({self.customer})" if self.customer else "",
            "amount": Words.money(self.amount_due, self.currency),
            "when": when,
        })  # fmt: skip


@dataclass
class TeamSendResult:
    notified: Counter[str] = field(default_factory=Counter)  # by kind
    skipped_paid: int = 0
    skipped_late: int = 0

    def add(self, other: TeamSendResult) -> None:
        self.notified.update(other.notified)
        self.skipped_paid += other.skipped_paid
        self.skipped_late += other.skipped_late


def not_owed_reason(status: str) -> str:
    return "invoice void" if status == "void" else "invoice paid"


def teams_of_slot(
    conn: Connection, local_date: date, slot: str, team_ids: Sequence[int] | None = None
) -> list[SlotTeam]:
    """The teams whose 09:00 on ``local_date`` falls in ``slot`` (by their zone's offset then)."""
    query = (
        sa.select(Team.id, Team.slug, Team.name, Team.time_zone)
        .where(customer_teams())
        .order_by(Team.id)
    )
    if team_ids is not None:
        query = query.where(Team.id.in_(list(team_ids)))
    return [
        SlotTeam(*row)
        for row in conn.execute(query).all()
        if day_slot(local_date, rules.REMINDER_TIME, row.time_zone) == slot
    ]


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _candidates(conn: Connection, local_date: date, team_ids: list[int]) -> list[Any]:
    """Open invoices of the teams whose due date gives a reminder today (one indexed query)."""
    return conn.execute(
        sa.select(
            Invoice.id,
            Invoice.team_id,
            Invoice.number,
            Invoice.amount,
            Invoice.amount_paid,
            Invoice.status,
            Invoice.currency,
            Invoice.due_date,
            sa.func.coalesce(Customer.company, Customer.name).label("customer"),
        )
        .outerjoin(Customer, Customer.id == Invoice.customer_id)
        .where(
            Invoice.team_id.in_(team_ids),
            Invoice.due_date.in_(rules.team_due_dates(local_date)),
            Invoice.status.in_(OPEN_INVOICE),
        )
        .order_by(Invoice.id)
    ).all()


def _planned(row: Any, local_date: date, slot: str, amount_due: Decimal) -> Planned:
    kind = rules.team_kind(row.due_date, local_date)
    assert kind is not None  # the query asked for these due dates only
    return Planned(
        key=rules.team_key(row.id, kind, local_date),
        team_id=row.team_id,
        invoice_id=row.id,
        number=row.number,
        customer=row.customer,
        kind=kind,
        amount_due=amount_due,
        currency=row.currency,
        due_date=row.due_date,
        local_date=local_date,
        slot=slot,
        due_at=day_due_at(local_date, rules.REMINDER_TIME, slot),
    )


def plan_team(
    conn: Connection, local_date: date, slot: str, team_ids: Sequence[int] | None = None
) -> list[Planned]:
    """What the slot's teams would be reminded of now (read-only; nothing is stored)."""
    teams = [t.id for t in teams_of_slot(conn, local_date, slot, team_ids)]
    out = []
    for chunk in chunks(teams):
        for row in _candidates(conn, local_date, chunk):
            if rules.owed(row.status, row.amount, row.amount_paid):
                out.append(_planned(row, local_date, slot, row.amount - row.amount_paid))
    return out


def _lock_and_reread(conn: Connection, invoice_ids: list[int]) -> dict[int, Any]:
    """The invoices as they are now, locked until this transaction ends: a payment being
    committed is waited for and seen; one committed after waits for the reminder to commit."""
    if not invoice_ids:
        return {}
    query = (
        sa.select(Invoice.id, Invoice.status, Invoice.amount, Invoice.amount_paid)
        .where(Invoice.id.in_(invoice_ids))
        .order_by(Invoice.id)  # one lock order for every run: no deadlock between two
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=Invoice)
    else:
        # SQLite has no row locks: a no-op write takes the database's write lock first, so a
        # racing run waits here and then sees this one's reminders.
        conn.execute(
            sa.update(Invoice).where(Invoice.id.in_(invoice_ids)).values(status=Invoice.status)
        )
    return {row.id: row for row in conn.execute(query).all()}


def send_team(
    conn: Connection,
    local_date: date,
    slot: str,
    now: datetime,
    decision: str,
    run_id: str | None = None,
    *,
    team_ids: Sequence[int] | None = None,
) -> TeamSendResult:
    """Store and notify the slot's team reminders (``decision`` "deliver"), or record them as
    ``skipped_late`` ("skip"); an invoice paid since it was read is recorded ``skipped_paid``.
    Runs in the caller's transaction; ``team_ids`` limits it to those teams (a chunk)."""
    if decision not in ("deliver", "skip"):
        raise ValueError(f"decision must be 'deliver' or 'skip', not {decision!r}")
    result = TeamSendResult()
    teams = [t.id for t in teams_of_slot(conn, local_date, slot, team_ids)]
    for chunk in chunks(teams):
        candidates = _candidates(conn, local_date, chunk)
        if not candidates:
            continue
        current = _lock_and_reread(conn, [c.id for c in candidates])
        planned = [_planned(c, local_date, slot, c.amount - c.amount_paid) for c in candidates]
        done = set(
            conn.scalars(sa.select(Reminder.key).where(Reminder.key.in_([p.key for p in planned])))
        )
        rows, events = [], []
        for p in planned:
            if p.key in done:
                continue  # decided by an earlier run: nothing to send again
            now_row = current.get(p.invoice_id)
            if now_row is None:
                continue  # deleted since it was read: nothing to remind of, nothing to record
            if not rules.owed(now_row.status, now_row.amount, now_row.amount_paid):
                status = "skipped_paid"
                result.skipped_paid += 1
            else:
                # A partial payment since the first read changes the amount in the text.
                p = replace(p, amount_due=now_row.amount - now_row.amount_paid)
                status = "notified" if decision == "deliver" else "skipped_late"
                if status == "notified":
                    result.notified[p.kind] += 1
                    events.append(_event(p))
                else:
                    result.skipped_late += 1
            rows.append(_row(p, status, now, run_id))
        insert_missing(conn, Reminder, rows, ["key"])
        if events:
            notify(conn, events, now)
    return result


def _event(p: Planned) -> Event:
    return Event(
        key=p.key,
        team_id=p.team_id,
        category=CATEGORY,
        words=p.words(),
        body_words=(
            Words("reminder_body", {"due": Words.day(p.due_date), "day": Words.day(p.local_date)}),
        ),
        payload={
            "invoice_id": p.invoice_id,
            "kind": p.kind,
            "amount_due": plain_amount(p.amount_due, p.currency),
            "currency": p.currency,
            "due_date": p.due_date.isoformat(),
        },
    )


def _row(p: Planned, status: str, now: datetime, run_id: str | None) -> dict[str, Any]:
    return {
        "key": p.key,
        "team_id": p.team_id,
        "invoice_id": p.invoice_id,
        "audience": "team",
        "kind": p.kind,
        "local_date": p.local_date,
        "slot": p.slot,
        "due_at": p.due_at,
        "status": status,
        "amount_due": p.amount_due,
        "currency": p.currency,
        "attempts": 0,
        "run_id": run_id,
        "created_at": now,
        "sent_at": now if status == "notified" else None,
    }
