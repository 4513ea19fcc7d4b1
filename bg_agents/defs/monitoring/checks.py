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


def _freshness_check(name: str, asset: str, description: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=asset, name=name, description=description)
    def check(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
        now = clock.now()
        (result,) = judge_freshness(context.instance, app_db, now, only=name)
        e = check_evaluation(result, now)
        return dg.AssetCheckResult(
            passed=e.passed, severity=e.severity, description=e.description, metadata=e.metadata
        )

    return check


transactions_fresh = _freshness_check(
    freshness.TRANSACTIONS_CHECK,
    "transactions",
    "Some day was materialized within the last 2 hours (the hourly fetch runs).",
)
last_week_measured = _freshness_check(
    freshness.METRICS_CHECK,
    "weekly_metrics",
    "The last complete ISO week was measured after it ended, at most 6 hours later.",
)
insights_delivered_on_time = _freshness_check(
    freshness.DELIVERY_CHECK,
    "weekly_insights",
    "No team's insight is still undelivered 30 minutes after its Monday 07:00 local.",
)
