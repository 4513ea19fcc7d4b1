"""A running balance column checked: each stated balance is the one before plus the rows between.

Exports list rows newest first or oldest first and say neither, so the order is read from the
balances themselves (which way the arithmetic holds), then from the dates. A row lost from the
export, or an amount altered, breaks the chain where it was; the breaks are what a user needs to
find it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

MAX_BREAKS = 10


@dataclass(frozen=True)
class Entry:
    """One row as the check sees it. ``amount`` None: stated but unreadable (it cannot be
    added, so the chain shows it); ``counted`` False: a line that only states a balance."""

    ref: str
    amount: Decimal | None
    balance: Decimal | None
    date: str | None = None
    counted: bool = True


@dataclass(frozen=True)
class Chain:
    """What the rows up to the last stated balance add up to, in time order."""

    newest_first: bool
    opening: Decimal | None
    closing: Decimal | None
    entries: Decimal = Decimal(0)
    entry_count: int = 0
    first_date: str | None = None
    last_date: str | None = None
    breaks: list[str] = field(default_factory=list)  # refs of rows whose balance does not follow


def _votes(rows: Sequence[Entry]) -> tuple[int, int]:
    """How many neighbouring pairs hold oldest first, and how many newest first."""
    forward = backward = 0
    for before, after in zip(rows, rows[1:], strict=False):
        if None in (before.balance, after.balance, before.amount, after.amount):
            continue
        forward += after.balance == before.balance + after.amount  # type: ignore[operator]
        backward += before.balance == after.balance + before.amount  # type: ignore[operator]
    return forward, backward


def check_running_balance(rows: Sequence[Entry]) -> Chain:
    """The opening (first stated balance less the amounts up to it), the closing (the last stated
    balance) and the amounts between, in time order; ``breaks`` lists each row whose stated
    balance is not the previous stated balance plus the amounts since."""
    forward, backward = _votes(rows)
    dates = [r.date for r in rows if r.date]
    newest_first = backward > forward or (
        backward == forward and len(dates) > 1 and dates[0] > dates[-1]
    )
    ordered = list(reversed(rows)) if newest_first else list(rows)
    stated = [i for i, r in enumerate(ordered) if r.balance is not None]
    if not stated:
        return Chain(newest_first, None, None)
    last = stated[-1]
    covered = ordered[: last + 1]
    entries = sum((r.amount for r in covered if r.amount is not None), Decimal(0))
    # The opening from the first row whose balance and amount are both known: rows before it have
    # no earlier balance to check against.
    first = next((i for i in stated if ordered[i].amount is not None), stated[0])
    before = sum((r.amount for r in ordered[: first + 1] if r.amount is not None), Decimal(0))
    opening = ordered[first].balance - before  # type: ignore[operator]
    breaks: list[str] = []
    running = ordered[first].balance
    for row in ordered[first + 1 : last + 1]:
        # An unreadable amount leaves the next stated balance unverifiable: that is a break too.
        running = None if running is None or row.amount is None else running + row.amount
        if row.balance is not None:
            if running != row.balance and len(breaks) < MAX_BREAKS:
                breaks.append(row.ref)
            running = row.balance
    counted_dates = [r.date for r in covered if r.counted and r.date]
    return Chain(
        newest_first=newest_first,
        opening=opening,
        closing=ordered[last].balance,
        entries=entries,
        entry_count=sum(r.counted for r in covered),
        first_date=min(counted_dates) if counted_dates else None,
        last_date=max(counted_dates) if counted_dates else None,
        breaks=breaks,
    )
