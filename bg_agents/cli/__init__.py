"""The ``bg-agents`` command line: demo, seed, database, inventory, file matching."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from bg_agents.lib.settings import load_settings, use_dagster_home

# Ceilings of count arguments: a simulated world larger than this is a typo, and ten years of
# weeks is more history than any demo or delivery preview needs.
MAX_TEAMS = 100_000
MAX_WEEKS = 520


def _engine(*, migrated: bool = True):  # type: ignore[no-untyped-def]
    from bg_agents.lib.db import migrate
    from bg_agents.lib.db.engine import check_connection, get_engine

    engine = get_engine(load_settings().database_url)
    check_connection(engine)
    if migrated:
        migrate.ensure_current(engine)
    return engine


def cmd_db(args: argparse.Namespace) -> int:
    from bg_agents.lib.db import migrate

    engine = _engine(migrated=False)
    if args.db_command == "upgrade":
        migrate.upgrade(engine)
        print(f"database at revision {migrate.current_revision(engine)} (head)")
    else:
        current, head = migrate.current_revision(engine), migrate.head_revision()
        print(f"current: {current or 'none'}  head: {head}")
        return 0 if current == head else 1
    return 0


def _reachable(settings):  # type: ignore[no-untyped-def]
    """``settings`` once its database answers (seed and demo open it themselves, later)."""
    from bg_agents.lib.db.engine import check_connection, get_engine

    check_connection(get_engine(settings.database_url))
    return settings


def cmd_seed(args: argparse.Namespace) -> int:
    from bg_agents.cli.demo import seed

    settings = _reachable(load_settings())
    new = seed(settings, args.teams, args.weeks, args.seed, datetime.now(UTC).date(), print)
    for table, n in sorted(new.items()):
        print(f"  {table:<22} {n:>10,} new")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bg_agents.cli.demo import run_demo

    settings = _reachable(load_settings())
    use_dagster_home(settings)
    run_demo(settings, args.teams, args.weeks, args.seed, args.force)
    print()
    _print_stats(brief=True)
    print("\nNext: `make dev` opens the Dagster UI at http://127.0.0.1:3000 with this history.")
    return 0


def _print_stats(brief: bool = False) -> None:
    from bg_agents.lib.db.inventory import table_counts

    with _engine().connect() as conn:
        counts = table_counts(conn)
    shown = (
        "teams",
        "users",
        "transactions",
        "invoices",
        "documents",
        "quarantined_rows",
        "unmatched_records",
        "matches",
        "weekly_metrics",
        "insights",
        "notifications",
    )
    for table, n in counts.items():
        if not brief or table in shown:
            print(f"  {table:<24} {n:>10,}")


def cmd_stats(args: argparse.Namespace) -> int:
    from bg_agents.lib.db.inventory import table_counts

    if args.json:
        with _engine().connect() as conn:
            print(json.dumps(table_counts(conn)))
    else:
        _print_stats()
    return 0


def cmd_teams(args: argparse.Namespace) -> int:
    from bg_agents.lib.db.inventory import list_teams

    with _engine().connect() as conn:
        teams = list_teams(conn)
    if args.json:
        print(json.dumps(teams))
        return 0
    print(f"{'team':<24} {'time zone':<22} {'cur':<4} users")
    for t in teams:
        print(f"{t['slug']:<24} {t['time_zone']:<22} {t['currency']:<4} {t['users']}")
    return 0


def _analyst():  # type: ignore[no-untyped-def]
    """The configured backend, limits and ask function (imported late: the CLI starts fast)."""
    from bg_agents.defs.analyst.agent import ask
    from bg_agents.lib.agents.backends import build_backend
    from bg_agents.lib.agents.loop import Limits
    from bg_agents.lib.settings import load_llm_settings

    settings = load_llm_settings()
    key = settings.api_key()
    return ask, build_backend(settings, key), Limits(request_timeout=settings.request_timeout)


def _fallback_note(answer) -> str | None:  # type: ignore[no-untyped-def]
    """Why the answer came from offline, with keys and passwords removed (servers echo them)."""
    from bg_agents.lib.agents.messages import redact

    return redact(answer.fallback_reason) if answer.fallback_reason else None


def _print_answer(answer, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print(
            json.dumps(
                {
                    "answer": answer.text,
                    "backend": answer.backend,
                    "fallback_reason": _fallback_note(answer),
                    "steps": answer.steps,
                    "tools": [t.name for t in answer.tools],
                    # null: a call had no known price (e.g. a local model), not free
                    "cost_usd": None if answer.cost_usd is None else str(answer.cost_usd),
                }
            )
        )
        return
    print(answer.text)
    if answer.fallback_reason:
        print(f"(answered offline: {_fallback_note(answer)})", file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    ask, backend, limits = _analyst()
    answer = ask(_engine(), args.team, args.question, backend, limits=limits)
    _print_answer(answer, args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    ask, backend, limits = _analyst()
    engine = _engine()
    history: list = []
    print(
        f"Chatting with the analyst of {args.team} ({backend.name} backend). "
        "Empty line or Ctrl-D to quit, /reset to forget the conversation."
    )
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return 0
        if not question:
            return 0
        if question == "/reset":
            history = []
            continue
        answer = ask(engine, args.team, question, backend, limits=limits, history=history)
        history = answer.history
        print(f"analyst> {answer.text}")
        if answer.fallback_reason:
            print(f"(answered offline: {_fallback_note(answer)})", file=sys.stderr)


def _fail(message: str, code: int = 1) -> int:
    """A command that cannot do what was asked says why on one line (not a crash: exit 1)."""
    print(f"bg-agents: error: {message}", file=sys.stderr)
    return code


def cmd_insights(args: argparse.Namespace) -> int:
    """Generate (and store) one team's insight for one week, and print it.

    A week whose insight is final (delivered or skipped) is printed as stored, since generating
    it again would spend model calls and change what the team was told; ``--force`` does that.
    """
    import sqlalchemy as sa

    from bg_agents.defs.insights.service import generate_slot
    from bg_agents.lib.agents.backends import build_backend
    from bg_agents.lib.db.inventory import list_teams
    from bg_agents.lib.db.models import Insight, Team
    from bg_agents.lib.delivery_slots import slot_for
    from bg_agents.lib.settings import load_llm_settings
    from bg_agents.lib.weeks import week_start

    engine = _engine()
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
        if stored is not None:
            print(stored.content)
            print(
                f"(week of {week}: the stored insight, {stored.status}, path: {stored.path}, "
                f"model: {stored.model}; --force regenerates it)",
                file=sys.stderr,
            )
            return 0
        if args.team in result.waiting:
            return _fail(
                f"no insight for {args.team} in the week of {week}: that week has no weekly "
                "metrics yet (run `bg-agents demo` or materialize weekly_metrics for it first)"
            )
        return _fail(
            f"no insight was generated for {args.team} in the week of {week} "
            "(another run may be writing it); try again, or pass --force"
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
    print(f"{'week':<12} {'due (local)':<22} {'due (UTC)':<22} slot")
    for i in range(args.weeks):
        week = monday + timedelta(weeks=i)
        slot = slot_for(week, args.tz)
        due = due_at(week, slot)
        local = due.astimezone(tz)
        local_text = f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"
        print(f"{week.isoformat():<12} {local_text:<22} {due:%Y-%m-%d %H:%M}Z{'':<5} {slot}")
    return 0


class _StagePrinter:
    """Progress on stderr: a line when a stage starts, its time when it ends, counts between."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.stage = ""
        self.started = self.last = 0.0
        self.finished = True

    def _finish(self, now: float) -> None:
        if not self.finished:
            self.finished = True
            print(f"{self.stage}: {now - self.started:.1f} s", file=sys.stderr, flush=True)

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != self.stage:
            self._finish(now)
            self.stage, self.started, self.last, self.finished = stage, now, now, False
            if stage == "done":  # the matcher's last word: nothing further to time
                self.finished = True
                return
            print(f"{stage} ...", file=sys.stderr, flush=True)
        if self.finished:
            return
        if total and done >= total:
            self._finish(now)
        elif total > 1 and now - self.last >= self.every:
            self.last = now
            print(f"{stage}: {done:,} of {total:,}", file=sys.stderr, flush=True)


# Inputs at least this large (bytes, both files together) get progress lines on stderr.
MATCH_PROGRESS_BYTES = 1_000_000


def cmd_match(args: argparse.Namespace) -> int:
    """Reconcile two CSV/Parquet exports and write the pairs; no database or Dagster involved."""
    from pathlib import Path

    from bg_agents.defs.reconciliation.matcher import file_match, files

    left, right, out = Path(args.left), Path(args.right), Path(args.out)
    # Everything that can be checked without reading the files is checked first.
    files.check_input_path(left)
    files.check_input_path(right)
    files.check_output_path(out, (left, right))
    left_map = files.parse_column_map(args.left_map) if args.left_map is not None else None
    right_map = files.parse_column_map(args.right_map) if args.right_map is not None else None
    config = file_match.matcher_config(
        args.profile,
        amount_tolerance=args.amount_tolerance,
        amount_abs=args.amount_abs,
        date_window_days=args.date_window_days,
    )
    currency = files.check_currency(args.currency)
    large = left.stat().st_size + right.stat().st_size >= MATCH_PROGRESS_BYTES
    summary = file_match.reconcile(
        left,
        right,
        out,
        config=config,
        profile_name=args.profile,
        left_map=left_map,
        right_map=right_map,
        currency=currency,
        same_sign=args.same_sign,
        progress=_StagePrinter() if large else None,
    )
    if args.json:
        print(json.dumps(summary.as_dict()))
        return 0
    print(f"left   {summary.left_rows:>10,} rows  {summary.left_file}")
    print(f"right  {summary.right_rows:>10,} rows  {summary.right_file}")
    print(f"auto   {summary.auto:>10,} pairs linked")
    print(f"review {summary.suggest:>10,} pairs suggested for a person to confirm")
    print(
        f"unmatched {summary.left_unmatched:,} left and {summary.right_unmatched:,} right rows "
        "(in no pair)"
    )
    print(f"wrote {summary.out} in {summary.seconds:.1f} s (profile {summary.profile})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Stage and ingest bank files now; per file, what became of its rows (exit 1 if one failed)."""
    from pathlib import Path

    from bg_agents.defs.ingestion.report import import_paths

    settings = load_settings()
    reports = import_paths(
        _engine(),
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bg-agents", description="Background agents for a finance SaaS, on Dagster."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the application database to the latest schema")
    db_sub.add_parser("current", help="show the schema revision (exit 1 if behind)")
    db.set_defaults(func=cmd_db)

    def world_args(p: argparse.ArgumentParser, teams: int, weeks: int) -> None:
        p.add_argument("--teams", type=_at_most(MAX_TEAMS), default=teams)
        p.add_argument("--weeks", type=_at_most(MAX_WEEKS), default=weeks)
        p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")

    seed = sub.add_parser("seed", help="write SIMULATED demo data (idempotent)")
    world_args(seed, 20, 8)
    seed.set_defaults(func=cmd_seed)

    demo = sub.add_parser("demo", help="migrate, seed and materialize every partition")
    world_args(demo, 20, 8)
    demo.add_argument("--force", action="store_true", help="re-materialize done partitions")
    demo.set_defaults(func=cmd_demo)

    stats = sub.add_parser("stats", help="row count of every table")
    stats.add_argument("--json", action="store_true", help="one JSON object")
    stats.set_defaults(func=cmd_stats)

    ask = sub.add_parser("ask", help="ask the analyst agent one question about a team's numbers")
    ask.add_argument("--team", required=True, help="team slug (see `bg-agents teams`)")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="answer, backend, tools and cost as JSON")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="talk to the analyst agent about a team's numbers")
    chat.add_argument("--team", required=True, help="team slug (see `bg-agents teams`)")
    chat.set_defaults(func=cmd_chat)

    insights = sub.add_parser("insights", help="weekly insights")
    insights_sub = insights.add_subparsers(dest="insights_command", required=True)
    generate = insights_sub.add_parser("generate", help="generate, store and print one insight")
    generate.add_argument("--team", required=True, help="team slug")
    generate.add_argument(
        "--week", required=True, type=_iso_date, help="any date in the ISO week (YYYY-MM-DD)"
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
        "--from", dest="start", required=True, type=_iso_date, help="first week (YYYY-MM-DD)"
    )
    preview.add_argument("--weeks", type=_at_most(MAX_WEEKS), default=8)
    preview.set_defaults(func=cmd_deliveries)

    match = sub.add_parser(
        "match",
        help="reconcile two CSV or Parquet exports (no database or Dagster needed)",
        description="Pair the rows of two exports (e.g. a ledger and a bank statement) and write "
        "the pairs with their decision (auto: linked; suggest: for a person to confirm) and "
        "an explanation.",
    )
    match.add_argument("--left", required=True, help="records: invoices, receipts, ledger rows")
    match.add_argument("--right", required=True, help="candidates: bank or card transactions")
    match.add_argument("--out", required=True, help="where to write the pairs (.csv or .parquet)")
    for side in ("left", "right"):
        match.add_argument(
            f"--{side}-map",
            metavar="MAP",
            help=f"which {side} column holds what, e.g. "
            '"id=unique_id,date=transaction_date,amount=amount,name=payee+memo" '
            "(fields: id, date, amount, name, currency, reference, base_amount, date_until; "
            "by default the column named like the field)",
        )
    match.add_argument(
        "--currency",
        metavar="CODE",
        help="currency of the rows of a file without a currency column (and of empty cells)",
    )
    match.add_argument(
        "--amount-tolerance",
        metavar="PCT",
        help="amounts may differ by this percentage (0.5 or 0.5%%)",
    )
    match.add_argument("--amount-abs", metavar="X", help="or by this absolute amount (e.g. 0.01)")
    match.add_argument(
        "--date-window-days", type=int, metavar="N", help="dates may be this many days apart"
    )
    match.add_argument(
        "--profile", default="seed", help="seed (default), strict (to the cent) or lenient"
    )
    match.add_argument(
        "--same-sign",
        action="store_true",
        help="both files sign amounts alike (money out negative): pair only equal signs, so a "
        "refund never pairs with a purchase (default: amounts pair by size)",
    )
    match.add_argument("--json", action="store_true", help="print the summary as JSON")
    match.set_defaults(func=cmd_match)

    imp = sub.add_parser(
        "import", help="stage and ingest bank files (CSV/OFX) now, with a report per file"
    )
    imp.add_argument("--team", required=True, help="team slug (`bg-agents teams` lists them)")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--json", action="store_true", help="print the reports as JSON")
    imp.set_defaults(func=cmd_import)

    teams = sub.add_parser("teams", help="list teams with their time zones")
    teams.add_argument("--json", action="store_true")
    teams.set_defaults(func=cmd_teams)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _at_most(limit: int) -> Callable[[str], int]:
    """A positive count with a ceiling: beyond it, date arithmetic overflows or runs for days."""

    def count(text: str) -> int:
        value = _positive(text)
        if value > limit:
            raise argparse.ArgumentTypeError(f"must be at most {limit:,}")
        return value

    return count


def _iso_date(text: str) -> date:
    """A date argument the project can compute with (the same range as its settings)."""
    from bg_agents.lib.settings import check_date_range

    try:
        value = date.fromisoformat(text.strip())
        check_date_range(value, "the date")
    except ValueError as exc:
        message = str(exc) if "between" in str(exc) else f"not an ISO date (YYYY-MM-DD): {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    # Dagster marks some parameters we rely on (backfill_policy) as beta; that is noise on a CLI.
    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", category=UserWarning, message=".*[Bb]eta.*")
    args = build_parser().parse_args(argv)
    from bg_agents.lib.db.engine import DatabaseUnavailable
    from bg_agents.lib.db.migrate import SchemaOutOfDate
    from bg_agents.lib.settings import validate_environment

    try:
        # Every setting is checked before any work, so a typo in one variable is reported
        # with all the others instead of surfacing halfway through a run.
        validate_environment()
        return args.func(args)
    except (ValueError, SchemaOutOfDate, DatabaseUnavailable) as exc:
        # A user's mistake or setup problem: one line per problem, never a traceback.
        from bg_agents.lib.agents.messages import redact  # errors may quote keys or passwords

        for line in redact(exc).splitlines() or [type(exc).__name__]:
            print(f"bg-agents: error: {line}", file=sys.stderr)
        return 2
    except OSError as exc:
        # The file system or network refused (a read-only folder, a full disk): a setup problem.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"bg-agents: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
