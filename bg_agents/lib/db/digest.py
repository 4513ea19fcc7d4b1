"""A digest of what a query returns: an asset's data version, so a run that stored nothing new
reports the version it had and sets off nothing downstream."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def content_digest(conn: Connection, query: sa.Select) -> str:
    """SHA-256 (hex, first 32 characters) over the rows ``query`` returns, in its order (give it
    an ORDER BY). Stable for the same rows in the same database."""
    h = hashlib.sha256()
    for row in conn.execute(query):
        h.update(repr(tuple(row)).encode())
        h.update(b"\n")
    return h.hexdigest()[:32]
