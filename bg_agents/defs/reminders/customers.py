"""Customer payment reminders: queued at 09:00 team-local, e-mailed once per invoice and step.

``queue_customer_reminders`` decides, for one local day and delivery slot, which customers are
reminded of which invoice: the team turned customer reminders on, the customer opted in and has an
address, the invoice is still owed and one of the team's steps falls on the day. Each decision is
a ``reminders`` row keyed by (invoice, step), inserted if absent, so a retry, a backfill or two
racing runs store it once and no step reaches a customer twice.

``send_customer_reminders`` claims due rows a chunk at a time with a lease (as the notification
engine claims its deliveries), then **re-reads the invoice, the customer and the team's settings
just before the chunk's sends**: a payment that landed since the decision (reconciliation linked
it, or a person marked the invoice paid) skips the e-mail and records ``skipped_paid``; a partial
payment changes the amount in the text; a customer who opted out (or a team that turned reminders
off) gets nothing (``skipped_opt_out``); a row past the catch-up window (e-mail was off, retries
ran long) records ``skipped_late``. Outcomes are recorded per chunk and only over a claim still
the sender's, so a crash repeats at most one chunk's e-mails already sent, each with the same
Message-ID for the receiver to recognize.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.defs.notifications import (
    LEASE,
    MAX_ATTEMPTS,
    DeliveryError,
    SmtpConfig,
    SmtpSender,
    backoff,
    email_configured,
)
from bg_agents.defs.reminders import rules
from bg_agents.defs.reminders.customer_email import CustomerReminderMail, render_customer_reminder
from bg_agents.defs.reminders.settings import team_settings_many
from bg_agents.lib import clock
from bg_agents.lib.db.claims import claim_due
from bg_agents.lib.db.models import OPEN_INVOICE, Customer, Invoice, Reminder, Team
from bg_agents.lib.db.upsert import insert_missing
from bg_agents.lib.delivery_slots import day_due_at, day_slot

AUDIENCE = "customer"
BATCH = 500
CHUNK = 50  # rows claimed, re-read, sent and recorded together
# A row is sent only while this much of its lease is left: time for the send itself.
LEASE_MARGIN = timedelta(seconds=30)
TEAM_GROUP = 5_000  # team ids in one claim's IN list
_monotonic = time.monotonic  # the pass's stopwatch (tests move it to expire a lease)
# A customer reminder that went out or was on its way: a later step of an invoice paid since then
# is recorded skipped_paid (a payment stopped the dunning), not silently dropped.
_ACTIVE = ("pending", "sending", "failed", "sent", "dead")
_SENDABLE = ("pending", "failed", "sending")


@dataclass
class CustomerQueueResult:
    queued: int = 0
    skipped_paid: int = 0
    skipped_late: int = 0


@dataclass
class CustomerSendResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped_paid: int = 0
    skipped_opt_out: int = 0
    skipped_late: int = 0

    def as_metadata(self) -> dict[str, int]:
        return {
            "customers_emailed": self.sent,
            "customer_retries_scheduled": self.retried,
            "customer_dead_letters": self.dead,
            "customer_skipped_paid": self.skipped_paid,
            "customer_skipped_opt_out": self.skipped_opt_out,
            "customer_skipped_late": self.skipped_late,
        }


@dataclass(frozen=True)
class PlannedCustomerReminder:
    """One line of ``reminders preview``: what a customer is (or was) sent, and when."""

    key: str
    invoice_id: int
    invoice_number: str
    customer: str
    to_address: str
    kind: str
    amount_due: Decimal
    currency: str
    due_at: datetime  # UTC
    due_local: datetime  # the team's wall clock
    status: str  # "planned", or the stored reminder's status


def _owed(invoice: Any) -> Decimal:
    """What is left to pay (the amount a reminder names)."""
    return Decimal(invoice.amount) - Decimal(invoice.amount_paid or 0)


def _is_owed(invoice: Any) -> bool:
    """``rules.owed``, the one definition of "still owed", for an invoice row."""
    return rules.owed(invoice.status, Decimal(invoice.amount), Decimal(invoice.amount_paid or 0))


def _candidates(
    conn: Connection, local_date: date, team_ids: list[int], *, lock: bool
) -> list[tuple[Any, int]]:
    """(row, step) for every invoice of an opted-in customer of a team with customer reminders
    on whose due date plus one of the team's steps is ``local_date``; open and paid invoices
    (void ones never). ``lock``: the invoices' rows are locked (PostgreSQL) until commit, so a
    payment cannot land between this read and the insert."""
    settings = {t: s for t, s in team_settings_many(conn, team_ids).items() if s.customer_reminders}
    if not settings:
        return []
    all_steps = {step for s in settings.values() for step in s.steps}
    due_dates = sorted({local_date - timedelta(days=step) for step in all_steps})
    query = (
        sa.select(
            Invoice.id,
            Invoice.team_id,
            Invoice.number,
            Invoice.amount,
            Invoice.amount_paid,
            Invoice.currency,
            Invoice.status,
            Invoice.due_date,
            Customer.name.label("customer_name"),
            Customer.email,
        )
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(
            Invoice.team_id.in_(list(settings)),
            Invoice.due_date.in_(due_dates),
            Invoice.status.in_((*OPEN_INVOICE, "paid")),
            Customer.reminders_opt_in.is_(True),
            Customer.email.is_not(None),
            Customer.email != "",
        )
        .order_by(Invoice.id)
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=Invoice)
    out = []
    for row in conn.execute(query).all():
        for step in rules.customer_steps_due(row.due_date, local_date, settings[row.team_id].steps):
            out.append((row, step))
    return out


def _already_reminded(conn: Connection, invoice_ids: list[int]) -> set[int]:
    """Invoices with a customer reminder decided to go out (sent or on its way)."""
    if not invoice_ids:
        return set()
    return set(
        conn.execute(
            sa.select(Reminder.invoice_id).where(
                Reminder.invoice_id.in_(invoice_ids),
                Reminder.audience == AUDIENCE,
                Reminder.status.in_(_ACTIVE),
            )
        ).scalars()
    )


def queue_customer_reminders(
    conn: Connection,
    local_date: date,
    slot: str,
    team_ids: list[int],
    now: datetime,
    *,
    decision: str,
    run_id: str | None = None,
) -> CustomerQueueResult:
    """Store the day's customer reminders for the teams of ``slot`` (teams of another slot that
    day are left to their own unit). ``decision``: ``deliver`` (rows wait for the sender) or
    ``skip`` (the catch-up window has passed: recorded ``skipped_late``, never sent). A paid
    invoice whose customer was already being reminded records ``skipped_paid`` for the step the
    payment made unnecessary; an invoice paid before any reminder records nothing."""
    if decision not in ("deliver", "skip"):
        raise ValueError(f"decision is 'deliver' or 'skip', not {decision!r}")
    result = CustomerQueueResult()
    zones = dict(
        conn.execute(sa.select(Team.id, Team.time_zone).where(Team.id.in_(list(team_ids)))).all()
    )
    in_slot = [
        t for t, zone in zones.items() if day_slot(local_date, rules.REMINDER_TIME, zone) == slot
    ]
    candidates = _candidates(conn, local_date, in_slot, lock=True)
    if not candidates:
        return result
    due_at = day_due_at(local_date, rules.REMINDER_TIME, slot)
    reminded = _already_reminded(conn, [row.id for row, _ in candidates if not _is_owed(row)])
    rows: list[dict[str, Any]] = []
    for row, step in candidates:
        if _is_owed(row):
            status = "pending" if decision == "deliver" else "skipped_late"
        elif row.id in reminded:
            status = "skipped_paid"
        else:
            continue
        rows.append(
            {
                "key": rules.customer_key(row.id, step),
                "team_id": row.team_id,
                "invoice_id": row.id,
                "audience": AUDIENCE,
                "kind": rules.customer_kind(step),
                "local_date": local_date,
                "slot": slot,
                "due_at": due_at,
                "status": status,
                "amount_due": max(_owed(row), Decimal(0)),
                "currency": row.currency,
                "to_address": row.email,
                "attempts": 0,
                "next_attempt_at": due_at if status == "pending" else None,
                "run_id": run_id,
                "created_at": now,
            }
        )
    if not rows:
        return result
    # Grouped by status, so the counts say what this call wrote (a racing run's rows excluded).
    for status, field in (("pending", "queued"), ("skipped_late", "skipped_late"),
                          ("skipped_paid", "skipped_paid")):  # fmt: skip
        group = [r for r in rows if r["status"] == status]
        if group:
            setattr(result, field, insert_missing(conn, Reminder, group, key=["key"]))
    return result


# -- sending -----------------------------------------------------------------------------------


def _due(now: datetime, team_ids: Sequence[int] | None = None) -> sa.ColumnElement[bool]:
    """Sendable now: pending or failed rows whose time has come, and claimed rows whose lease ran
    out (their sender died mid-send). ``next_attempt_at`` holds all three times. ``team_ids``:
    only those teams' rows (None: every team's)."""
    where = sa.and_(
        Reminder.status.in_(_SENDABLE),
        Reminder.next_attempt_at <= now,
        Reminder.audience == AUDIENCE,
    )
    return where if team_ids is None else sa.and_(where, Reminder.team_id.in_(list(team_ids)))


def _skip_late(
    engine: Engine, now: datetime, window: timedelta, team_ids: Sequence[int] | None
) -> int:
    """Record ``skipped_late`` for due rows whose 09:00 is more than ``window`` ago (e-mail was
    off, or retries ran past it): a reminder that late would arrive out of context."""
    with engine.begin() as conn:
        return conn.execute(
            sa.update(Reminder)
            .where(_due(now, team_ids), Reminder.due_at < now - window)
            .values(status="skipped_late", next_attempt_at=None)
        ).rowcount


def _claim(
    engine: Engine,
    now: datetime,
    limit: int,
    team_ids: Sequence[int] | None = None,
    window: timedelta | None = None,
) -> list[Any]:
    """Take up to ``limit`` due rows (none older than ``window``) under a lease until ``now +
    LEASE``; each claim counts one attempt, so ``attempts`` tells this claim from a later one
    that took the row over."""
    due = _due(now, team_ids)
    if window is not None:
        due = sa.and_(due, Reminder.due_at >= now - window)
    with engine.begin() as conn:
        return claim_due(conn, Reminder, due, limit, now, LEASE)


def _step(kind: str) -> int:
    side, _, days = kind.partition("_")
    return -int(days) if side == "before" else int(days)


def _current(engine: Engine, rows: list[Any], now: datetime) -> dict[int, tuple[str, Any, dict]]:
    """Re-read what the rows' e-mails depend on, just before they are sent: per row id (outcome,
    the mail or None, values to record). Outcomes: ``send``, ``skipped_paid``,
    ``skipped_opt_out``."""
    with engine.connect() as conn:
        found = {
            r.id: r
            for r in conn.execute(
                sa.select(
                    Invoice.id,
                    Invoice.number,
                    Invoice.amount,
                    Invoice.amount_paid,
                    Invoice.status,
                    Invoice.due_date,
                    Invoice.currency,
                    Customer.name.label("customer_name"),
                    Customer.email,
                    Customer.locale.label("customer_locale"),
                    Customer.reminders_opt_in,
                    Team.name.label("team_name"),
                    Team.locale.label("team_locale"),
                    Team.time_zone,
                )
                .join(Team, Team.id == Invoice.team_id)
                .outerjoin(Customer, Customer.id == Invoice.customer_id)
                .where(Invoice.id.in_({row.invoice_id for row in rows}))
            ).all()
        }
        settings = team_settings_many(conn, [row.team_id for row in rows])
    out: dict[int, tuple[str, Any, dict]] = {}
    for row in rows:
        invoice, team = found.get(row.invoice_id), settings[row.team_id]
        if invoice is None or not _is_owed(invoice):
            out[row.id] = ("skipped_paid", None, {})
            continue
        if not (invoice.reminders_opt_in and invoice.email and team.customer_reminders):
            out[row.id] = ("skipped_opt_out", None, {})
            continue
        owed = _owed(invoice)
        # Days past due as of the team's date when it is sent: a retry the next day says one more.
        sent_on = now.astimezone(ZoneInfo(invoice.time_zone)).date()
        mail = CustomerReminderMail(
            key=row.key,
            to_address=invoice.email,
            customer_name=invoice.customer_name,
            team_name=invoice.team_name,
            invoice_number=invoice.number,
            amount_due=owed,
            amount_total=Decimal(invoice.amount),
            currency=invoice.currency,
            due_date=invoice.due_date,
            step=_step(row.kind),
            locales=(invoice.customer_locale, invoice.team_locale),
            payment_details=team.payment_details,
            reply_to=team.reply_to,
            created_at=now,  # the Date header: when it is sent (a retry is dated anew)
            days_overdue=(sent_on - invoice.due_date).days,
        )
        out[row.id] = ("send", mail, {"amount_due": owed, "to_address": invoice.email})
    return out


def _record(engine: Engine, outcomes: list[tuple[Any, dict[str, Any]]]) -> int:
    """One transaction for a chunk, each row only while the claim is still ours (``sending``
    with the attempt count of our claim): a row another sender took over after our lease ran
    out keeps that sender's outcome. Returns how many were recorded."""
    recorded = 0
    with engine.begin() as conn:
        for row, values in outcomes:
            recorded += conn.execute(
                sa.update(Reminder)
                .where(
                    Reminder.id == row.id,
                    Reminder.status == "sending",
                    Reminder.attempts == row.attempts,
                )
                .values(**values)
            ).rowcount
    return recorded


def _configured_window() -> timedelta:
    from bg_agents.lib.settings import reminders_catch_up_hours

    return timedelta(hours=reminders_catch_up_hours())


def send_customer_reminders(
    engine: Engine,
    now: datetime | None = None,
    *,
    window: timedelta | None = None,
    team_ids: Sequence[int] | None = None,
    smtp: SmtpConfig | None = None,
    limit: int = BATCH,
    max_attempts: int = MAX_ATTEMPTS,
) -> CustomerSendResult:
    """E-mail the customer reminders due at ``now`` (at most ``limit``) over one SMTP connection.
    ``window``: the catch-up window (None: ``BG_AGENTS_REMINDERS_CATCH_UP_HOURS``, as
    ``run.catch_up_window()``); a row whose 09:00 is older is recorded ``skipped_late``, never
    sent. ``team_ids``: only those teams' rows (a run's unit; None: every team, the retry job).
    ``smtp``: default the configured server; without one nothing is claimed and rows wait.

    Rows are claimed ``CHUNK`` at a time (claim, re-read, send, record, next claim), so a lease
    covers one chunk's e-mails, not a whole pass. Each chunk's invoices, customers and settings
    are re-read right before its e-mails (a payment recorded more than a few hundred
    milliseconds before a send stops it). A row whose lease ran out before its turn is not sent
    (another sender may have taken it over), and outcomes are recorded only over a claim still
    ours. A crash, or a send slower than the lease, can repeat the e-mails of one chunk (at most
    those already sent, each with its Message-ID for the receiver to recognize)."""
    from bg_agents.lib.settings import load_settings

    now = now or clock.now()
    window = _configured_window() if window is None else window
    result = CustomerSendResult()
    if smtp is None:
        settings = load_settings()
        if not email_configured(settings):
            return result  # rows wait for e-mail; any too late by then are skipped then
        smtp = SmtpConfig.from_settings(settings)
    # A unit's teams in groups: one IN list stays far below SQLite's bound on parameters.
    groups: list[Sequence[int] | None] = [None]
    if team_ids is not None:
        ids = list(team_ids)
        groups = [ids[i : i + TEAM_GROUP] for i in range(0, len(ids), TEAM_GROUP)]
    for group in groups:
        result.skipped_late += _skip_late(engine, now, window, group)
    started = _monotonic()
    left = limit
    with SmtpSender(smtp) as sender:
        while left > 0 and groups:
            # The pass's clock moves on with the real one: a later chunk's lease starts later.
            claimed_at = now + timedelta(seconds=_monotonic() - started)
            chunk = _claim(engine, claimed_at, min(CHUNK, left), groups[0], window)
            if not chunk:
                groups.pop(0)
                continue
            left -= len(chunk)
            lease_ends = _monotonic() + (LEASE - LEASE_MARGIN).total_seconds()
            current = _current(engine, chunk, claimed_at)
            recorded = []
            for row in chunk:
                if _monotonic() >= lease_ends:
                    break  # the rest may be another sender's by now: left to the next claim
                outcome, mail, values = current[row.id]
                if mail is None:  # nothing sent: not an attempt
                    values = {"status": outcome, "next_attempt_at": None,
                              "attempts": row.attempts - 1}  # fmt: skip
                    result.skipped_paid += outcome == "skipped_paid"
                    result.skipped_opt_out += outcome == "skipped_opt_out"
                else:
                    values |= _sent_or_failed(
                        sender, mail, smtp.sender, row, claimed_at, max_attempts
                    )
                    result.sent += values["status"] == "sent"
                    result.retried += values["status"] == "failed"
                    result.dead += values["status"] == "dead"
                recorded.append((row, values))
            _record(engine, recorded)
    return result


def _sent_or_failed(
    sender: SmtpSender, mail: CustomerReminderMail, from_addr: str, row: Any, now: datetime,
    max_attempts: int,
) -> dict[str, Any]:  # fmt: skip
    try:
        refused = sender.send(render_customer_reminder(mail, from_addr))
        error = next(iter(refused.values()), None)
    except DeliveryError as exc:
        error = exc
    except ValueError as exc:  # an address that cannot be written
        error = DeliveryError(str(exc), transient=False)
    if error is None:
        return {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
    if error.transient and row.attempts < max_attempts:
        wait = backoff(row.key, row.attempts)
        return {"status": "failed", "next_attempt_at": now + wait, "last_error": str(error)[:500]}
    return {"status": "dead", "next_attempt_at": None, "last_error": str(error)[:500]}


def retries_due(conn: Connection, now: datetime) -> int:
    """Customer e-mails a send pass would take at ``now``: retries whose backoff ended, claims
    whose lease ran out, and rows that waited for SMTP to be configured (the day's run sends its
    own; these need a pass of their own)."""
    return int(conn.execute(sa.select(sa.func.count()).where(_due(now))).scalar_one())


def plan_customer(
    conn: Connection, local_date: date, team_id: int
) -> list[PlannedCustomerReminder]:
    """Read only: the customer reminders of ``team_id`` on ``local_date``, for ``bg-agents
    reminders preview``: first every stored one with its status (also one whose invoice or
    customer no longer qualifies: an e-mail already sent stays visible), then the candidates not
    stored yet as ``planned``."""
    zone = conn.execute(sa.select(Team.time_zone).where(Team.id == team_id)).scalar()
    if zone is None:
        raise ValueError(f"no team with id {team_id}")
    tz = ZoneInfo(zone)
    stored = conn.execute(
        sa.select(
            Reminder.key, Reminder.invoice_id, Reminder.kind, Reminder.status, Reminder.due_at,
            Reminder.amount_due, Reminder.currency, Reminder.to_address, Invoice.number,
            Customer.name.label("customer_name"),
        )
        .join(Invoice, Invoice.id == Reminder.invoice_id)
        .outerjoin(Customer, Customer.id == Invoice.customer_id)
        .where(
            Reminder.team_id == team_id,
            Reminder.local_date == local_date,
            Reminder.audience == AUDIENCE,
        )
        .order_by(Reminder.id)
    ).all()  # fmt: skip
    out = [
        PlannedCustomerReminder(
            key=r.key,
            invoice_id=r.invoice_id,
            invoice_number=r.number,
            customer=r.customer_name,
            to_address=r.to_address,
            kind=r.kind,
            amount_due=Decimal(r.amount_due),
            currency=r.currency,
            due_at=r.due_at,
            due_local=r.due_at.astimezone(tz),
            status=r.status,
        )
        for r in stored
    ]
    keys = {r.key for r in stored}
    slot = day_slot(local_date, rules.REMINDER_TIME, zone)
    due_at = day_due_at(local_date, rules.REMINDER_TIME, slot)
    for row, step in _candidates(conn, local_date, [team_id], lock=False):
        key = rules.customer_key(row.id, step)
        if key in keys or not _is_owed(row):
            continue
        out.append(
            PlannedCustomerReminder(
                key=key,
                invoice_id=row.id,
                invoice_number=row.number,
                customer=row.customer_name,
                to_address=row.email,
                kind=rules.customer_kind(step),
                amount_due=_owed(row),
                currency=row.currency,
                due_at=due_at,
                due_local=due_at.astimezone(tz),
                status="planned",
            )
        )
    return out
