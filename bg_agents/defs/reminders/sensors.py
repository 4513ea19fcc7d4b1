"""Sensors: each (local day, slot) of ``invoice_reminders`` once its 09:00 has come, and a pass
of the customer e-mail sender when a retry is due."""

from datetime import datetime

import dagster as dg
import sqlalchemy as sa

from bg_agents.defs._shared.partitions import slot_registrations
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs._shared.sensing import one_pass_a_minute
from bg_agents.defs.notifications import email_configured
from bg_agents.defs.reminders.customers import retries_due
from bg_agents.defs.reminders.jobs import customer_reminder_retry_job
from bg_agents.defs.reminders.partitions import partition_key
from bg_agents.defs.reminders.run import catch_up_window, next_due, slot_due_at, units_to_run
from bg_agents.lib import clock
from bg_agents.lib.db.models import Team
from bg_agents.lib.settings import load_settings


@dg.sensor(
    asset_selection=["invoice_reminders"],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests each (local day, delivery slot) of invoice_reminders once 09:00 local has "
        "passed for its teams; run key = partition key, so each unit runs once. After an outage "
        "it catches up within BG_AGENTS_REMINDERS_CATCH_UP_HOURS; units older than that (still "
        "in reach) run to record their reminders as skipped."
    ),
)
def reminder_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    now = clock.now()
    window = catch_up_window()
    # First tick: look back one window, so a fresh deployment sends what is due right now.
    since = datetime.fromisoformat(context.cursor) if context.cursor else now
    with app_db.engine.connect() as conn:
        zones = set(conn.scalars(sa.select(Team.time_zone).distinct()))
    done = set(context.instance.get_materialized_partitions(dg.AssetKey("invoice_reminders")))
    units = units_to_run(
        since,
        now,
        zones,
        window,
        done=lambda day, slot: partition_key(day.isoformat(), slot) in done,
    )
    if not units:
        upcoming = next_due(now, zones)
        reason = (
            f"nothing due; next 09:00 is at {upcoming:%Y-%m-%d %H:%M} UTC"
            if upcoming
            else "nothing due; no team yet"
        )
        return dg.SensorResult(skip_reason=reason, cursor=now.isoformat())
    requests = [
        dg.RunRequest(
            partition_key=partition_key(day.isoformat(), slot),
            run_key=partition_key(day.isoformat(), slot),
            tags={"bg_agents/due_at": slot_due_at(day, slot).isoformat()},
        )
        for day, slot in units
    ]
    return dg.SensorResult(
        run_requests=requests,
        # A slot no unit used before is registered first.
        dynamic_partitions_requests=slot_registrations(context.instance, {s for _, s in units}),
        cursor=now.isoformat(),
    )


@dg.sensor(
    job=customer_reminder_retry_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches customer_reminder_retry_job when a customer payment reminder is due again "
        "(a failed e-mail's backoff ended, or a claim's lease ran out); at most one run a "
        "minute and none while the previous one runs."
    ),
)
def customer_reminder_retry_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    now = clock.now()

    def why_not() -> str | None:
        with app_db.engine.connect() as conn:
            due = retries_due(conn, now)
        if not due:
            return "no customer reminder e-mail is due"
        if not email_configured(load_settings()):
            # A run could send nothing; the e-mails wait until BG_AGENTS_SMTP_URL is set.
            return (
                f"{due} customer reminder e-mails wait: e-mail is off "
                "(set BG_AGENTS_SMTP_URL and BG_AGENTS_SMTP_FROM)"
            )
        return None

    return one_pass_a_minute(
        context, customer_reminder_retry_job.name, "customer-reminders", now, why_not
    )
