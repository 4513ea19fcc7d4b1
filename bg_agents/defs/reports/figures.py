"""A team's month in figures: what its month-end report says, read from the database.

A month is the team's local month (the IANA zone on ``Team``): bookings dated in it, and
instants (decisions, model calls, reminders) from its first midnight up to the next month's,
local time. That next midnight, in UTC, is the data cut-off printed on the report.

Money is in the team's base currency, as the weekly metrics take it: a transaction's
``base_amount`` (given by the provider, or the amount itself when the currency is the base).
Transactions without one are counted as unconverted and left out of the sums, never guessed;
invoices in another currency are counted and left out of receivables the same way.

Everything here is a pure function of (database, team, month, now): no state, so a caller
(the asset, the CLI, a test) gets the same figures for the same data, and ``figures_digest``
tells whether a month's figures changed since a report was written.

Two kinds of figures: the books' (everything dated in the month, and receivables as they stood
at its end) make the digest, so only late or corrected data about the month makes a new
version; the live status (``LiveStatus``: suggestions still open, records still unmatched,
partial payments recorded so far) is what the application holds at the generation instant,
printed with that instant, and left out of the digest, so matching or a payment after the month
does not re-issue the report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.db.categories import effective_category, with_enrichment
from bg_agents.lib.db.models import (
    OPEN_INVOICE,
    Insight,
    Invoice,
    LLMCall,
    Match,
    Reminder,
    Team,
    Transaction,
    UnmatchedRecord,
)

ZERO = Decimal("0.0000")
# Days past due (at the month's last day) per ageing bucket, inclusive; the last has no end.
AGEING = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("90+", 91, None))


@dataclass(frozen=True)
class PeriodTotals:
    """One month's bank totals: revenue (money in), expenses (money out, positive) and net."""

    month: date
    revenue: Decimal
    expenses: Decimal
    net: Decimal
    transactions: int
    unconverted: int  # transactions without a base-currency amount: not in the sums


@dataclass(frozen=True)
class CategoryExpense:
    category: str
    amount: Decimal
    transactions: int


@dataclass(frozen=True)
class WeekCash:
    """Cash in and out of one ISO week, counting only its days inside the month."""

    iso_week: str  # "2026-W44"
    first_day: date
    last_day: date
    cash_in: Decimal
    cash_out: Decimal


@dataclass(frozen=True)
class AgeBucket:
    label: str  # "0-30", "31-60", "61-90", "90+" (days)
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Receivables:
    """Invoices owed at the month's end, at their invoiced amount: all, and those past due with
    their ageing.

    Owed at the end: issued by its last day, not void, and not paid by it (``paid_date``): an
    invoice paid after the month's end was still owed at it, so a later payment does not change
    a past month's receivables. Amounts are the invoices' full amounts: a partial payment is
    stored without a date (``amount_paid`` only), so when it happened cannot be told; what was
    paid so far is in ``LiveStatus`` instead.
    """

    open_count: int
    open_amount: Decimal
    overdue_count: int
    overdue_amount: Decimal
    ageing: tuple[AgeBucket, ...]  # overdue invoices by days past due
    other_currency: int  # owed invoices not in the base currency: not in the amounts


@dataclass(frozen=True)
class UnmatchedKind:
    kind: str  # receipt | invoice | payment
    count: int
    oldest_days: int
    # Records per age band (days from the record date to the month's last day); amounts stay 0:
    # the records are in their own currencies.
    by_age: tuple[AgeBucket, ...]


@dataclass(frozen=True)
class Reconciliation:
    """Decisions taken in the month: links made automatically (by when they were made, still
    automatic) and people's confirmations and refusals (by when they were decided).

    The matches table keeps no history: a decision changed again after the month (a person
    declines an automatic link) leaves the month's count, a correction the report then shows.
    A suggestion confirmed after the month counts in the month it was confirmed.
    """

    automatic_links: int
    confirmed: int
    declined: int


@dataclass(frozen=True)
class LiveStatus:
    """What is still waiting at the generation instant ``as_of``, for records dated up to the
    month's end: open suggestions, unmatched records (aged to the month's last day), and partial
    payments recorded on invoices owed at the end that are not fully paid yet. Not the books:
    printed "as of" the instant and not in the digest (the tables keep no history of earlier
    states, and work done after the month must not re-issue the month's report)."""

    as_of: datetime
    open_suggestions: int
    unmatched: tuple[UnmatchedKind, ...]
    part_paid_count: int
    part_paid_amount: Decimal  # base currency only, like the receivables


@dataclass(frozen=True)
class AgentActivity:
    model_calls: int
    # Sum of the calls' known costs (0 when there were no calls); None when calls were made and
    # none has a known cost. A call without a known price is counted in ``calls_without_cost``
    # and never counted as free.
    cost_usd: Decimal | None
    calls_without_cost: int
    automatic_links: int
    insights_delivered: int
    reminders_sent: int  # team reminders notified and customer e-mails sent


@dataclass(frozen=True)
class MonthFigures:
    team_slug: str
    currency: str
    time_zone: str
    month: date  # first day of the local month
    current: PeriodTotals
    previous_month: PeriodTotals | None  # None: no transactions that month
    previous_year: PeriodTotals | None  # the same month a year earlier; None: no transactions
    categories: tuple[CategoryExpense, ...]  # largest first
    weeks: tuple[WeekCash, ...]
    receivables: Receivables
    reconciliation: Reconciliation
    agents: AgentActivity
    cutoff: datetime  # the month's end in the team's zone, as UTC
    generated_at: datetime  # UTC; not part of the digest
    live: LiveStatus  # as of generated_at; not part of the digest

    @property
    def is_empty(self) -> bool:
        return self.current.transactions == 0


def month_bounds(month: date, zone: str) -> tuple[date, date, datetime, datetime]:
    """(first day, last day, first instant, cut-off instant) of ``month`` in ``zone``, UTC."""
    if month.day != 1:
        raise ValueError(f"{month} is not the first day of a month")
    following = add_months(month, 1)
    tz = ZoneInfo(zone)

    def midnight(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)

    return month, following - timedelta(days=1), midnight(month), midnight(following)


def month_figures(conn: Connection, team_id: int, month: date, now: datetime) -> MonthFigures:
    """Everything a month-end report shows for ``team_id``'s local ``month`` (its first day).

    ``now`` is the generation instant; the month must have ended in the team's zone by then,
    since a report of a month still running would be a draft, not the books' figures.
    """
    team = conn.execute(
        sa.select(Team.slug, Team.base_currency, Team.time_zone).where(Team.id == team_id)
    ).one()
    first, last, start, cutoff = month_bounds(month, team.time_zone)
    if now < cutoff:
        raise ValueError(f"{month:%Y-%m} has not ended in {team.time_zone} at {now.isoformat()}")
    current = _period(conn, team_id, first)
    previous = _period(conn, team_id, add_months(first, -1))
    year_ago = _period(conn, team_id, add_months(first, -12))
    return MonthFigures(
        team_slug=team.slug,
        currency=team.base_currency,
        time_zone=team.time_zone,
        month=first,
        current=current,
        previous_month=previous if previous.transactions else None,
        previous_year=year_ago if year_ago.transactions else None,
        categories=_categories(conn, team_id, first, last),
        weeks=_weeks(conn, team_id, first, last),
        receivables=_receivables(conn, team_id, team.base_currency, last),
        reconciliation=_reconciliation(conn, team_id, start, cutoff),
        agents=_agents(conn, team_id, start, cutoff),
        cutoff=cutoff,
        generated_at=now.astimezone(UTC),
        live=_live(conn, team_id, team.base_currency, last, cutoff, now.astimezone(UTC)),
    )


def figures_digest(figures: MonthFigures) -> str:
    """SHA-256 (hex) of the month's books figures as canonical JSON: what decides a new version.

    In it: the team, currency, zone and month; the month's revenue, expenses, net and counts and
    the same for the previous month and the same month a year earlier (bookings dated in those
    months); expenses by category; cash per week; receivables as they stood at the month's end
    (invoices issued by then, not void, not paid by then, at their invoiced amounts, with
    ageing); the decisions taken in the month; the agents' activity in the month; the cut-off.
    Not in it: the generation instant and ``live`` (open suggestions, unmatched records, partial
    payments so far), which the report prints "as of" the generation instant. So matching,
    confirming or a payment after the month writes no new version by itself; a late booking in
    the month (or in a compared month), a late invoice, a decision dated in the month that
    changed, do.

    Canonical JSON: ``dataclasses.asdict`` of the figures minus ``generated_at`` and ``live``,
    money as strings with four decimals ("1234.5000"), dates and instants in ISO 8601 (instants
    in UTC), keys sorted, separators "," and ":", ASCII only, UTF-8. The same figures give the
    same digest on SQLite and PostgreSQL, so "figures unchanged" means "write nothing"; the
    report prints it as its content SHA-256.
    """
    return hashlib.sha256(canonical_json(figures).encode()).hexdigest()


def canonical_json(figures: MonthFigures) -> str:
    data = dataclasses.asdict(figures)
    del data["generated_at"], data["live"]
    return json.dumps(data, default=_json_value, sort_keys=True, separators=(",", ":"))


def _json_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.quantize(ZERO), "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not part of a report's figures")


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _money(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(value).quantize(ZERO)


def _in_month(first: date, last: date) -> sa.ColumnElement[bool]:
    return Transaction.booking_date.between(first, last)


def _period(conn: Connection, team_id: int, first: date) -> PeriodTotals:
    last = add_months(first, 1) - timedelta(days=1)
    base = Transaction.base_amount
    row = conn.execute(
        sa.select(
            sa.func.sum(sa.case((base > 0, base))).label("revenue"),
            sa.func.sum(sa.case((base < 0, -base))).label("expenses"),
            sa.func.count().label("transactions"),
            sa.func.count().filter(base.is_(None)).label("unconverted"),
        ).where(Transaction.team_id == team_id, _in_month(first, last))
    ).one()
    revenue, expenses = _money(row.revenue), _money(row.expenses)
    return PeriodTotals(
        first, revenue, expenses, revenue - expenses, row.transactions, row.unconverted
    )


def _categories(
    conn: Connection, team_id: int, first: date, last: date
) -> tuple[CategoryExpense, ...]:
    category = effective_category()  # a person's or learned category over the bank's
    amount = sa.func.sum(-Transaction.base_amount)
    rows = conn.execute(
        with_enrichment(sa.select(category, amount, sa.func.count()))
        .where(Transaction.team_id == team_id, _in_month(first, last), Transaction.base_amount < 0)
        .group_by(category)
        .order_by(amount.desc(), category)
    )
    return tuple(CategoryExpense(name, _money(total), n) for name, total, n in rows)


def _weeks(conn: Connection, team_id: int, first: date, last: date) -> tuple[WeekCash, ...]:
    """Every ISO week touching the month (quiet ones too, so the chart has no gaps)."""
    base = Transaction.base_amount
    days = {
        day: (_money(cash_in), _money(cash_out))
        for day, cash_in, cash_out in conn.execute(
            sa.select(
                Transaction.booking_date,
                sa.func.sum(sa.case((base > 0, base))),
                sa.func.sum(sa.case((base < 0, -base))),
            )
            .where(Transaction.team_id == team_id, _in_month(first, last))
            .group_by(Transaction.booking_date)
        )
    }
    weeks = []
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        span = [d for d in (monday + timedelta(days=k) for k in range(7)) if first <= d <= last]
        year, week, _ = monday.isocalendar()
        cash = [days.get(d, (ZERO, ZERO)) for d in span]
        weeks.append(
            WeekCash(
                f"{year}-W{week:02d}",
                span[0],
                span[-1],
                sum((c[0] for c in cash), ZERO),
                sum((c[1] for c in cash), ZERO),
            )
        )
        monday += timedelta(days=7)
    return tuple(weeks)


def _within(column: Any, start: datetime, cutoff: datetime) -> sa.ColumnElement[bool]:
    """An instant ``column`` inside the local month: [first midnight, next month's midnight)."""
    return (column >= start) & (column < cutoff)


def _bucket_bounds(last: date, column: Any) -> list[tuple[str, sa.ColumnElement[bool]]]:
    """Each ageing bucket as a condition on a date ``column``: days from it to ``last``."""
    out = []
    for label, low, high in AGEING:
        cond = column <= last - timedelta(days=low)
        if high is not None:
            cond = sa.and_(cond, column >= last - timedelta(days=high))
        out.append((label, cond))
    return out


def _receivables(conn: Connection, team_id: int, currency: str, last: date) -> Receivables:
    i = Invoice
    owed_at_end = _owed_at_end(team_id, last)
    owed = i.amount  # partial payments have no date: see Receivables
    # Days past due count from the month's last day: due the day before is 1 day past due.
    overdue = i.due_date < last
    buckets = [(label, overdue & cond) for label, cond in _bucket_bounds(last, i.due_date)]
    columns = [
        sa.func.count(),
        sa.func.sum(owed),
        sa.func.count().filter(overdue),
        sa.func.sum(sa.case((overdue, owed))),
    ]
    for _, cond in buckets:
        columns += [sa.func.count().filter(cond), sa.func.sum(sa.case((cond, owed)))]
    row = conn.execute(sa.select(*columns).where(owed_at_end, i.currency == currency)).one()
    other = conn.scalar(sa.select(sa.func.count()).where(owed_at_end, i.currency != currency))
    ageing = tuple(
        AgeBucket(label, row[4 + 2 * k], _money(row[5 + 2 * k]))
        for k, (label, _) in enumerate(buckets)
    )
    return Receivables(row[0], _money(row[1]), row[2], _money(row[3]), ageing, other or 0)


def _owed_at_end(team_id: int, last: date) -> sa.ColumnElement[bool]:
    """Invoices owed at the month's end: issued by its last day, not void, not paid by it."""
    i = Invoice
    paid_later = sa.and_(i.status == "paid", i.paid_date > last)
    return sa.and_(
        i.team_id == team_id, i.issue_date <= last, sa.or_(i.status.in_(OPEN_INVOICE), paid_later)
    )


def _reconciliation(
    conn: Connection, team_id: int, start: datetime, cutoff: datetime
) -> Reconciliation:
    m = Match
    row = conn.execute(
        sa.select(
            sa.func.count().filter(m.status == "auto", _within(m.created_at, start, cutoff)),
            sa.func.count().filter(m.status == "confirmed", _within(m.updated_at, start, cutoff)),
            sa.func.count().filter(m.status == "declined", _within(m.updated_at, start, cutoff)),
        ).where(m.team_id == team_id)
    ).one()
    return Reconciliation(row[0], row[1], row[2])


def _live(
    conn: Connection, team_id: int, currency: str, last: date, cutoff: datetime, now: datetime
) -> LiveStatus:
    open_suggestions = conn.scalar(
        sa.select(sa.func.count()).where(
            Match.team_id == team_id, Match.status == "pending", Match.created_at < cutoff
        )
    )
    u = UnmatchedRecord
    columns = [sa.func.count(), sa.func.min(u.record_date)]
    bands = _bucket_bounds(last, u.record_date)
    columns += [sa.func.count().filter(cond) for _, cond in bands]
    unmatched = tuple(
        UnmatchedKind(
            kind,
            count,
            (last - oldest).days,
            tuple(AgeBucket(label, n, ZERO) for (label, _), n in zip(bands, by_age, strict=True)),
        )
        for kind, count, oldest, *by_age in conn.execute(
            sa.select(u.record_kind, *columns)
            .where(u.team_id == team_id, u.record_date <= last)
            .group_by(u.record_kind)
            .order_by(u.record_kind)
        )
    )
    i = Invoice
    part_paid = conn.execute(
        sa.select(sa.func.count(), sa.func.sum(i.amount_paid)).where(
            _owed_at_end(team_id, last),
            i.status.in_(OPEN_INVOICE),
            i.amount_paid > 0,
            i.currency == currency,
        )
    ).one()
    return LiveStatus(now, open_suggestions or 0, unmatched, part_paid[0], _money(part_paid[1]))


def _agents(conn: Connection, team_id: int, start: datetime, cutoff: datetime) -> AgentActivity:
    def within(column: Any) -> sa.ColumnElement[bool]:
        return _within(column, start, cutoff)

    calls = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(LLMCall.cost_usd),
            sa.func.count().filter(LLMCall.cost_usd.is_(None)),
        ).where(LLMCall.team_id == team_id, within(LLMCall.created_at))
    ).one()
    links = conn.scalar(
        sa.select(sa.func.count()).where(
            Match.team_id == team_id, Match.status == "auto", within(Match.created_at)
        )
    )
    insights = conn.scalar(
        sa.select(sa.func.count()).where(
            Insight.team_id == team_id, Insight.status == "delivered", within(Insight.created_at)
        )
    )
    reminders = conn.scalar(
        sa.select(sa.func.count()).where(
            Reminder.team_id == team_id,
            Reminder.status.in_(("notified", "sent")),
            within(Reminder.sent_at),
        )
    )
    count, cost, unknown = calls
    return AgentActivity(
        model_calls=count,
        cost_usd=None if count and unknown == count else _money(cost),
        calls_without_cost=unknown,
        automatic_links=links or 0,
        insights_delivered=insights or 0,
        reminders_sent=reminders or 0,
    )
