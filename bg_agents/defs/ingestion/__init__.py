"""Ingestion: providers (simulated bank feed, import files) to validated, upserted transactions.

Public surface: the error an unusable import file raises.
"""

from bg_agents.defs.ingestion.formats import ImportFileError

__all__ = ["ImportFileError"]
