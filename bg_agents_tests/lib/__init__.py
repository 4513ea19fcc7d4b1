"""Shared code: settings, clock, money, delivery slots, the database, the agent runtime."""
