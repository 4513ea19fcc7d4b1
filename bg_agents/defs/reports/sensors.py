"""``month_end_report_sensor``: a month's reports are requested when some team is ready for them."""

import hashlib
from datetime import date, datetime

import dagster as dg
import sqlalchemy as sa

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.reports.assets import readiness
from bg_agents.defs.reports.partitions import month_of, monthly_partitions
from bg_agents.lib import clock
from bg_agents.lib.db.models import Report, Team, customer_teams

# The last complete month and the two before: a month a team became ready for late (a bank day
# fetched days after the month) is still reported. Older months are a backfill's job, so a team
# created today is not sent a report for every month of the history.
CATCH_UP_MONTHS = 3


def unreported(conn: sa.Connection, month: date) -> list[sa.Row]:
    """Customer teams (id, time zone) without any version of ``month``'s report."""
    reported = sa.select(Report.id).where(Report.team_id == Team.id, Report.month == month)
    return conn.execute(
        sa.select(Team.id, Team.time_zone)
        .where(customer_teams(), ~reported.exists())
        .order_by(Team.id)
    ).all()


def requests_for(
    instance: dg.DagsterInstance, conn: sa.Connection, now: datetime
) -> tuple[list[dg.RunRequest], list[str]]:
    """One request per recent month with ready teams that have no version yet; why not for the
    others. The run key names the month and those teams, so the same situation requests once
    and a team becoming ready later makes a new request."""
    keys = monthly_partitions.get_partition_keys(current_time=now)[-CATCH_UP_MONTHS:]
    requests, why_not = [], []
    for key in reversed(keys):
        month = month_of(key)
        waiting = unreported(conn, month)
        if not waiting:
            why_not.append(f"{month:%Y-%m}: every team has its report")
            continue
        ready = readiness(instance, month, now)
        ids = [t.id for t in waiting if ready(t.time_zone) is None]
        if not ids:
            first = waiting[0]
            why_not.append(
                f"{month:%Y-%m}: {len(waiting)} teams unreported, none ready "
                f"({ready(first.time_zone)})"
            )
            continue
        teams = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                partition_key=key,
                run_key=f"{key}:{len(ids)}:{teams}",
                tags={"bg_agents/ready_teams": str(len(ids))},
            )
        )
    return requests, why_not


@dg.sensor(
    asset_selection=["month_end_reports"],
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Every 15 minutes: requests a month of month_end_reports (the last complete one and the "
        f"{CATCH_UP_MONTHS - 1} before) when some team is ready for it (its month ended in its "
        "zone, its transactions days fetched after that) and has no version yet. Run key = month "
        "and those teams, so the same situation is requested once."
    ),
)
def month_end_report_sensor(
    context: dg.SensorEvaluationContext, app_db: AppDatabase
) -> dg.SensorResult:
    with app_db.engine.connect() as conn:
        requests, why_not = requests_for(context.instance, conn, clock.now())
    if not requests:
        return dg.SensorResult(skip_reason="; ".join(why_not) or "no month has ended yet")
    return dg.SensorResult(run_requests=requests)
