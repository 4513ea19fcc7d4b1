"""Declarative automation: keep every week's metrics in step with its transactions.

A schedule would compute each week once, on Monday; a bank file imported later for an old week
would leave that week's metrics stale. This condition re-materializes any weekly partition whose
daily `transactions` partitions changed (late files included), and a new week as soon as its last
day has landed, never while a day is missing or still running.
"""

import dagster as dg

AC = dg.AutomationCondition

# Like AutomationCondition.eager(), but for every partition, not only the latest time window.
refresh_when_deps_change = (
    (AC.newly_missing() | AC.any_deps_updated()).since_last_handled()
    & ~AC.any_deps_missing()
    & ~AC.any_deps_in_progress()
    & ~AC.in_progress()
).with_label("refresh when deps change")

metrics_automation_sensor = dg.AutomationConditionSensorDefinition(
    "metrics_automation_sensor",
    target=dg.AssetSelection.assets("weekly_metrics"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Re-computes weekly metrics whose transactions changed (see defs/automation.py).",
)
