"""``bg-agents health``: is every schedule and sensor alive, and are its runs succeeding?

Decided here from plain facts (ticks, runs, intervals) that the command reads from the Dagster
instance, so the rules are testable without one. An instigator is *overdue* when it is running
and has neither ticked nor had a run succeed within 1.5 x its interval (schedules: the gap
between two cron times; sensors: their minimum interval); *failing* when its last tick raised or
more than the threshold of its last runs failed. Either makes the exit code 1, so the command can
back a liveness probe; an instance with no tick and no run at all is "no history yet", exit 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bg_agents.lib.agents.messages import redact

GRACE = 1.5  # x the interval before an instigator is overdue
MAX_FAILURE_RATE = 0.5


@dataclass(frozen=True)
class Tick:
    at: datetime
    status: str  # success | skipped | failure | started
    error: str | None = None


@dataclass(frozen=True)
class RunFact:
    status: str  # success | failure | canceled | started | queued ...
    started: datetime | None = None
    ended: datetime | None = None

    @property
    def duration(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return (self.ended - self.started).total_seconds()


@dataclass(frozen=True)
class InstigatorFacts:
    """What the instance knows of one schedule or sensor (lists newest first)."""

    name: str
    kind: str  # schedule | sensor
    running: bool
    from_default: bool  # no state stored: the definition's default status applies
    interval: timedelta | None
    ticks: Sequence[Tick] = ()
    runs: Sequence[RunFact] = ()
    started_at: datetime | None = None  # when it was last turned on, if the instance knows


@dataclass
class Health:
    name: str
    kind: str
    state: str
    interval_seconds: float | None
    last_tick_at: datetime | None
    last_tick_status: str | None
    last_tick_error: str | None
    last_success_at: datetime | None
    runs: int
    failure_rate: float | None
    p50_seconds: float | None
    p95_seconds: float | None
    overdue: bool
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "interval_seconds": self.interval_seconds,
            "last_tick": {
                "at": iso(self.last_tick_at),
                "status": self.last_tick_status,
                "error": self.last_tick_error,
            },
            "last_success_at": iso(self.last_success_at),
            "runs": self.runs,
            "failure_rate": self.failure_rate,
            "duration_p50_seconds": self.p50_seconds,
            "duration_p95_seconds": self.p95_seconds,
            "overdue": self.overdue,
            "problems": self.problems,
        }


@dataclass
class Report:
    checked_at: datetime
    rows: list[Health]
    history: bool  # any tick or run at all

    @property
    def healthy(self) -> bool:
        return not any(row.problems for row in self.rows)

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def as_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.isoformat(),
            "healthy": self.healthy,
            "history": self.history,
            "instigators": [row.as_json() for row in self.rows],
        }

    def render(self) -> str:
        lines = [
            f"{'name':34} {'kind':8} {'state':17} {'last tick (UTC)':22} "
            f"{'last success (UTC)':19} {'runs':>4} {'fail':>5} {'p50':>7} {'p95':>7}"
        ]
        for row in self.rows:
            tick = (
                f"{row.last_tick_at:%Y-%m-%d %H:%M} {row.last_tick_status}"
                if row.last_tick_at
                else "never"
            )
            success = f"{row.last_success_at:%Y-%m-%d %H:%M}" if row.last_success_at else "-"
            rate = f"{row.failure_rate:.0%}" if row.failure_rate is not None else "-"
            lines.append(
                f"{row.name:34} {row.kind:8} {row.state:17} {tick:22} {success:19} "
                f"{row.runs:>4} {rate:>5} {_seconds(row.p50_seconds):>7} "
                f"{_seconds(row.p95_seconds):>7}"
            )
        if not self.history:
            lines.append(
                "The Dagster instance has no history yet (no tick, no run): nothing to judge. "
                "Start the daemon (make dev) and ask again after a few minutes."
            )
        problems = [f"{row.name}: {p}" for row in self.rows for p in row.problems]
        lines += problems or (["healthy"] if self.history else [])
        return "\n".join(lines)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 600 else f"{value / 60:.0f}m"


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (a value that occurred; no interpolation over a few runs)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def assess(
    facts: Sequence[InstigatorFacts],
    now: datetime,
    *,
    max_failure_rate: float = MAX_FAILURE_RATE,
) -> Report:
    """Judge every instigator; problems only count for running ones (a stopped one is off on
    purpose, its old failures are history)."""
    if not 0 <= max_failure_rate <= 1:
        raise ValueError(f"the failure-rate threshold must be from 0 to 1, not {max_failure_rate}")
    rows = [_judge(f, now, max_failure_rate) for f in facts]
    history = any(f.ticks or f.runs for f in facts)
    return Report(now, rows, history)


def _judge(f: InstigatorFacts, now: datetime, max_failure_rate: float) -> Health:
    tick = f.ticks[0] if f.ticks else None
    succeeded = [r for r in f.runs if r.status == "success"]
    finished = [r for r in f.runs if r.status in ("success", "failure")]
    failed = len(finished) - len(succeeded)
    rate = failed / len(finished) if finished else None
    durations = [d for r in finished if (d := r.duration) is not None]
    last_success = max(
        (r.ended or r.started for r in succeeded if r.ended or r.started), default=None
    )
    state = ("running" if f.running else "stopped") + (" (default)" if f.from_default else "")
    row = Health(
        name=f.name,
        kind=f.kind,
        state=state,
        interval_seconds=f.interval.total_seconds() if f.interval else None,
        last_tick_at=tick.at if tick else None,
        last_tick_status=tick.status if tick else None,
        last_tick_error=redact(_first_line(tick.error)) if tick and tick.error else None,
        last_success_at=last_success,
        runs=len(finished),
        failure_rate=round(rate, 3) if rate is not None else None,
        p50_seconds=percentile(durations, 0.5),
        p95_seconds=percentile(durations, 0.95),
        overdue=False,
    )
    if not f.running:
        return row
    if tick and tick.status == "failure":
        row.problems.append(f"its last tick failed: {row.last_tick_error or 'no message'}")
    if rate is not None and rate > max_failure_rate:
        row.problems.append(
            f"{failed} of its last {len(finished)} runs failed "
            f"({rate:.0%}, over {max_failure_rate:.0%})"
        )
    if f.interval:
        seen = [at for at in (row.last_tick_at, last_success) if at is not None]
        reference = max(seen) if seen else f.started_at
        limit = f.interval * GRACE
        if reference is not None and now - reference > limit:
            row.overdue = True
            what = "no tick or successful run" if seen else "never ticked since it started"
            row.problems.append(
                f"overdue: {what} for {_age(now - reference)}, expected every {_age(f.interval)}"
            )
    return row


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:300]


def _age(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
