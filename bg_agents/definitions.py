"""The one Definitions object of the ``bg_agents`` code location.

Loading it touches neither the network nor the database: resources connect when a run starts.
"""

from __future__ import annotations

import dagster as dg

from bg_agents.defs.assets.record_matches import record_matches
from bg_agents.defs.assets.transactions import transactions
from bg_agents.defs.assets.unmatched_records import unmatched_records
from bg_agents.defs.assets.weekly_insights import weekly_insights
from bg_agents.defs.assets.weekly_metrics import weekly_metrics
from bg_agents.defs.automation import metrics_automation_sensor
from bg_agents.defs.jobs import daily_ingest_job, stage_import_file_job
from bg_agents.defs.resources import app_database, llm
from bg_agents.defs.schedules import hourly_ingest_schedule
from bg_agents.defs.sensors import (
    import_folder_sensor,
    insight_delivery_sensor,
    staged_rows_sensor,
    unmatched_records_sensor,
)

ASSETS = [transactions, unmatched_records, record_matches, weekly_metrics, weekly_insights]

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[daily_ingest_job, stage_import_file_job],
    schedules=[hourly_ingest_schedule],
    sensors=[
        import_folder_sensor,
        staged_rows_sensor,
        unmatched_records_sensor,
        metrics_automation_sensor,
        insight_delivery_sensor,
    ],
    resources={"app_db": app_database(), "llm": llm()},
)
