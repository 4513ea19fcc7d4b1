"""The production setup works: Dagster's storage on PostgreSQL (deploy/dagster.yaml, through
dagster-postgres and psycopg2) and the app database on PostgreSQL, in one materialization."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents_tests.helpers import materialize, seed

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.integration
def test_materialization_is_recorded_in_dagster_postgres_storage(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sa.engine.make_url(postgres_url)
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_DB", url.database or "")
    monkeypatch.setenv("DAGSTER_PG_USER", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    shutil.copy(ROOT / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))

    # Both storages in one database on purpose: their migration tables must not collide.
    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    seed(engine, teams=2, weeks=1)
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert materialize(postgres_url, ["transactions"], "2026-03-04", instance).success
        assert instance.get_materialized_partitions(dg.AssetKey("transactions")) == {"2026-03-04"}
    assert migrate.current_revision(engine) == migrate.head_revision()
