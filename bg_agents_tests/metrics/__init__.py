"""Metrics: weekly_metrics and its automation."""
