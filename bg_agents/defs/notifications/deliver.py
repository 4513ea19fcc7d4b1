"""``deliver``: send the due e-mail and webhook deliveries; retry with backoff; give up in time.

A delivery is claimed before it is sent (``sending``, with a lease): two deliverers never take the
same row (PostgreSQL locks and skips claimed rows; SQLite writes one at a time), and a deliverer
that died mid-send leaves rows whose lease expires and whose send is retried. At-least-once is all
a network allows, so each send carries the delivery's key (webhook ``X-BG-Delivery``, e-mail
``Message-ID``) for the receiver to drop a repeat.

Preferences are read again at send time: an unsubscribe or a channel turned off since the flush is
honoured at once (``suppressed``), and quiet hours that began since hold the e-mail again. A
transient failure (timeout, 5xx, SMTP 4xx) is retried after an exponential backoff with jitter,
never sooner than a receiver's ``Retry-After``; after ``MAX_ATTEMPTS`` attempts, or on a permanent
failure (HTTP 4xx, SMTP 5xx), the delivery is ``dead`` with its last error. Webhooks go out
concurrently, so an endpoint that never answers costs its timeout, not everyone's.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.notifications.channels.base import DeliveryError, Outgoing
from bg_agents.defs.notifications.preferences import Preferences
from bg_agents.lib import clock
from bg_agents.lib.db.claims import claim_due
from bg_agents.lib.db.models import (
    SYSTEM_TEAM_PREFIX,
    Notification,
    Team,
    User,
    WebhookEndpoint,
)

# 19 waits of 30 s, 1, 2, 4 ... min, then 2 h each: 12-24 h with the jitter, so a receiver or a
# mail server down for a night loses nothing (6 attempts gave up after 8-15 minutes).
MAX_ATTEMPTS = 20
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)
# How long a claimed delivery is left to its deliverer before another one may retry it.
LEASE = timedelta(minutes=5)
BATCH = 500
DUE_STATUSES = ("pending", "failed", "held", "sending")


@dataclass
class DeliverResult:
    delivered: Counter[str] = field(default_factory=Counter)  # by channel
    retried: int = 0
    dead: int = 0
    suppressed: int = 0
    held: int = 0
    # Why the retried and dead ones failed ("email: Connection refused"), for the person
    # running a pass: "2 to retry" alone hides a mail server that is down or misconfigured.
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, other: DeliverResult) -> None:
        self.delivered.update(other.delivered)
        self.errors.update(other.errors)
        self.retried += other.retried
        self.dead += other.dead
        self.suppressed += other.suppressed
        self.held += other.held

    def as_metadata(self) -> dict[str, int]:
        return {
            **{f"delivered_{channel}": n for channel, n in sorted(self.delivered.items())},
            "retries_scheduled": self.retried,
            "dead_letters": self.dead,
            "suppressed": self.suppressed,
            "held_for_quiet_hours": self.held,
        }


def backoff(key: str, attempts: int) -> timedelta:
    """Exponential (30 s, 1 min, 2 min, ... up to 2 h) with jitter in [50 %, 100 %] that is a
    function of the delivery and attempt, so retries of many deliveries spread out and a test can
    predict them."""
    delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    spread = int.from_bytes(hashlib.sha256(f"{key}:{attempts}".encode()).digest()[:4], "big")
    return delay * (0.5 + 0.5 * spread / 0xFFFFFFFF)


def resend_dead_email(conn: Any, user_id: int, since: datetime | None = None) -> int:
    """Queue the member's dead e-mail deliveries (created at ``since`` or later) to be sent
    again with fresh attempts; return how many. For an SMTP server out longer than the retries
    last: each keeps its ``Message-ID``, and preferences are read again when it is sent (an
    unsubscribed member gets nothing). An address the server refused for good is refused again
    and is dead after one attempt. Running it again queues nothing more."""
    dead = [
        Notification.user_id == user_id,
        Notification.channel == "email",
        Notification.status == "dead",
    ]
    if since is not None:
        dead.append(Notification.created_at >= since)
    queued = conn.execute(
        sa.update(Notification).where(*dead).values(status="pending", attempts=0,
                                                    next_attempt_at=None)
    ).rowcount  # fmt: skip
    return int(queued)


def _claim(engine: Engine, now: datetime, limit: int) -> list[Any]:
    due = sa.and_(
        Notification.channel.in_(("email", "webhook")),
        Notification.status.in_(DUE_STATUSES),
        sa.or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
    )
    with engine.begin() as conn:
        return claim_due(conn, Notification, due, limit, now, LEASE)


def deliver(
    engine: Engine,
    now: datetime | None = None,
    *,
    smtp: Any = None,
    limit: int = BATCH,
    max_attempts: int = MAX_ATTEMPTS,
    webhook_timeout: Any = None,
) -> DeliverResult:
    """Send what is due at ``now`` (at most ``limit`` deliveries). ``smtp``: an ``SmtpConfig``
    (default: the configured server; without one, due e-mails wait); ``webhook_timeout``: an
    ``httpx.Timeout`` instead of the channel's defaults."""
    from bg_agents.defs.notifications.channels.email import SmtpConfig, email_configured
    from bg_agents.lib.settings import load_settings

    now = now or clock.now()
    settings = load_settings()
    if smtp is None and email_configured(settings):
        smtp = SmtpConfig.from_settings(settings)
    result = DeliverResult()
    rows = _claim(engine, now, limit)
    if not rows:
        return result
    with engine.connect() as conn:
        teams = {
            t.id: t
            for t in conn.execute(
                sa.select(Team).where(Team.id.in_({r.team_id for r in rows}))
            ).all()
        }
        users = {
            u.id: u
            for u in conn.execute(
                sa.select(User).where(User.id.in_({r.user_id for r in rows if r.user_id}))
            ).all()
        }
        endpoints = {
            e.id: e
            for e in conn.execute(
                sa.select(WebhookEndpoint).where(
                    WebhookEndpoint.id.in_({r.endpoint_id for r in rows if r.endpoint_id})
                )
            ).all()
        }
    outcomes: dict[int, tuple[str, DeliveryError | None, datetime | None]] = {}
    emails, hooks = [], []
    for row in rows:
        team = teams[row.team_id]
        if row.channel == "webhook":
            endpoint = endpoints.get(row.endpoint_id)
            if endpoint is None or not endpoint.active:
                outcomes[row.id] = ("suppressed", None, None)
            else:
                hooks.append((row, endpoint, _outgoing(row, team, team.locale)))
            continue
        user = users.get(row.user_id)
        prefs = Preferences.of(user.notification_prefs if user else {})
        if user is None or not prefs.allows(row.category, "email"):
            outcomes[row.id] = ("suppressed", None, None)
            continue
        quiet_end = prefs.quiet_until(now, user.time_zone or team.time_zone)
        if quiet_end:
            outcomes[row.id] = ("held", None, quiet_end)
            continue
        emails.append((row, user, _outgoing(row, team, user.locale or team.locale)))
    outcomes.update(_send_emails(emails, smtp, settings, now))
    outcomes.update(_send_webhooks(hooks, webhook_timeout))
    _record(engine, rows, outcomes, now, max_attempts, result)
    return result


def _outgoing(row: Any, team: Any, locale: str) -> Outgoing:
    payload = row.payload or {}
    return Outgoing(
        key=row.idempotency_key,
        team_slug=team.slug,
        team_name=team.name,
        category=row.category,
        title=row.title,
        body=row.body,
        locale=locale,
        created_at=row.created_at,
        items=list(payload.get("items") or []),
        more=int(payload.get("more") or 0),
        attachment=payload.get("attachment"),
    )


def _send_emails(
    emails: list[tuple[Any, Any, Outgoing]], smtp: Any, settings: Any, now: datetime
) -> dict[int, tuple[str, DeliveryError | None, datetime | None]]:
    """Over one SMTP connection; without a server configured, the e-mails wait (``held``)."""
    from bg_agents.defs.notifications.channels.email import SmtpSender, render_email
    from bg_agents.defs.notifications.unsubscribe import unsubscribe_url

    outcomes: dict[int, tuple[str, DeliveryError | None, datetime | None]] = {}
    if not emails:
        return outcomes
    if smtp is None:
        later = now + LEASE
        return {row.id: ("held", None, later) for row, _, _ in emails}
    secret = settings.secret_key()
    with SmtpSender(smtp) as sender:
        for row, user, outgoing in emails:
            try:
                link = unsubscribe_url(settings.public_url, user.id, secret)
                message = render_email(outgoing, user.email, smtp.sender, link)
                refused = sender.send(message)
                error = next(iter(refused.values()), None)
            except DeliveryError as exc:
                error = exc
            except ValueError as exc:  # an address or link that cannot be written
                error = DeliveryError(str(exc), transient=False)
            outcomes[row.id] = (
                ("delivered", None, None) if error is None else ("error", error, None)
            )
    return outcomes


def _send_webhooks(
    hooks: list[tuple[Any, Any, Outgoing]], timeout: Any
) -> dict[int, tuple[str, DeliveryError | None, datetime | None]]:
    from bg_agents.defs.notifications.channels.webhook import (
        WebhookJob,
        WebhookSender,
        webhook_body,
    )

    if not hooks:
        return {}
    # Signed at the real time, even under a pinned clock: the receiver checks the timestamp
    # against its own clock.
    sent_at = clock.wall()
    jobs = [
        WebhookJob(endpoint.url, endpoint.secret, webhook_body(outgoing, slack=endpoint.slack),
                   row.idempotency_key, sent_at)
        for row, endpoint, outgoing in hooks
    ]  # fmt: skip
    # A team's endpoint reaches only public addresses; the operators' alert webhook (a system
    # team's, set by whoever runs the service) may be an internal relay.
    public = [not outgoing.team_slug.startswith(SYSTEM_TEAM_PREFIX) for _, _, outgoing in hooks]
    errors: list[Any] = [None] * len(jobs)
    for public_only in (True, False):
        at = [k for k, p in enumerate(public) if p == public_only]
        if not at:
            continue
        with WebhookSender(timeout=timeout, public_only=public_only) as sender:
            for k, error in zip(at, sender.send_many([jobs[k] for k in at]), strict=True):
                errors[k] = error
    return {
        row.id: ("delivered", None, None) if error is None else ("error", error, None)
        for (row, _, _), error in zip(hooks, errors, strict=True)
    }


def _record(
    engine: Engine,
    rows: list[Any],
    outcomes: dict[int, tuple[str, DeliveryError | None, datetime | None]],
    now: datetime,
    max_attempts: int,
    result: DeliverResult,
) -> None:
    with engine.begin() as conn:
        for row in rows:
            outcome, error, until = outcomes[row.id]
            values: dict[str, Any]
            if outcome == "delivered":
                values = {"status": "delivered", "delivered_at": now, "last_error": None,
                          "next_attempt_at": None}  # fmt: skip
                result.delivered[row.channel] += 1
            elif outcome in ("suppressed", "held"):
                # Not an attempt: nothing was sent.
                values = {"status": outcome, "next_attempt_at": until,
                          "attempts": row.attempts - 1}  # fmt: skip
                result.suppressed += outcome == "suppressed"
                result.held += outcome == "held"
            else:
                assert error is not None
                reason = str(error)[:500]
                result.errors[f"{row.channel}: {reason[:200]}"] += 1
                if error.transient and row.attempts < max_attempts:
                    wait = backoff(row.idempotency_key, row.attempts)
                    asked = getattr(error, "retry_after", None)
                    if asked:
                        wait = max(wait, timedelta(seconds=asked))
                    values = {"status": "failed", "next_attempt_at": now + wait,
                              "last_error": reason}  # fmt: skip
                    result.retried += 1
                else:
                    values = {"status": "dead", "next_attempt_at": None, "last_error": reason}
                    result.dead += 1
            conn.execute(
                sa.update(Notification)
                .where(Notification.id == row.id, Notification.status == "sending")
                .values(**values)
            )
