"""Engines and sessions for the application database (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# A PostgreSQL host that drops packets would otherwise hang a command for minutes.
CONNECT_TIMEOUT_SECONDS = 10


class DatabaseUnavailable(Exception):
    """The configured database cannot be reached or opened: a setup problem, not a bug."""


def check_connection(engine: Engine) -> None:
    """Connect once, turning a driver's error into one line that names the database."""
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig or exc).strip().splitlines()
        raise DatabaseUnavailable(
            f"cannot connect to the database {where}: {reason[0] if reason else type(exc).__name__}"
        ) from None


@functools.cache
def get_engine(url: str) -> Engine:
    """One pooled engine per URL and process; created on first use, never at import time."""
    if url.startswith("sqlite"):
        db_path = sa.engine.make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(
        driver_url(url),
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def driver_url(url: str) -> sa.engine.URL:
    """Pin a bare ``postgresql://`` to psycopg2, the driver dagster-postgres needs anyway."""
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed


@contextmanager
def temporary_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create an empty PostgreSQL database for a test or benchmark, drop it afterwards."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(driver_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        get_engine.cache_clear()  # close pooled connections before the drop
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the UI read while a run writes; the busy timeout makes concurrent writers wait
    # instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB page cache (default 2 MiB): index maintenance on million-row tables stays in memory.
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()
