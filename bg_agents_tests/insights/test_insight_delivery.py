"""Delivering an insight: nothing before 07:00 local, every member notified exactly once inside the
window (re-runs included), a skip recorded after it; the sensor requests each unit once."""

from datetime import date, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.insights.sensors import insight_delivery_sensor
from bg_agents.defs.insights.service import generate_slot
from bg_agents.inprocess import materialize
from bg_agents.lib.agents.backends import OfflineBackend
from bg_agents.lib.db.models import Insight, Notification, User
from bg_agents.lib.delivery_slots import due_at, slot_for
from bg_agents_tests.helpers import ingest_and_measure, one_team_with_metrics, seed

WEEK = date(2026, 3, 2)


@pytest.fixture
def unit(engine):  # type: ignore[no-untyped-def]
    """One team's (week, slot) with metrics in place; returns (slot, due instant)."""
    _, zone = one_team_with_metrics(engine)
    slot = slot_for(WEEK, zone)
    return slot, due_at(WEEK, slot)


def _state(engine) -> tuple[str, int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        status = conn.scalar(sa.select(Insight.status))
        sent = conn.scalar(sa.select(sa.func.count()).select_from(Notification))
        users = conn.scalar(sa.select(sa.func.count()).select_from(User))
    return status, sent, users


def test_before_due_nothing_is_sent(engine, unit) -> None:  # type: ignore[no-untyped-def]
    slot, due = unit
    result = generate_slot(engine, WEEK, slot, OfflineBackend(), now=due - timedelta(minutes=1))
    assert result.delivery.action == "wait"
    status, sent, _ = _state(engine)
    assert (status, sent) == ("generated", 0)


def test_inside_the_window_every_member_is_notified_once_across_reruns(engine, unit) -> None:  # type: ignore[no-untyped-def]
    slot, due = unit
    first = generate_slot(engine, WEEK, slot, OfflineBackend(), now=due + timedelta(hours=1))
    status, sent, users = _state(engine)
    assert first.delivery.action == "deliver" and users >= 1
    assert (status, sent, first.delivery.notified_users) == ("delivered", users, users)
    with engine.connect() as conn:
        content = conn.scalar(sa.select(Insight.content))
        bodies = set(conn.scalars(sa.select(Notification.body)))
        keys = conn.scalars(sa.select(Notification.idempotency_key)).all()
    assert bodies == {content}
    assert all(k.startswith(f"single:insight:1:{WEEK.isoformat()}|in_app|u") for k in keys)
    # A retry, a re-materialization, a backfill: no second message, the delivered text is kept.
    again = generate_slot(engine, WEEK, slot, OfflineBackend(), now=due + timedelta(hours=2))
    assert again.generated == [] and again.delivery.notified_users == 0
    assert _state(engine) == ("delivered", users, users)


def test_after_the_window_the_insight_is_stored_but_skipped(engine, unit) -> None:  # type: ignore[no-untyped-def]
    slot, due = unit
    late = generate_slot(engine, WEEK, slot, OfflineBackend(), now=due + timedelta(hours=49))
    assert late.delivery.action == "skip"
    status, sent, _ = _state(engine)
    assert (status, sent) == ("skipped", 0)


def test_sensor_requests_each_due_unit_once_its_metrics_are_fresh(
    engine, db_url, unit, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    slot, due = unit
    db = AppDatabase(url=db_url)
    instance = dg.DagsterInstance.ephemeral()

    def tick(now, cursor):  # type: ignore[no-untyped-def]
        monkeypatch.setenv("BG_AGENTS_NOW", now.isoformat())
        return insight_delivery_sensor(
            dg.build_sensor_context(
                instance=instance, cursor=cursor.isoformat(), resources={"app_db": db}
            )
        )

    # Due, but the week's metrics were never computed by Dagster: wait rather than send zeros.
    assert tick(due + timedelta(minutes=1), due - timedelta(minutes=5)).run_requests == []
    materialize(["weekly_metrics"], instance=instance, partition_key=WEEK.isoformat(), app_db=db)
    early = tick(due - timedelta(minutes=5), due - timedelta(hours=1))
    assert early.run_requests == []  # not due yet, and the tick says why
    assert early.skip_reason.skip_message.startswith("no (week, delivery slot) came due since")
    ready = tick(due + timedelta(minutes=1), due - timedelta(minutes=5))
    (request,) = ready.run_requests
    assert request.partition_key == f"{slot}|{WEEK.isoformat()}" == request.run_key
    # The slot's first unit registers it (the partition grid shows only slots teams are in).
    assert instance.get_dynamic_partitions("delivery_slots") == []
    assert [r.partition_keys for r in ready.dynamic_partitions_requests] == [[slot]]
    instance.add_dynamic_partitions("delivery_slots", [slot])  # what the daemon does with it
    again = tick(due + timedelta(minutes=1), due - timedelta(minutes=5))
    assert again.run_requests and again.dynamic_partitions_requests == []
    materialize(
        ["weekly_insights"], instance=instance, partition_key=request.partition_key, app_db=db
    )
    assert tick(due + timedelta(minutes=2), due + timedelta(minutes=1)).run_requests == []


def test_a_team_without_metrics_gets_no_insight_of_zeros(engine) -> None:  # type: ignore[no-untyped-def]
    seed(engine, teams=1, weeks=2)  # transactions not ingested, no metrics: nothing to report
    with engine.connect() as conn:
        tz = conn.scalar(sa.text("select time_zone from teams"))
    slot = slot_for(WEEK, tz)
    due = due_at(WEEK, slot)
    early = generate_slot(engine, WEEK, slot, OfflineBackend(), now=due + timedelta(minutes=1))
    assert early.generated == [] and len(early.waiting) == 1
    assert _state(engine)[:2] == (None, 0)  # no insight, no notification
    ingest_and_measure(engine)  # the metrics land; the next run delivers
    late = generate_slot(engine, WEEK, slot, OfflineBackend(), now=due + timedelta(minutes=62))
    assert late.waiting == [] and late.delivery.action == "deliver"
    assert _state(engine)[0] == "delivered"
