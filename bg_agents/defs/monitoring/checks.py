"""The freshness rules as declared asset checks, so the UI lists them on their assets.

``freshness_sensor`` records an evaluation of each every five minutes; declared here, the checks
and those evaluations are listed on each asset's Checks tab. Executing a check (from
the UI, or in a run that materializes its asset) judges freshness at that moment the same way,
without alerting: alerts are the sensor's, once per check and hour. One check per definition, so
a job selecting one asset runs only that asset's check.

Checks rather than Dagster's freshness policies: the policies judge an asset's last
materialization of any partition, while these rules need one partition (the last complete week)
or the application's own records (insights delivered per team and due instant).
"""

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.monitoring import freshness
from bg_agents.defs.monitoring.sensors import check_evaluation, judge_freshness
from bg_agents.lib import clock


def _judge(context: dg.AssetCheckExecutionContext, app_db: AppDatabase, name: str):  # type: ignore[no-untyped-def]
    now = clock.now()
    (result,) = judge_freshness(context.instance, app_db, now, only=name)
    e = check_evaluation(result, now)
    return dg.AssetCheckResult(
        passed=e.passed, severity=e.severity, description=e.description, metadata=e.metadata
    )


@dg.asset_check(
    asset="transactions",
    name=freshness.TRANSACTIONS_CHECK,
    description="Some day was materialized within the last 2 hours (the hourly fetch runs).",
)
def transactions_fresh(
    context: dg.AssetCheckExecutionContext, app_db: AppDatabase
) -> dg.AssetCheckResult:
    return _judge(context, app_db, freshness.TRANSACTIONS_CHECK)


@dg.asset_check(
    asset="weekly_metrics",
    name=freshness.METRICS_CHECK,
    description="The last complete ISO week was measured after it ended, at most 6 hours later.",
)
def last_week_measured(
    context: dg.AssetCheckExecutionContext, app_db: AppDatabase
) -> dg.AssetCheckResult:
    return _judge(context, app_db, freshness.METRICS_CHECK)


@dg.asset_check(
    asset="weekly_insights",
    name=freshness.DELIVERY_CHECK,
    description="No team's insight is still undelivered 30 minutes after its Monday 07:00 local.",
)
def insights_delivered_on_time(
    context: dg.AssetCheckExecutionContext, app_db: AppDatabase
) -> dg.AssetCheckResult:
    return _judge(context, app_db, freshness.DELIVERY_CHECK)
