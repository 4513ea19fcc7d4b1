"""Weekly metrics: stored per-team and per-category rows agree with hand-computed figures."""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.lib.db.models import Team, Transaction, WeeklyCategoryMetric, WeeklyMetric

MONDAY = date(2026, 3, 2)


def _add(
    conn, team: int, day: date, amount: str, category: str | None, base: str | None = "="
) -> None:  # type: ignore[no-untyped-def]
    n = conn.execute(sa.select(sa.func.count()).select_from(Transaction)).scalar_one()
    conn.execute(
        sa.insert(Transaction),
        {
            "team_id": team,
            "source": "t",
            "external_id": str(n),
            "booking_date": day,
            "amount": Decimal(amount),
            "currency": "USD",
            "base_amount": Decimal(amount) if base == "=" else base,
            "description": "",
            "category": category,
        },
    )


def test_stored_week_matches_hand_computed_totals(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            [
                {"slug": "a", "name": "A", "time_zone": "UTC", "base_currency": "USD"},
                {"slug": "b", "name": "B", "time_zone": "UTC", "base_currency": "USD"},
            ],
        )
        a = conn.execute(sa.select(Team.id).where(Team.slug == "a")).scalar_one()
        _add(conn, a, date(2026, 2, 24), "-100.00", "travel")  # previous week
        _add(conn, a, date(2026, 3, 2), "-150.10", "travel")
        _add(conn, a, date(2026, 3, 8), "-0.05", None)  # Sunday, still this week
        _add(conn, a, date(2026, 3, 9), "-999.00", "travel")  # next week: excluded
        _add(conn, a, date(2026, 3, 4), "1000.00", "sales")
        _add(conn, a, date(2026, 3, 4), "-30.00", "travel", base=None)  # unconverted
    build_weekly_metrics(engine, MONDAY)
    build_weekly_metrics(engine, MONDAY)  # a second run overwrites, never duplicates
    with Session(engine) as session:
        rows = session.scalars(sa.select(WeeklyMetric).order_by(WeeklyMetric.team_id)).all()
        cats = {
            r.category: r
            for r in session.scalars(
                sa.select(WeeklyCategoryMetric).where(WeeklyCategoryMetric.team_id == a)
            )
        }
    assert len(rows) == 2
    m = rows[0]
    assert (m.revenue, m.expenses, m.net) == (
        Decimal("1000.0000"),
        Decimal("150.1500"),
        Decimal("849.8500"),
    )
    assert (m.transaction_count, m.unconverted_count, m.prev_expenses) == (4, 1, Decimal("100"))
    assert m.expenses_change_pct == 50.15
    assert cats["travel"].expenses == Decimal("150.10")
    assert cats["uncategorized"].expenses == Decimal("0.05")
    assert rows[1].transaction_count == 0


def test_change_percentages_read_the_way_a_person_expects(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": "b", "name": "B", "time_zone": "UTC", "base_currency": "EUR"},
        )
        b = conn.execute(sa.select(Team.id)).scalar_one()
        _add(conn, b, date(2026, 2, 25), "-100.00", "rent")  # last week: a loss of 100
        _add(conn, b, date(2026, 3, 3), "-50.00", "food")  # this week: a loss of 50
    build_weekly_metrics(engine, MONDAY)
    with Session(engine) as session:
        m = session.scalars(sa.select(WeeklyMetric)).one()
        cats = {c.category: c for c in session.scalars(sa.select(WeeklyCategoryMetric))}
    assert m.net_change_pct == 50.0  # a smaller loss is an improvement, not "net fell 50 %"
    assert m.expenses_change_pct == -50.0
    assert m.revenue_change_pct is None  # 0 -> 0 has no percentage
    assert (cats["rent"].expenses, cats["rent"].change_pct) == (Decimal(0), -100.0)
    assert cats["food"].change_pct is None  # nothing last week to compare with

    # Data changes (a transaction moves category): the stale category row disappears.
    with engine.begin() as conn:
        conn.execute(sa.update(Transaction).values(category="meals"))
    build_weekly_metrics(engine, MONDAY)
    with Session(engine) as session:
        assert {c.category for c in session.scalars(sa.select(WeeklyCategoryMetric))} == {"meals"}


HUGE = Decimal("9999999999999")  # under the 1e13 per-row limit; 100 of them overflow a total


def test_one_teams_huge_rows_cannot_fail_every_teams_week(engine) -> None:  # type: ignore[no-untyped-def]
    """Rows inserted directly (no ingest filter): the shared computation still finishes, the
    team whose totals cannot be stored is left out and named, the others are exact."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            [
                {"slug": s, "name": s, "time_zone": "UTC", "base_currency": "EUR"}
                for s in ("hostile", "near", "normal")
            ],
        )
        ids = dict(conn.execute(sa.select(Team.slug, Team.id)).all())
        for _ in range(100):
            _add(conn, ids["hostile"], date(2026, 3, 3), str(HUGE), "sales")
            _add(conn, ids["hostile"], date(2026, 3, 4), str(-HUGE), "rent")
        for _ in range(90):  # 899,999,999,999,910: just under the storable 900 trillion
            _add(conn, ids["near"], date(2026, 3, 3), str(-HUGE), "rent")
        _add(conn, ids["normal"], date(2026, 3, 5), "-12.34", "food")
        _add(conn, ids["normal"], date(2026, 3, 10), "100.00", "sales")
    first = build_weekly_metrics(engine, MONDAY)
    following = build_weekly_metrics(engine, date(2026, 3, 9))  # its "week before" overflows
    assert first.overflowed_teams == following.overflowed_teams == ("hostile",)
    assert (first.teams, first.transactions) == (2, 291)
    with Session(engine) as session:
        rows = {(r.team_id, r.week_start): r for r in session.scalars(sa.select(WeeklyMetric))}
        cats = session.scalars(sa.select(WeeklyCategoryMetric.team_id)).all()
    assert {team for team, _ in rows} == {ids["near"], ids["normal"]}
    assert ids["hostile"] not in cats
    near = rows[ids["near"], MONDAY]
    assert (near.expenses, near.net) == (90 * HUGE, -90 * HUGE)
    assert rows[ids["near"], date(2026, 3, 9)].prev_expenses == 90 * HUGE
    normal = rows[ids["normal"], date(2026, 3, 9)]
    assert (normal.revenue, normal.prev_expenses, normal.revenue_change_pct) == (
        Decimal("100"),
        Decimal("12.34"),
        None,
    )

    # The team's data is corrected: its rows come back; a stale row never outlives an overflow.
    with engine.begin() as conn:
        conn.execute(
            sa.delete(Transaction).where(
                Transaction.team_id == ids["hostile"], Transaction.category == "rent"
            )
        )
    assert build_weekly_metrics(engine, MONDAY).overflowed_teams == ("hostile",)  # 100 x sales
    with engine.begin() as conn:
        conn.execute(
            sa.delete(Transaction).where(
                Transaction.team_id == ids["hostile"], Transaction.external_id != "0"
            )
        )
    assert build_weekly_metrics(engine, MONDAY).overflowed_teams == ()
    with engine.connect() as conn:
        revenue = conn.execute(
            sa.select(WeeklyMetric.revenue).where(
                WeeklyMetric.team_id == ids["hostile"], WeeklyMetric.week_start == MONDAY
            )
        ).scalar_one()
    assert revenue == HUGE


def test_the_asset_succeeds_and_warns_naming_the_team_left_out(engine, db_url) -> None:  # type: ignore[no-untyped-def]
    from bg_agents_tests.helpers import materialize, metadata

    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            [
                {"slug": s, "name": s, "time_zone": "UTC", "base_currency": "EUR"}
                for s in ("hostile", "normal")
            ],
        )
        ids = dict(conn.execute(sa.select(Team.slug, Team.id)).all())
        for _ in range(100):
            _add(conn, ids["hostile"], date(2026, 3, 3), str(-HUGE), "rent")
        _add(conn, ids["normal"], date(2026, 3, 5), "-12.34", "food")
    result = materialize(db_url, ["weekly_metrics"], MONDAY.isoformat())
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["totals_match_transactions"].passed  # blocking: must not stop other teams
    warning = checks["every_team_measured"]
    assert not warning.passed and warning.severity.value == "WARN"
    assert metadata(result, "weekly_metrics")["teams_left_out"] == "hostile"
