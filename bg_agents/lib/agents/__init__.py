"""Agent runtime: a tool-loop agent on the openai client, an offline backend, team-scoped tools.

Background workers and the interactive CLI build agents from the same pieces: a prompt file, a
list of tools bound to one team, a backend, limits. The model only *proposes*: every tool
validates its arguments and re-checks business rules before it reads or writes anything.
"""
