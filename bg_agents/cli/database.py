"""``bg-agents db``, ``stats`` and ``teams``: the schema and what the database holds."""

from __future__ import annotations

import argparse
import json

from bg_agents.cli.common import (
    open_engine,
    print_stats,
)


def cmd_db(args: argparse.Namespace) -> int:
    from bg_agents.lib.db import migrate

    engine = open_engine(migrated=False)
    if args.db_command == "upgrade":
        migrate.upgrade(engine)
        print(f"database at revision {migrate.current_revision(engine)} (head)")
    else:
        current, head = migrate.current_revision(engine), migrate.head_revision()
        print(f"current: {current or 'none'}  head: {head}")
        return 0 if current == head else 1
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from bg_agents.lib.db.inventory import table_counts

    if args.json:
        with open_engine().connect() as conn:
            print(json.dumps(table_counts(conn)))
    else:
        print_stats()
    return 0


def cmd_teams(args: argparse.Namespace) -> int:
    from bg_agents.lib.db.inventory import list_teams

    with open_engine().connect() as conn:
        teams = list_teams(conn)
    if args.json:
        print(json.dumps(teams))
        return 0
    print(f"{'team':<24} {'time zone':<22} {'cur':<4} users")
    for t in teams:
        print(f"{t['slug']:<24} {t['time_zone']:<22} {t['currency']:<4} {t['users']}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the application database to the latest schema")
    db_sub.add_parser("current", help="show the schema revision (exit 1 if behind)")
    db.set_defaults(func=cmd_db)

    stats = sub.add_parser("stats", help="row count of every table")
    stats.add_argument("--json", action="store_true", help="one JSON object")
    stats.set_defaults(func=cmd_stats)

    teams = sub.add_parser("teams", help="list teams with their time zones")
    teams.add_argument("--json", action="store_true")
    teams.set_defaults(func=cmd_teams)
