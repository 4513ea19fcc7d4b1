"""Notifications: producers ``notify`` a team of events; the engine batches them by the policy
(``policy.toml``) into single messages or digests and delivers them in-app, by e-mail and to
webhooks, once each. The e-mail channel's sender and the engine's backoff are public too: the
reminders domain e-mails customers (who are not users) over the same SMTP setup."""

from bg_agents.defs.notifications.channels.base import DeliveryError
from bg_agents.defs.notifications.channels.email import (
    _POLICY as EMAIL_POLICY,  # header classes made once: a third of a message's rendering
)
from bg_agents.defs.notifications.channels.email import SmtpConfig, SmtpSender, email_configured
from bg_agents.defs.notifications.deliver import LEASE, MAX_ATTEMPTS, backoff
from bg_agents.defs.notifications.endpoints import new_secret
from bg_agents.defs.notifications.events import Event, notify
from bg_agents.defs.notifications.texts import Words

__all__ = [
    "EMAIL_POLICY",
    "LEASE",
    "MAX_ATTEMPTS",
    "DeliveryError",
    "Event",
    "SmtpConfig",
    "SmtpSender",
    "Words",
    "backoff",
    "email_configured",
    "new_secret",
    "notify",
]
