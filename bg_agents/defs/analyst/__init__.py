"""Analyst: the `bg-agents ask`/`chat` agent answering a team's questions with metrics' tools."""
