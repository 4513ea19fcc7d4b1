"""``bg-agents import``: stage and ingest bank files now, with a report per file."""

from __future__ import annotations

import argparse
import json

from bg_agents.cli.common import (
    open_engine,
)


def cmd_import(args: argparse.Namespace) -> int:
    """Stage and ingest bank files now; per file, what became of its rows (exit 1 if one failed)."""
    from pathlib import Path

    from bg_agents.defs.ingestion.report import import_paths

    if args.detect:
        return _detect(args)
    if not args.team:
        raise ValueError("--team is required to import (only --detect works without it)")
    from bg_agents.lib.settings import load_settings

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
        counts = (
            f"{r.rows:,} rows: {r.landed:,} landed, {r.duplicates:,} duplicates, "
            f"{r.quarantined:,} quarantined"
            + (f", {r.waiting:,} waiting for their day" if r.waiting else "")
        )
        if r.status == "already_imported":  # the counts are those of the first import
            counts = f"imported before (the same content), nothing new; then {counts}"
        print(f"{r.file}: {counts}" + ("" if r.adds_up else "  (DOES NOT ADD UP)"))
        for reason, count in r.reasons:
            print(f"    {count:>6,}  {reason}")
        for note in r.notes():
            print(f"    {note}")
    return 1 if any(r.status == "failed" for r in reports) else 0


def _detect(args: argparse.Namespace) -> int:
    """Describe each file as the import would read it; exit 1 when one is not readable (or
    none of its entries is)."""
    from pathlib import Path

    import sqlalchemy as sa

    from bg_agents.defs.ingestion.detect import detect_file
    from bg_agents.lib.db.models import Team

    currency = None
    if args.team:
        with open_engine().connect() as conn:
            currency = conn.scalar(sa.select(Team.base_currency).where(Team.slug == args.team))
        if currency is None:
            raise ValueError(f"unknown team {args.team!r}; `bg-agents teams` lists them")
    detections = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
        detection = detect_file(path, currency)
        if (
            not detection.recognized
            and not args.team
            and "no default currency" in str(detection.error)
        ):
            detection.error = f"{detection.error} (or pass --team SLUG for the team's currency)"
        detections.append(detection)
    if args.json:
        print(json.dumps([d.as_dict() for d in detections]))
    else:
        for detection in detections:
            print("\n".join(detection.lines()))
    # A file whose every entry is unreadable would import nothing: as unreadable as one refused.
    usable = all(d.recognized and (d.readable or not d.rows) for d in detections)
    return 0 if usable else 1


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    imp = sub.add_parser(
        "import",
        help="stage and ingest bank files (CSV, Parquet, OFX, MT940, camt.053/054, QIF) now, "
        "with a report per file",
    )
    imp.add_argument(
        "--team",
        help="team slug (`bg-agents teams` lists them); required unless --detect, where it "
        "supplies the team's currency to files without one",
    )
    imp.add_argument(
        "--detect",
        action="store_true",
        help="only describe what each file would be read as (format, columns, dates, decimal "
        "mark, rows, balances); import nothing",
    )
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--json", action="store_true", help="print the reports as JSON")
    imp.set_defaults(func=cmd_import)
