"""``bg-agents reminders preview|run``: what a team's 09:00 would send and when, and running a
local day's due slots in this process (running it twice sends nothing new)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from bg_agents.cli import reminder_settings
from bg_agents.cli.common import iso_date, open_engine

DIGEST_NOTE = (
    "team reminders go out as one digest per team when the 30-minute window of the "
    "invoice.overdue category closes (the notification sensor, or `bg-agents notifications flush`)"
)


def _team(conn: Any, slug: str) -> Any:
    import sqlalchemy as sa

    from bg_agents.lib.db.models import Team

    team = conn.execute(
        sa.select(Team.id, Team.slug, Team.time_zone).where(Team.slug == slug)
    ).one_or_none()
    if team is None:
        raise ValueError(f"no team with slug {slug!r} (bg-agents teams lists them)")
    return team


def _team_rows(conn: Any, team: Any, day: date, slot: str) -> list[dict[str, Any]]:
    """Planned reminders with their stored status, and stored ones no longer planned (an
    invoice paid since): every team reminder of the day, once."""
    import sqlalchemy as sa

    from bg_agents.defs.reminders.team import plan_team
    from bg_agents.lib.db.models import Customer, Invoice, Reminder
    from bg_agents.lib.money import plain_amount

    stored = {
        r.key: r
        for r in conn.execute(
            sa.select(
                Reminder.key, Reminder.status, Reminder.kind, Reminder.amount_due,
                Reminder.currency, Invoice.number, Invoice.due_date,
                sa.func.coalesce(Customer.company, Customer.name).label("customer"),
            )
            .join(Invoice, Invoice.id == Reminder.invoice_id)
            .outerjoin(Customer, Customer.id == Invoice.customer_id)
            .where(Reminder.team_id == team.id, Reminder.local_date == day,
                   Reminder.audience == "team")
        ).all()
    }  # fmt: skip
    rows = []
    for p in plan_team(conn, day, slot, [team.id]):
        mine = stored.pop(p.key, None)
        amount = mine.amount_due if mine else p.amount_due
        rows.append(
            {"key": p.key, "invoice": p.number, "customer": p.customer, "kind": p.kind,
             "amount_due": plain_amount(amount, p.currency), "currency": p.currency,
             "due_date": p.due_date.isoformat(), "status": mine.status if mine else "planned"}
        )  # fmt: skip
    for key, r in stored.items():
        rows.append(
            {"key": key, "invoice": r.number, "customer": r.customer, "kind": r.kind,
             "amount_due": plain_amount(r.amount_due, r.currency), "currency": r.currency,
             "due_date": r.due_date.isoformat(), "status": r.status}
        )  # fmt: skip
    return sorted(rows, key=lambda r: (r["due_date"], r["invoice"]))


def cmd_preview(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from bg_agents.defs.reminders.customers import plan_customer
    from bg_agents.defs.reminders.rules import REMINDER_TIME
    from bg_agents.defs.reminders.run import action, catch_up_window, slot_due_at
    from bg_agents.lib import clock
    from bg_agents.lib.delivery_slots import day_slot
    from bg_agents.lib.money import plain_amount

    with open_engine().connect() as conn:
        team = _team(conn, args.team)
        slot = day_slot(args.date, REMINDER_TIME, team.time_zone)
        due = slot_due_at(args.date, slot)
        team_rows = _team_rows(conn, team, args.date, slot)
        customers = [
            {"key": c.key, "invoice": c.invoice_number, "customer": c.customer,
             "to": c.to_address, "kind": c.kind,
             "amount_due": plain_amount(c.amount_due, c.currency), "currency": c.currency,
             "status": c.status}
            for c in plan_customer(conn, args.date, team.id)
        ]  # fmt: skip
    local = due.astimezone(ZoneInfo(team.time_zone))
    state = action(due, clock.now(), catch_up_window())
    when = {"wait": "not due yet", "deliver": "due now", "skip": "past the catch-up window"}
    preview = {
        "team": team.slug,
        "time_zone": team.time_zone,
        "date": args.date.isoformat(),
        "slot": slot,
        "due_at": due.isoformat(),
        "due_local": local.isoformat(),
        "state": state,
        "team_reminders": team_rows,
        "customer_reminders": customers,
    }
    if args.json:
        print(json.dumps(preview))
        return 0
    print(
        f"{team.slug} ({team.time_zone}), {args.date}: 09:00 local "
        f"({local:%Y-%m-%d %H:%M %Z}) = {due:%Y-%m-%d %H:%M} UTC, slot {slot}; {when[state]}"
    )
    print(f"team reminders: {len(team_rows) or 'none'}")
    if team_rows:
        print(f"  {'invoice':<16} {'customer':<20} {'kind':<11} {'amount due':>16}  "
              f"{'due date':<10}  status")  # fmt: skip
        for r in team_rows:
            amount = f"{r['amount_due']} {r['currency']}"
            print(f"  {r['invoice'][:16]:<16} {(r['customer'] or '-')[:20]:<20} {r['kind']:<11} "
                  f"{amount:>16}  {r['due_date']:<10}  {r['status']}")  # fmt: skip
        print(f"  ({DIGEST_NOTE})")
    print(f"customer e-mails: {len(customers) or 'none'}")
    for c in customers:
        amount = f"{c['amount_due']} {c['currency']}"
        print(f"  {c['invoice'][:16]:<16} {(c['to'] or '-')[:30]:<30} {c['kind']:<11} "
              f"{amount:>16}  {c['status']}")  # fmt: skip
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from bg_agents.defs.reminders.rules import REMINDER_TIME
    from bg_agents.defs.reminders.run import SlotResult, catch_up_window, run_slot, slot_due_at
    from bg_agents.lib import clock
    from bg_agents.lib.db.models import Team
    from bg_agents.lib.delivery_slots import day_slot

    engine = open_engine()
    with engine.connect() as conn:
        if args.team:
            teams = [_team(conn, args.team)]
        else:
            teams = conn.execute(sa.select(Team.id, Team.slug, Team.time_zone)).all()
    team_ids = [t.id for t in teams] if args.team else None
    slots = sorted(
        {day_slot(args.date, REMINDER_TIME, t.time_zone) for t in teams},
        key=lambda s: slot_due_at(args.date, s),
    )
    now, window = clock.now(), catch_up_window()
    results: list[tuple[str, Any]] = []
    for slot in slots:
        due = slot_due_at(args.date, slot)
        if due > now:
            results.append((slot, None))
            continue
        results.append((slot, run_slot(engine, args.date, slot, now, window, team_ids=team_ids)))
    ran = [r for _, r in results if r is not None]
    total = SlotResult("total")
    for r in ran:
        total.teams += r.teams
        total.notified.update(r.notified)
        for name in ("skipped_paid", "skipped_late", "customers_queued", "customers_emailed",
                     "recurring_issued", "upcoming_notices"):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(r, name))
    if args.json:
        print(json.dumps({
            "date": args.date.isoformat(),
            "slots": [{"slot": s, "due_at": slot_due_at(args.date, s).isoformat(),
                       **(r.as_metadata() if r else {"action": "not_due"})} for s, r in results],
            "total": {k: v for k, v in total.as_metadata().items() if k != "action"},
        }))  # fmt: skip
        return 0
    where = f"team {args.team}" if args.team else f"{len(teams)} teams"
    print(f"reminders of {args.date} for {where}, at {now:%Y-%m-%d %H:%M} UTC:")
    if not slots:
        print("  no team")
    for slot, r in results:
        due = slot_due_at(args.date, slot)
        line = r.summary() if r else "not due yet"
        print(f"  {slot} (09:00 = {due:%Y-%m-%d %H:%M} UTC) {line}")
    if ran:
        kinds = sum(total.notified.values())
        print(f"total: {kinds} team reminders new, {total.customers_emailed} customer e-mails "
              f"sent, {total.recurring_issued} recurring invoices issued, skipped "
              f"{total.skipped_paid} paid and {total.skipped_late} late")  # fmt: skip
        if kinds:
            print(DIGEST_NOTE)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``bg-agents reminders`` and its commands."""
    group = sub.add_parser(
        "reminders",
        help="invoice reminders at 09:00 team-local: preview, run, settings",
        description="Unpaid-invoice reminders at 09:00 in each team's time zone: team digests "
        "(due within 3 days, 1/7/14/30 days overdue), opted-in customers' payment e-mails, "
        "recurring invoices. Each reminder is decided once per invoice, kind and day.",
    )
    commands = group.add_subparsers(dest="reminders_command", required=True)
    preview = commands.add_parser(
        "preview",
        help="what a team's 09:00 of a day would send, and when (local and UTC)",
        description="Every team reminder and customer e-mail of the team's local day: invoice, "
        "customer, kind, amount due, due date, and whether it is planned or already decided "
        "(notified, skipped_paid, skipped_late; customer e-mails: pending, sent...). Reads only.",
    )
    preview.add_argument("--team", required=True, metavar="SLUG", help="the team's slug")
    preview.add_argument(
        "--date", required=True, type=iso_date, metavar="YYYY-MM-DD", help="the team's local day"
    )
    preview.add_argument("--json", action="store_true", help="print the preview as JSON")
    preview.set_defaults(func=cmd_preview)
    run = commands.add_parser(
        "run",
        help="run a local day's due slots in this process",
        description="Run every delivery slot of the local day whose 09:00 has passed (by "
        "BG_AGENTS_NOW or the real time): as the sensor's runs do, in this process; prints the "
        "counts. A slot past BG_AGENTS_REMINDERS_CATCH_UP_HOURS records its reminders as "
        "skipped instead of sending them. Running it twice sends nothing new.",
    )
    run.add_argument(
        "--date", required=True, type=iso_date, metavar="YYYY-MM-DD", help="the local day"
    )
    run.add_argument("--team", metavar="SLUG", help="only this team (default: every team)")
    run.add_argument("--json", action="store_true", help="print the counts as JSON")
    run.set_defaults(func=cmd_run)
    reminder_settings.add_commands(commands)
