"""``notifications``: the outbox as an asset, so each pass's counts and checks have a home in the
UI. A materialization is one pass of the engine (close due windows, send due deliveries)."""

import dagster as dg

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.notifications.cycle import run_cycle

# Sending waits on SMTP servers and webhook endpoints: on a pool of its own, a slow receiver holds
# only notification steps, never the LLM steps' "openai" slots. dagster.yaml sets its limit.
NOTIFICATIONS_POOL = "notifications"


@dg.asset(
    pool=NOTIFICATIONS_POOL,
    group_name="notifications",
    kinds={"sql", "email"},
    owners=["team:data"],
    description=(
        "The notification outbox: each materialization closes the batching windows due now "
        "into single messages and digests, fans them out (in-app delivered at once) and sends "
        "the due e-mails and webhooks, retrying failures with backoff and dead-lettering after "
        "the last attempt. Launched by notification_sensor when something is due."
    ),
)
def notifications(context: dg.AssetExecutionContext, app_db: AppDatabase) -> dg.MaterializeResult:
    cycle = run_cycle(app_db.engine)
    context.log.info(cycle.summary())
    # One int per count (not a table): the UI plots each across runs, so a rise in retries or
    # dead letters is visible at a glance on the asset's page.
    return dg.MaterializeResult(
        metadata={k: dg.MetadataValue.int(v) for k, v in cycle.as_metadata().items()}
    )
