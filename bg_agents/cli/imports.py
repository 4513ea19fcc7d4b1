"""``bg-agents import``: stage and ingest bank files now, with a report per file."""

from __future__ import annotations

import argparse
import json

from bg_agents.cli.common import (
    open_engine,
)
from bg_agents.lib.settings import load_settings


def cmd_import(args: argparse.Namespace) -> int:
    """Stage and ingest bank files now; per file, what became of its rows (exit 1 if one failed)."""
    from pathlib import Path

    from bg_agents.defs.ingestion.report import import_paths

    settings = load_settings()
    reports = import_paths(
        open_engine(),
        args.team,
        [Path(f) for f in args.files],
        settings.import_dir,
        settings.history_start,
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in reports]))
    for r in [] if args.json else reports:
        if r.status == "failed":
            print(f"{r.file}: failed: {r.error} (report beside {r.moved_to})")
            continue
        print(
            f"{r.file}: {r.rows:,} rows: {r.landed:,} landed, {r.duplicates:,} duplicates, "
            f"{r.quarantined:,} quarantined"
            + (f", {r.waiting:,} waiting for their day" if r.waiting else "")
            + (" (imported before: the same content)" if r.status == "already_imported" else "")
            + ("" if r.adds_up else "  (DOES NOT ADD UP)")
        )
        for reason, count in r.reasons:
            print(f"    {count:>6,}  {reason}")
    return 1 if any(r.status == "failed" for r in reports) else 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    imp = sub.add_parser(
        "import", help="stage and ingest bank files (CSV/OFX) now, with a report per file"
    )
    imp.add_argument("--team", required=True, help="team slug (`bg-agents teams` lists them)")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--json", action="store_true", help="print the reports as JSON")
    imp.set_defaults(func=cmd_import)
