"""Analyst: the `bg-agents ask` agent answering a team's questions with read-only tools."""
