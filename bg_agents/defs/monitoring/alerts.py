"""What a finished run tells the operators: a failure alert (at most one per job and UTC hour),
an escalation after N failures in a row, a recovery when a failing job succeeds again.

Decided here from plain facts (the run, the job's recent finished runs newest first) that the
sensors read from the Dagster instance; consecutive failures come from that history, not from a
table of our own, so the instance stays the one record of what ran. Every alert is a
notification event under a natural key, so a sensor evaluated twice for one run (a daemon
restart) tells nobody twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.monitoring.operators import ensure_operators
from bg_agents.defs.notifications import Event, notify
from bg_agents.lib.agents.messages import redact
from bg_agents.lib.db.models import NotificationEvent
from bg_agents.lib.settings import OperatorSettings

FAILURE, ESCALATION, RECOVERED = "ops.failure", "ops.escalation", "ops.recovered"
STALE = "ops.stale"
MAX_ERROR = 300  # characters of the error summary: a line, not a traceback
MAX_COUNTED = 100  # run ids kept on an hour's alert to count each failure once
# Dagster runs asset selections as implicit jobs ("__ASSET_JOB", "__ASSET_JOB_0"): the assets
# name what failed, not the job.
IMPLICIT_ASSET_JOB = "__ASSET_JOB"


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    failed: bool


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job: str
    partition: str | None
    error: str  # the failure's message as Dagster recorded it (redacted here)


@dataclass
class AlertOutcome:
    new: list[str] = field(default_factory=list)  # keys of the events reported now
    counted: str | None = None  # the hour's alert this failure was added to instead

    def describe(self) -> str:
        if self.new:
            return "alerted: " + ", ".join(self.new)
        if self.counted:
            return f"counted on {self.counted}"
        return "nothing new (already alerted)"


def subject(job_name: str, asset_keys: Sequence[str] = ()) -> str:
    """What failed, as operators name it: the job, or for an implicit asset job its assets."""
    if job_name.startswith(IMPLICIT_ASSET_JOB) and asset_keys:
        return ",".join(sorted(asset_keys))[:150]
    return job_name[:150]


def error_summary(message: str) -> str:
    """The first non-empty line of ``message``, redacted (errors may quote keys or URLs)."""
    line = next((ln.strip() for ln in str(message).splitlines() if ln.strip()), "")
    line = redact(line)
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 3] + "..."


def run_link(settings: OperatorSettings, run_id: str) -> str:
    return f"{settings.dagster_url}/runs/{run_id}"


def failure_streak(history: Sequence[FinishedRun], run_id: str, complete: bool) -> list[str] | None:
    """The run ids of the failures in a row ending at ``run_id`` (newest first), or None when the
    streak reaches past ``history`` (it is longer than what was read; not ``complete``)."""
    ids = [r.run_id for r in history]
    if run_id not in ids:
        return [run_id]
    streak: list[str] = []
    for run in history[ids.index(run_id) :]:
        if not run.failed:
            return streak
        streak.append(run.run_id)
    return streak if complete else None


def failed_before(history: Sequence[FinishedRun], run_id: str) -> bool:
    """Whether the finished run before ``run_id`` failed (the job is recovering)."""
    ids = [r.run_id for r in history]
    if run_id not in ids:
        return bool(history) and history[0].failed
    index = ids.index(run_id)
    return index + 1 < len(history) and history[index + 1].failed


def hour_key(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%HZ")


def alert_failure(
    conn: Connection,
    settings: OperatorSettings,
    failure: RunFailure,
    history: Sequence[FinishedRun],
    now: datetime,
    *,
    complete: bool = True,
) -> AlertOutcome:
    """Report one failed run: the job's alert of this UTC hour (or count the failure on it),
    and an escalation when it is the ``escalate_after``-th failure in a row or later."""
    team_id = ensure_operators(conn, settings)
    error = error_summary(failure.error)
    link = run_link(settings, failure.run_id)
    where = f" (partition {failure.partition})" if failure.partition else ""
    outcome = AlertOutcome()
    payload = {
        "job": failure.job,
        "partition": failure.partition,
        "run_id": failure.run_id,
        "error": error,
        "link": link,
        "failures": 1,
        "run_ids": [failure.run_id],
    }
    key = f"alert:failure:{failure.job}:{hour_key(now)}"
    events = [
        Event(
            key=key,
            team_id=team_id,
            category=FAILURE,
            title=f"{failure.job} failed{where}",
            body=f"{error}\n{link}",
            payload=payload,
        )
    ]
    streak = failure_streak(history, failure.run_id, complete)
    if streak is not None and len(streak) >= settings.escalate_after:
        first = streak[-1]
        events.append(
            Event(
                key=f"alert:escalation:{failure.job}:{first}",
                team_id=team_id,
                category=ESCALATION,
                title=f"{failure.job} failed {len(streak)} times in a row",
                body=f"{error}\nfirst failure: {run_link(settings, first)}\nlatest: {link}",
                payload={**payload, "failures": len(streak), "first_run_id": first},
            )
        )
    existing = _existing(conn, [e.key for e in events])
    notify(conn, events, now)
    outcome.new = [e.key for e in events if e.key not in existing]
    if key in existing and _count(conn, key, failure.run_id, error):
        outcome.counted = key
    return outcome


def alert_success(
    conn: Connection,
    settings: OperatorSettings,
    job: str,
    run_id: str,
    history: Sequence[FinishedRun],
    now: datetime,
) -> AlertOutcome:
    """Report a success only when the job's previous finished run failed (a recovery)."""
    outcome = AlertOutcome()
    if not failed_before(history, run_id):
        return outcome
    team_id = ensure_operators(conn, settings)
    key = f"alert:recovered:{job}:{run_id}"
    event = Event(
        key=key,
        team_id=team_id,
        category=RECOVERED,
        title=f"{job} succeeded again",
        body=run_link(settings, run_id),
        payload={"job": job, "run_id": run_id, "link": run_link(settings, run_id)},
    )
    if notify(conn, [event], now):
        outcome.new.append(key)
    return outcome


def alert_stale(
    conn: Connection,
    settings: OperatorSettings,
    asset: str,
    check: str,
    reason: str,
    now: datetime,
) -> AlertOutcome:
    """Report a failed freshness check: one alert per check and UTC hour, however often the
    sensor finds it failing within that hour."""
    team_id = ensure_operators(conn, settings)
    key = f"alert:stale:{check}:{hour_key(now)}"
    event = Event(
        key=key,
        team_id=team_id,
        category=STALE,
        title=f"{asset} is stale ({check})",
        body=f"{redact(reason)}\n{settings.dagster_url}/assets/{asset}",
        payload={"asset": asset, "check": check, "reason": redact(reason)},
    )
    outcome = AlertOutcome()
    if notify(conn, [event], now):
        outcome.new.append(key)
    return outcome


def _existing(conn: Connection, keys: list[str]) -> set[str]:
    return set(
        conn.scalars(
            sa.select(NotificationEvent.idempotency_key).where(
                NotificationEvent.idempotency_key.in_(keys)
            )
        )
    )


def _count(conn: Connection, key: str, run_id: str, error: str) -> bool:
    """Add a later failure of the hour to its alert's payload (once per run); True if added."""
    query = sa.select(NotificationEvent.id, NotificationEvent.payload).where(
        NotificationEvent.idempotency_key == key
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one()
    payload = dict(row.payload or {})
    seen = list(payload.get("run_ids") or [])
    if run_id in seen:
        return False
    payload["failures"] = int(payload.get("failures") or 1) + 1
    payload["run_ids"] = (seen + [run_id])[-MAX_COUNTED:]
    payload["last_run_id"] = run_id
    payload["last_error"] = error
    conn.execute(
        sa.update(NotificationEvent).where(NotificationEvent.id == row.id).values(payload=payload)
    )
    return True
