"""Work beside a forked child: both results, the child's work really elsewhere, and whatever goes
wrong in the child ending as a single process would end."""

from __future__ import annotations

import os
import time
from pathlib import Path

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


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_fork_that_fails_leaves_one_process_doing_both(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError(12, "Cannot allocate memory")

    before = _open_fds()
    monkeypatch.setattr(os, "fork", no_fork)
    assert forked.beside(lambda: "a", lambda: "b") == ("a", "b")
    assert _open_fds() == before  # the pipe is closed again


def test_an_interrupt_while_waiting_stops_and_reaps_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    class Interrupted:
        @staticmethod
        def load(_: object) -> None:
            raise KeyboardInterrupt  # Ctrl-C while the child still works

        HIGHEST_PROTOCOL = 5

    before = _open_fds()
    monkeypatch.setattr(os, "fork", fork)
    monkeypatch.setattr(forked, "pickle", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        forked.beside(lambda: None, lambda: time.sleep(60))
    with pytest.raises(ChildProcessError):  # reaped: neither running nor a zombie
        os.waitpid(children[0], os.WNOHANG)
    assert _open_fds() == before


def test_a_child_whose_parent_is_killed_dies_with_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import signal
    import subprocess
    import sys

    pid_file = tmp_path / "child.pid"
    program = (
        "import os, time\n"
        "from pathlib import Path\n"
        "from bg_agents.lib import forked\n"
        "def there():\n"
        f"    Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "    time.sleep(60)\n"
        "forked.beside(lambda: time.sleep(60), there)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", program])
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            stat = Path(f"/proc/{child}/stat").read_text()
        except FileNotFoundError:
            break  # gone
        state = stat.rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break  # dead, waiting for init to reap it
        assert time.monotonic() < deadline, f"the orphaned child still runs ({state})"
        time.sleep(0.05)


def test_ignored_sigchld_does_not_lose_the_childs_result() -> None:
    import signal

    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        before = forked.fallbacks
        assert forked.beside(lambda: 1, lambda: os.getpid())[1] != os.getpid()
        assert forked.fallbacks == before
    finally:
        signal.signal(signal.SIGCHLD, previous)


def test_no_fork_while_another_thread_runs() -> None:
    import threading

    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert not forked.can_fork()
        assert forked.beside(lambda: os.getpid(), lambda: os.getpid()) == (os.getpid(),) * 2
    finally:
        stop.set()
        worker.join()
    assert forked.can_fork()
