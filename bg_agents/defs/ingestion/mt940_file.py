"""SWIFT MT940 statements."""

from __future__ import annotations

from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.raw import ParsedFile


def looks_like_mt940(data: bytes) -> bool:
    """Whether the bytes are this format, whatever the file's extension."""
    return False


def parse_mt940(
    data: bytes, *, sha256: str, team_ref: str, default_currency: str | None
) -> ParsedFile:
    """Every entry as a row or a rejected row with its reason; balances per statement."""
    raise ImportFileError("SWIFT MT940 statements are not read yet")
