"""Schedules: re-estimate the learned matcher's model once a week.

Weekly, not per run: matching reads the stored model, so a week's new data and people's
decisions move it at once for every team, and runs in between all match with the same evidence.
"""

import dagster as dg

from bg_agents.defs.reconciliation.jobs import match_model_job


@dg.schedule(
    cron_schedule="0 3 * * 1",
    job=match_model_job,
    execution_timezone="UTC",
    # On from the start, as every schedule and sensor here: without it a deployment matches
    # with the seed's rules forever (no model is ever trained but by hand).
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Every Monday at 03:00 UTC, re-train match_model on all teams' records, bank rows and "
        "decisions; unchanged data stores no new model."
    ),
)
def weekly_match_model_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = context.scheduled_execution_time
    return dg.RunRequest(run_key=f"match_model@{tick:%Y-%m-%d}")
