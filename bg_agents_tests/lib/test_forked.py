"""Work beside a forked child: both results, the child's work really elsewhere, and whatever goes
wrong in the child ending as a single process would end."""

from __future__ import annotations

import os
import time

import pytest

from bg_agents.lib import forked

pytestmark = pytest.mark.skipif(not forked.can_fork(), reason="fork is used on Linux only")


def test_both_results_and_the_childs_work_runs_in_another_process() -> None:
    here, there = forked.beside(lambda: ("here", os.getpid()), lambda: ("there", os.getpid()))
    assert here == ("here", os.getpid())
    assert there[0] == "there" and there[1] != os.getpid()


def test_an_error_in_the_childs_work_is_raised_here_with_the_same_message() -> None:
    parent = os.getpid()
    calls: list[int] = []

    def there() -> int:
        calls.append(os.getpid())  # the child's append is its own: only the parent's counts
        raise ValueError(f"bad row in {'child' if os.getpid() != parent else 'parent'}")

    with pytest.raises(ValueError, match="bad row in parent"):
        forked.beside(lambda: 1, there)
    assert calls == [parent]


def test_a_child_that_dies_is_replaced_by_doing_its_work_here() -> None:
    parent = os.getpid()

    def there() -> str:
        if os.getpid() != parent:
            os._exit(9)  # killed mid-way (out of memory, a signal): no result reaches us
        return "done here"

    assert forked.beside(lambda: "mine", there) == ("mine", "done here")


def test_an_error_here_stops_the_child_at_once() -> None:
    started = time.monotonic()

    def here() -> None:
        raise KeyError("left file")

    with pytest.raises(KeyError, match="left file"):
        forked.beside(here, lambda: time.sleep(60))
    assert time.monotonic() - started < 10


def test_fork_off_runs_both_here() -> None:
    assert forked.beside(lambda: os.getpid(), lambda: os.getpid(), fork=False) == (
        os.getpid(),
        os.getpid(),
    )


def test_halves_keep_the_order_and_fork_only_for_large_inputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = list(range(50))
    assert forked.halves(str, items, processes=2) == [str(x) for x in items]
    small = forked.halves(lambda _: os.getpid(), items, processes=2)
    assert set(small) == {os.getpid()}  # under MIN_ITEMS: one process
    monkeypatch.setattr(forked, "MIN_ITEMS", 10)
    split = forked.halves(lambda _: os.getpid(), items, processes=2)
    assert split[:25] == [os.getpid()] * 25 and os.getpid() not in split[25:]
    assert set(forked.halves(lambda _: os.getpid(), items, processes=1)) == {os.getpid()}
