"""Shared fixtures: migrated SQLite and PostgreSQL databases, a small simulated world.

PostgreSQL tests use ``BG_AGENTS_TEST_POSTGRES_URL`` (default: the local server on 127.0.0.1).
When it is unreachable they skip with the reason, unless ``BG_AGENTS_REQUIRE_POSTGRES=1`` (CI),
where they fail instead: CI must never pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# The suite never reads the developer's home: `make demo` records its first week there as the
# history start, and the Makefile exports that home, so partitions imported from it would begin
# in the demo's weeks and every test dated earlier would fail. Set before any project module is
# imported (the partitions are built at import); tests that need a home set their own.
os.environ["BG_AGENTS_HOME"] = tempfile.mkdtemp(prefix="bg_agents_test_home_")
os.environ.pop("BG_AGENTS_HISTORY_START", None)

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bg_agents.lib.db import migrate  # noqa: E402
from bg_agents.lib.db.engine import driver_url, get_engine, temporary_database  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _admin_url() -> str:
    return os.environ.get("BG_AGENTS_TEST_POSTGRES_URL", DEFAULT_PG)


def _pg_unavailable_reason() -> str | None:
    try:
        engine = sa.create_engine(driver_url(_admin_url()), connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # any driver or network error means "no server here"
        return f"PostgreSQL at {_admin_url()} is unreachable ({type(exc).__name__})"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _pg_unavailable_reason()
    if reason:
        if os.environ.get("BG_AGENTS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and BG_AGENTS_REQUIRE_POSTGRES=1 forbids skipping")
        pytest.skip(reason)
    return _admin_url()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    with temporary_database(postgres_admin_url, "bg_agents_test") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session (per worker)."""
    path = tmp_path_factory.mktemp("template") / "app.db"
    engine = get_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session (per worker): the name of the
    template each test's database is copied from."""
    with temporary_database(postgres_admin_url, "bg_agents_template") as url:
        engine = get_engine(url)
        migrate.upgrade(engine)
        engine.dispose()  # a template may have no open connection while it is copied
        yield sa.engine.make_url(url).database or ""


def _from_template(db_url: str, request: pytest.FixtureRequest) -> None:
    """Make the test's (still unused) database a copy of the migrated template: a file copy or
    CREATE DATABASE ... TEMPLATE costs a fraction of running every migration for each test."""
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() == "sqlite":
        if url.database and not Path(url.database).exists():
            shutil.copyfile(request.getfixturevalue("sqlite_template"), url.database)
        return
    template = request.getfixturevalue("postgres_template")
    admin = sa.create_engine(
        driver_url(request.getfixturevalue("postgres_admin_url")), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"'))
    admin.dispose()


@pytest.fixture
def engine(db_url: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The test's database, migrated to head (copied from the session's migrated template)."""
    _from_template(db_url, request)
    engine = get_engine(db_url)
    migrate.upgrade(engine)  # at head already: a check, as every command makes
    return engine


@pytest.fixture
def app_env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point settings (home, database) at this test's own folder and database."""
    monkeypatch.setenv("BG_AGENTS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BG_AGENTS_DATABASE_URL", db_url)
    return db_url
