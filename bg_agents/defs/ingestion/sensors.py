"""Sensors: files dropped in the import folder, and staged rows that need their partition run.

Both are light (a directory listing, one indexed query) and cursor- or run-key-driven, so a tick
stays far below Dagster's sensor timeout and nothing is requested twice.
"""

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs._shared.sensing import requests_for_new_rows
from bg_agents.defs.ingestion.jobs import stage_import_file_job
from bg_agents.defs.ingestion.staging import pending_files
from bg_agents.lib.db.models import StagedImportRow
from bg_agents.lib.settings import load_settings


@dg.sensor(
    job=stage_import_file_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Stages each bank file (CSV, Parquet, OFX, MT940, camt, QIF) dropped into "
        "<import_dir>/<team-slug>/."
    ),
)
def import_folder_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    import_dir = load_settings().import_dir
    requests = []
    for path in pending_files(import_dir):
        stat = path.lstat()  # a dangling link is listed too: staging refuses it with a report
        # A re-dropped file with new content or a new mtime gets a new run; the content hash
        # inside the job still makes a byte-identical re-drop stage nothing new.
        run_key = f"{path.relative_to(import_dir)}:{stat.st_size}:{stat.st_mtime_ns}"
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                run_config=dg.RunConfig(ops={"stage_import_file": {"config": {"path": str(path)}}}),
                tags={"bg_agents/file": path.name},
            )
        )
    if not requests:
        return dg.SensorResult(skip_reason=f"no file waiting in {import_dir}/<team-slug>/")
    return dg.SensorResult(run_requests=requests)


@dg.sensor(
    asset_selection=["transactions", "unmatched_records"],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests the `transactions` partitions of newly staged file rows. Rows booked on a day "
        "whose partition does not exist yet are ingested by the hourly schedule when it does."
    ),
)
def staged_rows_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    return requests_for_new_rows(
        app_db, StagedImportRow.id, StagedImportRow.booking_date, context.cursor,
        "no newly staged rows",
    )  # fmt: skip
