"""The engine in Dagster: the minute sensor's decisions, the job run in-process against SQLite and
PostgreSQL delivering in-app, by e-mail to aiosmtpd and to a signature-verifying receiver with
its counts as metadata, and the asset checks passing on real rows and failing on corrupted ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.definitions import defs
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.notifications import quality
from bg_agents.defs.notifications.assets import NOTIFICATIONS_POOL, notifications
from bg_agents.defs.notifications.checks import notification_checks
from bg_agents.defs.notifications.events import Event, notify
from bg_agents.defs.notifications.flush import flush
from bg_agents.defs.notifications.jobs import notifications_job
from bg_agents.defs.notifications.sensors import notification_sensor
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import (
    Notification,
    NotificationEvent,
    NotificationMessage,
    Team,
    User,
    WebhookEndpoint,
)
from bg_agents_tests.notifications.test_email_channel import Recorder, smtp_server
from bg_agents_tests.notifications.test_webhook_channel import SECRET, Answer, Receiver

T0 = datetime(2026, 3, 2, 9, 3, tzinfo=UTC)  # in invoice.paid's 09:00-09:10 window


def _team(conn, users: int = 2) -> int:  # type: ignore[no-untyped-def]
    team = conn.execute(
        sa.insert(Team).returning(Team.id),
        {"slug": "acme", "name": "Acme", "time_zone": "UTC", "base_currency": "EUR",
         "locale": "en_US"},
    ).scalar_one()  # fmt: skip
    for i in range(users):
        conn.execute(sa.insert(User), {"team_id": team, "email": f"u{i}@acme.test", "name": "U"})
    return team


def _paid(team: int, n: int) -> list[Event]:
    return [Event(f"paid:{i}", team, "invoice.paid", f"Invoice {i} paid") for i in range(n)]


def _pin(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    monkeypatch.setenv("BG_AGENTS_NOW", at.isoformat())


# --- the sensor ------------------------------------------------------------------------------


@pytest.fixture
def sqlite_engine(sqlite_url: str):  # type: ignore[no-untyped-def]
    engine = get_engine(sqlite_url)
    migrate.upgrade(engine)
    return engine


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _tick(instance: dg.DagsterInstance, url: str, cursor: str | None = None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"app_db": AppDatabase(url=url)}
    )
    return notification_sensor(context)


def test_the_sensor_skips_with_its_reason_until_a_window_closes_then_requests_one_run(
    sqlite_engine, sqlite_url, instance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _pin(monkeypatch, T0)
    result = _tick(instance, sqlite_url)
    assert not result.run_requests
    assert result.skip_reason.skip_message == (
        "nothing due; no event waiting and no delivery to retry"
    )
    with sqlite_engine.begin() as conn:
        notify(conn, _paid(_team(conn), 3), T0)
    result = _tick(instance, sqlite_url)
    assert not result.run_requests
    assert result.skip_reason.skip_message == (
        "nothing due; next window closes at 2026-03-02 09:11:00 UTC"
    )

    _pin(monkeypatch, datetime(2026, 3, 2, 9, 11, 20, tzinfo=UTC))
    result = _tick(instance, sqlite_url)
    assert [r.run_key for r in result.run_requests] == ["notifications:2026-03-02T09:11"]
    assert result.cursor == "2026-03-02T09:11"

    _pin(monkeypatch, datetime(2026, 3, 2, 9, 11, 50, tzinfo=UTC))
    again = _tick(instance, sqlite_url, cursor=result.cursor)
    assert not again.run_requests, "a second tick in the same minute launches nothing"
    assert again.skip_reason.skip_message == "a pass was requested at 2026-03-02T09:11 UTC already"

    _pin(monkeypatch, datetime(2026, 3, 2, 9, 12, 5, tzinfo=UTC))
    later = _tick(instance, sqlite_url, cursor=result.cursor)
    assert [r.run_key for r in later.run_requests] == ["notifications:2026-03-02T09:12"], (
        "still due a minute later (the run did not happen): asked again"
    )


def test_the_sensor_starts_no_pass_while_one_is_running(
    sqlite_engine, sqlite_url, instance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _pin(monkeypatch, T0)
    with sqlite_engine.begin() as conn:
        notify(conn, [Event("doc", _team(conn), "invoice.paid", "Paid")], T0 - timedelta(hours=1))
    instance.add_run(
        dg.DagsterRun(job_name="notifications_job", status=dg.DagsterRunStatus.STARTED)
    )
    result = _tick(instance, sqlite_url)
    assert not result.run_requests
    assert result.skip_reason.skip_message == "the previous pass is still running"
    assert result.cursor is None, "the minute stays free for the next tick"


# --- the job ---------------------------------------------------------------------------------


def _run(url: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    defs = dg.Definitions(
        assets=[notifications],
        asset_checks=[notification_checks],
        jobs=[notifications_job],
        resources={"app_db": AppDatabase(url=url)},
    )
    return defs.resolve_job_def("notifications_job").execute_in_process(instance=instance)


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = result.get_asset_materialization_events()
    mat = event.step_materialization_data.materialization
    return {k: v.value for k, v in mat.metadata.items()}


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_the_job_is_wired_for_a_run_a_minute() -> None:
    assert notifications.op.pool == NOTIFICATIONS_POOL == "notifications"
    assert notifications.op.retry_policy is None, "deliveries retry themselves"
    job = defs.resolve_job_def("notifications_job")  # as the code location loads it
    assert job.tags["dagster/max_retries"] == "0", "no instance run retry either"
    assert {n.name for n in job.graph.nodes} == {"notifications", "notification_checks"}


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    recorder = Recorder()
    with smtp_server(recorder) as port:
        monkeypatch.setenv("BG_AGENTS_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("BG_AGENTS_SMTP_FROM", "Bot <bot@bg.test>")
        yield recorder


def test_a_pass_delivers_on_every_channel_reports_its_counts_and_checks_its_rows(
    engine, app_env, smtp, instance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).replace(microsecond=0)  # the receiver verifies with the real clock
    _pin(monkeypatch, now)
    with Receiver() as receiver:
        receiver.script("/busy", Answer(503))
        receiver.script("/gone", Answer(410))
        with engine.begin() as conn:
            team = _team(conn)
            for path in ("/ok", "/busy", "/gone"):
                conn.execute(sa.insert(WebhookEndpoint), {"team_id": team, "secret": SECRET,
                                                           "url": receiver.url(path)})  # fmt: skip
            notify(conn, _paid(team, 3), now - timedelta(minutes=30))  # a closed window

        result = _run(app_env, instance)
        assert result.success
        meta = _metadata(result)
        assert meta == {
            "digests": 1,
            "singles": 0,
            "events_sent": 3,
            "deliveries_in_app": 2,
            "deliveries_email": 2,
            "deliveries_webhook": 3,
            "delivered_email": 2,
            "delivered_webhook": 1,
            "retries_scheduled": 1,
            "dead_letters": 1,
            "suppressed": 0,
            "held_for_quiet_hours": 0,
            "delivery_rounds": 1,
        }
        assert sorted(r["to"][0] for r in smtp.received) == ["u0@acme.test", "u1@acme.test"]
        (got,) = receiver.at("/ok")
        assert got.verified and got.json["title"] == "3 invoices paid"
        checks = _checks(result)
        assert set(checks) == {
            "one_message_per_window",
            "events_match_messages",
            "one_delivery_per_recipient",
        }
        assert all(c.passed for c in checks.values()), [c.description for c in checks.values()]

        again = _run(app_env, instance)
        assert _metadata(again)["delivered_email"] == 0, "nothing is sent twice"
        assert len(smtp.received) == 2 and len(receiver.at("/ok")) == 1


def test_a_pass_with_nothing_due_reports_zeros_and_passes_its_checks(
    sqlite_engine, sqlite_url, instance
) -> None:  # type: ignore[no-untyped-def]
    result = _run(sqlite_url, instance)
    assert result.success
    assert set(_metadata(result).values()) == {0, 1}, "zeros, and the one delivery round"
    assert all(c.passed for c in _checks(result).values())


# --- the checks on corrupted rows ------------------------------------------------------------


@pytest.fixture
def sent(engine):  # type: ignore[no-untyped-def]
    """A closed window flushed into one digest to two members (in-app), checks passing."""
    with engine.begin() as conn:
        notify(conn, _paid(_team(conn), 3), T0)
    flush(engine, T0 + timedelta(minutes=11), email=False)
    with engine.connect() as conn:
        for check in (quality.one_message_per_window, quality.events_match_messages,
                      quality.one_delivery_per_recipient):  # fmt: skip
            assert check(conn).passed
    return engine


def _copy(conn, model, **changes: object) -> None:  # type: ignore[no-untyped-def]
    """Insert a copy of the model's first row with ``changes`` (a writer keying differently)."""
    row = conn.execute(sa.select(model).order_by(model.id).limit(1)).mappings().one()
    values = {k: v for k, v in row.items() if k != "id"} | changes
    conn.execute(sa.insert(model), values)


def test_a_second_digest_for_a_window_fails_the_check(sent, db_url, instance) -> None:  # type: ignore[no-untyped-def]
    with sent.begin() as conn:
        _copy(conn, NotificationMessage, idempotency_key="another writer's key", item_count=0)
    with sent.connect() as conn:
        outcome = quality.one_message_per_window(conn)
    assert not outcome.passed
    assert outcome.metadata["windows_with_duplicates"] == 1
    assert "team-wide invoice.paid window 2026-03-02 09:00 part 0: 2 messages" in (
        outcome.description
    )
    # Through Dagster too: the check's result is a failed evaluation, not an error.
    result = _run(db_url, instance)
    assert result.success
    assert not _checks(result)["one_message_per_window"].passed


def test_an_event_moved_off_its_message_fails_the_check(sent) -> None:  # type: ignore[no-untyped-def]
    with sent.begin() as conn:
        first = conn.scalar(sa.select(sa.func.min(NotificationEvent.id)))
        conn.execute(
            sa.update(NotificationEvent)
            .where(NotificationEvent.id == first)
            .values(message_id=None)
        )
    with sent.connect() as conn:
        outcome = quality.events_match_messages(conn)
    assert not outcome.passed
    assert "message 1: says 3, carries 2" in outcome.description


def test_a_recipient_given_a_message_twice_fails_the_check(sent) -> None:  # type: ignore[no-untyped-def]
    with sent.begin() as conn:
        _copy(conn, Notification, idempotency_key="a second delivery")
    with sent.connect() as conn:
        outcome = quality.one_delivery_per_recipient(conn)
        assert not outcome.passed
        assert outcome.metadata["recipients_with_duplicates"] == 1
