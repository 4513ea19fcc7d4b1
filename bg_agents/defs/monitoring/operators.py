"""The operators as a team of the notification engine, so alerts get its digests, e-mail,
webhooks (Slack), retries and dead letters without a second delivery path.

One internal team, slug ``_operators``, made on the first alert and synced on each: its members
are ``BG_AGENTS_OPERATOR_EMAILS`` (added when missing, never removed: a member's preferences and
past deliveries stay), its webhook is ``BG_AGENTS_OPERATOR_WEBHOOK_URL``. It has no transactions
or invoices, and its slug starts with ``_``: the agents that iterate teams leave system teams out
(``models.customer_teams``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bg_agents.defs.notifications import new_secret
from bg_agents.lib.db.models import SYSTEM_TEAM_PREFIX, Team, User, WebhookEndpoint
from bg_agents.lib.db.upsert import insert_missing
from bg_agents.lib.settings import OperatorSettings

OPERATORS_SLUG = f"{SYSTEM_TEAM_PREFIX}operators"  # a system team: no agent treats it as a customer
OPERATORS_NAME = "bg-agents operators"


def ensure_operators(conn: Connection, settings: OperatorSettings) -> int:
    """The operators team's id, created and synced with the settings (idempotent, race-safe: every
    row is inserted under its unique key)."""
    insert_missing(
        conn,
        Team,
        [
            {
                "slug": OPERATORS_SLUG,
                "name": OPERATORS_NAME,
                "time_zone": "UTC",
                "base_currency": "USD",
                "locale": "en_US",
            }
        ],
        ["slug"],
    )
    team_id = conn.execute(sa.select(Team.id).where(Team.slug == OPERATORS_SLUG)).scalar_one()
    if settings.emails:
        insert_missing(
            conn,
            User,
            [
                {"team_id": team_id, "email": email, "name": email.split("@")[0]}
                for email in settings.emails
            ],
            ["team_id", "email"],
        )
    if settings.webhook_url:
        insert_missing(
            conn,
            WebhookEndpoint,
            [
                {
                    "team_id": team_id,
                    "url": settings.webhook_url,
                    "secret": new_secret(),
                    "slack": settings.webhook_slack,
                    "active": True,
                }
            ],
            ["team_id", "url"],
        )
        # The Slack flag follows the setting; an endpoint removed on purpose stays removed.
        conn.execute(
            sa.update(WebhookEndpoint)
            .where(
                WebhookEndpoint.team_id == team_id,
                WebhookEndpoint.url == settings.webhook_url,
                WebhookEndpoint.slack != settings.webhook_slack,
            )
            .values(slack=settings.webhook_slack)
        )
    return int(team_id)
