"""Jobs: what schedules and sensors launch."""

from pathlib import Path

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.ingestion.staging import stage_file
from bg_agents.defs.ingestion.statement import StatementBalance
from bg_agents.lib.settings import load_settings

daily_ingest_job = dg.define_asset_job(
    "daily_ingest_job",
    selection=["transactions", "unmatched_records"],
    description="Fetch a booking day from the providers and refresh its unmatched records.",
)


class StageFileConfig(dg.Config):
    path: str


@dg.op(description="Parse one dropped bank file into staged rows (or move it aside).")
def stage_import_file(
    context: dg.OpExecutionContext, config: StageFileConfig, app_db: AppDatabase
) -> None:
    settings = load_settings()
    path = Path(config.path)
    if not path.exists() and not path.is_symlink():  # a dangling link is refused with a report
        context.log.warning(f"{path} is gone (already imported by another run?)")
        return
    result = stage_file(app_db.engine, path, settings.import_dir, settings.history_start)
    mismatches = [
        StatementBalance.from_dict(b).describe()
        for b in result.details.get("balances", [])
        if b["ok"] is False
    ]
    context.log_event(
        dg.AssetObservation(
            asset_key="transactions",
            metadata={
                "file": result.file_name,
                "team": result.team,
                "status": result.status,
                "rows_staged": result.rows_staged,
                "rows_quarantined": result.rows_rejected,
                "booking_days": len(result.dates),
                "moved_to": str(result.moved_to),
                "balance_mismatches": len(mismatches),
                **({"error": result.error} if result.error else {}),
            },
        )
    )
    for mismatch in mismatches:
        context.log.warning(f"{result.file_name}: balance mismatch: {mismatch}")
    if result.status == "failed":
        context.log.error(f"{result.file_name}: {result.error}")
    else:
        context.log.info(
            f"{result.file_name}: {result.rows_staged} rows staged over {len(result.dates)} days, "
            f"{result.rows_rejected} quarantined"
        )


@dg.job(description="Stage one file from the import folder; launched by import_folder_sensor.")
def stage_import_file_job() -> None:
    stage_import_file()
