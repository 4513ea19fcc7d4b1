"""Fixtures the notification tests share: the webhook channel's receiver and silent endpoint."""

from bg_agents_tests.notifications.test_webhook_channel import receiver, silent

__all__ = ["receiver", "silent"]
