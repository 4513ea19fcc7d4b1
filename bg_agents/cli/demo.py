"""``bg-agents demo``: from an empty home folder to a filled database and a Dagster history.

It migrates, seeds SIMULATED data, records its first week as the home's history start (unless
BG_AGENTS_HISTORY_START is set), then materializes every partition in-process against the
persistent Dagster instance in DAGSTER_HOME, so `make dev` afterwards shows the same runs,
materializations and checks in the UI. Partitions already materialized are skipped, so running it
twice changes nothing; with ``--force`` every partition runs again and still no row changes and
nobody is notified. Nothing here touches sensor cursors: the materializations recorded in the
instance are what tells `unmatched_records_sensor` that these days are reconciled, exactly as
runs of a live deployment would.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import dagster as dg
import sqlalchemy as sa

from bg_agents.lib import clock
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import Insight, Team, customer_teams
from bg_agents.lib.delivery_slots import SLOTS, day_due_at, day_slot, slot_for
from bg_agents.lib.settings import (
    Settings,
    history_start_configured,
    load_settings,
    record_history_start,
)
from bg_agents.lib.weeks import last_complete_week, last_complete_week_end
from bg_agents.simulate.reminder_examples import seed_reminder_examples
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world

# The code location (bg_agents.definitions, bg_agents.inprocess, the reminders' partitions) is
# imported only inside functions: its partitions read the history start when first imported, so
# ``run_demo`` records the start before anything imports them.

if TYPE_CHECKING:
    from dagster._core.execution.execution_result import ExecutionResult

Echo = Callable[[str], None]
# On every run the demo launches, so the UI can tell them from the schedules' and sensors' runs.
DEMO_TAGS = {"bg_agents/launched_by": "demo"}


def summed_metadata(result: ExecutionResult, asset: str) -> Counter[str]:
    """The integer figures of every partition the run materialized, added up (per-partition
    figures are the days'; the run's own ``run/`` figures are left out)."""
    from bg_agents.inprocess import partition_metadata

    total: Counter[str] = Counter()
    for values in partition_metadata(result, asset).values():
        total.update(
            {k: v for k, v in values.items() if type(v) is int and not k.startswith("run/")}
        )
    return total


def enrichment_sources(result: ExecutionResult) -> dict[str, int]:
    """How many of the run's transactions each source categorized (``rule 2,911, none 295``)."""
    from bg_agents.defs.enrichment.taxonomy import SOURCES

    total = summed_metadata(result, "transaction_enrichment")
    return {source: total[source] for source in SOURCES if total.get(source)}


def history_window(weeks: int, today: date, settings: Settings) -> tuple[date, date]:
    """The ``weeks`` complete ISO weeks before ``today``, checked against the partitions' start."""
    first_monday = last_complete_week(today) - timedelta(weeks=weeks - 1)
    end = last_complete_week_end(today)
    if first_monday < settings.history_start:
        raise SystemExit(
            f"{weeks} weeks back from {today} starts on {first_monday}, before "
            f"BG_AGENTS_HISTORY_START={settings.history_start}; set it to {first_monday} or earlier"
        )
    return first_monday, end


def seed(settings: Settings, teams: int, weeks: int, seed_value: int, today: date, echo: Echo):
    engine = get_engine(settings.database_url)
    migrate.upgrade(engine)
    _, end = history_window(weeks, today, settings)
    t0 = time.perf_counter()
    world = generate_world(teams=teams, weeks=weeks, seed=seed_value, end=end)
    new = write_world(engine, world)
    echo(
        f"seeded SIMULATED data: {teams} teams x {weeks} weeks ending {end} "
        f"({sum(new.values()):,} new rows in {time.perf_counter() - t0:.1f}s)"
    )
    return new


def _materialized(instance: dg.DagsterInstance, asset: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(asset)))


def materialize_history(
    settings: Settings,
    weeks: int,
    today: date,
    echo: Echo,
    *,
    instance: dg.DagsterInstance,
    force: bool = False,
) -> None:
    """Each week's days ingested as one run (as a UI backfill would), then the match model
    trained on all of them, then each week matched with it, then each week's metrics.

    The model comes before any matching so every week is matched with the same evidence, as a
    deployment matches with the model its weekly schedule stored.
    """
    from bg_agents.inprocess import materialization_metadata, materialize

    first_monday, _ = history_window(weeks, today, settings)
    tags = DEMO_TAGS
    daily = ("unmatched_records", "record_matches", "transaction_enrichment")
    done = set() if force else set.intersection(*(_materialized(instance, a) for a in daily))
    weeks_days = [
        [(first_monday + timedelta(weeks=i, days=d)).isoformat() for d in range(7)]
        for i in range(weeks)
    ]
    todo = [i for i, days in enumerate(weeks_days) if not set(days) <= done]
    ingested: dict[int, tuple[dict, float]] = {}
    for i in todo:
        days = weeks_days[i]
        t0 = time.perf_counter()
        result = materialize(
            ["transactions", "unmatched_records"],
            instance=instance,
            job="daily_ingest_job",
            partition_range=(days[0], days[-1]),
            tags=tags,
        )
        ingested[i] = (summed_metadata(result, "transactions"), time.perf_counter() - t0)
    _train_match_model(echo, instance=instance, tags=tags, needed=bool(todo) or force)
    for i, days in enumerate(weeks_days):
        label = f"[{i + 1}/{weeks}] daily   {days[0]}..{days[-1]}"
        if i not in ingested:
            echo(f"{label}  already materialized")
            continue
        meta, seconds = ingested[i]
        t0 = time.perf_counter()
        # Matched and categorized in one run (as the automation would, a day at a time).
        result = materialize(
            ["record_matches", "transaction_enrichment"],
            instance=instance,
            partition_range=(days[0], days[-1]),
            tags=tags,
        )
        matches = summed_metadata(result, "record_matches")
        by_source = enrichment_sources(result)
        echo(
            f"{label}  {meta.get('inserted', 0):>6,} new transactions, "
            f"{meta.get('quarantined', 0)} quarantined, {matches.get('auto_links', 0):>4} linked, "
            f"{matches.get('suggestions', 0):>3} open suggestions, categorized by "
            f"{', '.join(f'{k} {v}' for k, v in by_source.items()) or 'nothing'}  "
            f"({seconds + time.perf_counter() - t0:.1f}s)"
        )
    done = set() if force else _materialized(instance, "weekly_metrics")
    for i in range(weeks):
        key = (first_monday + timedelta(weeks=i)).isoformat()
        label = f"[{i + 1}/{weeks}] weekly  {key}"
        if key in done:
            echo(f"{label}  already materialized")
            continue
        t0 = time.perf_counter()
        result = materialize(["weekly_metrics"], instance=instance, partition_key=key, tags=tags)
        meta = materialization_metadata(result, "weekly_metrics")
        echo(
            f"{label}  {meta.get('teams_with_activity', 0)} teams, "
            f"{meta.get('transactions', 0):,} transactions  ({time.perf_counter() - t0:.1f}s)"
        )


def _train_match_model(
    echo: Echo, *, instance: dg.DagsterInstance, tags: dict[str, str], needed: bool
) -> None:
    """Train the model when weeks are about to be matched (or it was never trained)."""
    from bg_agents.inprocess import materialization_metadata, materialize

    label = "[model] match_model"
    if not needed and instance.get_latest_materialization_event(dg.AssetKey("match_model")):
        echo(f"{label}  already materialized")
        return
    t0 = time.perf_counter()
    result = materialize(["match_model"], instance=instance, job="match_model_job", tags=tags)
    meta = materialization_metadata(result, "match_model")
    echo(
        f"{label}  {str(meta.get('digest', ''))[:12]} "
        f"({'new' if meta.get('new') else 'unchanged'}), trained on "
        f"{meta.get('trained_on/records', 0):,} records and "
        f"{meta.get('trained_on/labels', 0)} decisions  ({time.perf_counter() - t0:.1f}s)"
    )


def materialize_insights(
    settings: Settings, today: date, echo: Echo, *, instance: dg.DagsterInstance, force: bool
) -> None:
    """The last week's insights, one run per delivery slot that has teams (as the sensor does)."""
    from bg_agents.defs.insights.service import PATHS
    from bg_agents.inprocess import materialization_metadata, materialize

    week = last_complete_week(today)
    with get_engine(settings.database_url).connect() as conn:
        zones = conn.scalars(sa.select(Team.time_zone).where(customer_teams()).distinct()).all()
    slots = sorted({slot_for(week, z) for z in zones}, key=SLOTS.index)
    done = set() if force else _materialized(instance, "weekly_insights")
    todo = [s for s in slots if f"{s}|{week.isoformat()}" not in done]
    label = f"[insights] week {week}: {len(slots)} delivery slots"
    if not todo:
        echo(f"{label}  already materialized")
        return
    t0 = time.perf_counter()
    paths: Counter[str] = Counter()
    for slot in todo:
        key = dg.MultiPartitionKey({"slot": slot, "week": week.isoformat()})
        result = materialize(
            ["weekly_insights"], instance=instance, partition_key=key, tags=DEMO_TAGS
        )
        meta = materialization_metadata(result, "weekly_insights")
        paths.update({p: meta.get(f"path_{p}", 0) for p in PATHS})
    with get_engine(settings.database_url).connect() as conn:
        statuses = dict(
            conn.execute(
                sa.select(Insight.status, sa.func.count())
                .where(Insight.week_start == week)
                .group_by(Insight.status)
            ).all()
        )
    echo(
        f"{label}  {sum(statuses.values())} insights ({dict(paths)}), delivery: {statuses} "
        f"({time.perf_counter() - t0:.1f}s)"
    )


def reminder_units(zones: list[str], now: datetime) -> list[tuple[date, str]]:
    """Each zone's latest 09:00 that has passed, as (local date, slot): what the sensor ran last."""
    from bg_agents.defs.reminders.rules import REMINDER_TIME

    units = set()
    for zone in zones:
        local = now.astimezone(ZoneInfo(zone))
        day = local.date() if local.time() >= REMINDER_TIME else local.date() - timedelta(days=1)
        units.add((day, day_slot(day, REMINDER_TIME, zone)))
    return sorted(units, key=lambda u: day_due_at(u[0], REMINDER_TIME, u[1]))


def materialize_reminders(
    settings: Settings, echo: Echo, *, instance: dg.DagsterInstance, force: bool
) -> None:
    """The latest 09:00 of every team (one run per day and slot), after giving one team SIMULATED
    invoices that make a reminder of every kind appear."""
    from bg_agents.defs.reminders.partitions import partition_key
    from bg_agents.inprocess import materialization_metadata, materialize

    engine = get_engine(settings.database_url)
    now = clock.now()
    with engine.connect() as conn:
        teams = conn.execute(
            sa.select(Team.slug, Team.time_zone).where(customer_teams()).order_by(Team.slug)
        ).all()
    if not teams:
        return
    units = reminder_units(sorted({t.time_zone for t in teams}), now)
    first = teams[0]
    seed_reminder_examples(engine, first.slug, reminder_units([first.time_zone], now)[0][0])
    done = set() if force else _materialized(instance, "invoice_reminders")
    todo = [(d, s) for d, s in units if partition_key(d.isoformat(), s) not in done]
    label = f"[reminders] latest 09:00 of every team: {len(units)} (day, slot) units"
    if not todo:
        echo(f"{label}  already materialized")
        return
    t0 = time.perf_counter()
    totals: Counter[str] = Counter()
    for d, s in todo:
        key = dg.MultiPartitionKey({"day": d.isoformat(), "slot": s})
        result = materialize(
            ["invoice_reminders"], instance=instance, partition_key=key, tags=DEMO_TAGS
        )
        meta = materialization_metadata(result, "invoice_reminders")
        totals.update({k: v for k, v in meta.items() if isinstance(v, int) and v})
    # In the rules' order (due soon, then 1/7/14/30 days overdue), as the metadata lists them.
    kinds = ", ".join(f"{k.removeprefix('reminders_')} {n}" for k, n in totals.items()
                      if k.startswith("reminders_")) or "none"  # fmt: skip
    echo(
        f"{label}  team reminders: {kinds}; skipped paid {totals['skipped_paid']}; customer "
        f"reminders queued {totals['customers_queued']}, e-mailed {totals['customers_emailed']}; "
        f"recurring invoices issued {totals['recurring_issued']}, upcoming notices "
        f"{totals['upcoming_notices']} ({time.perf_counter() - t0:.1f}s)"
    )


def materialize_reports(echo: Echo, *, instance: dg.DagsterInstance, force: bool) -> None:
    """The last full month's month-end reports (the newest monthly partition), as the sensor
    would ask for them; the summary names one PDF to open."""
    from bg_agents.defs.reports.partitions import monthly_partitions
    from bg_agents.inprocess import materialization_metadata, materialize

    keys = monthly_partitions.get_partition_keys()
    if not keys:
        echo("[reports] no month has ended since the history start: none to write yet")
        return
    key = keys[-1]
    label = f"[reports] month {key[:7]}"
    if not force and key in _materialized(instance, "month_end_reports"):
        echo(f"{label}  already materialized")
        return
    t0 = time.perf_counter()
    result = materialize(
        ["month_end_reports"], instance=instance, partition_key=key, tags=DEMO_TAGS
    )
    meta = materialization_metadata(result, "month_end_reports")
    echo(
        f"{label}  {meta.get('written', 0)} written, {meta.get('unchanged', 0)} unchanged, "
        f"{meta.get('not_ready', 0)} not ready ({time.perf_counter() - t0:.1f}s); open one: "
        f"{meta.get('sample_path', 'none')}"
    )


def materialize_customer_profiles(echo: Echo, *, instance: dg.DagsterInstance) -> None:
    """Every customer's company facts, as the sensor would ask for new customers (offline
    provider unless BG_AGENTS_ENRICHMENT_URL names one). A re-run enriches nobody twice."""
    from bg_agents.inprocess import materialization_metadata, materialize

    t0 = time.perf_counter()
    result = materialize(["customer_profiles"], instance=instance, tags=DEMO_TAGS)
    meta = materialization_metadata(result, "customer_profiles")
    echo(
        f"[customers] {meta.get('customers_seen', 0)} customers: "
        f"{meta.get('customers_enriched', 0)} enriched, {meta.get('customers_partial', 0)} "
        f"partly, {meta.get('customers_unchanged', 0)} unchanged (provider: "
        f"{meta.get('provider', '?')}) ({time.perf_counter() - t0:.1f}s)"
    )


def follow_the_data(settings: Settings, weeks: int, today: date, echo: Echo) -> Settings:
    """Partitions start at the demo's first Monday, so the UI shows its weeks as filled rather
    than hundreds of empty partitions before them: the start is recorded in the home folder,
    where `make dev`'s UI and daemon read it too. An explicit BG_AGENTS_HISTORY_START (how a
    deployment says where its data begins) is left alone and only checked."""
    first_monday = last_complete_week(today) - timedelta(weeks=weeks - 1)
    if history_start_configured():
        return settings
    start = record_history_start(settings.home, first_monday)
    echo(f"history start: {start} (partitions begin there; {settings.home}/history_start)")
    return load_settings()


def run_demo(settings: Settings, teams: int, weeks: int, seed_value: int, force: bool) -> None:
    echo = print
    today = clock.now().date()  # BG_AGENTS_NOW pins it, as every agent's "now"
    echo(f"bg-agents demo: home {settings.home}")
    settings = follow_the_data(settings, weeks, today, echo)
    seed(settings, teams, weeks, seed_value, today, echo)
    instance = dg.DagsterInstance.get()
    materialize_history(settings, weeks, today, echo, instance=instance, force=force)
    materialize_customer_profiles(echo, instance=instance)
    materialize_insights(settings, today, echo, instance=instance, force=force)
    materialize_reminders(settings, echo, instance=instance, force=force)
    materialize_reports(echo, instance=instance, force=force)
    sys.stdout.flush()
