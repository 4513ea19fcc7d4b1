"""The ``bg-agents`` parser, assembled from the command groups, and ``main``."""

from __future__ import annotations

import argparse
import gc
import os
import select
import signal
import sys
import warnings
from collections.abc import Sequence

from bg_agents.cli import (
    agents,
    customers,
    database,
    enrich,
    health,
    imports,
    insights,
    match,
    notifications,
    reminders,
    reports,
    review,
    webhooks,
    world,
)

# The order of ``bg-agents --help``.
GROUPS = (
    database, world, agents, insights, match, review, enrich, customers, imports, reminders,
    reports, notifications, webhooks, health,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bg-agents", description="Background agents for a finance SaaS, on Dagster."
    )
    parser.set_defaults(reads_settings=True)
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Dagster marks some parameters we rely on (backfill_policy) as beta; that is noise on a CLI.
    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", category=UserWarning, message=".*[Bb]eta.*")
    args = build_parser().parse_args(argv)
    try:
        # Every setting is checked before any work, so a typo in one variable is reported
        # with all the others instead of surfacing halfway through a run. A command that reads
        # no setting (``match``: two files in, one out) skips it and the 0.2 s its import costs.
        if args.reads_settings:
            from bg_agents.lib.settings import validate_environment

            validate_environment()
        return args.func(args)
    except BrokenPipeError as exc:
        if not _stdout_gone():
            return _failure(exc)  # another pipe or socket: an error like any other
        # The reader of our output went away (``bg-agents review | head``): nothing is wrong
        # and nothing more can be said. Later writes (the interpreter's last flush) go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        # Ctrl-C is a person's choice, not a crash: one line, the shell's exit code for SIGINT.
        # (Work in progress is not committed: the matcher's output appears only whole, its
        # child processes are stopped; runs in the database are transactions.)
        print("bg-agents: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _failure(exc)


def _stdout_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (poll reports an error on
    the writing end); False when it is no file descriptor at all (output captured in memory)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # io.UnsupportedOperation is an OSError
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def _failure(exc: Exception) -> int:
    """Exit 2 with one line per problem for a user's mistake or a setup problem; re-raise a bug.

    The database's error classes are imported here, not at start-up: commands that never open
    the database (``match``) do not pay 0.2 s for SQLAlchemy and Alembic (which a database
    error has imported already anyway).
    """
    from bg_agents.lib.db.engine import DatabaseUnavailable
    from bg_agents.lib.db.migrate import SchemaOutOfDate

    if isinstance(exc, ValueError | SchemaOutOfDate | DatabaseUnavailable):
        # A user's mistake or setup problem: one line per problem, never a traceback.
        from bg_agents.lib.agents.messages import redact  # errors may quote keys or passwords

        for line in redact(exc).splitlines() or [type(exc).__name__]:
            print(f"bg-agents: error: {line}", file=sys.stderr)
        return 2
    if isinstance(exc, OSError):
        # The file system or network refused (a read-only folder, a full disk): a setup problem.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"bg-agents: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    raise exc


def console() -> None:
    """The installed ``bg-agents`` script: ``main``, then exit without the collector walking every
    object the command created (after a 45k-row match, 0.3 s of a process's shutdown)."""
    code = main()
    gc.freeze()
    sys.exit(code)
