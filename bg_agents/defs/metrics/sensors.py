"""Declarative automation: keep every week's metrics in step with its transactions (and their
enriched categories).

A schedule would compute each week once, on Monday; a bank file imported later for an old week
would leave that week's metrics stale. This condition re-materializes any weekly partition whose
daily `transactions` partitions changed (late files included), and a new week as soon as its last
day has landed, never while a day is missing or still running.
"""

import dagster as dg

metrics_automation_sensor = dg.AutomationConditionSensorDefinition(
    "metrics_automation_sensor",
    target=dg.AssetSelection.assets("weekly_metrics"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description=(
        "Re-computes weekly metrics whose transactions or their categories changed (the "
        "condition: _shared/sensing.py)."
    ),
)
