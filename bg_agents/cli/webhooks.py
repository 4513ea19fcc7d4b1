"""``bg-agents webhooks``: a team's webhook endpoints (added with a secret shown once)."""

from __future__ import annotations

import argparse
import json
import sys

from bg_agents.cli.common import add_since, since_instant


def _team_id(conn, slug: str) -> int:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from bg_agents.lib.db.models import Team

    team_id = conn.execute(sa.select(Team.id).where(Team.slug == slug)).scalar()
    if team_id is None:
        raise ValueError(f"unknown team {slug!r}; `bg-agents teams` lists them")
    return int(team_id)


def cmd_add(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.notifications.endpoints import add_endpoint, check_team_url

    check_team_url(args.url)  # a bad URL is reported before the database is opened
    if args.secret == "-":  # from stdin: a secret typed on the command line stays in history
        args.secret = sys.stdin.readline().strip()
    with open_engine().begin() as conn:
        endpoint, secret = add_endpoint(
            conn, _team_id(conn, args.team), args.url, secret=args.secret, slack=args.slack
        )
    if args.json:
        print(json.dumps({**endpoint.as_dict(), "secret": secret}))
        return 0
    kind = "Slack webhook" if endpoint.slack else "webhook"
    print(f"{args.team}: {kind} endpoint {endpoint.id} added for {endpoint.url}")
    print(f"signing secret: {secret}")
    print(
        "Store the secret now: it is not shown again. A receiver checks X-BG-Signature: "
        "v1= + hex HMAC-SHA256(secret, X-BG-Timestamp + '.' + raw body), the timestamp within "
        "5 minutes (README: What is built, Notifications)."
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.notifications.endpoints import delivery_health, list_endpoints

    with open_engine().connect() as conn:
        endpoints = list_endpoints(conn, _team_id(conn, args.team))
        health = delivery_health(conn, [e.id for e in endpoints])
    if args.json:
        print(json.dumps([{**e.as_dict(), "deliveries": health[e.id]} for e in endpoints]))
        return 0
    if not endpoints:
        print(f"{args.team}: no webhook endpoints; add one with `bg-agents webhooks add`")
        return 0
    print(f"{'id':>6}  {'active':<6}  {'slack':<5}  {'sent':>6}  {'retry':>5}  {'dead':>5}  url")
    for e in endpoints:
        active, slack = "yes" if e.active else "no", "yes" if e.slack else "no"
        counts = health[e.id]["statuses"]
        print(
            f"{e.id:>6}  {active:<6}  {slack:<5}  {counts.get('delivered', 0):>6}  "
            f"{counts.get('failed', 0):>5}  {counts.get('dead', 0):>5}  {e.url}"
        )
        if health[e.id]["last_error"]:
            print(f"{'':>8}last error: {health[e.id]['last_error']}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.notifications.endpoints import remove_endpoint

    with open_engine().begin() as conn:
        endpoint, changed = remove_endpoint(conn, _team_id(conn, args.team), args.endpoint)
    if args.json:
        print(json.dumps({**endpoint.as_dict(), "changed": changed}))
        return 0
    if changed:
        print(f"{args.team}: webhook endpoint {endpoint.id} removed; it is sent nothing more")
    else:
        print(f"{args.team}: webhook endpoint {endpoint.id} was already removed")
    return 0


def cmd_resend(args: argparse.Namespace) -> int:
    from bg_agents.cli.common import open_engine
    from bg_agents.defs.notifications.endpoints import resend_dead

    since = since_instant(args.since)
    with open_engine().begin() as conn:
        endpoint, queued = resend_dead(conn, _team_id(conn, args.team), args.endpoint, since)
    if args.json:
        print(json.dumps({**endpoint.as_dict(), "queued": queued}))
        return 0
    after = f" created since {args.since.isoformat()}" if args.since else ""
    if not queued:
        print(f"{args.team}: webhook endpoint {endpoint.id} has no dead deliveries{after}")
        return 0
    print(
        f"{args.team}: {queued} dead deliveries{after} to webhook endpoint {endpoint.id} queued "
        "again, each with its own X-BG-Delivery key (a receiver drops one it already has); "
        "they leave with the next notifications run (each minute, or `bg-agents notifications "
        "flush`)"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register this module's commands on the ``bg-agents`` parser."""
    webhooks = sub.add_parser(
        "webhooks",
        help="a team's webhook endpoints: add, list, remove, resend",
        description="Where a team's notifications are POSTed as signed JSON (or a Slack "
        "incoming-webhook payload with --slack).",
    )
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True)

    add = webhooks_sub.add_parser(
        "add",
        help="add an endpoint and print its signing secret (once)",
        description="Add an http(s) endpoint. Its signing secret is printed once: store it "
        "where the receiver can read it to verify X-BG-Signature.",
    )
    add.add_argument("url", metavar="URL", help="where to POST, http:// or https://")
    add.add_argument(
        "--secret",
        default=None,
        help="the signing secret to use (16-128 printable characters; - reads it from stdin); "
        "by default a random one",
    )
    add.add_argument(
        "--slack", action="store_true", help="send Slack incoming-webhook payloads (text, blocks)"
    )
    add.set_defaults(func=cmd_add)

    listing = webhooks_sub.add_parser(
        "list", help="the team's endpoints (id, active, slack, URL; never the secret)"
    )
    listing.set_defaults(func=cmd_list)

    remove = webhooks_sub.add_parser(
        "remove",
        help="stop sending to an endpoint (by id or URL)",
        description="Deactivate an endpoint: it is sent nothing more, its unsent deliveries "
        "are dropped, past deliveries keep naming it.",
    )
    remove.add_argument("endpoint", metavar="ID_OR_URL", help="the id `list` shows, or the URL")
    remove.set_defaults(func=cmd_remove)

    resend = webhooks_sub.add_parser(
        "resend",
        help="send an endpoint's dead deliveries again (after its receiver was down too long)",
        description="Queue the deliveries an endpoint gave up on (dead after 20 attempts or a "
        "final answer) to be sent again with fresh attempts. Each keeps its X-BG-Delivery key, "
        "so a receiver that did get one drops the repeat; running it again queues nothing more.",
    )
    resend.add_argument("endpoint", metavar="ID_OR_URL", help="the id `list` shows, or the URL")
    add_since(resend)
    resend.set_defaults(func=cmd_resend)

    for command in (add, listing, remove, resend):
        command.add_argument(
            "--team", required=True, help="team slug (`bg-agents teams` lists them)"
        )
        command.add_argument("--json", action="store_true", help="print the result as JSON")
