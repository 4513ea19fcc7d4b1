"""``bg-agents reports render`` and ``reports list``: one team's month-end report, and its versions.

``render`` without ``--out`` publishes as the asset does (a new version only when the figures
changed, stored where ``BG_AGENTS_REPORTS_URL`` says, the team told), so a report made by hand is
the same report the schedule would have made; ``--out`` only draws the figures into a file, for
a look, recording and sending nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from bg_agents.cli.common import open_engine

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def month_arg(text: str) -> date:
    """``YYYY-MM`` -> the month's first day; ValueError (one line, exit 2) otherwise."""
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"--month must be YYYY-MM (e.g. 2026-03), not {text!r}")
    return date(int(found[1]), int(found[2]), 1)


def _team(conn, slug: str):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from bg_agents.lib.db.models import Team, customer_teams

    team = conn.execute(
        sa.select(Team.id, Team.slug, Team.name, Team.locale).where(
            Team.slug == slug, customer_teams()
        )
    ).first()
    if team is None:
        raise ValueError(f"unknown team {slug!r}; `bg-agents teams` lists them")
    return team


def _versions(conn, team_id: int, month: date | None = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from bg_agents.lib.db.models import Report

    query = sa.select(Report.__table__).where(Report.team_id == team_id)
    if month is not None:
        query = query.where(Report.month == month)
    return [
        {
            "month": f"{r.month:%Y-%m}",
            "version": r.version,
            "created": r.created_at.isoformat(),
            "pages": r.pages,
            "sha256": r.sha256,
            "reason": r.reason,
            "path": r.path,
            "totals": r.totals,
        }
        for r in conn.execute(query.order_by(Report.month, Report.version))
    ]


def _print_totals(totals: dict[str, str]) -> None:
    """The stored totals (exact, four places) in the currency's own minor units."""
    from decimal import Decimal

    from bg_agents.lib.money import plain_amount

    currency = totals["currency"]
    for name in ("revenue", "expenses", "net"):
        print(f"  {name:<9} {plain_amount(Decimal(totals[name]), currency)} {currency}")
    print(f"  {'bookings':<9} {totals['transactions']}")


def cmd_render(args: argparse.Namespace) -> int:
    from bg_agents.defs.reports import (
        figures_digest,
        month_figures,
        publish_month,
        read_report,
        render_pdf,
    )
    from bg_agents.defs.reports.service import latest_version, totals_of
    from bg_agents.lib import clock
    from bg_agents.lib.settings import load_settings

    month = month_arg(args.month)
    engine = open_engine()
    now = clock.now()
    with engine.connect() as conn:
        team = _team(conn, args.team)
        if args.out:
            figures = month_figures(conn, team.id, month, now)
            latest = latest_version(conn, team.id, month)
    if args.out:
        # The version this content is or would be, so the page says what publishing would write.
        same = latest is not None and latest.content_sha256 == figures_digest(figures)
        version = latest.version if same else (latest.version + 1 if latest else 1)
        pdf = render_pdf(figures, locale=team.locale, team_name=team.name, version=version)
        Path(args.out).write_bytes(pdf)
        print(f"{team.slug} {month:%Y-%m}: drawn to {args.out} (nothing recorded or sent)")
        print(f"  pages     {read_report(pdf).pages}")
        print(f"  sha256    {hashlib.sha256(pdf).hexdigest()}")
        _print_totals(totals_of(figures))
        return 0
    out = publish_month(engine, team.id, month, now, load_settings().reports_base)
    with engine.connect() as conn:
        stored = next(v for v in _versions(conn, team.id, month) if v["version"] == out.version)
    told = {
        "written": "written, the team is told",
        "unchanged": "unchanged: the figures are those of this version, nothing written",
        "raced": "written by another process at the same moment",
    }[out.status]
    print(f"{team.slug} {month:%Y-%m} v{out.version}: {told}")
    print(f"  path      {stored['path']}")
    print(f"  pages     {stored['pages']}")
    print(f"  sha256    {stored['sha256']}")
    print(f"  reason    {stored['reason']}")
    _print_totals(stored["totals"])
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    engine = open_engine()
    with engine.connect() as conn:
        team = _team(conn, args.team)
        versions = _versions(conn, team.id)
    if args.json:
        print(json.dumps(versions))
        return 0
    if not versions:
        print(f"{team.slug}: no month-end report yet")
        return 0
    print(f"{'month':<8} {'ver':>3} {'created (UTC)':<17} {'pages':>5} {'sha256':<12}  reason")
    for v in versions:
        created = v["created"][:16].replace("T", " ")
        print(
            f"{v['month']:<8} {v['version']:>3} {created:<17} {v['pages']:>5} "
            f"{v['sha256'][:12]}  {v['reason']}"
        )
        print(f"{'':<8} {'':>3} {v['path']}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    reports = sub.add_parser("reports", help="month-end reports (PDF)")
    reports_sub = reports.add_subparsers(dest="reports_command", required=True)
    render = reports_sub.add_parser(
        "render",
        help="publish one team's month-end report (a new version only if its figures changed)",
    )
    render.add_argument("--team", required=True, help="team slug")
    render.add_argument("--month", required=True, help="the month, YYYY-MM (it must have ended)")
    render.add_argument(
        "--out", help="only draw the report into this file: nothing stored, recorded or sent"
    )
    render.set_defaults(func=cmd_render)
    listing = reports_sub.add_parser("list", help="a team's month-end reports, every version")
    listing.add_argument("--team", required=True, help="team slug")
    listing.add_argument("--json", action="store_true", help="one JSON list")
    listing.set_defaults(func=cmd_list)
