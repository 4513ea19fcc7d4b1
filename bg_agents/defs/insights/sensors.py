"""Sensors: each (week, delivery slot) of ``weekly_insights`` is requested once it is due."""

from datetime import date, datetime

import dagster as dg
import sqlalchemy as sa

from bg_agents.defs._shared.partitions import slot_registrations
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs._shared.sensing import last_materialized
from bg_agents.defs.insights.delivery import catch_up_window, units_to_run
from bg_agents.lib import clock
from bg_agents.lib.db.models import Team, customer_teams
from bg_agents.lib.delivery_slots import due_at, local_week_end


@dg.sensor(
    asset_selection=["weekly_insights"],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests each (week, delivery slot) of weekly_insights once 07:00 Monday local has "
        "passed for its teams and the week's metrics were computed after their week ended; run "
        "key = partition key, so each unit runs once. After an outage it catches up; units "
        "older than the catch-up window run to record the skip."
    ),
)
def insight_delivery_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    now = clock.now()
    window = catch_up_window()
    # First tick: look back one window, so a fresh deployment delivers what is due right now.
    since = datetime.fromisoformat(context.cursor) if context.cursor else now - window
    with app_db.engine.connect() as conn:
        zones = set(conn.scalars(sa.select(Team.time_zone).where(customer_teams()).distinct()))
    done = set(context.instance.get_materialized_partitions(dg.AssetKey("weekly_insights")))
    computed: dict[date, datetime | None] = {}

    def ready(week: date, slot: str) -> bool:
        if week not in computed:
            computed[week] = last_materialized(context.instance, "weekly_metrics", week)
        at = computed[week]
        return at is not None and at >= local_week_end(week, slot)

    units = units_to_run(
        since,
        now,
        zones,
        window,
        done=lambda week, slot: f"{slot}|{week.isoformat()}" in done,
        ready=ready,
    )
    requests = [
        dg.RunRequest(
            partition_key=dg.MultiPartitionKey({"slot": slot, "week": week.isoformat()}),
            run_key=f"{slot}|{week.isoformat()}",
            tags={"bg_agents/due_at": due_at(week, slot).isoformat()},
        )
        for week, slot in units
    ]
    if not requests:
        return dg.SensorResult(
            skip_reason=(
                f"no (week, delivery slot) came due since {since:%Y-%m-%d %H:%M} UTC with its "
                "week's metrics computed after the week ended"
            ),
            cursor=now.isoformat(),
        )
    return dg.SensorResult(
        run_requests=requests,
        # A slot no unit used before is registered first.
        dynamic_partitions_requests=slot_registrations(context.instance, {s for _, s in units}),
        cursor=now.isoformat(),
    )
