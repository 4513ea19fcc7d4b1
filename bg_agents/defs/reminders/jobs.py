"""Jobs: a pass of the customer reminder e-mail sender, for retries between the daily runs."""

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.reminders.customers import send_customer_reminders
from bg_agents.lib import clock


@dg.op(pool="notifications")
def send_customer_reminder_emails(
    context: dg.OpExecutionContext, app_db: AppDatabase
) -> dict[str, int]:
    """Send the customer e-mails due now (retries whose backoff ended, expired claims)."""
    counts = send_customer_reminders(app_db.engine, clock.now()).as_metadata()
    context.log.info(f"customer reminder e-mails: {counts}")
    context.add_output_metadata({k: dg.MetadataValue.int(v) for k, v in counts.items()})
    return counts


@dg.job(
    # No run retry (dagster.yaml retries failed runs): a failed e-mail keeps its own backoff and
    # the sensor launches the next pass when it is due.
    tags={"dagster/max_retries": "0"},
    description="One pass of the customer payment reminder sender: the e-mails due now.",
)
def customer_reminder_retry_job() -> None:
    send_customer_reminder_emails()
