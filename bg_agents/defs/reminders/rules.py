"""Which reminder an invoice gets on a local day: plain date arithmetic, no database.

The team hears about an invoice while it is *due soon* (due today or in the next two days: "due
in less than 3 days", the seed's words) and on the escalation days of an overdue invoice (1, 7,
14 and 30 days after the due date). A customer hears on the steps its team chose (days after the
due date; a negative step is before it). Every reminder has a natural key, so the same decision
made twice (a retry, a backfill, two racing runs) is stored and sent once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta
from decimal import Decimal

from bg_agents.lib.db.models import OPEN_INVOICE

REMINDER_TIME = time(9, 0)  # team-local
DUE_SOON_DAYS = 3
OVERDUE_DAYS = (1, 7, 14, 30)
DEFAULT_CUSTOMER_STEPS = (1, 7, 14)
MAX_CUSTOMER_STEPS = 10
STEP_RANGE = (-30, 365)


def owed(status: str, amount: Decimal, amount_paid: Decimal) -> bool:
    """Still owed: open or partly paid, with something left to pay. The one definition every
    reminder (team or customer, when planned and again when sent) is decided by."""
    return status in OPEN_INVOICE and amount - amount_paid > 0


def team_kind(due_date: date, local_date: date) -> str | None:
    """``due_soon``, ``overdue_<days>`` on an escalation day, else None."""
    days_left = (due_date - local_date).days
    if 0 <= days_left < DUE_SOON_DAYS:
        return "due_soon"
    if -days_left in OVERDUE_DAYS:
        return f"overdue_{-days_left}"
    return None


def team_due_dates(local_date: date) -> list[date]:
    """Every due date that gives an invoice a team reminder on ``local_date`` (for one indexed
    ``due_date IN (...)`` query)."""
    soon = [local_date + timedelta(days=d) for d in range(DUE_SOON_DAYS)]
    return soon + [local_date - timedelta(days=d) for d in OVERDUE_DAYS]


def customer_kind(step: int) -> str:
    """``after_7`` / ``before_3``: the step's name in keys and records."""
    return f"after_{step}" if step >= 0 else f"before_{-step}"


def customer_steps_due(due_date: date, local_date: date, steps: Iterable[int]) -> list[int]:
    """The team's customer steps that fall on ``local_date`` for an invoice due ``due_date``."""
    offset = (local_date - due_date).days
    return [s for s in steps if s == offset]


def validate_steps(steps: Iterable[int]) -> list[int]:
    """A team's escalation schedule, sorted; a clear error for anything else."""
    out = []
    for s in steps:
        if isinstance(s, bool) or not isinstance(s, int):
            raise ValueError(f"a reminder step is a whole number of days, not {s!r}")
        if not STEP_RANGE[0] <= s <= STEP_RANGE[1]:
            raise ValueError(
                f"a reminder step must be between {STEP_RANGE[0]} and {STEP_RANGE[1]} days "
                f"from the due date, not {s}"
            )
        out.append(s)
    if len(set(out)) != len(out):
        raise ValueError("the reminder steps repeat a day")
    if len(out) > MAX_CUSTOMER_STEPS:
        raise ValueError(f"at most {MAX_CUSTOMER_STEPS} reminder steps")
    return sorted(out)


def team_key(invoice_id: int, kind: str, local_date: date) -> str:
    return f"reminder:team:{invoice_id}:{kind}:{local_date.isoformat()}"


def customer_key(invoice_id: int, step: int) -> str:
    return f"reminder:customer:{invoice_id}:{customer_kind(step)}"
