"""One pass of the engine, as the minute job runs it: close due windows, then send what is due.

``deliver`` takes at most ``limit`` deliveries per call, so a window that closes for thousands of
members would otherwise trickle out one batch a minute; a pass repeats it while batches come back
full, within a time budget that keeps one run short (the sensor starts no run while one is going).
The counts come back as one flat set of numbers, every channel present even when zero, so the UI
can plot each across runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bg_agents.defs.notifications.deliver import BATCH, DeliverResult, deliver
from bg_agents.defs.notifications.flush import FlushResult, flush
from bg_agents.defs.notifications.outbox import CHANNELS
from bg_agents.lib import clock

BUDGET = timedelta(minutes=4)
ERRORS_SHOWN = 5  # distinct failure reasons a pass prints, the commonest first


@dataclass
class Cycle:
    flushed: FlushResult
    delivered: DeliverResult = field(default_factory=DeliverResult)
    rounds: int = 0

    def as_metadata(self) -> dict[str, int]:
        f, d = self.flushed, self.delivered
        return {
            "digests": f.digests,
            "singles": f.singles,
            "events_sent": f.events,
            **{f"deliveries_{c}": f.deliveries[c] for c in CHANNELS},
            **{f"delivered_{c}": d.delivered[c] for c in CHANNELS if c != "in_app"},
            "retries_scheduled": d.retried,
            "dead_letters": d.dead,
            "suppressed": d.suppressed,
            # Held when the message was made, or again at sending (quiet hours began since).
            "held_for_quiet_hours": f.held + d.held,
            "delivery_rounds": self.rounds,
        }

    def summary(self) -> str:
        d = self.delivered
        sent = sum(d.delivered.values())
        lines = [
            f"{self.flushed.digests} digests and {self.flushed.singles} single messages from "
            f"{self.flushed.events} events; {sent} e-mails/webhooks sent, {d.retried} to retry, "
            f"{d.dead} dead, {d.suppressed} suppressed, {self.flushed.held + d.held} held"
        ]
        lines += [f"  {n:,} x {reason}" for reason, n in d.errors.most_common(ERRORS_SHOWN)]
        return "\n".join(lines)


def run_cycle(
    engine: Engine,
    now: Callable[[], datetime] = clock.now,
    *,
    limit: int = BATCH,
    budget: timedelta = BUDGET,
) -> Cycle:
    """Flush at ``now()``, then deliver in rounds of ``limit`` until a round is not full or the
    budget is spent; each round reads ``now()`` again (a retry due meanwhile goes too)."""
    cycle = Cycle(flush(engine, now()))
    deadline = time.monotonic() + budget.total_seconds()
    while True:
        got = deliver(engine, now(), limit=limit)
        cycle.rounds += 1
        cycle.delivered.add(got)
        claimed = sum(got.delivered.values()) + got.retried + got.dead + got.suppressed + got.held
        if claimed < limit or time.monotonic() >= deadline:
            return cycle
