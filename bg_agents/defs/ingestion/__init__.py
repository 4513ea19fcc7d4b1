"""Ingestion: providers (simulated bank feed, import files) to validated, upserted transactions.

Public surface: the CSV reading rules `bg-agents match` shares with imports.
"""

from bg_agents.defs.ingestion.csv_file import decode_text, parse_amount_text, sniff_delimiter
from bg_agents.defs.ingestion.formats import ImportFileError

__all__ = ["ImportFileError", "decode_text", "parse_amount_text", "sniff_delimiter"]
