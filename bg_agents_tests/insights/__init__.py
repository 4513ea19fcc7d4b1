"""Insights: facts, the agent, claims and delivery."""
