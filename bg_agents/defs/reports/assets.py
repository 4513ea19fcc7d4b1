"""``month_end_reports``: each customer team's month-end report for one month, once it is ready."""

import functools
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime

import dagster as dg
import sqlalchemy as sa

from bg_agents.defs._shared.partitions import EXISTING_DAYS, HISTORY_START
from bg_agents.defs._shared.resources import OUTSIDE_WORLD_RETRY_POLICY, AppDatabase
from bg_agents.defs._shared.sensing import last_materialized
from bg_agents.defs.reports.partitions import month_of, monthly_partitions
from bg_agents.defs.reports.readiness import why_not_ready
from bg_agents.defs.reports.service import publish_month
from bg_agents.lib import clock
from bg_agents.lib.db.models import Report, Team, customer_teams
from bg_agents.lib.settings import load_settings

REPORTS_POOL = "reports"
PROGRESS_EVERY = 100  # teams between two progress lines in the run's log
SAMPLES = 5  # reasons shown in the metadata


def readiness(
    instance: dg.DagsterInstance, month: date, now: datetime
) -> Callable[[str], str | None]:
    """zone -> None when its teams' month is ready, else why not (``readiness.why_not_ready``).

    Readiness depends on the zone only, so 1,000 teams in 30 zones ask the instance 30 times.
    """
    days = set(instance.get_materialized_partitions(dg.AssetKey("transactions")))

    @functools.cache
    def fetched(day: date) -> datetime | None:
        return last_materialized(instance, "transactions", day)

    @functools.cache
    def why_not(zone: str) -> str | None:
        return why_not_ready(month, zone, now, HISTORY_START, days, fetched)

    return why_not


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[dg.AssetDep("transactions", partition_mapping=EXISTING_DAYS)],
    pool=REPORTS_POOL,
    # Storage and the team's notification are outside calls; a retry re-publishes the month,
    # and the teams already written are unchanged (nothing written twice). Without it a failed
    # run would wait for the sensor, whose run key asks once per set of ready teams.
    retry_policy=OUTSIDE_WORLD_RETRY_POLICY,
    group_name="reports",
    kinds={"pdf", "sql"},
    owners=["team:data"],
    description=(
        "One month-end report (PDF) per customer team and local month, written to "
        "BG_AGENTS_REPORTS_URL (default <home>/reports/<team>/<YYYY-MM>/v<N>.pdf) once the month "
        "has ended in the team's zone and its transactions days were fetched after that. A "
        "re-run whose figures did not change writes nothing; late data writes version N+1 with "
        "its reason and keeps N; each new version is sent to the team (report.ready)."
    ),
)
def month_end_reports(
    context: dg.AssetExecutionContext, app_db: AppDatabase
) -> dg.MaterializeResult:
    month = month_of(context.partition_key)
    now = clock.now()
    base = load_settings().reports_base
    why_not = readiness(context.instance, month, now)
    with app_db.engine.connect() as conn:
        teams = conn.execute(
            sa.select(Team.id, Team.slug, Team.time_zone).where(customer_teams()).order_by(Team.id)
        ).all()
    statuses: Counter[str] = Counter()
    waiting: list[str] = []
    failures: list[str] = []
    reasons: list[str] = []
    seconds: list[float] = []
    sample_path: str | None = None
    for n, team in enumerate(teams, 1):
        reason = why_not(team.time_zone)
        if reason is not None:
            statuses["not_ready"] += 1
            if len(waiting) < SAMPLES:
                waiting.append(f"{team.slug}: {reason}")
        else:
            started = time.perf_counter()
            try:
                out = publish_month(app_db.engine, team.id, month, now, base, context.run.run_id)
            except Exception as exc:  # one team's bad data must not cost every other its report
                statuses["failed"] += 1
                failures.append(f"{team.slug}: {type(exc).__name__}: {exc}")
                context.log.error(f"{team.slug} {month:%Y-%m}: {type(exc).__name__}: {exc}")
                continue
            seconds.append(time.perf_counter() - started)
            statuses[out.status] += 1
            if out.status == "written":
                sample_path = sample_path or out.path
                if len(reasons) < SAMPLES:
                    reasons.append(f"{team.slug} v{out.version}: {out.reason}")
        if n % PROGRESS_EVERY == 0 or n == len(teams):
            context.log.info(
                f"[{n}/{len(teams)}] {month:%Y-%m}: {statuses['written']} written, "
                f"{statuses['unchanged']} unchanged, {statuses['not_ready']} not ready"
            )
    with app_db.engine.connect() as conn:
        reported = conn.scalar(
            sa.select(sa.func.count(sa.distinct(Report.team_id))).where(Report.month == month)
        )
        sample_path = sample_path or conn.scalar(
            sa.select(Report.path).where(Report.month == month).order_by(Report.id.desc()).limit(1)
        )
    metadata = {
        # What the partition holds (teams with a report of the month), so a re-run that
        # writes nothing keeps the figure; this run's outcome per team beside it.
        "dagster/row_count": dg.MetadataValue.int(reported or 0),
        "written": dg.MetadataValue.int(statuses["written"]),
        "unchanged": dg.MetadataValue.int(statuses["unchanged"]),
        # Another run wrote the same version first: nothing lost, nothing doubled.
        "raced": dg.MetadataValue.int(statuses["raced"]),
        "not_ready": dg.MetadataValue.int(statuses["not_ready"]),
        "seconds_per_report": dg.MetadataValue.float(
            round(sum(seconds) / len(seconds), 3) if seconds else 0.0
        ),
        "sample_path": dg.MetadataValue.text(sample_path or "none yet"),
        "reasons": dg.MetadataValue.md("\n".join(f"- {r}" for r in reasons) or "_none_"),
        "not_ready_reasons": dg.MetadataValue.md("\n".join(f"- {w}" for w in waiting) or "_none_"),
        "failed": dg.MetadataValue.int(statuses["failed"]),
    }
    if failures:  # the others are written; the step fails, so it is retried and alerted
        raise dg.Failure(
            description=f"{len(failures)} team(s) could not be reported: "
            + "; ".join(failures[:SAMPLES]),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
