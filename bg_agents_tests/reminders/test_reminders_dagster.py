"""Reminders in Dagster: the asset runs one (day, slot) and reports its counts; the sensor
requests each due unit once (run key = partition key) and says why when nothing is due; the
customer e-mail retry sensor launches its job only when an e-mail is due again."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.reminders.jobs import customer_reminder_retry_job
from bg_agents.defs.reminders.run import slot_due_at
from bg_agents.defs.reminders.sensors import customer_reminder_retry_sensor, reminder_sensor
from bg_agents.inprocess import materialization_metadata, materialize
from bg_agents.lib.db.models import Invoice, NotificationEvent, Reminder
from bg_agents_tests.reminders.conftest import add_invoice, add_team

DAY = date(2026, 3, 2)
SLOT = "UTC+01:00"  # Berlin in winter
KEY = f"{DAY}|{SLOT}"
DUE = slot_due_at(DAY, SLOT)


@pytest.fixture
def world(engine, db_url):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        team = add_team(conn, "acme")
        for name, days in (("late7", -7), ("late30", -30), ("soon", 1)):
            add_invoice(conn, team, name, DAY + timedelta(days=days))
        add_team(conn, "kiri", "Pacific/Kiritimati")  # 09:00 there: 19:00 UTC the day before
    return AppDatabase(url=db_url)


def _at(monkeypatch, now: datetime) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", now.isoformat())


def test_the_asset_runs_its_unit_and_reports_counts(engine, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    instance = dg.DagsterInstance.ephemeral()
    _at(monkeypatch, DUE - timedelta(minutes=1))
    with pytest.raises(dg.Failure, match="not due yet: 09:00 of 2026-03-02 for UTC\\+01:00"):
        materialize(["invoice_reminders"], instance=instance, partition_key=KEY, app_db=world)
    assert not instance.get_materialized_partitions(dg.AssetKey("invoice_reminders")), (
        "a unit run before 09:00 is not marked done"
    )
    _at(monkeypatch, DUE + timedelta(minutes=1))
    result = materialize(["invoice_reminders"], instance=instance, partition_key=KEY, app_db=world)
    meta = materialization_metadata(result, "invoice_reminders")
    assert meta["action"] == "deliver" and meta["teams"] == 1
    assert (meta["reminders"], meta["reminders_overdue_7"], meta["reminders_overdue_30"]) == (
        3,
        1,
        1,
    )
    assert (meta["reminders_due_soon"], meta["skipped_paid"], meta["skipped_late"]) == (1, 0, 0)
    assert {"customers_emailed", "recurring_issued", "upcoming_notices"} <= set(meta)
    with engine.connect() as conn:
        run_ids = set(conn.scalars(sa.select(Reminder.run_id)))
        assert conn.scalar(sa.select(sa.func.count()).select_from(NotificationEvent)) == 3
    assert run_ids == {result.run_id}


def test_the_sensor_requests_each_due_unit_once(engine, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    instance = dg.DagsterInstance.ephemeral()
    # A one-hour window: the ticks' look-back (one window) reaches no earlier 09:00.
    monkeypatch.setenv("BG_AGENTS_REMINDERS_CATCH_UP_HOURS", "1")

    def tick(now: datetime, cursor: datetime) -> dg.SensorResult:
        _at(monkeypatch, now)
        return reminder_sensor(
            dg.build_sensor_context(
                instance=instance, cursor=cursor.isoformat(), resources={"app_db": world}
            )
        )

    before = tick(DUE - timedelta(minutes=1), DUE - timedelta(minutes=6))
    assert before.run_requests == [] and before.skip_reason.skip_message == (
        "nothing due; next 09:00 is at 2026-03-02 08:00 UTC"
    )
    due = tick(DUE + timedelta(minutes=1), DUE - timedelta(minutes=1))
    (request,) = due.run_requests
    assert request.partition_key == KEY == request.run_key
    assert request.tags["bg_agents/due_at"] == DUE.isoformat()
    assert due.cursor == (DUE + timedelta(minutes=1)).isoformat()
    # The slot's first unit registers it, before the run is requested.
    assert [r.partition_keys for r in due.dynamic_partitions_requests] == [[KEY.split("|")[1]]]
    materialize(["invoice_reminders"], instance=instance, partition_key=KEY, app_db=world)
    # The next tick (and one after a restart that lost the cursor) requests nothing again.
    after = tick(DUE + timedelta(minutes=2), DUE - timedelta(hours=3))
    assert after.run_requests == []
    assert after.skip_reason.skip_message == "nothing due; next 09:00 is at 2026-03-02 19:00 UTC"


def test_after_an_outage_the_sensor_requests_the_missed_units_in_due_order(
    world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _at(monkeypatch, DUE + timedelta(hours=30))
    instance = dg.DagsterInstance.ephemeral()
    # Berlin's 1 March ran before the outage (here: late, recording its skip).
    materialize(
        ["invoice_reminders"], instance=instance, partition_key="2026-03-01|UTC+01:00", app_db=world
    )
    result = reminder_sensor(
        dg.build_sensor_context(
            instance=instance,
            cursor=(DUE - timedelta(hours=2)).isoformat(),
            resources={"app_db": world},
        )
    )
    keys = [r.run_key for r in result.run_requests]
    # Kiritimati's 2 and 3 March and Berlin's 2 and 3 March fell in the outage (Berlin's 2 March
    # is past the 24-hour window now: it runs to record its reminders as skipped).
    assert keys == [
        "2026-03-02|UTC+14:00",
        "2026-03-02|UTC+01:00",
        "2026-03-03|UTC+14:00",
        "2026-03-03|UTC+01:00",
    ]


def test_the_retry_sensor_launches_a_pass_only_when_an_email_is_due(
    engine, world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    instance = dg.DagsterInstance.ephemeral()

    def tick(now: datetime, cursor: str | None = None) -> dg.SensorResult:
        _at(monkeypatch, now)
        return customer_reminder_retry_sensor(  # type: ignore[no-any-return]
            dg.build_sensor_context(instance=instance, cursor=cursor, resources={"app_db": world})
        )

    assert tick(DUE).skip_reason.skip_message == "no customer reminder e-mail is due"
    with engine.begin() as conn:
        invoice = conn.scalar(sa.select(sa.func.min(Invoice.id)))
        conn.execute(
            sa.insert(Reminder),
            {"key": "reminder:customer:1:after_7", "team_id": 1, "invoice_id": invoice,
             "audience": "customer", "kind": "after_7", "local_date": DAY, "slot": SLOT,
             "due_at": DUE, "status": "failed", "amount_due": 100, "currency": "EUR",
             "to_address": "ap@customer.test", "attempts": 1,
             "next_attempt_at": DUE + timedelta(minutes=10)},
        )  # fmt: skip
    assert tick(DUE + timedelta(minutes=9)).run_requests == [], "its backoff has not ended"
    off = tick(DUE + timedelta(minutes=10))
    assert off.run_requests == [] and "e-mail is off" in off.skip_reason.skip_message
    # A run could not send it without a server: once one is configured, a pass is requested.
    monkeypatch.setenv("BG_AGENTS_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("BG_AGENTS_SMTP_FROM", "bg-agents <reminders@example.test>")
    due = tick(DUE + timedelta(minutes=10))
    (request,) = due.run_requests
    assert request.run_key == "customer-reminders:2026-03-02T08:10" and due.cursor == (
        "2026-03-02T08:10"
    )
    assert tick(DUE + timedelta(minutes=10, seconds=30), due.cursor).run_requests == []
    run = customer_reminder_retry_job.execute_in_process(
        instance=instance, resources={"app_db": world}
    )
    assert run.success
