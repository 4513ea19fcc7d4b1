"""Benchmark: the notification engine end to end, and proof that it loses and repeats nothing.

    python benchmarks/notifications.py [--events 100000] [--teams 1000] [--db sqlite|postgres]

A fresh database (a temporary SQLite file, or a scratch PostgreSQL database dropped afterwards)
gets SIMULATED teams with 1-4 members (some with quiet hours, some with e-mail off for a category
or for everything, a few unsubscribed) and events over a few hours of a pinned clock, reported in
bursts as producers would (a bank sync reports its transactions at once; a few producers report a
burst twice, as a retried run would). Then, separately timed:

* ``notify``: every burst in its own transaction, minute by simulated minute (events/s);
* ``flush``: after each simulated minute, as the minute sensor would (digests/s, messages/s);
* ``deliver``: the e-mails, ``--limit`` at a time, to an aiosmtpd server in its own process
  (e-mails/s), then webhooks: a subset of teams registers an endpoint, reports more events, and
  ``deliver`` POSTs them to a receiver in its own process that verifies each signature
  (deliveries/s). The two channels are timed in separate passes so each rate is its own.

Then the proofs, each PASS or FAIL: every event in exactly one message; no message key or window
part twice; at most one delivery per (message, recipient, channel); the e-mails the SMTP server
received are exactly the deliveries marked delivered (by Message-ID, none twice), and the same for
webhooks (by X-BG-Delivery, every signature valid); nothing left due but what quiet hours hold;
and the batching ratio (how many messages people got instead of one per event).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest_and_metrics import PG_ADMIN, machine  # noqa: E402
from benchmarks.notifications_servers import Receiver, receivers, webhook_secret  # noqa: E402
from bg_agents.defs.notifications.channels.email import SmtpConfig  # noqa: E402
from bg_agents.defs.notifications.deliver import DeliverResult, deliver  # noqa: E402
from bg_agents.defs.notifications.events import Event, notify  # noqa: E402
from bg_agents.defs.notifications.flush import FlushResult, flush  # noqa: E402
from bg_agents.defs.notifications.policy import load_policy  # noqa: E402
from bg_agents.defs.notifications.preferences import Preferences  # noqa: E402
from bg_agents.lib.db import migrate  # noqa: E402
from bg_agents.lib.db.engine import get_engine, temporary_database  # noqa: E402
from bg_agents.lib.db.models import (  # noqa: E402
    Notification,
    NotificationEvent,
    NotificationMessage,
    Team,
    User,
    WebhookEndpoint,
)
from bg_agents.lib.settings import load_settings  # noqa: E402

T0 = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # a Tuesday morning in Europe, night in America
SENDER = "bg-agents <notifications@bench.bg-agents.test>"
ZONES = [
    ("Europe/Berlin", "de_DE"),
    ("Europe/Paris", "fr_FR"),
    ("America/New_York", "en_US"),
    ("Europe/London", "en_GB"),
    ("Asia/Tokyo", "en_US"),
]
# Share of events, burst sizes (a sync reports many transactions at once), as producers report.
MIX: dict[str, tuple[float, tuple[int, int]]] = {
    "transactions.synced": (0.55, (3, 30)),
    "invoice.paid": (0.20, (1, 4)),
    "invoice.overdue": (0.15, (1, 10)),  # a daily job: each team's overdue invoices at once
    "document.matched": (0.10, (1, 3)),  # unbatched: each alone, at once
}
TITLES = {
    "transactions.synced": "{amount} EUR from ACME GmbH booked",
    "invoice.paid": "Invoice RE-{n} paid ({amount} EUR)",
    "invoice.overdue": "Invoice RE-{n} is overdue ({amount} EUR)",
    "document.matched": "Receipt {n}.pdf matched to {amount} EUR",
}


@dataclass
class World:
    teams: list[int]
    members: dict[int, list[int]]
    bursts: list[tuple[datetime, list[Event]]]  # in reporting order; repeats included
    distinct: int  # distinct event keys among the bursts
    prefs: Counter[str] = field(default_factory=Counter)


# -- the simulated world ------------------------------------------------------------------------


def _prefs(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A member's stored preferences and what they are (for the report): mostly defaults."""
    roll = rng.random()
    if roll < 0.08:
        return "quiet 22:00-07:00", {"quiet_hours": {"start": "22:00", "end": "07:00"}}
    if roll < 0.11:
        return "quiet 19:00-08:00", {"quiet_hours": {"start": "19:00", "end": "08:00"}}
    if roll < 0.14:
        return "quiet 07:30-09:00", {"quiet_hours": {"start": "07:30", "end": "09:00"}}
    if roll < 0.20:
        return "e-mail off", {"off": {"*": ["email"]}}
    if roll < 0.25:
        return "transactions e-mail off", {"off": {"transactions.synced": ["email"]}}
    if roll < 0.28:
        return "unsubscribed", {"unsubscribed": True}
    return "defaults", {}


def build_world(engine: sa.Engine, teams: int, events: int, hours: float, seed: int) -> World:
    """Teams, members and bursts of events (SIMULATED); teams and members written to the db."""
    rng = random.Random(seed)
    team_rows = []
    for i in range(teams):
        zone, locale = ZONES[i % len(ZONES)]
        team_rows.append(
            {
                "slug": f"bench-{i:05d}",
                "name": f"Bench Team {i}",
                "time_zone": zone,
                "base_currency": "EUR",
                "locale": locale,
            }
        )
    world = World(teams=[], members={}, bursts=[], distinct=0)
    with engine.begin() as conn:
        ids = conn.execute(sa.insert(Team).returning(Team.id, Team.slug), team_rows).all()
        world.teams = [row.id for row in sorted(ids, key=lambda r: r.slug)]
        user_rows = []
        for t, team_id in enumerate(world.teams):
            for m in range(rng.choices((1, 2, 3, 4), weights=(30, 35, 20, 15))[0]):
                kind, prefs = _prefs(rng)
                world.prefs[kind] += 1
                user_rows.append(
                    {
                        "team_id": team_id,
                        "email": f"m{m}@team{t}.bench.test",
                        "name": f"Member {m}",
                        "time_zone": None,
                        "locale": None,
                        "notification_prefs": prefs,
                    }
                )
        for row in conn.execute(sa.insert(User).returning(User.id, User.team_id), user_rows):
            world.members.setdefault(row.team_id, []).append(row.id)

    # Busy and quiet teams: a team's share of the events is skewed (lognormal weights).
    weights = [rng.lognormvariate(0, 1) for _ in world.teams]
    categories = list(MIX)
    # A category's bursts are drawn in proportion to its share of events over its mean burst.
    shares = [MIX[c][0] / sum(MIX[c][1]) for c in categories]
    span = int(hours * 3600)
    made = 0
    while made < events:
        category = rng.choices(categories, weights=shares)[0]
        t = rng.choices(range(len(world.teams)), weights=weights)[0]
        team_id = world.teams[t]
        low, high = MIX[category][1]
        size = min(rng.randint(low, high), events - made)
        user_id = None
        if category == "invoice.overdue" and rng.random() < 0.1:
            user_id = rng.choice(world.members[team_id])  # addressed to the invoice's owner
        at = T0 + timedelta(seconds=rng.randrange(span))
        burst = []
        for _ in range(size):
            amount = f"{rng.randint(5, 50_000)}.{rng.randint(0, 99):02d}"
            burst.append(
                Event(
                    key=f"bench:{category}:{made}",
                    team_id=team_id,
                    category=category,
                    title=TITLES[category].format(n=made, amount=amount),
                    payload={"amount": amount},
                    user_id=user_id,
                )
            )
            made += 1
        world.bursts.append((at, burst))
    world.distinct = made
    # Retried producer runs: 2 % of the bursts are reported again a few minutes later.
    for at, burst in rng.sample(world.bursts, len(world.bursts) // 50):
        world.bursts.append((at + timedelta(minutes=rng.randint(1, 15)), burst))
    world.bursts.sort(key=lambda b: b[0])
    return world


# -- the timed stages ---------------------------------------------------------------------------


@dataclass
class Timing:
    notify_s: float = 0.0
    notify_calls: int = 0
    stored: int = 0
    reported: int = 0
    flush_s: float = 0.0
    ticks: int = 0
    flushed: FlushResult = field(default_factory=FlushResult)
    email_s: float = 0.0
    email_batches: int = 0
    emailed: DeliverResult = field(default_factory=DeliverResult)
    hook_s: float = 0.0
    hook_batches: int = 0
    hooked: DeliverResult = field(default_factory=DeliverResult)
    hook_events: int = 0
    main: Counter[str] = field(default_factory=Counter)  # the database after the main run


def snapshot(engine: sa.Engine) -> Counter[str]:
    """Messages by kind and deliveries by channel, as stored (whoever created them)."""
    with engine.connect() as conn:
        kinds = conn.execute(
            sa.select(NotificationMessage.kind, sa.func.count()).group_by(NotificationMessage.kind)
        ).all()
        channels = conn.execute(
            sa.select(Notification.channel, sa.func.count()).group_by(Notification.channel)
        ).all()
    return Counter({**{k: n for k, n in kinds}, **{f"to {c}": n for c, n in channels}})


def add(total: DeliverResult, one: DeliverResult) -> None:
    total.delivered.update(one.delivered)
    total.retried += one.retried
    total.dead += one.dead
    total.suppressed += one.suppressed
    total.held += one.held


def run_minutes(
    engine: sa.Engine,
    bursts: list[tuple[datetime, list[Event]]],
    start: datetime,
    until: datetime,
    timing: Timing,
    *,
    email: bool,
) -> None:
    """Report each simulated minute's bursts, then flush at the minute's end, up to ``until``."""
    policy = load_policy()
    pending = iter(bursts)
    nxt = next(pending, None)
    minute = start
    while minute < until:
        end = minute + timedelta(minutes=1)
        t0 = time.perf_counter()
        while nxt is not None and nxt[0] < end:
            at, burst = nxt
            with engine.begin() as conn:
                timing.stored += notify(conn, burst, at, policy=policy)
            timing.reported += len(burst)
            timing.notify_calls += 1
            nxt = next(pending, None)
        t1 = time.perf_counter()
        timing.flushed.add(flush(engine, end, email=email, policy=policy))
        timing.flush_s += time.perf_counter() - t1
        timing.notify_s += t1 - t0
        timing.ticks += 1
        minute = end
        if timing.ticks % 30 == 0:
            progress(
                f"  {minute:%H:%M} {timing.stored:,} events stored, "
                f"{timing.flushed.digests + timing.flushed.singles:,} messages"
            )


def deliver_all(
    engine: sa.Engine,
    now: datetime,
    smtp: SmtpConfig | None,
    limit: int,
    total: DeliverResult,
) -> tuple[float, int]:
    """``deliver`` in batches of ``limit`` until nothing due is left; (seconds, batches)."""
    t0 = time.perf_counter()
    batches = 0
    while True:
        one = deliver(engine, now, smtp=smtp, limit=limit)
        if not (sum(one.delivered.values()) + one.retried + one.dead + one.suppressed + one.held):
            break
        add(total, one)
        batches += 1
        if batches % 20 == 0:
            progress(f"  deliver batch {batches}: {sum(total.delivered.values()):,} delivered")
    return time.perf_counter() - t0, batches


def webhook_phase(
    engine: sa.Engine,
    world: World,
    hooks: Receiver,
    seed: str,
    count: int,
    start: datetime,
    smtp: SmtpConfig,
    limit: int,
    timing: Timing,
) -> datetime:
    """``count`` teams register an endpoint and report half an hour of events (flushed without
    e-mail, so the pass that follows sends webhooks only); returns the instant it delivered."""
    rng = random.Random(f"{seed}:hooks")
    chosen = world.teams[:count]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(WebhookEndpoint),
            [
                {
                    "team_id": t,
                    "url": f"http://127.0.0.1:{hooks.port}/hook/{t}",
                    "secret": webhook_secret(seed, t),
                    "slack": i % 4 == 0,
                    "active": True,
                }
                for i, t in enumerate(chosen)
            ],
        )
    bursts: list[tuple[datetime, list[Event]]] = []
    for team_id in chosen:
        for n in range(20):
            category = rng.choices(list(MIX), weights=[MIX[c][0] for c in MIX])[0]
            if n % 3 == 0:
                category = "document.matched"  # a third alone: each its own webhook call
            title = TITLES[category].format(n=n, amount="10.00")
            event = Event(f"bench:hook:{team_id}:{n}", team_id, category, title)
            bursts.append((start + timedelta(seconds=rng.randrange(1800)), [event]))
    bursts.sort(key=lambda b: b[0])
    timing.hook_events = sum(len(b) for _, b in bursts)
    # Events stored and flushed as before (counted with the main run's); e-mail is off while
    # they are, so the deliver pass below measures webhooks, not e-mails.
    # Half an hour of events, then their windows close: still before American quiet hours end,
    # so the deliver pass below has webhooks to send and hardly any e-mail.
    until = start + timedelta(minutes=30 + 32)
    configured = os.environ.pop("BG_AGENTS_SMTP_URL", None)
    try:
        run_minutes(engine, bursts, start, until, Timing(), email=False)
    finally:
        if configured:
            os.environ["BG_AGENTS_SMTP_URL"] = configured
    # E-mails whose quiet hours ended meanwhile are due too: they go to the SMTP server.
    timing.hook_s, timing.hook_batches = deliver_all(engine, until, smtp, limit, timing.hooked)
    return until


# -- the proofs ---------------------------------------------------------------------------------


def scalar(engine: sa.Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one() or 0)


def duplicates(engine: sa.Engine, *columns: Any, where: Any = None) -> int:
    """How many groups of ``columns`` (among rows matching ``where``) hold more than one row."""
    grouped = (
        sa.select(*columns)
        .where(sa.true() if where is None else where)
        .group_by(*columns)
        .having(sa.func.count() > 1)
    )
    return scalar(engine, sa.select(sa.func.count()).select_from(grouped.subquery()))


def message_id(key: str) -> str:
    """The Message-ID the e-mail channel gives a delivery key (``channels/email.py``)."""
    domain = parseaddr(SENDER)[1].rpartition("@")[2]
    return f"<bg.{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def proofs(
    engine: sa.Engine, world: World, mail: dict[str, Any], hooks: dict[str, Any], end: datetime
) -> list[tuple[str, str, str, bool]]:
    """(check, expected, found, passed) rows."""
    rows: list[tuple[str, str, str, bool]] = []

    def check(name: str, expected: object, found: object, ok: bool | None = None) -> None:
        passed = expected == found if ok is None else ok
        shown = [f"{v:,}" if isinstance(v, int) else str(v) for v in (expected, found)]
        rows.append((name, shown[0], shown[1], passed))

    e, m, n = NotificationEvent, NotificationMessage, Notification
    events = scalar(engine, sa.select(sa.func.count()).select_from(e))
    check("events stored = distinct keys reported (repeats ignored)", world.distinct, events)
    check(
        "events without a message",
        0,
        scalar(
            engine,
            sa.select(sa.func.count()).where(e.message_id.is_(None), e.withdrawn_at.is_(None)),
        ),
    )
    items = scalar(engine, sa.select(sa.func.sum(m.item_count)))
    check("sum of messages' item counts = events", events, items)
    per_message = sa.select(e.message_id, sa.func.count().label("n")).group_by(e.message_id)
    sub = per_message.subquery()
    mismatched = scalar(
        engine,
        sa.select(sa.func.count())
        .select_from(m.__table__.join(sub, sub.c.message_id == m.id, isouter=True))
        .where(sa.func.coalesce(sub.c.n, 0) != m.item_count),
    )
    check("messages whose item count differs from their events", 0, mismatched)
    check("message keys twice", 0, duplicates(engine, m.idempotency_key))
    check(
        "(team, addressee, batch key, window, part) twice",
        0,
        duplicates(
            engine,
            m.team_id,
            m.user_id,
            m.category,
            m.batch_key,
            m.window_start,
            m.part,
            where=sa.and_(m.window_start.is_not(None), m.kind != "first"),
        ),
    )
    check(
        "(message, recipient, channel) with 2+ deliveries",
        0,
        duplicates(engine, n.message_id, n.user_id, n.endpoint_id, n.channel),
    )

    with engine.connect() as conn:
        delivered_keys = (
            conn.execute(
                sa.select(n.idempotency_key).where(n.channel == "email", n.status == "delivered")
            )
            .scalars()
            .all()
        )
        hook_keys = (
            conn.execute(
                sa.select(n.idempotency_key).where(n.channel == "webhook", n.status == "delivered")
            )
            .scalars()
            .all()
        )
        left = conn.execute(
            sa.select(
                n.status, n.next_attempt_at, User.notification_prefs, User.time_zone, Team.time_zone
            )
            .join(Team, Team.id == n.team_id)
            .join(User, User.id == n.user_id, isouter=True)
            .where(n.channel.in_(("email", "webhook")), n.status != "delivered")
        ).all()
    received = Counter(mail["ids"])
    expected_ids = Counter(message_id(k) for k in delivered_keys)
    check(
        "e-mails received = e-mail deliveries delivered",
        len(delivered_keys),
        sum(received.values()),
    )
    check("Message-IDs received twice", 0, sum(1 for c in received.values() if c > 1))
    check(
        "Message-IDs received = the delivered ones",
        "same set",
        "same set"
        if received.keys() == expected_ids.keys()
        else f"{len(received.keys() ^ expected_ids.keys()):,} differ",
    )
    got = Counter(key for key, _ in hooks["received"])
    check("webhooks received = webhook deliveries delivered", len(hook_keys), sum(got.values()))
    check("webhook deliveries received twice", 0, sum(1 for c in got.values() if c > 1))
    check("webhook signatures not verified", 0, sum(1 for _, ok in hooks["received"] if not ok))
    check(
        "webhook keys received = the delivered ones",
        "same set",
        "same set" if got.keys() == set(hook_keys) else "differ",
    )

    statuses = Counter(status for status, *_ in left)
    held_ok = sum(
        1
        for status, until, prefs, user_zone, team_zone in left
        if status == "held"
        and until is not None
        and _aware(until) > end
        and Preferences.of(prefs).quiet_until(end, user_zone or team_zone) is not None
    )
    check(
        "left undelivered (e-mail, webhook)",
        f"{statuses['held']:,} held for quiet hours",
        ", ".join(f"{c:,} {s}" for s, c in sorted(statuses.items())) or "none",
        ok=set(statuses) <= {"held"} and held_ok == statuses["held"],
    )
    return rows


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# -- output -------------------------------------------------------------------------------------


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def report(
    engine: sa.Engine,
    world: World,
    timing: Timing,
    rows: list,
    args: Any,
    version: str,
    load: float,
    total_s: float,
) -> list[str]:
    f, main = timing.flushed, timing.main
    events = timing.stored
    messages = main["digest"] + main["single"] + main["first"]
    by_flush = f.digests + f.singles
    inline = messages - by_flush  # unbatched events sent in the producer's transaction
    members = sum(len(v) for v in world.members.values())
    emails = timing.emailed.delivered["email"]
    hooks = timing.hooked.delivered["webhook"]
    kinds = ", ".join(f"{c:,} {k}" for k, c in world.prefs.most_common())
    made = ", ".join(f"{main[f'to {c}']:,} {c}" for c in ("in_app", "email", "webhook"))
    flushed = f"{f.digests:,} digests + {f.singles:,} single messages"
    notify_work = f"{events:,} events stored in {timing.notify_calls:,} transactions"
    if inline:
        notify_work += f", {inline:,} unbatched events sent at once"
    return [
        f"machine: {machine()}",
        f"database: {engine.dialect.name} {version}",
        "",
        f"{events:,} events (SIMULATED, seed {args.seed}) for {len(world.teams):,} teams with "
        f"{members:,} members ({kinds}), reported in {timing.notify_calls:,} bursts over "
        f"{args.hours:g} h of a pinned clock (+{timing.reported - events:,} repeated events, "
        f"ignored); then {args.webhook_teams} teams register a webhook and report "
        f"{timing.hook_events:,} more events for the webhook pass; load average {load:.1f} "
        f"before, {os.getloadavg()[0]:.1f} after; {total_s:.0f} s in all",
        "",
        "| stage | work | time | rate |",
        "|---|---|---:|---:|",
        f"| notify | {notify_work} | {timing.notify_s:.1f} s "
        f"| {rate(events, timing.notify_s)} events/s |",
        f"| flush | {timing.ticks:,} minute ticks: {flushed}; deliveries made in all: {made} "
        f"| {timing.flush_s:.1f} s | {rate(f.digests, timing.flush_s)} digests/s, "
        f"{rate(by_flush, timing.flush_s)} messages/s |",
        f"| deliver e-mail | {emails:,} e-mails to aiosmtpd, {timing.email_batches} calls of "
        f"limit {args.limit} ({timing.emailed.held:,} held again, {timing.emailed.suppressed:,} "
        f"suppressed) | {timing.email_s:.1f} s | {rate(emails, timing.email_s)} e-mails/s |",
        f"| deliver webhook | {hooks:,} signed POSTs to a local receiver, "
        f"{timing.hook_batches} calls (+{timing.hooked.delivered['email']:,} e-mails quiet "
        f"hours released meanwhile) | {timing.hook_s:.1f} s "
        f"| {rate(hooks, timing.hook_s)} deliveries/s |",
        "",
        "| proof (whole run) | expected | found | |",
        "|---|---:|---:|---|",
        *(
            f"| {name} | {exp} | {found} | {'PASS' if ok else 'FAIL'} |"
            for name, exp, found, ok in rows
        ),
        "",
        f"batching: {events:,} events became {messages:,} messages "
        f"({events / max(messages, 1):.1f} events per message); members got "
        f"{main['to email']:,} e-mails and {main['to in_app']:,} in-app notifications where one "
        f"per event would have been {main['one per event']:,} of each",
    ]


def _one_per_event(engine: sa.Engine) -> int:
    """Deliveries per channel had every event been its own message: events x their audience."""
    e, u = NotificationEvent, User
    team_events = (
        sa.select(sa.func.count())
        .select_from(e.__table__.join(u.__table__, u.team_id == e.team_id))
        .where(e.user_id.is_(None))
    )
    addressed = sa.select(sa.func.count()).where(e.user_id.is_not(None))
    return scalar(engine, team_events) + scalar(engine, addressed)


# -- main ---------------------------------------------------------------------------------------


def run(url: str, args: Any) -> bool:
    engine = get_engine(url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        version = conn.execute(
            sa.text(
                "select sqlite_version()"
                if engine.dialect.name == "sqlite"
                else "show server_version"
            )
        ).scalar_one()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    seed = f"bench-{args.seed}"
    world = build_world(engine, args.teams, args.events, args.hours, args.seed)
    progress(
        f"world: {len(world.teams):,} teams, {world.distinct:,} events in "
        f"{len(world.bursts):,} bursts"
    )
    timing = Timing()
    # The sensor ticks until the longest window (30 min) and its grace have closed.
    close = T0 + timedelta(hours=args.hours, minutes=32)
    with receivers(seed) as (smtp, hooks):
        # Configured as an operator would, so whatever asks "is e-mail on?" hears yes.
        os.environ["BG_AGENTS_SMTP_URL"] = f"smtp://127.0.0.1:{smtp.port}"
        os.environ["BG_AGENTS_SMTP_FROM"] = SENDER
        config = SmtpConfig.from_settings(load_settings())
        run_minutes(engine, world.bursts, T0, close, timing, email=True)
        timing.main = snapshot(engine)
        timing.main["one per event"] = _one_per_event(engine)
        progress(f"delivering e-mails at {close:%H:%M} ...")
        timing.email_s, timing.email_batches = deliver_all(
            engine, close, config, args.limit, timing.emailed
        )
        progress("webhooks ...")
        end = webhook_phase(
            engine, world, hooks, seed, args.webhook_teams, close, config, args.limit, timing
        )
        world.distinct += timing.hook_events
        mail, received = smtp.stop(), hooks.stop()
    rows = proofs(engine, world, mail, received, end)
    lines = report(engine, world, timing, rows, args, version, load, time.perf_counter() - started)
    print("\n".join(lines))
    return all(ok for *_, ok in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=3.0, help="events spread over this long")
    parser.add_argument("--webhook-teams", type=int, default=100)
    parser.add_argument("--limit", type=int, default=500, help="deliveries per deliver() call")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    if args.events < 1 or args.teams < 1 or args.hours <= 0 or args.limit < 1:
        parser.error("--events, --teams, --hours and --limit must be positive")
    args.webhook_teams = min(args.webhook_teams, args.teams)
    with tempfile.TemporaryDirectory(prefix="bg-agents-bench-") as tmp:
        # Unsubscribe links need a key and a home: this run's own, nothing of the user's.
        os.environ["BG_AGENTS_HOME"] = str(Path(tmp) / "home")
        os.environ["BG_AGENTS_SECRET_KEY"] = secrets.token_urlsafe(32)
        os.environ.pop("BG_AGENTS_SMTP_URL", None)
        if args.db == "sqlite":
            ok = run(f"sqlite:///{tmp}/bench.db", args)
        else:
            with temporary_database(PG_ADMIN, "bg_agents_bench") as url:
                ok = run(url, args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
