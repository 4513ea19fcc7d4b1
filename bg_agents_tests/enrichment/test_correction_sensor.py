"""A person's correction reaches weekly metrics: ``enrichment_correction_sensor`` asks for the
corrected days once, their runs materialize the days, and weekly_metrics' automation recomputes
the week with the new category (SQLite and PostgreSQL, in-process Dagster)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.definitions import defs
from bg_agents.defs._shared.partitions import RANGE_END, RANGE_START, day_ranges
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.enrichment.corrections import categorize
from bg_agents.defs.enrichment.sensors import enrichment_correction_sensor
from bg_agents.defs.enrichment.taxonomy import CATEGORIES
from bg_agents.inprocess import materialize
from bg_agents.lib.db.categories import effective_category, with_enrichment
from bg_agents.lib.db.models import (
    Team,
    Transaction,
    TransactionEnrichment,
    WeeklyCategoryMetric,
)
from bg_agents_tests.helpers import seed

WEEK = "2026-03-02"
DAYS = [f"2026-03-0{d}" for d in range(2, 9)]
WEEKLY = dg.AssetKey("weekly_metrics")


def _tick(instance: dg.DagsterInstance, cursor=None):  # type: ignore[no-untyped-def]
    return dg.evaluate_automation_conditions(
        defs, instance, asset_selection=dg.AssetSelection.assets("weekly_metrics"), cursor=cursor
    )


def _sense(db_url: str, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"app_db": AppDatabase(url=db_url)}
    )
    return enrichment_correction_sensor(context)


def _run(db_url: str, instance: dg.DagsterInstance, request: dg.RunRequest) -> None:
    """What the daemon would launch for the request (one day, or a range by its tags)."""
    if request.partition_key:
        kwargs = {"partition_key": request.partition_key}
    else:
        kwargs = {"partition_range": (request.tags[RANGE_START], request.tags[RANGE_END])}
    result = materialize(
        ["transaction_enrichment"], instance=instance, app_db=AppDatabase(url=db_url), **kwargs
    )
    assert result.success


def _requested_days(requests: list[dg.RunRequest]) -> set[date]:
    out = set()
    for r in requests:
        first = last = r.partition_key
        if first is None:
            first, last = r.tags[RANGE_START], r.tags[RANGE_END]
        day = date.fromisoformat(first)
        while day <= date.fromisoformat(last):
            out.add(day)
            day += timedelta(days=1)
    return out


@pytest.mark.integration
def test_a_correction_is_requested_once_and_its_week_counts_the_new_category(
    engine, db_url
) -> None:  # type: ignore[no-untyped-def]
    seed(engine, teams=1)
    instance = dg.DagsterInstance.ephemeral()
    app_db = AppDatabase(url=db_url)
    tick = _tick(instance)  # the automation's first look: nothing there yet
    assert materialize(
        ["transactions", "transaction_enrichment"], instance=instance,
        partition_range=(DAYS[0], DAYS[-1]), app_db=app_db,
    ).success  # fmt: skip
    tick = _tick(instance, tick.cursor)
    assert tick.get_requested_partitions(WEEKLY) == {WEEK}
    assert materialize(
        ["weekly_metrics"], instance=instance, partition_key=WEEK, app_db=app_db
    ).success
    tick = _tick(instance, tick.cursor)
    assert _sense(db_url, instance, None).skip_reason  # no correction yet

    # An expense whose merchant the team pays again later that week, so lines follow.
    t, e = Transaction, TransactionEnrichment
    in_week = t.booking_date.between(DAYS[0], DAYS[-1])
    with engine.connect() as conn:
        slug = conn.scalar(sa.select(Team.slug))
        lines = conn.execute(
            with_enrichment(
                sa.select(t.id, t.booking_date, t.base_amount, t.team_id, e.merchant_key)
            )
            .where(in_week, t.base_amount < 0, e.merchant_key.is_not(None))
            .order_by(t.booking_date, t.id)
        ).all()
        days_of: dict[str, set[date]] = {}
        for row in lines:
            days_of.setdefault(row.merchant_key, set()).add(row.booking_date)
        line = next(r for r in lines if len(days_of[r.merchant_key]) > 1)
        used = set(conn.scalars(with_enrichment(sa.select(effective_category())).where(in_week)))
    target = next(c for c in CATEGORIES if c not in used and c != "income")
    result = categorize(engine, slug, line.id, target, "ann")
    assert result.followed, "no line followed the correction"
    # The database changed, Dagster did not: the automation alone sees nothing to do.
    tick = _tick(instance, tick.cursor)
    assert tick.total_requested == 0

    sensed = _sense(db_url, instance, None)
    requests = sensed.run_requests
    with engine.connect() as conn:  # the lines that followed as learned: their days too
        followed = set(
            conn.scalars(sa.select(t.booking_date).where(t.id.in_(result.followed or [0])))
        )
    # Exactly the corrected line's day and the days of the lines that followed it.
    assert _requested_days(requests) == {line.booking_date, *followed}
    assert len({r.run_key for r in requests}) == len(requests)
    assert all(sensed.cursor in r.run_key for r in requests)
    assert _sense(db_url, instance, sensed.cursor).skip_reason  # requested once
    for request in requests:
        _run(db_url, instance, request)

    tick = _tick(instance, tick.cursor)
    assert tick.get_requested_partitions(WEEKLY) == {WEEK}
    assert materialize(
        ["weekly_metrics"], instance=instance, partition_key=WEEK, app_db=app_db
    ).success
    wcm = WeeklyCategoryMetric
    with engine.connect() as conn:
        expenses, count = conn.execute(
            sa.select(wcm.expenses, wcm.transaction_count).where(
                wcm.team_id == line.team_id, wcm.week_start == date.fromisoformat(WEEK),
                wcm.category == target,
            )
        ).one()  # fmt: skip
    assert count >= 1 and expenses >= -line.base_amount


def test_consecutive_days_make_one_range() -> None:
    d = date.fromisoformat
    days = [d("2026-03-02"), d("2026-03-03"), d("2026-03-04"), d("2026-03-06"), d("2026-03-09")]
    assert day_ranges(days) == [
        (d("2026-03-02"), d("2026-03-04")),
        (d("2026-03-06"), d("2026-03-06")),
        (d("2026-03-09"), d("2026-03-09")),
    ]
