"""Sensors: every run of the code location that fails or succeeds is reported to ``alerts.py``,
and every few minutes the freshness of transactions, weekly metrics and insight delivery is
judged (``freshness.py``), recorded as asset check evaluations and, when failing, alerted.

Both watch all jobs of the location (``monitored_jobs`` unset) and run in the daemon; they read
the job's recent finished runs from the instance and leave the decision (alert, count, escalate,
recover) to the plain module. Off, with a skip reason naming the settings, until an operator
address or webhook is configured: nobody would hear an alert.
"""

from datetime import datetime

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs._shared.sensing import last_materialized
from bg_agents.defs.monitoring import freshness
from bg_agents.defs.monitoring.alerts import (
    AlertOutcome,
    FinishedRun,
    RunFailure,
    alert_failure,
    alert_stale,
    alert_success,
    subject,
)
from bg_agents.lib import clock
from bg_agents.lib.settings import load_operator_settings

HISTORY = 100  # finished runs of the job read per evaluation (a streak longer was escalated)
NOT_CONFIGURED = (
    "alerts are off: set BG_AGENTS_OPERATOR_EMAILS (with BG_AGENTS_SMTP_URL) or "
    "BG_AGENTS_OPERATOR_WEBHOOK_URL"
)


def _subject(run: dg.DagsterRun) -> str:
    return subject(run.job_name, [k.to_user_string() for k in run.asset_selection or ()])


def _history(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[list[FinishedRun], bool]:
    """The job's finished runs (same subject), newest first, and whether that is all of them."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=run.job_name,
            statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
        ),
        limit=HISTORY,
    )
    mine = _subject(run)
    history = [
        FinishedRun(r.dagster_run.run_id, r.dagster_run.status == dg.DagsterRunStatus.FAILURE)
        for r in records
        if _subject(r.dagster_run) == mine
    ]
    return history, len(records) < HISTORY


def _error(context: dg.RunFailureSensorContext) -> str:
    """The first failed step's error (its innermost cause: Dagster wraps the op's exception in
    "Error occurred while executing op"), else the run failure's own message."""
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None and error.message:
            return error.message
    return context.failure_event.message or "the run failed"


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Alerts the operators (BG_AGENTS_OPERATOR_EMAILS, BG_AGENTS_OPERATOR_WEBHOOK_URL) through "
        "the notification engine when a run fails: job, partition, error, link; one alert per "
        "job and UTC hour, an escalation after BG_AGENTS_ALERT_ESCALATE_AFTER failures in a row."
    ),
)
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext, app_db: AppDatabase
) -> dg.SkipReason | None:
    settings = load_operator_settings()
    if not settings.configured:
        return dg.SkipReason(NOT_CONFIGURED)
    run = context.dagster_run
    history, complete = _history(context.instance, run)
    failure = RunFailure(
        run_id=run.run_id,
        job=_subject(run),
        partition=run.tags.get("dagster/partition"),
        error=_error(context),
    )
    with app_db.engine.begin() as conn:
        outcome: AlertOutcome = alert_failure(
            conn, settings, failure, history, clock.now(), complete=complete
        )
    context.log.info(f"{failure.job} run {run.run_id}: {outcome.describe()}")
    return None


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_recovery_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Tells the operators when a job succeeds after failing (only then), through the "
        "notification engine; off until an operator address or webhook is configured."
    ),
)
def run_recovery_alert_sensor(
    context: dg.RunStatusSensorContext, app_db: AppDatabase
) -> dg.SkipReason | None:
    settings = load_operator_settings()
    if not settings.configured:
        return dg.SkipReason(NOT_CONFIGURED)
    run = context.dagster_run
    history, _ = _history(context.instance, run)
    with app_db.engine.begin() as conn:
        outcome = alert_success(conn, settings, _subject(run), run.run_id, history, clock.now())
    if outcome.new:
        context.log.info(f"{_subject(run)} run {run.run_id}: {outcome.describe()}")
    return None


FRESHNESS_INTERVAL = 300  # seconds: well inside the tightest grace (30 min after a delivery)


def judge_freshness(
    instance: dg.DagsterInstance, app_db: AppDatabase, now: datetime, only: str | None = None
) -> list[freshness.Freshness]:
    """The three freshness rules (or the one named ``only``) on what the instance and the
    database hold at ``now``."""

    def metrics() -> freshness.Freshness:
        week = freshness.metrics_week(now)
        last = last_materialized(instance, "weekly_metrics", week)
        return freshness.weekly_metrics_fresh(week, last, now)

    def delivery() -> freshness.Freshness:
        with app_db.engine.connect() as conn:
            return freshness.delivery_fresh(freshness.late_insights(conn, now))

    rules = {
        freshness.TRANSACTIONS_CHECK: lambda: freshness.transactions_fresh(
            last_materialized(instance, "transactions"), now
        ),
        freshness.METRICS_CHECK: metrics,
        freshness.DELIVERY_CHECK: delivery,
    }
    return [rule() for name, rule in rules.items() if only in (None, name)]


def check_evaluation(result: freshness.Freshness, now: datetime) -> dg.AssetCheckEvaluation:
    """One rule's result as an evaluation of its declared check (``checks.py``)."""
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(result.asset),
        check_name=result.check,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.reason,
        metadata={"reason": result.reason, "evaluated_at": now.isoformat()},
    )


@dg.sensor(
    name="freshness_sensor",
    minimum_interval_seconds=FRESHNESS_INTERVAL,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 5 minutes: transactions materialized within 2 h, the last week's metrics after the "
        "week ended (6 h grace), no insight undelivered 30 min after its due instant. Each result "
        "is an asset check evaluation on the asset; a failure alerts the operators once per "
        "check and UTC hour (when an operator address or webhook is configured)."
    ),
)
def freshness_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    now = clock.now()
    results = judge_freshness(context.instance, app_db, now)
    settings = load_operator_settings()
    failed = [r for r in results if not r.passed]
    if failed and settings.configured:
        with app_db.engine.begin() as conn:
            for r in failed:
                outcome = alert_stale(conn, settings, r.asset, r.check, r.reason, now)
                context.log.info(f"{r.check}: {outcome.describe()}")
    elif failed:
        context.log.warning(NOT_CONFIGURED)
    summary = ", ".join(f"{r.check} {'passed' if r.passed else 'FAILED'}" for r in results)
    return dg.SensorResult(
        asset_events=[check_evaluation(r, now) for r in results],
        # The tick launches no run: say what it recorded instead of an empty skip.
        skip_reason=f"recorded {len(results)} check evaluations: {summary}",
    )
