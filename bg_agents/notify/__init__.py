"""Notifications: an outbox with idempotency keys, and the channels that deliver from it."""
