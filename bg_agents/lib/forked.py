"""Two cores for a pure step: one half of the work in a forked child, the other half here.

``bg-agents match`` spends most of a large run in Python-level work on strings (reading a file's
cells, normalizing ~80,000 distinct names, finding their identifiers) that one process does on
one core. A forked child shares the parent's memory (nothing is sent to it) and sends back only
its result, pickled; it is used for steps that take long enough to repay the fork and the
pickling (tens of milliseconds), and never where Dagster runs code (its run workers hold
threads, and fork copies no thread). Anything that goes wrong in the child (an error, a crash,
no fork on this platform) makes this process do the child's share itself, so the result, and
any error, is the one a single process would give.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")
R = TypeVar("R")

# Below this many items a step is done in one process: the fork, pickling the result and
# reading it back cost about as much as the half they would save.
MIN_ITEMS = 20_000


def can_fork() -> bool:
    """Fork is safe here: Linux (macOS forks but its system libraries may not survive it)."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def beside(here: Callable[[], A], there: Callable[[], B], *, fork: bool = True) -> tuple[A, B]:
    """``here()`` in this process while ``there()`` runs in a forked child: both results.

    When the child cannot deliver (``there`` raised, the child died, fork is off or unsafe),
    ``there()`` runs here afterwards: an error is then raised from this process, with its
    traceback. An error in ``here()`` stops the child first.
    """
    if not (fork and can_fork()):
        return here(), there()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its result, or nothing, down the pipe, then exit without cleanup
        os.close(read_end)
        code = 0
        try:
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(there(), out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001 - the parent redoes the work and reports the error
            code = 1
        os._exit(code)
    os.close(write_end)
    try:
        mine = here()
    except BaseException:
        os.close(read_end)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    try:
        with os.fdopen(read_end, "rb") as received:
            theirs: B = pickle.load(received)
        delivered = True
    except Exception:  # noqa: BLE001 - the child failed before its result was whole
        delivered = False
    _, status = os.waitpid(pid, 0)
    if not delivered or status != 0:
        theirs = there()
    return mine, theirs


def halves(fn: Callable[[T], R], items: Sequence[T], processes: int = 1) -> list[R]:
    """``[fn(x) for x in items]``, the second half in a forked child when ``processes`` > 1 and
    there are at least MIN_ITEMS items."""
    if processes < 2 or len(items) < MIN_ITEMS:
        return [fn(x) for x in items]
    half = len(items) // 2
    first, second = beside(
        lambda: [fn(x) for x in items[:half]], lambda: [fn(x) for x in items[half:]]
    )
    return first + second
