"""``bg-agents notifications list|prefs``: a user's deliveries, and what they want to receive."""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import TYPE_CHECKING, Any

from bg_agents.cli.common import add_since, at_most, open_engine, since_instant

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from bg_agents.defs.notifications.preferences import Preferences

STATUSES = ("pending", "held", "delivered", "failed", "dead", "suppressed")
MAX_LIST = 10_000
TITLE_WIDTH = 48
ERROR_WIDTH = 60
INDENT = 67  # under the title column


def find_user(conn: Connection, email: str, team: str | None) -> Any:
    """The one user with this e-mail (in ``team``): ValueError when none, or several teams."""
    import sqlalchemy as sa

    from bg_agents.lib.db.models import Team, User

    query = (
        sa.select(
            User.id,
            User.email,
            User.name,
            User.time_zone,
            User.notification_prefs,
            Team.slug.label("team"),
            Team.time_zone.label("team_time_zone"),
        )
        .join(Team, Team.id == User.team_id)
        .where(sa.func.lower(User.email) == email.strip().lower())
        .order_by(Team.slug)
    )
    if team is not None:
        query = query.where(Team.slug == team)
    rows = conn.execute(query).all()
    if not rows:
        where = f" in team {team!r}" if team else ""
        raise ValueError(f"no user with e-mail {email!r}{where}")
    if len(rows) > 1:
        teams = ", ".join(r.team for r in rows)
        raise ValueError(
            f"{email} is a member of {len(rows)} teams ({teams}): choose one with --team SLUG"
        )
    return rows[0]


def cmd_list(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from bg_agents.lib.agents.messages import redact
    from bg_agents.lib.db.models import Notification

    with open_engine().connect() as conn:
        user = find_user(conn, args.user, args.team)
        query = (
            sa.select(*Notification.__table__.columns)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(args.limit)
        )
        if args.status:
            query = query.where(Notification.status == args.status)
        rows = conn.execute(query).all()
    deliveries = [
        {
            "id": n.id,
            "created_at": n.created_at.isoformat(),
            "channel": n.channel,
            "category": n.category,
            "status": n.status,
            "attempts": n.attempts,
            "title": n.title,
            "next_attempt_at": n.next_attempt_at.isoformat() if n.next_attempt_at else None,
            "delivered_at": n.delivered_at.isoformat() if n.delivered_at else None,
            "last_error": redact(n.last_error) if n.last_error else None,
        }
        for n in rows
    ]
    if args.json:
        print(json.dumps({"user": user.email, "team": user.team, "deliveries": deliveries}))
        return 0
    what = f"{args.status} deliveries" if args.status else "deliveries"
    if not deliveries:
        print(f"{user.email} ({user.team}): no {what}")
        return 0
    print(f"{user.email} ({user.team}): {len(deliveries)} {what}, newest first")
    print(
        f"{'when (UTC)':<16}  {'channel':<7}  {'category':<19}  {'status':<10}  {'tries':>5}  "
        "title / last error"
    )
    for d in deliveries:
        status, title = d["status"], _cut(d["title"], TITLE_WIDTH)
        print(
            f"{_minute(d['created_at']):<16}  {d['channel']:<7}  "
            f"{d['category']:<19}  {status:<10}  {d['attempts']:>5}  {title}"
        )
        if d["next_attempt_at"] and status in ("held", "failed"):
            print(f"{'':>{INDENT}}next attempt {_minute(d['next_attempt_at'])} UTC")
        if d["last_error"]:
            print(f"{'':>{INDENT}}{_cut(d['last_error'], ERROR_WIDTH)}")
    return 0


def cmd_prefs(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from bg_agents.defs.notifications.preferences import Preferences, parse_pair, parse_quiet
    from bg_agents.lib.clock import now
    from bg_agents.lib.db.models import User

    # Every argument is checked before the database is touched.
    off = [parse_pair(p) for p in args.off]
    on = [parse_pair(p) for p in args.on]
    both = sorted(set(off) & set(on))
    if both:
        pairs = ", ".join(f"{c}:{ch}" for c, ch in both)
        raise ValueError(f"{pairs} is both turned off and on: choose one")
    quiet = parse_quiet(args.quiet) if args.quiet else None
    changing = bool(off or on or quiet or args.no_quiet or args.subscribe)

    with open_engine().begin() as conn:
        user = find_user(conn, args.user, args.team)
        if changing:
            # Read again under a row lock (PostgreSQL), so two edits cannot lose one another.
            stored = conn.execute(
                sa.select(User.notification_prefs).where(User.id == user.id).with_for_update()
            ).scalar_one()
            prefs = Preferences.of(stored).with_change(
                off=off,
                on=on,
                quiet=quiet,
                clear_quiet=args.no_quiet,
                subscribed=True if args.subscribe else None,
            )
            conn.execute(
                sa.update(User).where(User.id == user.id).values(notification_prefs=prefs.as_json())
            )
        else:
            prefs = Preferences.of(user.notification_prefs)
    tz = user.time_zone or user.team_time_zone
    until = prefs.quiet_until(now(), tz)
    if args.json:
        print(json.dumps(_as_json(user, tz, prefs, until)))
        return 0
    _print_prefs(user, tz, prefs, until, changed=changing, turned_on=on)
    return 0


def _as_json(user: Any, tz: str, prefs: Preferences, until: Any) -> dict[str, Any]:
    return {
        "user": user.email,
        "team": user.team,
        "time_zone": tz,
        "quiet_hours": prefs.quiet.as_json() if prefs.quiet else None,
        "quiet_until": until.isoformat() if until else None,
        "unsubscribed": prefs.unsubscribed,
        "categories": prefs.effective(),
        "problems": list(prefs.problems),
    }


def _print_prefs(
    user: Any,
    tz: str,
    prefs: Preferences,
    until: Any,
    *,
    changed: bool,
    turned_on: list[tuple[str, str]],
) -> None:
    from bg_agents.defs.notifications.outbox import CHANNELS

    state = "saved" if changed else "current"
    print(f"{user.email} ({user.team}), time zone {tz}: {state} preferences")
    print(f"{'category':<22}" + "".join(f"{ch:>9}" for ch in CHANNELS))
    for category, row in prefs.effective().items():
        print(f"{category:<22}" + "".join(f"{'on' if row[ch] else 'off':>9}" for ch in CHANNELS))
    if prefs.quiet is None:
        print("quiet hours: none")
    else:
        now_part = f"; quiet now, until {until:%Y-%m-%d %H:%M} UTC" if until else ""
        print(f"quiet hours: {prefs.quiet} {tz} (e-mail and webhooks held){now_part}")
    if prefs.unsubscribed:
        print("e-mail: unsubscribed from everything (--subscribe to receive e-mail again)")
        if any(ch in ("email", "*") for _, ch in turned_on):
            print("note: e-mail stays off while unsubscribed")
    for problem in prefs.problems:
        print(f"ignored in the stored preferences: {problem}")


def _minute(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    group = sub.add_parser(
        "notifications",
        help="a user's notifications and notification preferences",
        description="What was sent to a user (in-app and e-mail deliveries, with their status "
        "and errors), and what the user wants to receive: per category and channel, quiet "
        "hours, e-mail subscription.",
    )
    commands = group.add_subparsers(dest="notifications_command", required=True)
    _add_list(commands)
    _add_prefs(commands)
    _add_flush(commands)
    _add_resend(commands)
    _add_serve(commands)


def _add_user_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, metavar="EMAIL", help="the user's e-mail")
    parser.add_argument(
        "--team", metavar="SLUG", help="the user's team; required when the e-mail is in several"
    )


def _add_list(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "list",
        help="a user's deliveries, newest first",
        description="A user's deliveries, newest first: when, channel, category, status "
        "(pending, held in quiet hours, delivered, failed and retrying, dead, suppressed by "
        "preferences), attempts, title and the last error.",
    )
    _add_user_arguments(parser)
    parser.add_argument("--status", choices=STATUSES, help="only deliveries with this status")
    parser.add_argument(
        "--limit",
        type=at_most(MAX_LIST),
        default=50,
        metavar="N",
        help="at most N deliveries (default 50)",
    )
    parser.add_argument("--json", action="store_true", help="print the deliveries as JSON")
    parser.set_defaults(func=cmd_list)


def _add_prefs(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "prefs",
        help="show or change what a user receives",
        description="Print a user's effective preferences (every category x channel, on or "
        "off; quiet hours; e-mail subscription), after applying the changes given. --off is "
        "applied before --on, so `--off '*:email' --on invoice.overdue:email` leaves one "
        "e-mail. In-app messages can be turned off but are never held by quiet hours.",
    )
    _add_user_arguments(parser)
    parser.add_argument(
        "--off",
        action="append",
        default=[],
        metavar="CATEGORY:CHANNEL",
        help="turn off (repeatable); * for every category or channel",
    )
    parser.add_argument(
        "--on",
        action="append",
        default=[],
        metavar="CATEGORY:CHANNEL",
        help="turn on (repeatable); * for every category or channel",
    )
    quiet = parser.add_mutually_exclusive_group()
    quiet.add_argument(
        "--quiet",
        metavar="HH:MM-HH:MM",
        help="quiet hours in the user's time zone (may wrap midnight, e.g. 22:00-07:00)",
    )
    quiet.add_argument("--no-quiet", action="store_true", help="remove quiet hours")
    parser.add_argument(
        "--subscribe",
        action="store_true",
        help="receive e-mail again after an unsubscribe link was used",
    )
    parser.add_argument("--json", action="store_true", help="print the preferences as JSON")
    parser.set_defaults(func=cmd_prefs)


def cmd_resend(args: argparse.Namespace) -> int:
    from bg_agents.defs.notifications.deliver import resend_dead_email

    since = since_instant(args.since)
    with open_engine().begin() as conn:
        user = find_user(conn, args.user, args.team)
        queued = resend_dead_email(conn, user.id, since)
    if args.json:
        print(json.dumps({"user": user.email, "team": user.team, "queued": queued}))
        return 0
    after = f" created since {args.since.isoformat()}" if args.since else ""
    if not queued:
        print(f"{user.email} ({user.team}): no dead e-mail deliveries{after}")
        return 0
    print(
        f"{user.email} ({user.team}): {queued} dead e-mail deliveries{after} queued again, each "
        "with its own Message-ID; they leave with the next notifications run (each minute, or "
        "`bg-agents notifications flush`)"
    )
    return 0


def _add_resend(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "resend",
        help="send a user's dead e-mails again (after the SMTP server was down too long)",
        description="Queue the e-mail deliveries given up on (dead after 20 attempts or a final "
        "refusal) to be sent again with fresh attempts, each with its own Message-ID; "
        "preferences are read again when they are sent. Running it again queues nothing more.",
    )
    _add_user_arguments(parser)
    add_since(parser)
    parser.add_argument("--json", action="store_true", help="print the count as JSON")
    parser.set_defaults(func=cmd_resend)


def cmd_flush(args: argparse.Namespace) -> int:
    """One pass of the engine in this process, as the minute sensor's run does; prints counts."""
    from bg_agents.defs.notifications.cycle import run_cycle

    cycle = run_cycle(open_engine())
    if args.json:
        print(json.dumps(cycle.as_metadata()))
    else:
        print(cycle.summary())
    return 0


def _add_flush(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "flush",
        help="close due windows and deliver now, in this process",
        description="Close every digest window that is due into its message, create the "
        "deliveries, and send the e-mails and webhooks that are due (what notification_sensor's "
        "run does each minute); prints what happened.",
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.set_defaults(func=cmd_flush)


def _handler_class() -> type:
    """wsgiref's request handler, logging the path without its query: a link's token unsubscribes
    its member, so it stays out of logs."""
    from wsgiref.simple_server import WSGIRequestHandler

    class QuietTokens(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            path = self.path.split("?", 1)[0]
            self.log_message('"%s %s" %s %s', self.command, path, str(code), str(size))

    return QuietTokens


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the one-click unsubscribe links of e-mails (RFC 8058) until interrupted."""
    from wsgiref.simple_server import make_server

    from bg_agents.defs.notifications.unsubscribe import unsubscribe_app
    from bg_agents.lib.settings import load_settings

    _stop_on_sigterm()
    settings = load_settings()
    app = unsubscribe_app(open_engine(), settings.secret_key())
    try:
        server = make_server(args.host, args.port, app, handler_class=_handler_class())
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise ValueError(
            f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc} "
            "(another --port or --host?)"
        ) from None
    with server:
        print(
            f"unsubscribe links served on http://{args.host}:{args.port}/unsubscribe "
            f"(e-mails link to {settings.public_url}); Ctrl-C stops",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager's stop) ends the server as Ctrl-C does, even when the process
    that started it had SIGTERM ignored: an ignored signal stays ignored across exec (Dagster's
    interrupt handling maps SIGTERM to whatever SIGINT does, ignored in some workers)."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _add_serve(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve-unsubscribe",
        help="serve the e-mails' one-click unsubscribe links",
        description="A small web server for the unsubscribe links in e-mails "
        "(BG_AGENTS_PUBLIC_URL points at it; put it behind your HTTPS proxy in production).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8025, help="port (default 8025)")
    parser.set_defaults(func=cmd_serve)
