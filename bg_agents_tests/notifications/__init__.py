"""Notifications: the outbox."""
