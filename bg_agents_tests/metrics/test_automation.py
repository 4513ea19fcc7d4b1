"""Weekly metrics follow their transactions: a late import into an old week re-computes that week
(and only it), and a week is never computed while one of its days is missing."""

from datetime import date, timedelta
from decimal import Decimal

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.definitions import defs
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.enrichment.service import stored_version as enrichment_version
from bg_agents.defs.ingestion.quality import stored_version as ingestion_version
from bg_agents.inprocess import materialize
from bg_agents.lib.db.models import Team, Transaction, TransactionEnrichment
from bg_agents_tests.helpers import seed

WEEK = "2026-03-02"
DAYS = [f"2026-03-0{d}" for d in range(2, 9)]


def _days(url: str, instance: dg.DagsterInstance, first: str, last: str) -> None:
    # The days' categories follow them (their own automation), then the week may be computed.
    result = materialize(
        ["transactions", "transaction_enrichment"],
        instance=instance,
        partition_range=(first, last),
        app_db=AppDatabase(url=url),
    )
    assert result.success


def _tick(instance: dg.DagsterInstance, cursor=None):  # type: ignore[no-untyped-def]
    return dg.evaluate_automation_conditions(
        defs, instance, asset_selection=dg.AssetSelection.assets("weekly_metrics"), cursor=cursor
    )


@pytest.mark.integration
def test_weekly_metrics_wait_for_the_whole_week_then_follow_late_data(engine, db_url) -> None:  # type: ignore[no-untyped-def]
    seed(engine)
    instance = dg.DagsterInstance.ephemeral()
    weekly = dg.AssetKey("weekly_metrics")

    _days(db_url, instance, DAYS[0], DAYS[-2])  # Monday to Saturday: Sunday is missing
    tick = _tick(instance)
    assert WEEK not in tick.get_requested_partitions(weekly)

    _days(db_url, instance, DAYS[-1], DAYS[-1])  # Sunday lands: the week is complete
    tick = _tick(instance, tick.cursor)
    assert tick.get_requested_partitions(weekly) == {WEEK}

    tick = _tick(instance, tick.cursor)  # requested once, not again on the next tick
    assert tick.total_requested == 0

    # The hourly fetch of a day re-runs it alone. (The first such run after the week's days were
    # run together counts as a change: a run of several days reports one version for them all.)
    _days(db_url, instance, "2026-03-04", "2026-03-04")
    tick = _tick(instance, tick.cursor)
    for _ in range(2):  # nothing new, hour after hour: nothing to re-compute
        _days(db_url, instance, "2026-03-04", "2026-03-04")
        tick = _tick(instance, tick.cursor)
        assert tick.total_requested == 0

    _late_row(engine, date(2026, 3, 4))  # a late bank file lands a row on Wednesday
    _days(db_url, instance, "2026-03-04", "2026-03-04")
    _days(db_url, instance, "2026-02-25", "2026-02-25")  # and a day of an incomplete week
    tick = _tick(instance, tick.cursor)
    assert tick.get_requested_partitions(weekly) == {WEEK}


def _late_row(engine, day: date) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = conn.scalar(sa.select(sa.func.min(Team.id)))
        conn.execute(
            sa.insert(Transaction),
            {"team_id": team, "source": "csv", "external_id": f"late-{day}", "booking_date": day,
             "amount": Decimal("-12.50"), "currency": "EUR", "description": "late"},
        )  # fmt: skip


def test_what_the_days_hold_is_what_counts_as_a_change(engine) -> None:  # type: ignore[no-untyped-def]
    """The data versions the automation compares: the same rows give the same version; a row
    that lands, or a category a person corrects, gives another; other days do not count."""
    seed(engine)
    wednesday, thursday = date(2026, 3, 4), date(2026, 3, 5)
    with engine.connect() as conn:
        before = ingestion_version(conn, wednesday, wednesday)
        assert ingestion_version(conn, wednesday, wednesday) == before
    _late_row(engine, thursday)
    with engine.connect() as conn:
        assert ingestion_version(conn, wednesday, wednesday) == before
        assert ingestion_version(conn, thursday, thursday) != ingestion_version(
            conn, thursday, thursday - timedelta(days=1)
        )
    _late_row(engine, wednesday)
    with engine.connect() as conn:
        assert ingestion_version(conn, wednesday, wednesday) != before

    with engine.begin() as conn:
        tx = conn.scalar(sa.select(sa.func.min(Transaction.id)))
        team, day = conn.execute(
            sa.select(Transaction.team_id, Transaction.booking_date).where(Transaction.id == tx)
        ).one()
        conn.execute(
            sa.insert(TransactionEnrichment),
            {"transaction_id": tx, "team_id": team, "booking_date": day, "merchant": "Rewe",
             "category": "groceries", "source": "rule"},
        )  # fmt: skip
        enriched = enrichment_version(conn, day, day)
        assert enrichment_version(conn, day, day) == enriched
        conn.execute(
            sa.update(TransactionEnrichment)
            .where(TransactionEnrichment.transaction_id == tx)
            .values(category="meals", source="person")
        )
        assert enrichment_version(conn, day, day) != enriched
