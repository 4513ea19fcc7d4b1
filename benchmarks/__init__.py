"""The benchmarks behind the README's tables; see each script's docstring."""

from __future__ import annotations

import importlib.util
import sys


def require_peer(module: str) -> None:
    """Stop with the fix, not a traceback, when a peer library of the ``bench`` extra is missing."""
    if importlib.util.find_spec(module) is None:
        sys.exit(
            f"{module} is not installed: it is in the bench extra "
            "(make bench installs it, or pip install --require-hashes -r requirements-bench.lock)"
        )
