"""``invoice_reminders``: one materialization per (local day, delivery slot) runs its 09:00."""

import dagster as dg

from bg_agents.defs._shared.partitions import key_to_date
from bg_agents.defs._shared.resources import OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs.reminders.partitions import reminder_partitions
from bg_agents.defs.reminders.run import catch_up_window, run_slot, slot_due_at
from bg_agents.lib import clock

# Customer e-mails wait on SMTP servers: the notifications pool, never the LLM's slots.
NOTIFICATIONS_POOL = "notifications"


@dg.asset(
    partitions_def=reminder_partitions,
    pool=NOTIFICATIONS_POOL,
    retry_policy=OUTSIDE_WORLD_RETRY_POLICY,
    group_name="reminders",
    kinds={"sql", "email"},
    owners=["team:data"],
    description=(
        "The 09:00 team-local reminders of one local day for the teams of one delivery slot: "
        "open invoices due within 3 days and 1/7/14/30 days overdue (team digest, once per "
        "invoice, kind and day), the opted-in customers' payment reminders by the team's steps, "
        "and the recurring invoices due. An invoice paid meanwhile is skipped and recorded; a "
        "unit past the catch-up window (BG_AGENTS_REMINDERS_CATCH_UP_HOURS) records its "
        "reminders as skipped instead of sending them late. Requested by reminder_sensor."
    ),
)
def invoice_reminders(
    context: dg.AssetExecutionContext, app_db: AppDatabase
) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension
    result = run_slot(
        app_db.engine,
        key_to_date(keys["day"]),
        keys["slot"],
        clock.now(),
        catch_up_window(),
        run_id=context.run.run_id,
    )
    if result.action == "wait":
        # Materialized now, the unit would count as done and its 09:00 would never run.
        raise dg.Failure(
            description=f"not due yet: 09:00 of {keys['day']} for {keys['slot']} is "
            f"{slot_due_at(key_to_date(keys['day']), keys['slot']):%Y-%m-%d %H:%M} UTC; "
            "reminder_sensor requests it then",
            allow_retries=False,
        )
    context.log.info(result.summary())
    metadata = result.as_metadata()
    # One int per count (the UI plots each across partitions); the action as text.
    return dg.MaterializeResult(
        metadata={
            "action": dg.MetadataValue.text(metadata.pop("action")),
            **{k: dg.MetadataValue.int(v) for k, v in metadata.items()},
        }
    )
