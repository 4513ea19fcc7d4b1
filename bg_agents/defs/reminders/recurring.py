"""Recurring invoices: each period's invoice issued once, and the team told the day before.

A *template* is an invoice with a ``recurrence`` (monthly, quarterly, yearly) and no
``template_id``; it is occurrence 0 of its series. Occurrence k is scheduled k periods after the
template's *anchor* (its ``period_start`` when set, e.g. an issue the invoicing software moved to
a business day, else its issue date), keeping the anchor's day of month and clamping to a short
month's last day (31 Jan -> 29 Feb -> 31 Mar): counting from the anchor, not from the previous
occurrence, is what keeps the 31st after February. The series ends after ``recurrence_end`` or
after ``recurrence_count`` invoices in all (the template counted); a void or deleted template
ends it too.

An occurrence's natural key is (template_id, period_start), unique in the schema, so a re-run,
a backfill or two racing runs create it once. A run continues each series after its latest
existing period: a run after an outage issues every missed period with its scheduled dates, and
an occurrence someone deleted before that latest period is not brought back.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bg_agents.defs.notifications import Event, Words, notify
from bg_agents.lib.db.models import Customer, Invoice
from bg_agents.lib.money import plain_amount

log = logging.getLogger(__name__)

# Months between two occurrences of each rhythm.
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
UPCOMING_CATEGORY = "invoice.upcoming"
# Teams (and numbers) per IN list. No index finds templates, so PostgreSQL may read a batch's
# with one scan of invoices: few large batches (10,000 teams x 50 invoices: about 1.4 s a day on
# either database), still far below SQLite's 32,766 bound parameters.
_BATCH = 2_000
_NUMBER_MAX = Invoice.__table__.c.number.type.length


@dataclass(frozen=True)
class RecurringResult:
    """What one run did: occurrences created, upcoming notices stored, and why any were skipped."""

    issued: int
    upcoming_notices: int
    skipped: tuple[str, ...] = field(default=())


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months``, on the same day of month or the month's last day."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def occurrence_date(anchor: date, recurrence: str, k: int) -> date:
    """The scheduled issue date of occurrence ``k`` (0: the template) of a series."""
    try:
        step = PERIOD_MONTHS[recurrence]
    except KeyError:
        known = ", ".join(PERIOD_MONTHS)
        raise ValueError(f"unknown recurrence {recurrence!r}; known: {known}") from None
    return add_months(anchor, step * k)


def in_series(k: int, day: date, end: date | None, count: int | None) -> bool:
    """Whether occurrence ``k`` on ``day`` belongs to a series ending after ``end`` / ``count``."""
    return (count is None or k < count) and (end is None or day <= end)


def occurrence_number(template_number: str, period: date) -> str:
    return f"{template_number}-{period:%Y-%m}"


def upcoming_key(template_id: int, period: date) -> str:
    return f"recurring:upcoming:{template_id}:{period.isoformat()}"


@dataclass(frozen=True)
class _Template:
    id: int
    team_id: int
    number: str
    customer_id: int | None
    customer_name: str | None
    amount: Decimal
    currency: str
    anchor: date
    term: timedelta
    recurrence: str
    end: date | None
    count: int | None
    last_period: date | None

    def next_k(self) -> int:
        """The first occurrence after the latest existing one (1 when there is none)."""
        if self.last_period is None:
            return 1
        months = (self.last_period.year - self.anchor.year) * 12
        months += self.last_period.month - self.anchor.month
        return max(1, months // PERIOD_MONTHS[self.recurrence] + 1)


def issue_recurring(
    conn: Connection,
    local_date: date,
    team_ids: Sequence[int],
    now: datetime,
    *,
    announce: bool = True,
) -> RecurringResult:
    """Create the given teams' occurrences due by ``local_date`` and announce tomorrow's.

    ``local_date`` is the teams' local date (the caller groups teams by zone); ``now`` stamps the
    new invoices and the notices. Runs in the caller's transaction; a few set-based statements
    per 2,000 teams, whatever the number of invoices. ``announce=False`` (a 09:00 run past its
    catch-up window) still issues the invoices, a record, but sends no notice that is out of date.
    """
    issued = notices = 0
    skipped: list[str] = []
    tomorrow = local_date + timedelta(days=1)
    for start in range(0, len(team_ids), _BATCH):
        templates = _templates(conn, team_ids[start : start + _BATCH], local_date)
        rows, upcoming = _plan(templates, local_date, tomorrow, now)
        rows, taken = _without_taken_numbers(conn, rows)
        skipped += taken
        issued += _insert_absent(conn, rows)
        events = [_upcoming_event(t, period) for t, period in upcoming] if announce else []
        if events:
            notices += notify(conn, events, now)
    for reason in skipped:
        log.warning("recurring invoice skipped: %s", reason)
    return RecurringResult(issued, notices, tuple(skipped))


def _templates(conn: Connection, team_ids: Sequence[int], local_date: date) -> list[_Template]:
    """The teams' live templates issued by ``local_date``, each with its latest period."""
    inv = Invoice.__table__
    occ = inv.alias("occ")
    last_period = (
        sa.select(sa.func.max(occ.c.period_start))
        .where(occ.c.template_id == inv.c.id)
        .scalar_subquery()
    )
    query = (
        sa.select(
            inv.c.id,
            inv.c.team_id,
            inv.c.number,
            inv.c.customer_id,
            Customer.name,
            inv.c.amount,
            inv.c.currency,
            sa.func.coalesce(inv.c.period_start, inv.c.issue_date),
            inv.c.issue_date,
            inv.c.due_date,
            inv.c.recurrence,
            inv.c.recurrence_end,
            inv.c.recurrence_count,
            last_period,
        )
        .select_from(inv.outerjoin(Customer, Customer.id == inv.c.customer_id))
        .where(
            inv.c.team_id.in_(list(team_ids)),
            # Not ``template_id IS NULL``: SQLite would answer that from the template_id index,
            # i.e. every invoice that is no occurrence, instead of the batch's teams' rows.
            sa.func.coalesce(inv.c.template_id, 0) == 0,
            inv.c.recurrence.in_(list(PERIOD_MONTHS)),
            inv.c.status != "void",
            sa.or_(inv.c.recurrence_count.is_(None), inv.c.recurrence_count > 1),
        )
        .order_by(inv.c.id)
    )
    out = []
    for row in conn.execute(query):
        *head, issue, due, recurrence, end, count, last = row
        if issue > local_date:  # here, not in SQL: PostgreSQL would scan the issue_date index
            continue
        out.append(_Template(*head, due - issue, recurrence, end, count, last))
    return out


def _plan(
    templates: Iterable[_Template], local_date: date, tomorrow: date, now: datetime
) -> tuple[list[dict[str, Any]], list[tuple[_Template, date]]]:
    """Rows for every missing occurrence due by ``local_date``; the ones scheduled ``tomorrow``."""
    rows: list[dict[str, Any]] = []
    upcoming: list[tuple[_Template, date]] = []
    for t in templates:
        for period in _periods(t):
            if period > local_date:
                if period == tomorrow:
                    upcoming.append((t, period))
                break
            rows.append(
                {
                    "team_id": t.team_id,
                    "customer_id": t.customer_id,
                    "number": occurrence_number(t.number, period),
                    "amount": t.amount,
                    "currency": t.currency,
                    "issue_date": period,
                    "due_date": period + t.term,
                    "status": "open",
                    "template_id": t.id,
                    "period_start": period,
                    "created_at": now,
                }
            )
    return rows, upcoming


def _periods(t: _Template) -> Iterator[date]:
    """The series' scheduled dates after its latest existing period, until the series ends."""
    k = t.next_k()
    while in_series(k, day := occurrence_date(t.anchor, t.recurrence, k), t.end, t.count):
        yield day
        k += 1


def _without_taken_numbers(
    conn: Connection, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Drop occurrences whose number another invoice of the team has, saying why.

    The same occurrence already there (a racing run committed it first) is no clash: the
    insert skips it quietly.
    """
    inv = Invoice.__table__
    wanted = {(r["team_id"], r["number"]) for r in rows}
    holder: dict[tuple[int, str], tuple[int | None, date | None]] = {}
    numbers = sorted({n for _, n in wanted})
    teams = sorted({t for t, _ in wanted})
    for i in range(0, len(numbers), _BATCH):
        query = sa.select(inv.c.team_id, inv.c.number, inv.c.template_id, inv.c.period_start).where(
            inv.c.number.in_(numbers[i : i + _BATCH]), inv.c.team_id.in_(teams)
        )
        for team_id, number, template_id, period in conn.execute(query):
            if (team_id, number) in wanted:
                holder[team_id, number] = (template_id, period)
    kept, reasons = [], []
    for r in rows:
        held = holder.get((r["team_id"], r["number"]))
        if len(r["number"]) > _NUMBER_MAX:
            reasons.append(
                f"invoice number {r['number']!r} (template {r['template_id']}, period "
                f"{r['period_start']}) is longer than {_NUMBER_MAX} characters"
            )
        elif held is not None and held != (r["template_id"], r["period_start"]):
            reasons.append(
                f"team {r['team_id']} already has an invoice numbered {r['number']!r}; the "
                f"occurrence of template {r['template_id']} for {r['period_start']} was not issued"
            )
        else:
            kept.append(r)
    return kept, reasons


def _insert_absent(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert the rows, skipping any that conflicts on a unique key; return how many were new.

    No conflict target on purpose: a racing run's occurrence collides on (template_id,
    period_start) *and* on (team_id, number), and PostgreSQL raises, rather than skips, a
    conflict on a unique index that is not the target (when the other run's row lands between
    its check of the target and its own insert), so naming one could turn a lost race into an
    error.
    """
    if not rows:
        return 0
    table = Invoice.__table__
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    inserted = 0
    for i in range(0, len(rows), _BATCH):
        stmt = insert(table).on_conflict_do_nothing().returning(table.c.id)
        inserted += len(conn.execute(stmt, rows[i : i + _BATCH]).all())
    return inserted


def _upcoming_event(t: _Template, period: date) -> Event:
    values = {"amount": Words.money(t.amount, t.currency), "date": Words.day(period)}
    if t.customer_name:
        title = Words("recurring_upcoming", {**values, "customer": t.customer_name})
    else:
        title = Words("recurring_upcoming_number", {**values, "number": t.number})
    body = Words("recurring_body", {
        "number": occurrence_number(t.number, period),
        "due": Words.day(period + t.term),
        "every": Words(f"every_{t.recurrence}"),
        "series": t.number,
    })  # fmt: skip
    return Event(
        key=upcoming_key(t.id, period),
        team_id=t.team_id,
        category=UPCOMING_CATEGORY,
        words=title,
        body_words=(body,),
        payload={
            "template_id": t.id,
            "period_start": period.isoformat(),
            "amount": plain_amount(t.amount, t.currency),
            "currency": t.currency,
        },
    )
