"""Freshness end to end: a real ephemeral Dagster instance holds the materializations, the
freshness sensor judges them at a pinned clock, reports one asset check evaluation per rule, and
a failing rule reaches the operators as one in-app notification per check and UTC hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.monitoring.freshness import DELIVERY_CHECK, METRICS_CHECK, TRANSACTIONS_CHECK
from bg_agents.defs.monitoring.sensors import freshness_sensor
from bg_agents.lib.db.models import Insight, Notification, NotificationEvent, Team
from bg_agents.lib.weeks import last_complete_week

NOW = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)  # a Monday: week 2026-02-23 closed 9 h ago
LAST_WEEK = date(2026, 2, 23)


@pytest.fixture
def instance():  # type: ignore[no-untyped-def]
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def operators(app_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BG_AGENTS_OPERATOR_EMAILS", "ops@example.com")
    monkeypatch.setenv("BG_AGENTS_NOW", NOW.isoformat())
    return app_env


def _materialized(instance, asset: str, at: datetime, partition: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Record a materialization at ``at`` (the event log's own timestamp, not the wall clock)."""
    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name="__RUNLESS__",
        event_specific_data=StepMaterializationData(
            dg.AssetMaterialization(asset, partition=partition)
        ),
    )
    instance.store_event(
        EventLogEntry(
            error_info=None,
            level="debug",
            user_message="",
            run_id="",
            timestamp=at.timestamp(),
            dagster_event=event,
            job_name="__RUNLESS__",
        )
    )


def _fresh_instance(instance) -> None:  # type: ignore[no-untyped-def]
    _materialized(instance, "transactions", NOW - timedelta(hours=1), "2026-03-02")
    _materialized(instance, "weekly_metrics", NOW - timedelta(hours=8), LAST_WEEK.isoformat())


def _team(conn, slug: str, zone: str, created: datetime) -> int:  # type: ignore[no-untyped-def]
    return conn.execute(
        sa.insert(Team)
        .values(slug=slug, name=slug, time_zone=zone, base_currency="EUR", created_at=created)
        .returning(Team.id)
    ).scalar_one()


def _insight(conn, team_id: int, status: str, week: date = LAST_WEEK) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        sa.insert(Insight).values(
            team_id=team_id, week_start=week, content="x", status=status, path="llm", facts={}
        )
    )


def _evaluate(instance, engine) -> dict[str, dg.AssetCheckEvaluation]:  # type: ignore[no-untyped-def]
    context = dg.build_sensor_context(
        instance=instance,
        resources={"app_db": AppDatabase(url=engine.url.render_as_string(False))},
    )
    result = freshness_sensor(context)
    return {e.check_name: e for e in result.asset_events}


def _alerts(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(
            sa.select(NotificationEvent)
            .where(NotificationEvent.category == "ops.stale")
            .order_by(NotificationEvent.id)
        ).all()


def test_everything_on_time_passes_and_alerts_nobody(engine, operators, instance) -> None:  # type: ignore[no-untyped-def]
    _fresh_instance(instance)
    with engine.begin() as conn:
        team = _team(conn, "acme", "Europe/Berlin", NOW - timedelta(days=30))
        _insight(conn, team, "delivered")
        _insight(conn, team, "delivered", LAST_WEEK - timedelta(days=7))
    checks = _evaluate(instance, engine)
    assert set(checks) == {TRANSACTIONS_CHECK, METRICS_CHECK, DELIVERY_CHECK}
    assert all(c.passed for c in checks.values()), {k: c.description for k, c in checks.items()}
    assert checks[TRANSACTIONS_CHECK].asset_key == dg.AssetKey("transactions")
    assert _alerts(engine) == []
    context = dg.build_sensor_context(
        instance=instance,
        resources={"app_db": AppDatabase(url=engine.url.render_as_string(False))},
    )
    skip = freshness_sensor(context).skip_reason
    assert skip is not None and skip.skip_message == (
        "recorded 3 check evaluations: transactions_fresh passed, last_week_measured passed, "
        "insights_delivered_on_time passed"
    )


def test_stale_transactions_alert_once_per_hour(engine, operators, instance, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _materialized(instance, "transactions", NOW - timedelta(hours=2, minutes=1), "2026-03-02")
    _materialized(instance, "weekly_metrics", NOW - timedelta(hours=8), LAST_WEEK.isoformat())
    checks = _evaluate(instance, engine)
    assert not checks[TRANSACTIONS_CHECK].passed
    assert checks[METRICS_CHECK].passed and checks[DELIVERY_CHECK].passed
    _evaluate(instance, engine)  # the sensor again within the hour: nothing new
    alerts = _alerts(engine)
    assert [a.idempotency_key for a in alerts] == ["alert:stale:transactions_fresh:2026-03-02T09Z"]
    assert alerts[0].title == "transactions is stale (transactions_fresh)"
    assert "121 min ago" in alerts[0].body and "over 120 min" in alerts[0].body
    with engine.connect() as conn:
        in_app = conn.execute(
            sa.select(sa.func.count()).where(Notification.channel == "in_app")
        ).scalar()
    assert in_app == 1, "the one operator, once"
    monkeypatch.setenv("BG_AGENTS_NOW", (NOW + timedelta(hours=1)).isoformat())
    _evaluate(instance, engine)
    assert len(_alerts(engine)) == 2, "still stale an hour later: alerted again"


def test_transactions_never_materialized_is_stale(engine, operators, instance) -> None:  # type: ignore[no-untyped-def]
    checks = _evaluate(instance, engine)
    assert not checks[TRANSACTIONS_CHECK].passed
    assert checks[TRANSACTIONS_CHECK].description == "never materialized"


def test_last_week_measured_before_it_ended_is_stale_after_the_grace(
    engine, operators, instance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _materialized(instance, "transactions", NOW - timedelta(minutes=10), "2026-03-02")
    _materialized(instance, "weekly_metrics", datetime(2026, 3, 1, 20, tzinfo=UTC), "2026-02-23")
    _materialized(instance, "weekly_metrics", NOW, "2026-03-02")  # this week's: not the one due
    assert not _evaluate(instance, engine)[METRICS_CHECK].passed
    assert [a.idempotency_key for a in _alerts(engine)] == [
        "alert:stale:last_week_measured:2026-03-02T09Z"
    ]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-02T05:59:00+00:00")  # within the 6 h grace
    assert _evaluate(instance, engine)[METRICS_CHECK].passed


def test_an_insight_undelivered_30_minutes_after_due_fails(
    engine, operators, instance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _fresh_instance(instance)
    old = NOW - timedelta(days=30)
    with engine.begin() as conn:
        berlin = _team(conn, "berlin", "Europe/Berlin", old)  # due 06:00 UTC
        _insight(conn, berlin, "generated")
        _insight(conn, berlin, "delivered", LAST_WEEK - timedelta(days=7))
        lisbon = _team(conn, "lisbon", "Europe/Lisbon", old)  # due 07:00 UTC, never generated
        _insight(conn, lisbon, "delivered", LAST_WEEK - timedelta(days=7))
        _team(conn, "newcomer", "Europe/Lisbon", NOW - timedelta(hours=1))  # joined after due
        honolulu = _team(conn, "honolulu", "Pacific/Honolulu", old)  # due 17:00 UTC: not yet
        _insight(conn, honolulu, "generated")
        _insight(conn, honolulu, "delivered", LAST_WEEK - timedelta(days=7))
        _team(conn, "_ops", "UTC", old)  # a system team gets no insight
    check = _evaluate(instance, engine)[DELIVERY_CHECK]
    assert not check.passed
    assert "berlin/2026-02-23 generated, not delivered" in check.description
    assert "lisbon/2026-02-23 never generated" in check.description
    assert "newcomer" not in check.description and "honolulu" not in check.description
    assert "_ops" not in check.description
    assert check.description.startswith("2 insight(s)")
    assert len([a for a in _alerts(engine) if a.payload["check"] == DELIVERY_CHECK]) == 1
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-02T06:29:00+00:00")  # Berlin's grace not over
    assert _evaluate(instance, engine)[DELIVERY_CHECK].passed


def test_without_operators_the_checks_still_report(engine, app_env, instance, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", NOW.isoformat())
    monkeypatch.delenv("BG_AGENTS_OPERATOR_EMAILS", raising=False)
    monkeypatch.delenv("BG_AGENTS_OPERATOR_WEBHOOK_URL", raising=False)
    assert not _evaluate(instance, engine)[TRANSACTIONS_CHECK].passed
    assert _alerts(engine) == []


def test_the_checks_are_declared_on_their_assets_and_run_alike(engine, operators, instance) -> None:  # type: ignore[no-untyped-def]
    """Declared, the sensor's evaluations show on the assets' Checks tabs; executed from the UI,
    the checks judge the same way (and alert nobody: alerting is the sensor's)."""
    from bg_agents.definitions import defs
    from bg_agents.defs.monitoring import checks

    declared = defs.resolve_asset_graph().asset_check_keys
    for name, asset in [
        (TRANSACTIONS_CHECK, "transactions"),
        (METRICS_CHECK, "weekly_metrics"),
        (DELIVERY_CHECK, "weekly_insights"),
    ]:
        assert dg.AssetCheckKey(dg.AssetKey(asset), name) in declared
    _materialized(instance, "weekly_metrics", NOW - timedelta(hours=8), LAST_WEEK.isoformat())
    declared_checks = [
        checks.transactions_fresh,
        checks.last_week_measured,
        checks.insights_delivered_on_time,
    ]
    result = dg.materialize(
        declared_checks,
        selection=dg.AssetSelection.checks(*declared_checks),
        instance=instance,
        resources={"app_db": AppDatabase(url=engine.url.render_as_string(False))},
    )
    executed = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert _alerts(engine) == []
    sensed = {name: e.passed for name, e in _evaluate(instance, engine).items()}
    assert (
        executed == sensed == {TRANSACTIONS_CHECK: False, METRICS_CHECK: True, DELIVERY_CHECK: True}
    )


def test_a_stale_asset_reaches_the_operators_webhook_once(
    engine, app_env, instance, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from bg_agents.defs.notifications.deliver import deliver
    from bg_agents_tests.monitoring.webhook import operators_webhook

    now = datetime.now(UTC)  # the receiver checks signatures against the real clock
    with operators_webhook(engine, monkeypatch, now) as receiver:
        _materialized(instance, "transactions", now - timedelta(hours=3), now.date().isoformat())
        week = last_complete_week(now.date())
        _materialized(instance, "weekly_metrics", now, week.isoformat())
        _evaluate(instance, engine)
        _evaluate(instance, engine)  # the next tick: still stale, already told this hour
        deliver(engine, now)
        calls = receiver.at("/ops")
    assert len(calls) == 1 and calls[0].verified
    assert "transactions is stale" in str(calls[0].json), calls[0].json
