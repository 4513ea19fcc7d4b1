"""Retries: steps that call the outside world retry with backoff; runs are not retried again for it.

A transient failure (a model's 429, an SMTP restart) is retried by the step's RetryPolicy; a run
retry on top would multiply attempts, so both dagster.yaml files retry only runs that died (killed
process, run monitoring's timeout), once. A reminder unit requested before its 09:00 fails on
purpose and is not retried.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.events import RunFailureReason
from dagster._core.execution.retries import auto_reexecution_should_retry_run
from dagster._core.storage.tags import PARENT_RUN_ID_TAG, ROOT_RUN_ID_TAG
from dagster._core.test_utils import create_run_for_test

from bg_agents.definitions import defs
from bg_agents.defs._shared.resources import OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs.reminders.jobs import send_customer_reminder_emails
from bg_agents.defs.reminders.run import slot_due_at
from bg_agents.inprocess import materialize

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE_WORLD_ASSETS = [
    "weekly_insights",
    "record_matches",
    "invoice_reminders",
    "month_end_reports",
]


@pytest.mark.parametrize("name", OUTSIDE_WORLD_ASSETS)
def test_outside_world_steps_carry_the_shared_policy(name: str) -> None:
    assets_def = defs.get_assets_def(name)
    assert assets_def.op.retry_policy == OUTSIDE_WORLD_RETRY_POLICY


def test_the_delivery_passes_retry_per_delivery_not_per_step() -> None:
    """A pass of the engine or of the customer e-mails records each failed delivery with its own
    backoff, and the minute sensor starts the next pass: a step retry would only send sooner
    what the backoff holds back."""
    assert defs.get_assets_def("notifications").op.retry_policy is None
    assert send_customer_reminder_emails.retry_policy is None


def test_the_policy_backs_off_exponentially_with_jitter() -> None:
    policy = OUTSIDE_WORLD_RETRY_POLICY
    assert policy.max_retries >= 2
    assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter is not None
    # Without jitter the waits would be 10, 20, 40 s: about the minute a 429 storm lasts.
    total = sum(policy.delay * 2 ** (n - 1) for n in range(1, policy.max_retries + 1))
    assert 30 <= total <= 300


def _flaky_asset(failures: int, attempts: list[int]) -> dg.AssetsDefinition:
    """An asset with the shared policy (delays shortened) that fails ``failures`` times."""

    @dg.asset(retry_policy=OUTSIDE_WORLD_RETRY_POLICY._replace(delay=0.01))
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) <= failures:
            raise ConnectionError("SMTP server restarting")  # transient, outside world
        return len(attempts)

    return flaky


def _events(result: dg.ExecuteInProcessResult, kind: dg.DagsterEventType) -> int:
    return sum(1 for e in result.all_events if e.event_type == kind)


def test_a_transient_failure_is_retried_and_the_run_succeeds() -> None:
    attempts: list[int] = []
    result = dg.materialize([_flaky_asset(2, attempts)], instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert len(attempts) == 3
    assert _events(result, dg.DagsterEventType.STEP_UP_FOR_RETRY) == 2


def test_a_lasting_failure_gives_up_after_the_policys_retries() -> None:
    attempts: list[int] = []
    result = dg.materialize(
        [_flaky_asset(99, attempts)], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    assert len(attempts) == 1 + OUTSIDE_WORLD_RETRY_POLICY.max_retries


def test_an_early_reminder_unit_fails_once_without_retry(engine, db_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    day, slot = date(2026, 3, 2), "UTC+01:00"
    monkeypatch.setenv("BG_AGENTS_NOW", (slot_due_at(day, slot) - timedelta(hours=1)).isoformat())
    instance = dg.DagsterInstance.ephemeral()
    with pytest.raises(dg.Failure, match="not due yet"):
        materialize(
            ["invoice_reminders"],
            instance=instance,
            partition_key=f"{day}|{slot}",
            app_db=AppDatabase(url=db_url),
        )
    (record,) = instance.get_run_records()
    kinds = [
        e.dagster_event.event_type
        for e in instance.all_logs(record.dagster_run.run_id)
        if e.dagster_event is not None
    ]
    assert kinds.count(dg.DagsterEventType.STEP_START) == 1
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    assert kinds.count(dg.DagsterEventType.STEP_FAILURE) == 1


def _instance_from(config: str, home: Path) -> dg.DagsterInstance:
    """An instance with ``config``'s settings (storage left out: the retry rules do not need it)."""
    raw = yaml.safe_load((ROOT / config).read_text())
    raw.pop("storage", None)
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(raw))
    return dg.DagsterInstance.from_config(str(home))


@pytest.mark.parametrize("config", ["dagster.local.yaml", "deploy/dagster.yaml"])
def test_runs_that_died_are_retried_once_step_failures_are_not(config: str, tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / config).read_text())
    assert raw["run_retries"]["retry_on_asset_or_op_failure"] is False
    with _instance_from(config, tmp_path / "home") as instance:
        assert instance.run_retries_enabled
        failed = create_run_for_test(instance, status=dg.DagsterRunStatus.FAILURE)
        # Killed (run monitoring marks it failed with no step failure) or crashed: retried.
        assert auto_reexecution_should_retry_run(instance, failed, None)
        assert auto_reexecution_should_retry_run(
            instance, failed, RunFailureReason.UNEXPECTED_TERMINATION
        )
        # A step failed: its own RetryPolicy already retried it; no second round as a run.
        assert not auto_reexecution_should_retry_run(
            instance, failed, RunFailureReason.STEP_FAILURE
        )
        # Once: the retry of a killed run is not retried again.
        retry = create_run_for_test(
            instance,
            status=dg.DagsterRunStatus.FAILURE,
            root_run_id=failed.run_id,
            parent_run_id=failed.run_id,
            tags={ROOT_RUN_ID_TAG: failed.run_id, PARENT_RUN_ID_TAG: failed.run_id},
        )
        assert not auto_reexecution_should_retry_run(instance, retry, None)
