"""The bg-agents command."""
