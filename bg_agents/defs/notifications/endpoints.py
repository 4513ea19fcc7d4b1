"""A team's webhook endpoints: added with a secret shown once, listed without it, removed softly,
their dead deliveries queued again on request.

Removing keeps the row (inactive), so past deliveries still name their endpoint; a removed
endpoint's deliveries not yet sent are suppressed at once, so it gets nothing more. Adding a
removed URL again brings it back with a new secret.
"""

from __future__ import annotations

import re
import secrets as random_secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.lib.db.models import Notification, WebhookEndpoint
from bg_agents.lib.urls import check_team_url

MIN_SECRET, MAX_SECRET = 16, 128  # shorter is guessable; longer does not fit the column
SECRET_PREFIX = "whsec_"
_SECRET_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: survives any header
# Deliveries that have not left yet (pending, waiting for quiet hours to end, or to be retried).
UNSENT = ("pending", "held", "failed")


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as shown to people and commands: everything but its secret."""

    id: int
    team_id: int
    url: str
    slack: bool
    active: bool
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "url": self.url,
            "slack": self.slack,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
        }


_COLUMNS = (
    WebhookEndpoint.id,
    WebhookEndpoint.team_id,
    WebhookEndpoint.url,
    WebhookEndpoint.slack,
    WebhookEndpoint.active,
    WebhookEndpoint.created_at,
)


def _endpoint(row: sa.Row) -> Endpoint:
    return Endpoint(*row)


def _check_secret(secret: str) -> str:
    if not MIN_SECRET <= len(secret) <= MAX_SECRET:
        raise ValueError(f"a webhook secret must be {MIN_SECRET}-{MAX_SECRET} characters long")
    if not _SECRET_CHARS.fullmatch(secret):
        raise ValueError("a webhook secret must be printable ASCII without spaces")
    return secret


def new_secret() -> str:
    """A random signing secret (256 bits)."""
    return SECRET_PREFIX + random_secrets.token_urlsafe(32)


def add_endpoint(
    conn: Connection,
    team_id: int,
    url: str,
    *,
    secret: str | None = None,
    slack: bool = False,
) -> tuple[Endpoint, str]:
    """Add ``url`` for the team; return it and its signing secret (shown once, stored only here).

    A new random secret unless one is given. The same URL twice is a ValueError, unless it was
    removed: then it is active again, with the new secret and ``slack`` flag.
    """
    url = check_team_url(url)
    secret = new_secret() if secret is None else _check_secret(secret)
    existing = conn.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.active).where(
            WebhookEndpoint.team_id == team_id, WebhookEndpoint.url == url
        )
    ).first()
    if existing is not None and existing.active:
        raise ValueError(f"this team already has a webhook for that URL (endpoint {existing.id})")
    values = {"secret": secret, "slack": slack, "active": True}
    if existing is not None:
        conn.execute(
            sa.update(WebhookEndpoint).where(WebhookEndpoint.id == existing.id).values(values)
        )
        endpoint_id = existing.id
    else:
        try:
            with conn.begin_nested():  # a racing add of the same URL must not void the caller's
                endpoint_id = conn.execute(
                    sa.insert(WebhookEndpoint)
                    .values(team_id=team_id, url=url, **values)
                    .returning(WebhookEndpoint.id)
                ).scalar_one()
        except sa.exc.IntegrityError:
            raise ValueError("this team already has a webhook for that URL") from None
    row = conn.execute(sa.select(*_COLUMNS).where(WebhookEndpoint.id == endpoint_id)).one()
    return _endpoint(row), secret


def list_endpoints(conn: Connection, team_id: int) -> list[Endpoint]:
    """The team's endpoints, removed ones included (``active`` False), oldest first."""
    rows = conn.execute(
        sa.select(*_COLUMNS).where(WebhookEndpoint.team_id == team_id).order_by(WebhookEndpoint.id)
    )
    return [_endpoint(row) for row in rows]


def delivery_health(conn: Connection, endpoint_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per endpoint: its deliveries by status (delivered, failed = retrying, dead, ...) and the
    last error of a failed or dead one, so a dead letter is visible where the endpoint is."""
    health: dict[int, dict[str, Any]] = {
        i: {"statuses": {}, "last_error": None} for i in endpoint_ids
    }
    if not endpoint_ids:
        return health
    for endpoint_id, status, count in conn.execute(
        sa.select(Notification.endpoint_id, Notification.status, sa.func.count())
        .where(Notification.endpoint_id.in_(endpoint_ids))
        .group_by(Notification.endpoint_id, Notification.status)
    ):
        health[endpoint_id]["statuses"][status] = count
    for endpoint_id, error in conn.execute(
        sa.select(Notification.endpoint_id, Notification.last_error)
        .where(
            Notification.endpoint_id.in_(endpoint_ids),
            Notification.status.in_(("failed", "dead")),
            Notification.last_error.is_not(None),
        )
        .order_by(Notification.id)
    ):
        health[endpoint_id]["last_error"] = error  # the newest wins
    return health


def _find(conn: Connection, team_id: int, endpoint_id_or_url: int | str) -> Endpoint:
    """The team's endpoint with this id (a number) or URL, or a ValueError naming neither."""
    ref = str(endpoint_id_or_url).strip()
    if ref.isascii() and ref.isdigit() and len(ref) <= 18:  # an id fits a BIGINT
        where, what = WebhookEndpoint.id == int(ref), f"endpoint {int(ref)}"
    else:  # the URL is not echoed: a Slack webhook's URL is itself a secret
        where, what = WebhookEndpoint.url == ref, "endpoint with that URL"
    row = conn.execute(
        sa.select(*_COLUMNS).where(WebhookEndpoint.team_id == team_id, where)
    ).first()
    if row is None:
        raise ValueError(f"this team has no webhook {what}; `bg-agents webhooks list` shows them")
    return _endpoint(row)


def remove_endpoint(
    conn: Connection, team_id: int, endpoint_id_or_url: int | str
) -> tuple[Endpoint, bool]:
    """Deactivate the team's endpoint with this id (a number) or URL; return it and whether it
    was active. Its unsent deliveries are suppressed, so it is sent nothing more."""
    endpoint = _find(conn, team_id, endpoint_id_or_url)
    if not endpoint.active:
        return endpoint, False
    conn.execute(
        sa.update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id).values(active=False)
    )
    conn.execute(
        sa.update(Notification)
        .where(Notification.endpoint_id == endpoint.id, Notification.status.in_(UNSENT))
        .values(status="suppressed", next_attempt_at=None, last_error="endpoint removed")
    )
    return replace(endpoint, active=False), True


def resend_dead(
    conn: Connection, team_id: int, endpoint_id_or_url: int | str, since: datetime | None = None
) -> tuple[Endpoint, int]:
    """Queue the endpoint's dead deliveries (created at ``since`` or later) to be sent again,
    with a fresh set of attempts; return the endpoint and how many. For a receiver that was
    down longer than the retries last: each keeps its idempotency key (``X-BG-Delivery``), so a
    receiver that did get one drops the repeat. Running it again queues nothing more."""
    endpoint = _find(conn, team_id, endpoint_id_or_url)
    if not endpoint.active:
        raise ValueError(
            f"webhook endpoint {endpoint.id} was removed; add its URL again to send to it"
        )
    dead = sa.and_(
        Notification.endpoint_id == endpoint.id,
        Notification.channel == "webhook",
        Notification.status == "dead",
    )
    if since is not None:
        dead = sa.and_(dead, Notification.created_at >= since)
    queued = conn.execute(
        sa.update(Notification)
        .where(dead)
        .values(status="pending", attempts=0, next_attempt_at=None)
    ).rowcount
    return endpoint, int(queued)
