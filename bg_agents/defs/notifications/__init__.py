"""Notifications: an outbox with idempotency keys, and the channels that deliver from it."""

from bg_agents.defs.notifications.outbox import Message, deliver_in_app, enqueue

__all__ = ["Message", "deliver_in_app", "enqueue"]
