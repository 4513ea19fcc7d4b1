"""Weekly metrics follow their transactions: a late import into an old week re-computes that week
(and only it), and a week is never computed while one of its days is missing."""

import dagster as dg
import pytest

from bg_agents.definitions import defs
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.inprocess import materialize
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

    _days(db_url, instance, "2026-03-04", "2026-03-04")  # a late file re-ran Wednesday
    _days(db_url, instance, "2026-02-25", "2026-02-25")  # and a day of an incomplete week
    tick = _tick(instance, tick.cursor)
    assert tick.get_requested_partitions(weekly) == {WEEK}
