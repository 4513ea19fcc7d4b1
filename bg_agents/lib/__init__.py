"""Shared code every domain may use: settings, the clock, money, weeks, delivery slots, the
database and the agent runtime. Nothing here imports Dagster or a domain
(see docs/architecture.md).
"""
