"""The ``bg-agents`` command line, one module per command group (see ``main.py``)."""

from bg_agents.cli.main import main

__all__ = ["main"]
