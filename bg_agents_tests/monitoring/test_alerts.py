"""Run-failure alerts end to end: a real Dagster instance runs a tiny job that fails, the sensors
are evaluated on what it recorded, and the alerts go through the notification engine to the
operators' webhook (a real HTTP receiver on 127.0.0.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.monitoring import OPERATORS_SLUG
from bg_agents.defs.monitoring.sensors import run_failure_alert_sensor, run_recovery_alert_sensor
from bg_agents.defs.notifications.deliver import deliver
from bg_agents.lib.db.models import (
    Notification,
    NotificationEvent,
    NotificationMessage,
    Team,
    User,
)
from bg_agents_tests.monitoring.webhook import operators_webhook

NOW = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
BROKEN = {"on": True}


@dg.op
def book_the_day() -> None:
    if BROKEN["on"]:
        raise RuntimeError("bank feed answered 503\nTraceback line that is not the summary")


@dg.job
def nightly_job() -> None:
    book_the_day()


@pytest.fixture
def instance():  # type: ignore[no-untyped-def]
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def operators(app_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BG_AGENTS_OPERATOR_EMAILS", "ops@example.com, Oncall <oncall@example.com>")
    monkeypatch.setenv("BG_AGENTS_DAGSTER_URL", "https://dagster.example.com/")
    monkeypatch.setenv("BG_AGENTS_NOW", NOW.isoformat())
    return app_env


def _run(instance, engine, *, fail: bool, partition: str = "2026-03-01") -> str:  # type: ignore[no-untyped-def]
    """Run the job on the instance and evaluate the matching sensor on what it recorded."""
    BROKEN["on"] = fail
    result = nightly_job.execute_in_process(
        instance=instance, raise_on_error=False, tags={"dagster/partition": partition}
    )
    event = result.get_run_failure_event() if fail else result.get_run_success_event()
    sensor = run_failure_alert_sensor if fail else run_recovery_alert_sensor
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"app_db": AppDatabase(url=str(engine.url.render_as_string(False)))},
    )
    if fail:
        context = context.for_run_failure()
    sensor(context)
    return result.run_id


def _events(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(sa.select(NotificationEvent).order_by(NotificationEvent.id)).all()


def test_two_failures_in_an_hour_are_one_alert_counting_both(engine, operators, instance) -> None:  # type: ignore[no-untyped-def]
    first = _run(instance, engine, fail=True)
    second = _run(instance, engine, fail=True, partition="2026-03-02")
    events = _events(engine)
    assert [e.idempotency_key for e in events] == ["alert:failure:nightly_job:2026-03-02T09Z"]
    alert = events[0]
    assert alert.category == "ops.failure"
    assert alert.title == "nightly_job failed (partition 2026-03-01)"
    assert alert.payload["error"] == "RuntimeError: bank feed answered 503"
    assert alert.payload["link"] == f"https://dagster.example.com/runs/{first}"
    assert alert.payload["failures"] == 2 and alert.payload["last_run_id"] == second
    with engine.connect() as conn:
        messages = conn.execute(sa.select(NotificationMessage.title)).scalars().all()
        team = conn.execute(sa.select(Team).where(Team.slug == OPERATORS_SLUG)).one()
        members = conn.execute(sa.select(User.email).where(User.team_id == team.id)).scalars()
        assert sorted(members) == ["oncall@example.com", "ops@example.com"]
        in_app = conn.execute(
            sa.select(sa.func.count()).where(Notification.channel == "in_app")
        ).scalar()
    assert messages == ["nightly_job failed (partition 2026-03-01)"], "one message, sent at once"
    assert in_app == 2, "each operator once"
    assert (team.time_zone, team.base_currency) == ("UTC", "USD")


def test_a_failure_in_the_next_hour_alerts_again(engine, operators, instance, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _run(instance, engine, fail=True)
    monkeypatch.setenv("BG_AGENTS_NOW", (NOW + timedelta(hours=1)).isoformat())
    _run(instance, engine, fail=True)
    assert [e.idempotency_key for e in _events(engine)] == [
        "alert:failure:nightly_job:2026-03-02T09Z",
        "alert:failure:nightly_job:2026-03-02T10Z",
    ]


def test_third_failure_in_a_row_escalates_once_and_a_success_recovers(
    engine, operators, instance
) -> None:  # type: ignore[no-untyped-def]
    _run(instance, engine, fail=False)  # a success before the streak: no recovery message
    runs = [_run(instance, engine, fail=True) for _ in range(2)]
    assert [e.category for e in _events(engine)] == ["ops.failure"], "two in a row: no escalation"
    runs += [_run(instance, engine, fail=True) for _ in range(2)]
    escalations = [e for e in _events(engine) if e.category == "ops.escalation"]
    assert [e.idempotency_key for e in escalations] == [f"alert:escalation:nightly_job:{runs[0]}"]
    assert escalations[0].payload["failures"] == 3, "escalated at the third, not again at the 4th"
    ok = _run(instance, engine, fail=False)
    again = _run(instance, engine, fail=False)
    recovered = [e.idempotency_key for e in _events(engine) if e.category == "ops.recovered"]
    assert recovered == [f"alert:recovered:nightly_job:{ok}"], "only the first success after"
    assert again not in {e.payload.get("run_id") for e in _events(engine)}


def test_the_same_run_evaluated_twice_counts_once(engine, operators, instance) -> None:  # type: ignore[no-untyped-def]
    BROKEN["on"] = True
    result = nightly_job.execute_in_process(instance=instance, raise_on_error=False)
    for _ in range(2):
        context = dg.build_run_status_sensor_context(
            sensor_name=run_failure_alert_sensor.name,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"app_db": AppDatabase(url=engine.url.render_as_string(False))},
        ).for_run_failure()
        run_failure_alert_sensor(context)
    (alert,) = _events(engine)
    assert alert.payload["failures"] == 1 and alert.title == "nightly_job failed"


def test_without_operators_alerts_are_off_and_no_team_is_made(engine, app_env, instance) -> None:  # type: ignore[no-untyped-def]
    _run(instance, engine, fail=True)
    assert _events(engine) == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(Team.id).where(Team.slug == OPERATORS_SLUG)).first() is None


def test_the_alert_reaches_the_operators_webhook(engine, app_env, instance, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)  # the receiver checks signatures against the real clock
    with operators_webhook(engine, monkeypatch, now) as receiver:
        run_id = _run(instance, engine, fail=True)
        result = deliver(engine, now)
        calls = receiver.at("/ops")
    assert result.delivered["webhook"] == 1
    assert len(calls) == 1 and calls[0].verified
    body = calls[0].json
    assert "nightly_job failed" in str(body) and run_id in str(body), body
