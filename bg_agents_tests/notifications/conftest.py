"""Fixtures the notification tests share: the webhook channel's silent endpoint."""

from bg_agents_tests.notifications.test_webhook_channel import silent

__all__ = ["silent"]
