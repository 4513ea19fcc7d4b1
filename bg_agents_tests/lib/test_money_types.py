"""Money keeps its type through SQL arithmetic and aggregates, so SQLite (integer 1/10000 units)
and PostgreSQL (NUMERIC) read the same amounts; an aggregate that would lose the type is refused."""

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bg_agents.defs.insights.service import TeamRow, load_inputs
from bg_agents.defs.metrics.service import build_weekly_metrics
from bg_agents.lib.db.models import Invoice, Team, Transaction
from bg_agents.lib.db.types import UntypedMoneyAggregate, money_units

WEEK = date(2026, 3, 2)
AMOUNTS = ("12.3400", "-0.0100", "1000.5000", "-250.0001")


def _team(conn) -> int:  # type: ignore[no-untyped-def]
    conn.execute(
        sa.insert(Team), {"slug": "t", "name": "T", "time_zone": "UTC", "base_currency": "EUR"}
    )
    return conn.execute(sa.select(Team.id)).scalar_one()


@pytest.fixture
def rows(engine):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = _team(conn)
        conn.execute(
            sa.insert(Transaction),
            [
                {
                    "team_id": team,
                    "source": "t",
                    "external_id": str(i),
                    "booking_date": WEEK,
                    "amount": Decimal(a),
                    "currency": "EUR",
                    "base_amount": Decimal(a),
                }
                for i, a in enumerate(AMOUNTS)
            ],
        )
    return [Decimal(a) for a in AMOUNTS]


def test_aggregates_and_arithmetic_over_money_read_back_as_money(engine, rows) -> None:  # type: ignore[no-untyped-def]
    t = Transaction.amount
    with engine.connect() as conn:
        got = conn.execute(
            sa.select(
                sa.func.sum(t),
                sa.func.min(t),
                sa.func.max(t),
                sa.func.sum(t - Transaction.base_amount + t),
                sa.func.sum(-t * 3),
                sa.func.max(sa.func.abs(t)),
                sa.func.sum(sa.case((t > 0, t), else_=0)),
                sa.func.avg(t),
            )
        ).one()
    assert tuple(got) == (
        sum(rows),
        min(rows),
        max(rows),
        sum(rows),
        -3 * sum(rows),
        max(abs(a) for a in rows),
        sum(a for a in rows if a > 0),
        (sum(rows) / len(rows)).quantize(Decimal("0.0001")),
    )
    if engine.dialect.name == "sqlite":  # SQLite's float sum, read back to the nearest unit
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.total(t))).scalar_one() == sum(rows)


def test_overdue_total_is_the_amount_owed_not_its_units(engine) -> None:  # type: ignore[no-untyped-def]
    """The reported bug: 12,411.70 EUR overdue was shown as 124,117,000.00 EUR on SQLite."""
    with engine.begin() as conn:
        team = _team(conn)
        conn.execute(
            sa.insert(Invoice),
            [
                {
                    "team_id": team,
                    "number": f"RE-{i}",
                    "amount": Decimal(amount),
                    "amount_paid": Decimal(paid),
                    "currency": "EUR",
                    "issue_date": date(2026, 1, 5),
                    "due_date": date(2026, 2, 1),
                    "status": status,
                }
                for i, (amount, paid, status) in enumerate(
                    [
                        ("5000.00", "0", "open"),
                        ("8000.00", "1000.00", "partially_paid"),
                        ("411.70", "0", "open"),
                    ]
                )
            ],
        )
    build_weekly_metrics(engine, WEEK)
    with engine.connect() as conn:
        inputs = load_inputs(conn, [TeamRow(team, "t", "T", "UTC", "EUR", "de_DE")], WEEK)
    assert (inputs[team].overdue_amount, inputs[team].overdue_count) == (Decimal("12411.70"), 3)


def test_an_aggregate_that_drops_the_money_type_is_refused_on_every_database(engine, rows) -> None:  # type: ignore[no-untyped-def]
    untyped = sa.func.sum(sa.func.round(Transaction.amount))  # round() is not known to be money
    with engine.connect() as conn, pytest.raises(UntypedMoneyAggregate, match="money_units"):
        conn.execute(sa.select(untyped))
        # the deliberate way to see units stays open, and is exact
    with engine.connect() as conn:
        units = conn.execute(
            sa.select(sa.func.sum(money_units(Transaction.amount, conn.dialect.name)))
        ).scalar_one()
    assert int(units) == int(sum(rows) * 10_000)


def test_money_times_money_and_factors_bound_as_money_are_refused() -> None:
    with pytest.raises(TypeError, match="no money result"):
        _ = Transaction.amount * Transaction.base_amount
    # a plain factor stays a number: 2, not 2.0000 money (20000 units on SQLite)
    factor = (Transaction.amount * 2).right
    assert not isinstance(factor.type, type(Transaction.amount.type))


def test_one_teams_huge_invoices_cannot_fail_the_slots_insight_inputs(engine) -> None:  # type: ignore[no-untyped-def]
    """100 invoices of 9,999,999,999,999 owed: more than SQLite's integers hold in 1/10000
    units. The shared query still answers, exactly."""
    huge = Decimal("9999999999999")
    with engine.begin() as conn:
        team = _team(conn)
        conn.execute(
            sa.insert(Invoice),
            [
                {
                    "team_id": team,
                    "number": f"RE-{i}",
                    "amount": huge,
                    "currency": "EUR",
                    "issue_date": date(2026, 1, 5),
                    "due_date": date(2026, 2, 1),
                }
                for i in range(100)
            ],
        )
    build_weekly_metrics(engine, WEEK)
    with engine.connect() as conn:
        inputs = load_inputs(conn, [TeamRow(team, "t", "T", "UTC", "EUR", "de_DE")], WEEK)
    assert (inputs[team].overdue_amount, inputs[team].receivables) == (100 * huge, 100 * huge)


def test_amounts_people_read_have_their_currencys_places() -> None:
    from decimal import Decimal

    from bg_agents.lib.money import plain_amount

    assert plain_amount(Decimal("21.2700"), "USD") == "21.27"
    assert plain_amount(Decimal("1500.0000"), "JPY") == "1500"
    assert plain_amount(Decimal("3.1250"), "KWD") == "3.125"
    assert plain_amount(Decimal("12.3450"), "EUR") == "12.345", "finer than cents: nothing lost"
    assert plain_amount(Decimal("-100000000.0000"), "EUR") == "-100000000.00"
