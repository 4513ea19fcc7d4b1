"""Recurring invoices: each period issued once with the template's day of month (clamped), the
series ending by date, count or a void template, and the team told exactly once, the day before."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.reminders.recurring import (
    RecurringResult,
    add_months,
    issue_recurring,
    occurrence_date,
)
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import Customer, Invoice, NotificationEvent, Team
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _team(conn: sa.Connection) -> int:
    slug = f"team-{conn.scalar(sa.select(sa.func.count()).select_from(Team)) + 1}"
    return conn.execute(
        sa.insert(Team).returning(Team.id),
        {"slug": slug, "name": slug, "time_zone": "Europe/Berlin", "base_currency": "EUR"},
    ).scalar_one()


def _series(
    engine: Engine,
    issue: date,
    recurrence: str,
    *,
    term_days: int = 14,
    number: str = "INV-7",
    end: date | None = None,
    count: int | None = None,
    status: str = "open",
    team_id: int | None = None,
) -> tuple[int, int]:
    """A team (new unless given), its customer Acme GmbH and a template; (team id, template id)."""
    with engine.begin() as conn:
        team_id = team_id or _team(conn)
        customer = conn.execute(
            sa.insert(Customer).returning(Customer.id),
            {"team_id": team_id, "external_id": f"C-{number}", "name": "Acme GmbH"},
        ).scalar_one()
        template = conn.execute(
            sa.insert(Invoice).returning(Invoice.id),
            {
                "team_id": team_id,
                "customer_id": customer,
                "number": number,
                "amount": Decimal("1234.00"),
                "currency": "EUR",
                "issue_date": issue,
                "due_date": date.fromordinal(issue.toordinal() + term_days),
                "status": status,
                "recurrence": recurrence,
                "recurrence_end": end,
                "recurrence_count": count,
            },
        ).scalar_one()
    return team_id, template


def _run(engine: Engine, day: date, team_id: int) -> RecurringResult:
    with engine.begin() as conn:
        return issue_recurring(conn, day, [team_id], NOW)


def _occurrences(engine: Engine, template_id: int) -> list[tuple[date, date, str, Decimal]]:
    """(period, due date, number, amount) of the template's occurrences, by period."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Invoice.period_start, Invoice.due_date, Invoice.number, Invoice.amount,
                      Invoice.issue_date)
            .where(Invoice.template_id == template_id)
            .order_by(Invoice.period_start)
        ).all()  # fmt: skip
    # Issued on its scheduled date, even when a run after an outage creates it.
    assert all(issued == period for period, *_, issued in rows)
    return [(period, due, number, amount) for period, due, number, amount, _ in rows]


def _periods(engine: Engine, template_id: int) -> list[date]:
    return [row[0] for row in _occurrences(engine, template_id)]


def _events(engine: Engine) -> list[NotificationEvent]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(NotificationEvent).order_by(NotificationEvent.id)))


# -- the schedule ----------------------------------------------------------------------------------


def test_month_end_days_clamp_and_come_back() -> None:
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 2) == date(2028, 3, 31)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert occurrence_date(date(2024, 2, 29), "yearly", 4) == date(2028, 2, 29)
    with pytest.raises(ValueError, match="unknown recurrence 'weekly'"):
        occurrence_date(date(2026, 1, 1), "weekly", 1)


# -- issuing -----------------------------------------------------------------------------------


def test_monthly_from_31_january_across_a_leap_year(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2028, 1, 31), "monthly", term_days=14)
    # 31 May is not due on 30 May: it is announced for tomorrow instead.
    assert _run(engine, date(2028, 5, 30), team) == RecurringResult(3, 1)
    assert _occurrences(engine, template) == [
        (date(2028, 2, 29), date(2028, 3, 14), "INV-7-2028-02", Decimal("1234.00")),
        (date(2028, 3, 31), date(2028, 4, 14), "INV-7-2028-03", Decimal("1234.00")),
        (date(2028, 4, 30), date(2028, 5, 14), "INV-7-2028-04", Decimal("1234.00")),
    ]
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(Invoice.customer_id, Invoice.currency, Invoice.status, Invoice.recurrence)
            .where(Invoice.template_id == template)
            .limit(1)
        ).one()
        assert row[1:] == ("EUR", "open", None)
        assert row[0] == conn.scalar(sa.select(Invoice.customer_id).where(Invoice.id == template))
    assert _run(engine, date(2028, 5, 31), team).issued == 1
    assert _periods(engine, template)[-1] == date(2028, 5, 31)


def test_quarterly(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 11, 30), "quarterly", term_days=30)
    assert _run(engine, date(2027, 11, 29), team).issued == 3
    assert _periods(engine, template) == [date(2027, 2, 28), date(2027, 5, 30), date(2027, 8, 30)]
    assert _occurrences(engine, template)[0][1] == date(2027, 3, 30)  # due 30 days after


def test_yearly_from_29_february(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2024, 2, 29), "yearly")
    assert _run(engine, date(2028, 2, 29), team).issued == 4
    assert _periods(engine, template) == [
        date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)
    ]  # fmt: skip
    assert [o[2] for o in _occurrences(engine, template)][-1] == "INV-7-2028-02"


def test_a_series_ends_after_its_end_date(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 15), "monthly", end=date(2026, 3, 15))
    assert _run(engine, date(2026, 12, 31), team).issued == 2
    assert _periods(engine, template) == [date(2026, 2, 15), date(2026, 3, 15)]
    team2, template2 = _series(
        engine, date(2026, 1, 15), "monthly", end=date(2026, 3, 14), number="INV-8"
    )
    assert _run(engine, date(2026, 12, 31), team2).issued == 1
    assert _periods(engine, template2) == [date(2026, 2, 15)]


def test_a_series_ends_after_its_count_template_included(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 15), "monthly", count=3)
    assert _run(engine, date(2026, 12, 31), team).issued == 2
    assert _periods(engine, template) == [date(2026, 2, 15), date(2026, 3, 15)]
    team2, template2 = _series(engine, date(2026, 1, 15), "monthly", count=1, number="INV-8")
    assert _run(engine, date(2026, 12, 31), team2).issued == 0


def test_running_twice_issues_each_period_once(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly")
    assert _run(engine, date(2026, 3, 10), team).issued == 2
    assert _run(engine, date(2026, 3, 10), team) == RecurringResult(0, 0)
    assert _periods(engine, template) == [date(2026, 2, 10), date(2026, 3, 10)]


def test_catch_up_creates_each_missed_period_once(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly")
    assert _run(engine, date(2026, 2, 10), team).issued == 1
    # An outage from February to late June: the next run issues March to June, on their dates.
    assert _run(engine, date(2026, 6, 20), team).issued == 4
    assert _periods(engine, template) == [date(2026, m, 10) for m in range(2, 7)]
    for day in (date(2026, 6, 20), date(2026, 6, 21), date(2026, 3, 1)):  # re-runs, backfills
        assert _run(engine, day, team).issued == 0
    assert len(_periods(engine, template)) == 5


def test_a_deleted_occurrence_is_not_reissued(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly")
    _run(engine, date(2026, 4, 10), team)
    with engine.begin() as conn:
        conn.execute(sa.delete(Invoice).where(Invoice.period_start == date(2026, 3, 10)))
    assert _run(engine, date(2026, 4, 11), team).issued == 0
    assert _periods(engine, template) == [date(2026, 2, 10), date(2026, 4, 10)]


def test_void_or_deleted_template_issues_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly", status="void")
    assert _run(engine, date(2026, 6, 9), team) == RecurringResult(0, 0)
    assert _periods(engine, template) == [] and _events(engine) == []
    team2, template2 = _series(engine, date(2026, 1, 10), "monthly", number="INV-8")
    assert _run(engine, date(2026, 2, 10), team2).issued == 1
    with engine.begin() as conn:
        conn.execute(sa.delete(Invoice).where(Invoice.id == template2))
    assert _run(engine, date(2026, 6, 9), team2) == RecurringResult(0, 0)


def test_a_taken_number_is_skipped_with_its_reason(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly")
    _series(engine, date(2026, 1, 1), "monthly", number="INV-7-2026-02", team_id=team, count=1)
    other_team, other = _series(engine, date(2026, 1, 10), "monthly")  # same number elsewhere
    result = _run(engine, date(2026, 3, 10), team)
    assert result.issued == 1
    assert result.skipped == (
        f"team {team} already has an invoice numbered 'INV-7-2026-02'; the occurrence of "
        f"template {template} for 2026-02-10 was not issued",
    )
    assert _periods(engine, template) == [date(2026, 3, 10)]
    assert _run(engine, date(2026, 3, 10), other_team).issued == 2


def test_only_the_given_teams(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly")
    other_team, other = _series(engine, date(2026, 1, 10), "monthly")
    assert _run(engine, date(2026, 2, 10), team).issued == 1
    assert _periods(engine, other) == []


# -- the upcoming notice -----------------------------------------------------------------------


def test_upcoming_notice_once_the_day_before(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly", count=2)
    assert _run(engine, date(2026, 2, 8), team).upcoming_notices == 0
    assert _run(engine, date(2026, 2, 9), team) == RecurringResult(0, 1)
    assert _run(engine, date(2026, 2, 9), team) == RecurringResult(0, 0)  # a re-run
    (event,) = _events(engine)
    assert event.category == "invoice.upcoming" and event.team_id == team
    assert event.idempotency_key == f"recurring:upcoming:{template}:2026-02-10"
    assert event.title == (
        "Recurring invoice for Acme GmbH (1,234.00 EUR) will be issued tomorrow, Feb 10, 2026"
    )
    assert (
        event.body == "Invoice INV-7-2026-02, due Feb 24, 2026, from the monthly series of INV-7."
    )
    assert event.payload == {
        "template_id": template,
        "period_start": "2026-02-10",
        "amount": "1234.00",
        "currency": "EUR",
    }
    # Issued on the day; the series (2 invoices) then ends, so March is never announced.
    assert _run(engine, date(2026, 2, 10), team) == RecurringResult(1, 0)
    assert _run(engine, date(2026, 3, 9), team) == RecurringResult(0, 0)
    assert len(_events(engine)) == 1


def test_catch_up_announces_only_what_is_still_ahead(engine) -> None:  # type: ignore[no-untyped-def]
    team, template = _series(engine, date(2026, 1, 10), "monthly")
    # Down on 9 and 10 February: the run on the 11th issues February and announces nothing.
    assert _run(engine, date(2026, 2, 11), team) == RecurringResult(1, 0)
    assert _run(engine, date(2026, 3, 9), team) == RecurringResult(0, 1)
    assert [e.payload["period_start"] for e in _events(engine)] == ["2026-03-10"]


def test_a_late_run_issues_but_announces_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    """A 09:00 unit past its catch-up window: "issued tomorrow" would arrive out of date."""
    team, _ = _series(engine, date(2026, 1, 10), "monthly")
    with engine.begin() as conn:
        late = issue_recurring(conn, date(2026, 2, 9), [team], NOW, announce=False)
    assert late == RecurringResult(0, 0) and _events(engine) == []
    with engine.begin() as conn:
        assert issue_recurring(conn, date(2026, 2, 10), [team], NOW, announce=False).issued == 1


# -- racing runs -----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_racing_runs_on_postgres_issue_once(postgres_url: str) -> None:
    """Run B inserts while run A's rows are uncommitted: B waits, then skips; nobody raises."""
    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    team, template = _series(engine, date(2026, 1, 10), "monthly")
    day = date(2026, 4, 9)  # February and March to issue, April's notice
    results: dict[str, RecurringResult | BaseException] = {}

    def run_b() -> None:
        try:
            with engine.begin() as conn:
                results["b"] = issue_recurring(conn, day, [team], NOW)
        except BaseException as exc:  # reported below, not lost in the thread
            results["b"] = exc

    with engine.begin() as conn_a:
        results["a"] = issue_recurring(conn_a, day, [team], NOW)
        b = threading.Thread(target=run_b)
        b.start()
        time.sleep(0.5)
        assert b.is_alive(), "run B did not wait for run A's uncommitted occurrences"
    b.join(10)
    assert results == {"a": RecurringResult(2, 1), "b": RecurringResult(0, 0)}
    assert _periods(engine, template) == [date(2026, 2, 10), date(2026, 3, 10)]
    assert len(_events(engine)) == 1
    engine.dispose()


# -- the SIMULATED world -------------------------------------------------------------------------


def test_the_simulated_world_continues_its_series_without_repeating_one(engine) -> None:  # type: ignore[no-untyped-def]
    """Templates and linked occurrences from the store; issuing at the history's end repeats no
    period, and a year later every SIMULATED end (count or date) has held."""
    end = date(2026, 11, 22)
    world = generate_world(teams=8, weeks=30, seed=3, end=end)
    write_world(engine, world)
    inv = Invoice.__table__
    with engine.begin() as conn:  # a seed that died after writing invoices, before linking
        conn.execute(sa.update(inv).where(inv.c.number.like("%1")).values(template_id=None))
    assert write_world(engine, world)["invoices"] == 0  # the re-run links them, adds nothing
    with engine.connect() as conn:
        teams = list(conn.scalars(sa.select(Team.id)))
        linked = conn.scalar(sa.select(sa.func.count()).where(inv.c.template_id.is_not(None)))
        templates = conn.execute(
            sa.select(inv.c.id, inv.c.recurrence_end, inv.c.recurrence_count, inv.c.status)
            .where(inv.c.recurrence.is_not(None))
        ).all()  # fmt: skip
    assert linked == sum(1 for i in world.invoices if i["template_number"]) > 0
    assert {bool(t.recurrence_count) for t in templates} == {True, False}
    assert {bool(t.recurrence_end) for t in templates} == {True, False}

    def periods() -> dict[int, list[date]]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(inv.c.template_id, inv.c.period_start)
                .where(inv.c.template_id.is_not(None))
                .order_by(inv.c.template_id, inv.c.period_start)
            )
            out: dict[int, list[date]] = {}
            for template_id, period in rows:
                out.setdefault(template_id, []).append(period)
            return out

    before = periods()
    with engine.begin() as conn:
        issue_recurring(conn, end, teams, NOW)
    # At most a period the history left to a weekend after its end is added; none repeated.
    added = [p for t, ps in periods().items() for p in ps[len(before.get(t, [])) :]]
    assert all(end - timedelta(days=2) <= p <= end for p in added)
    with engine.begin() as conn:
        assert issue_recurring(conn, end + timedelta(days=365), teams, NOW).issued > 0
    after = periods()
    for t in templates:
        series = after.get(t.id, [])
        # One day of month for the whole series (the simulator's days are <= 28), history and
        # new alike, though the history issued some on the Monday after a weekend.
        assert len(series) == len({(p.year, p.month) for p in series})
        assert len({p.day for p in series}) <= 1
        if t.status == "void":
            assert series == before.get(t.id, [])
        if t.recurrence_count is not None:
            assert len(series) + 1 == t.recurrence_count
        if t.recurrence_end is not None:
            assert all(p <= t.recurrence_end for p in series)
        elif t.recurrence_count is None and t.status != "void":
            assert series[-1] > end + timedelta(days=365 - 92)  # open series run on
