"""ISO 20022 camt.053 statements and camt.054 notifications."""

from __future__ import annotations

from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.defs.ingestion.raw import ParsedFile


def looks_like_camt(data: bytes) -> bool:
    """Whether the bytes are this format, whatever the file's extension."""
    return False


def parse_camt(
    data: bytes, *, sha256: str, team_ref: str, default_currency: str | None
) -> ParsedFile:
    """Every entry as a row or a rejected row with its reason; balances per statement."""
    raise ImportFileError(
        "ISO 20022 camt.053 statements and camt.054 notifications are not read yet"
    )
