"""``bg-agents health [--json]``: every schedule and sensor of the code location, read from the
Dagster instance (``DAGSTER_HOME``, SQLite or PostgreSQL storage alike); exit 1 when one is
overdue or failing. The rules are ``bg_agents.defs.monitoring.health``'s; this module only reads
the instance, which plain modules may not import."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

CODE_LOCATION = "bg_agents"  # pyproject.toml's [tool.dagster] code_location_name


def add_commands(sub: argparse._SubParsersAction) -> None:
    health = sub.add_parser(
        "health",
        help="schedules and sensors from the Dagster instance; exit 1 if one is overdue or failing",
        description=(
            "Every schedule and sensor: state, last tick, last successful run, run duration "
            "p50/p95 and failure rate over the last runs, and overdue (running, but no tick or "
            "successful run within 1.5 x its interval). Exit 1 when one is overdue, its last "
            "tick failed or its failure rate is over the threshold; else 0."
        ),
    )
    health.add_argument("--json", action="store_true", help="one JSON object")
    health.add_argument(
        "--runs", type=int, default=20, help="runs per instigator to measure (default 20)"
    )
    health.add_argument(
        "--max-failure-rate",
        type=float,
        default=0.5,
        help="a share of failed runs above this is a problem (0 to 1, default 0.5)",
    )
    health.set_defaults(func=cmd_health)


def cmd_health(args: argparse.Namespace) -> int:
    if not 1 <= args.runs <= 1000:
        raise ValueError(f"--runs must be from 1 to 1000, not {args.runs}")
    import dagster as dg

    from bg_agents.defs.monitoring.health import assess
    from bg_agents.lib import clock
    from bg_agents.lib.settings import load_settings, use_dagster_home

    use_dagster_home(load_settings())
    from bg_agents.definitions import defs

    now = clock.now()
    with dg.DagsterInstance.get() as instance:
        facts = collect(instance, defs, now, runs=args.runs)
    report = assess(facts, now, max_failure_rate=args.max_failure_rate)
    print(json.dumps(report.as_json()) if args.json else report.render())
    return report.exit_code


def collect(  # type: ignore[no-untyped-def]
    instance, defs, now: datetime, *, runs: int = 20, location: str = CODE_LOCATION
) -> list[Any]:
    """What the instance knows of each schedule and sensor of ``defs`` (plain facts)."""
    from dagster._core.scheduler.instigation import InstigatorStatus  # not exported at the top

    from bg_agents.defs.monitoring.health import InstigatorFacts

    repo = defs.get_repository_def()
    states = _states(instance, location)
    out = []
    for kind, definitions in (("schedule", repo.schedule_defs), ("sensor", repo.sensor_defs)):
        for definition in sorted(definitions, key=lambda d: d.name):
            state = states.get((kind, definition.name))
            stored = state is not None and state.status != InstigatorStatus.DECLARED_IN_CODE
            running = (
                state.status == InstigatorStatus.RUNNING
                if stored
                else definition.default_status.value == "RUNNING"
            )
            out.append(
                InstigatorFacts(
                    name=definition.name,
                    kind=kind,
                    running=running,
                    from_default=not stored,
                    interval=_interval(definition, kind, now),
                    ticks=_ticks(instance, state),  # the latest is what is judged
                    runs=_runs(instance, kind, definition.name, runs),
                    started_at=_started(state),
                )
            )
    return out


def _states(instance, location: str) -> dict[tuple[str, str], Any]:  # type: ignore[no-untyped-def]
    """Stored states by (kind, name); this location's first, another location's as fallback."""
    found: dict[tuple[str, str], Any] = {}
    for state in instance.all_instigator_state():
        key = (state.instigator_type.value.lower(), state.name)
        if key not in found or state.origin.location_name == location:
            found[key] = state
    return found


def _interval(definition, kind: str, now: datetime) -> timedelta | None:  # type: ignore[no-untyped-def]
    if kind == "sensor":
        from dagster._core.definitions.sensor_definition import DEFAULT_SENSOR_DAEMON_INTERVAL

        return timedelta(
            seconds=definition.minimum_interval_seconds or DEFAULT_SENSOR_DAEMON_INTERVAL
        )
    # A schedule's interval: the longest gap between its next fire times (a weekday-only cron
    # is not overdue over a weekend).
    from dagster._utils.schedules import cron_string_iterator

    crons = definition.cron_schedule
    gaps = []
    for cron in [crons] if isinstance(crons, str) else list(crons):
        times = cron_string_iterator(now.timestamp(), cron, definition.execution_timezone)
        fired = [next(times) for _ in range(8)]
        gaps += [b - a for a, b in zip(fired, fired[1:], strict=False)]
    return max(gaps) if gaps else None


def _ticks(instance, state) -> Sequence[Any]:  # type: ignore[no-untyped-def]
    from bg_agents.defs.monitoring.health import Tick
    from bg_agents.lib.agents.messages import redact

    if state is None:
        return []
    ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
    return [
        Tick(
            at=datetime.fromtimestamp(t.timestamp, UTC),
            status=t.status.value.lower(),
            error=redact(_innermost(t.error)) if t.error else None,
        )
        for t in ticks
    ]


def _innermost(error) -> str:  # type: ignore[no-untyped-def]
    """The message of the error's innermost cause: Dagster wraps a sensor's own exception in
    "Error occurred during the execution of evaluation_fn" (and again across the gRPC server)."""
    while error.cause is not None:
        error = error.cause
    return str(error.message or "").strip()


def _runs(instance, kind: str, name: str, limit: int) -> Sequence[Any]:  # type: ignore[no-untyped-def]
    import dagster as dg

    from bg_agents.defs.monitoring.health import RunFact

    def at(timestamp: float | None) -> datetime | None:
        return datetime.fromtimestamp(timestamp, UTC) if timestamp else None

    records = instance.get_run_records(
        filters=dg.RunsFilter(tags={f"dagster/{kind}_name": name}), limit=limit
    )
    return [
        RunFact(r.dagster_run.status.value.lower(), at(r.start_time), at(r.end_time))
        for r in records
    ]


def _started(state) -> datetime | None:  # type: ignore[no-untyped-def]
    data = state.instigator_data if state is not None else None
    stamp = getattr(data, "last_sensor_start_timestamp", None) or getattr(
        data, "start_timestamp", None
    )
    return datetime.fromtimestamp(stamp, UTC) if stamp else None
