"""``bg-agents insights generate`` and ``deliveries preview``: one insight, and when it is due."""

from __future__ import annotations

import argparse
import sys

from bg_agents.cli.common import (
    MAX_WEEKS,
    at_most,
    fail,
    iso_date,
    open_engine,
)


def cmd_insights(args: argparse.Namespace) -> int:
    """Generate (and store) one team's insight for one week, and print it.

    A week whose insight is final (delivered or skipped) is printed as stored, since generating
    it again would spend model calls and change what the team was told; ``--force`` does that.
    """
    import sqlalchemy as sa

    from bg_agents.defs.insights.service import generate_slot
    from bg_agents.defs.metrics import missing_metrics_reason
    from bg_agents.lib.agents.backends import build_backend
    from bg_agents.lib.db.inventory import list_teams
    from bg_agents.lib.db.models import Insight, Team
    from bg_agents.lib.delivery_slots import slot_for
    from bg_agents.lib.settings import load_llm_settings
    from bg_agents.lib.weeks import week_start

    engine = open_engine()
    with engine.connect() as conn:
        team = next((t for t in list_teams(conn) if t["slug"] == args.team), None)
    if team is None:
        raise ValueError(f"unknown team {args.team!r}; `bg-agents teams` lists them")
    week = week_start(args.week)
    settings = load_llm_settings()
    key = settings.api_key()
    result = generate_slot(
        engine,
        week,
        slot_for(week, team["time_zone"]),
        build_backend(settings, key),
        team=args.team,
        force=args.force,
    )
    if not result.generated:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(Insight.content, Insight.status, Insight.path, Insight.model)
                .join(Team, Team.id == Insight.team_id)
                .where(Team.slug == args.team, Insight.week_start == week)
            ).first()
            # A week without metrics cannot be (re)generated, --force or not: say so and why.
            missing = missing_metrics_reason(conn, args.team, week)
        if missing is not None:
            why = f"the week of {week} has no weekly metrics for {args.team}: {missing}"
        elif args.team in result.claimed_elsewhere:
            why = "another run is generating it right now; run this again in a minute"
        else:
            why = None  # a final (delivered or skipped) insight, kept without --force
        if stored is not None and not args.force:
            print(stored.content)
            hint = f"not regenerated: {why}" if why else "--force regenerates it"
            print(
                f"(week of {week}: the stored insight, {stored.status}, path: {stored.path}, "
                f"model: {stored.model}; {hint})",
                file=sys.stderr,
            )
            return 0
        kept = (
            f"; the stored insight ({stored.status}, path: {stored.path}) is unchanged"
            if stored is not None
            else ""
        )
        return fail(
            f"no insight was {'re' if stored is not None else ''}generated for {args.team} in "
            f"the week of {week}"
            f"{' although --force was given' if args.force else ''}: "
            f"{why or 'no reason was reported'}{kept}"
        )
    generated = result.generated[0]
    print(generated.content)
    note = f"(week of {week}, path: {generated.path}, model: {generated.model}"
    if result.delivery is not None:
        note += f", delivery: {result.delivery.action}"
    print(note + ")", file=sys.stderr)
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    """When a team in a zone is due its weekly insight: local time, UTC instant, slot."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from bg_agents.lib.delivery_slots import due_at, slot_for
    from bg_agents.lib.weeks import week_start

    try:
        tz = ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {args.tz!r}; use an IANA name like Asia/Kolkata"
        ) from None
    monday = week_start(args.start)
    rows = [("week", "due (local)", "due (UTC)", "slot")]
    for i in range(args.weeks):
        week = monday + timedelta(weeks=i)
        slot = slot_for(week, args.tz)
        due = due_at(week, slot)
        local = due.astimezone(tz)
        rows.append((week.isoformat(), f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}",
                     f"{due:%Y-%m-%d %H:%M}Z", str(slot)))  # fmt: skip
    # Columns as wide as their widest cell: a zone's name ("+1030", "AEDT") varies in length.
    widths = [max(len(row[c]) for row in rows) for c in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[3]
        )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    insights = sub.add_parser("insights", help="weekly insights")
    insights_sub = insights.add_subparsers(dest="insights_command", required=True)
    generate = insights_sub.add_parser("generate", help="generate, store and print one insight")
    generate.add_argument("--team", required=True, help="team slug")
    generate.add_argument(
        "--week", required=True, type=iso_date, help="any date in the ISO week (YYYY-MM-DD)"
    )
    generate.add_argument("--force", action="store_true", help="overwrite a delivered insight")
    generate.set_defaults(func=cmd_insights)

    deliveries = sub.add_parser("deliveries", help="insight delivery times")
    deliveries_sub = deliveries.add_subparsers(dest="deliveries_command", required=True)
    preview = deliveries_sub.add_parser(
        "preview", help="UTC instants at which a team in a zone is due its weekly insight"
    )
    preview.add_argument("--tz", required=True, help="IANA time zone, e.g. Asia/Kathmandu")
    preview.add_argument(
        "--from", dest="start", required=True, type=iso_date, help="first week (YYYY-MM-DD)"
    )
    preview.add_argument("--weeks", type=at_most(MAX_WEEKS), default=8)
    preview.set_defaults(func=cmd_deliveries)
