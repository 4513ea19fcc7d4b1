"""Jobs: the pass of the notification engine that ``notification_sensor`` launches."""

import dagster as dg

notifications_job = dg.define_asset_job(
    "notifications_job",
    selection=["notifications"],  # with its checks
    # A run a minute: its two steps in one process instead of a process each.
    executor_def=dg.in_process_executor,
    # No run retry (dagster.yaml retries failed runs): deliveries retry themselves, and a
    # failed pass leaves its work due, so the next tick's run does it anyway.
    tags={"dagster/max_retries": "0"},
    description="One pass of the notification engine: close due windows, send due deliveries.",
)
