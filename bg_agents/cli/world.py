"""``bg-agents seed`` and ``demo``: the SIMULATED world, and every partition materialized."""

from __future__ import annotations

import argparse

from bg_agents.cli.common import (
    MAX_TEAMS,
    MAX_WEEKS,
    at_most,
    print_stats,
    reachable,
)


def cmd_seed(args: argparse.Namespace) -> int:
    from bg_agents.cli.demo import seed
    from bg_agents.lib import clock
    from bg_agents.lib.settings import load_settings

    settings = reachable(load_settings())
    new = seed(settings, args.teams, args.weeks, args.seed, clock.now().date(), print)
    for table, n in sorted(new.items()):
        print(f"  {table:<22} {n:>10,} new")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bg_agents.cli.demo import run_demo
    from bg_agents.lib.settings import load_settings, use_dagster_home

    settings = reachable(load_settings())
    use_dagster_home(settings)
    run_demo(settings, args.teams, args.weeks, args.seed, args.force)
    print()
    print_stats(brief=True)
    print("\nNext: `make dev` opens the Dagster UI at http://127.0.0.1:3000 with this history.")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""

    def world_args(p: argparse.ArgumentParser, teams: int, weeks: int) -> None:
        p.add_argument("--teams", type=at_most(MAX_TEAMS), default=teams)
        p.add_argument("--weeks", type=at_most(MAX_WEEKS), default=weeks)
        p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")

    seed = sub.add_parser("seed", help="write SIMULATED demo data (idempotent)")
    world_args(seed, 20, 8)
    seed.set_defaults(func=cmd_seed)

    demo = sub.add_parser("demo", help="migrate, seed and materialize every partition")
    world_args(demo, 20, 8)
    demo.add_argument("--force", action="store_true", help="re-materialize done partitions")
    demo.set_defaults(func=cmd_demo)
