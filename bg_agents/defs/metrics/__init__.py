"""Metrics: weekly revenue, expenses and top spenders per team, computed in SQL."""
