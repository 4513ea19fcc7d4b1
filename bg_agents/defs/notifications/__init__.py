"""Notifications: producers ``notify`` a team of events; the engine batches them by the policy
(``policy.toml``) into single messages or digests and delivers them in-app, by e-mail and to
webhooks, once each."""

from bg_agents.defs.notifications.events import Event, notify

__all__ = ["Event", "notify"]
