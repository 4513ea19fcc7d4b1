"""Benchmark: one day of invoice reminders for many teams, and proof that each went out once.

    python benchmarks/reminders.py [--teams 10000] [--invoices 50] [--db sqlite|postgres]

A fresh database (a temporary SQLite file, or a scratch PostgreSQL database dropped afterwards)
gets SIMULATED teams in fourteen time zones (the awkward ones included: +05:45, +13:45, -11,
Lord Howe's half-hour DST), each with one to three members, five customers and ``--invoices``
open invoices due between 40 days ago and 20 days ahead (one in ten partly paid). A tenth of the
teams turn customer reminders on (steps 1, 7 and 14 days after the due date) and half of their
customers opt in. Then, for one local date, separately timed:

* ``run``: every delivery slot of that date at its 09:00 (a pinned clock two minutes after it),
  as the sensor's runs would: team reminders decided and handed to the notification engine,
  customer reminders queued and e-mailed to an aiosmtpd server in its own process (reminders/s);
  then every slot again (nothing new);
* ``flush``: the engine closes the 30-minute windows: one digest per team instead of one message
  per invoice (digests/s).

Then the proofs, each PASS or FAIL: the team reminders stored equal an independent count from
the generated invoices (due today or in the next two days; 1, 7, 14 or 30 days overdue); no key
twice; a second run of every slot adds nothing; one digest per team with reminders; the e-mails
the SMTP server received are exactly the customer reminders marked sent, none twice.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest_and_metrics import PG_ADMIN, machine  # noqa: E402
from benchmarks.notifications_servers import receivers  # noqa: E402
from bg_agents.defs.notifications.channels.email import SmtpConfig  # noqa: E402
from bg_agents.defs.notifications.flush import flush  # noqa: E402
from bg_agents.defs.reminders.customers import send_customer_reminders  # noqa: E402
from bg_agents.defs.reminders.run import run_slot  # noqa: E402
from bg_agents.lib.db import migrate  # noqa: E402
from bg_agents.lib.db.engine import get_engine, temporary_database  # noqa: E402
from bg_agents.lib.db.models import (  # noqa: E402
    Customer,
    Invoice,
    NotificationMessage,
    Reminder,
    ReminderSettings,
    Team,
    User,
)
from bg_agents.lib.delivery_slots import SLOTS, day_due_at, day_slot  # noqa: E402
from bg_agents.lib.settings import load_settings  # noqa: E402

DAY = date(2026, 3, 30)  # the Monday after Europe's spring DST change
AT_NINE = datetime.min.time().replace(hour=9)
SENDER = "bg-agents <reminders@bench.bg-agents.test>"
ZONES = [
    ("Europe/Berlin", "de_DE"),
    ("Europe/Paris", "fr_FR"),
    ("Europe/London", "en_GB"),
    ("America/New_York", "en_US"),
    ("America/Los_Angeles", "en_US"),
    ("America/St_Johns", "en_US"),
    ("Asia/Kolkata", "en_US"),
    ("Asia/Kathmandu", "en_US"),
    ("Asia/Tokyo", "en_US"),
    ("Australia/Lord_Howe", "en_US"),
    ("Pacific/Chatham", "en_US"),
    ("Pacific/Kiritimati", "en_US"),
    ("Pacific/Pago_Pago", "en_US"),
    ("Europe/Madrid", "es_ES"),
]
WINDOW = timedelta(hours=24)
CHUNK = 20_000


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def build(engine: sa.Engine, teams: int, invoices: int, seed: int) -> dict[str, Any]:
    """The SIMULATED world, written in bulk; returns what the proofs recount independently."""
    rng = random.Random(seed)
    team_rows = [
        {
            "slug": f"bench-{i:05d}",
            "name": f"Bench Team {i}",
            "time_zone": ZONES[i % len(ZONES)][0],
            "base_currency": "EUR",
            "locale": ZONES[i % len(ZONES)][1],
        }
        for i in range(teams)
    ]
    expected_team = 0
    teams_with_reminders: set[int] = set()
    customer_steps: Counter[int] = Counter()
    with engine.begin() as conn:
        team_ids = [
            r.id
            for r in sorted(
                conn.execute(sa.insert(Team).returning(Team.id, Team.slug), team_rows).all(),
                key=lambda r: r.slug,
            )
        ]
        users, customers, settings = [], [], []
        for t, team_id in enumerate(team_ids):
            for m in range(rng.choice((1, 1, 2, 3))):
                users.append(
                    {"team_id": team_id, "email": f"m{m}@team{t}.bench.test", "name": f"M {m}",
                     "notification_prefs": {}}
                )  # fmt: skip
            customer_reminders = rng.random() < 0.1
            if customer_reminders:
                settings.append(
                    {"team_id": team_id, "customer_reminders": True, "customer_steps": [1, 7, 14],
                     "reply_to": f"billing@team{t}.bench.test",
                     "payment_details": f"IBAN DE89 3704 0044 0532 0130 {t % 100:02d}"}
                )  # fmt: skip
            for c in range(5):
                customers.append(
                    {"team_id": team_id, "external_id": f"C{c}", "name": f"Customer {t}-{c}",
                     "email": f"ap@customer{t}-{c}.bench.test",
                     "reminders_opt_in": customer_reminders and rng.random() < 0.5}
                )  # fmt: skip
        conn.execute(sa.insert(User), users)
        if settings:
            conn.execute(sa.insert(ReminderSettings), settings)
        ids = conn.execute(
            sa.insert(Customer).returning(Customer.id, Customer.team_id, Customer.reminders_opt_in),
            customers,
        ).all()
        by_team: dict[int, list[tuple[int, bool]]] = {}
        for r in ids:
            by_team.setdefault(r.team_id, []).append((r.id, r.reminders_opt_in))
        rows: list[dict[str, Any]] = []
        for team_id in team_ids:
            for n in range(invoices):
                customer_id, opted = rng.choice(by_team[team_id])
                due = DAY + timedelta(days=rng.randint(-40, 20))
                amount = Decimal(rng.randint(5_000, 900_000)) / 100
                paid = (amount / 2).quantize(Decimal("0.01")) if rng.random() < 0.1 else Decimal(0)
                rows.append(
                    {"team_id": team_id, "customer_id": customer_id, "number": f"B-{n:05d}",
                     "amount": amount, "currency": "EUR", "issue_date": due - timedelta(days=30),
                     "due_date": due, "status": "partially_paid" if paid else "open",
                     "amount_paid": paid}
                )  # fmt: skip
                # Independent of bg_agents' rules: the issue's words, counted here.
                days_late = (DAY - due).days
                if days_late in (-2, -1, 0, 1, 7, 14, 30):
                    expected_team += 1
                    teams_with_reminders.add(team_id)
                if opted and days_late in (1, 7, 14):
                    customer_steps[days_late] += 1
            if len(rows) >= CHUNK:
                conn.execute(sa.insert(Invoice), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(Invoice), rows)
    return {
        "zones": sorted({z for z, _ in ZONES[: min(teams, len(ZONES))]}),
        "team_reminders": expected_team,
        "teams_with_reminders": len(teams_with_reminders),
        "customer_reminders": sum(customer_steps.values()),
        "users": len(users),
        "invoices": teams * invoices,
    }


def slots_of_day(zones: list[str]) -> list[str]:
    return sorted(
        {day_slot(DAY, AT_NINE, z) for z in zones}, key=lambda s: day_due_at(DAY, AT_NINE, s)
    )


def run_day(engine: sa.Engine, slots: list[str]) -> tuple[float, Counter[str], datetime]:
    """Each slot at 09:00 + 2 min local, in due order, as the sensor's runs would."""
    totals: Counter[str] = Counter()
    started = time.perf_counter()
    last = datetime.min.replace(tzinfo=UTC)
    for slot in slots:
        now = day_due_at(DAY, AT_NINE, slot) + timedelta(minutes=2)
        result = run_slot(engine, DAY, slot, now, WINDOW)
        totals.update({k: v for k, v in result.as_metadata().items() if isinstance(v, int)})
        last = max(last, now)
        progress(f"  {slot}: {result.as_metadata()}")
    return time.perf_counter() - started, totals, last


def scalar(engine: sa.Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def run(url: str, args: Any) -> bool:
    engine = get_engine(url)
    migrate.upgrade(engine)
    dialect = engine.dialect.name
    load = os.getloadavg()[0]
    started = time.perf_counter()
    t0 = time.perf_counter()
    world = build(engine, args.teams, args.invoices, args.seed)
    build_s = time.perf_counter() - t0
    slots = slots_of_day(world["zones"])
    assert all(s in SLOTS for s in slots)
    progress(f"world: {args.teams:,} teams, {world['invoices']:,} invoices in {build_s:.0f} s")
    with receivers(f"bench-{args.seed}") as (smtp, _hooks):
        os.environ["BG_AGENTS_SMTP_URL"] = f"smtp://127.0.0.1:{smtp.port}"
        os.environ["BG_AGENTS_SMTP_FROM"] = SENDER
        config = SmtpConfig.from_settings(load_settings())
        run_s, totals, last = run_day(engine, slots)
        rerun_before = scalar(engine, sa.select(sa.func.count()).select_from(Reminder))
        rerun_s, _, _ = run_day(engine, slots)
        rerun_after = scalar(engine, sa.select(sa.func.count()).select_from(Reminder))
        closes = last + timedelta(minutes=32)
        t0 = time.perf_counter()
        flushed = flush(engine, closes, email=False)
        flush_s = time.perf_counter() - t0
        # run_slot e-mailed the customers; anything still due now would be a lost e-mail.
        left = send_customer_reminders(engine, closes, smtp=config, limit=args.limit)
        mail = smtp.stop()
    r = Reminder
    team_notified = scalar(
        engine,
        sa.select(sa.func.count()).where(r.audience == "team", r.status == "notified"),
    )
    digests = scalar(
        engine,
        sa.select(sa.func.count()).where(NotificationMessage.category == "invoice.overdue"),
    )
    duplicate_keys = scalar(
        engine, sa.select(sa.func.count() - sa.func.count(sa.distinct(r.key))).select_from(r)
    )
    customer_sent = scalar(
        engine, sa.select(sa.func.count()).where(r.audience == "customer", r.status == "sent")
    )
    ids = mail.get("ids", [])
    rows = [
        ("team reminders = independent count", world["team_reminders"], team_notified),
        ("no reminder key twice", 0, duplicate_keys),
        ("second run of every slot adds nothing", rerun_before, rerun_after),
        ("one digest per team with reminders", world["teams_with_reminders"], digests),
        ("customer reminders sent = independent count", world["customer_reminders"],
         customer_sent),
        ("e-mails received = customer reminders sent", customer_sent, len(ids)),
        ("no e-mail twice (by Message-ID)", len(ids), len(set(ids))),
        ("customer e-mails still due after the runs", 0, left.sent + left.retried + left.dead),
    ]  # fmt: skip
    reminders = team_notified + totals.get("customers_queued", 0)
    lines = [
        f"machine: {machine()}",
        f"database: {dialect}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after; "
        f"{time.perf_counter() - started:.0f} s in all",
        "",
        f"{args.teams:,} teams x {args.invoices} open invoices = {world['invoices']:,} "
        f"(SIMULATED, seed {args.seed}), {world['users']:,} members, {len(slots)} delivery slots "
        f"on {DAY}; written in {build_s:.0f} s",
        "",
        "| stage | work | time | rate |",
        "|---|---|---:|---:|",
        f"| run every slot | {team_notified:,} team reminders decided and handed to the engine, "
        f"{totals.get('customers_queued', 0):,} customer reminders queued and "
        f"{totals.get('customers_emailed', 0):,} e-mailed to aiosmtpd | {run_s:.1f} s "
        f"| {rate(reminders, run_s)} reminders/s |",
        f"| run again | nothing new | {rerun_s:.1f} s | |",
        f"| flush | {flushed.digests:,} digests ({flushed.singles:,} single messages) "
        f"| {flush_s:.1f} s | {rate(flushed.digests, flush_s)} digests/s |",
        f"| plan + send, all | | {run_s + flush_s:.1f} s "
        f"| {rate(reminders, run_s + flush_s)} reminders/s |",
        "",
        "| proof | expected | found | |",
        "|---|---:|---:|---|",
        *(f"| {n} | {e:,} | {f:,} | {'PASS' if e == f else 'FAIL'} |" for n, e, f in rows),
    ]
    print("\n".join(lines))
    return all(e == f for _, e, f in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teams", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50, help="open invoices per team")
    parser.add_argument("--limit", type=int, default=500, help="e-mails per send call")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    if args.teams < 1 or args.invoices < 1 or args.limit < 1:
        parser.error("--teams, --invoices and --limit must be positive")
    with tempfile.TemporaryDirectory(prefix="bg-agents-bench-") as tmp:
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
