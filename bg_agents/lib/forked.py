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

import ctypes
import os
import pickle
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")
R = TypeVar("R")

# Below this many items a step is done in one process: the fork, pickling the result and
# reading it back cost about as much as the half they would save.
MIN_ITEMS = 20_000


# How many times a child could not deliver and this process did its share (tests require 0:
# a silent redo would keep results right but double the step's time).
fallbacks = 0


def can_fork() -> bool:
    """Fork is safe here: Linux (macOS forks but its system libraries may not survive it), and
    no other Python thread (fork copies only the calling thread: a lock another one holds, in
    a Dagster run worker say, would stay locked in the child for ever)."""
    return (
        hasattr(os, "fork") and sys.platform.startswith("linux") and threading.active_count() == 1
    )


def cores() -> int:
    """CPUs this process may run on (a container pinned to one core has one, whatever the
    host has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def beside(here: Callable[[], A], there: Callable[[], B], *, fork: bool = True) -> tuple[A, B]:
    """``here()`` in this process while ``there()`` runs in a forked child: both results.

    When the child cannot deliver (``there`` raised or could not be pickled, the child died, it
    could not be forked, fork is off or unsafe), ``there()`` runs here afterwards: an error is
    then raised from this process, with its traceback. However this process leaves (an error
    in ``here()``, Ctrl-C while it waits), the child is stopped and reaped first; a child whose
    parent dies is killed by the kernel.
    """
    global fallbacks
    if not (fork and can_fork()):
        return here(), there()
    read_end, write_end = os.pipe()
    parent = os.getpid()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns of fork with threads it cannot see (OpenBLAS's idle pool): the
            # child runs only Python and numpy code of this process, no other thread's locks.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError:  # no memory or process slot for a child: one process does both
        os.close(read_end)
        os.close(write_end)
        fallbacks += 1
        return here(), there()
    if pid == 0:  # the child: its result, or nothing, down the pipe
        os.close(read_end)
        code = 0
        try:
            _die_with(parent)
            with os.fdopen(write_end, "wb") as out:
                pickle.dump(there(), out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001 - the parent redoes the work and reports the error
            code = 1
        # No cleanup of the parent's (its temporary files, atexit handlers, buffered output):
        # they are the parent's to finish.
        os._exit(code)
    os.close(write_end)
    reaped = False
    try:
        mine = here()
        try:
            with os.fdopen(read_end, "rb") as received:
                read_end = -1
                theirs: B = pickle.load(received)
            delivered = True
        except Exception:  # noqa: BLE001 - the child failed before its result was whole
            delivered = False
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # SIGCHLD ignored: the kernel reaped it; the pipe tells
            status = 0
        reaped = True
        if not delivered or status != 0:
            fallbacks += 1
            theirs = there()
        return mine, theirs
    finally:
        if read_end >= 0:
            os.close(read_end)
        if not reaped:
            _stop(pid)


def _die_with(parent: int) -> None:
    """Ask the kernel to kill this child when its parent dies (Linux prctl PR_SET_PDEATHSIG),
    so no orphan goes on writing files nobody will clean up."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # no prctl: the parent's own stop still applies
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):  # already gone, or reaped by the kernel
        pass


def splits(processes: int, items: int) -> bool:
    """Whether a step over ``items`` items is split over ``processes`` (two at most): below
    MIN_ITEMS the fork costs about what it saves. (MIN_ITEMS is read here at each call, so a
    test can lower it to force the split on small inputs.)"""
    return processes > 1 and items >= MIN_ITEMS


def halves(fn: Callable[[T], R], items: Sequence[T], processes: int = 1) -> list[R]:
    """``[fn(x) for x in items]``, the second half in a forked child when the items are many
    enough (:func:`splits`)."""
    if not splits(processes, len(items)):
        return [fn(x) for x in items]
    half = len(items) // 2
    first, second = beside(
        lambda: [fn(x) for x in items[:half]], lambda: [fn(x) for x in items[half:]]
    )
    return first + second
