"""One simulated world, two databases: every service query and asset computation gives the same
answer on SQLite (money as integer 1/10000 units) as on PostgreSQL (NUMERIC).

A money expression that loses its type, an overflow, a float or an ordering that one database
handles differently shows up here as a difference, table by table and query by query.
"""

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.ingestion import quality as ingestion_quality
from bg_agents.defs.ingestion.transactions import ingest_day
from bg_agents.defs.insights import quality as insights_quality
from bg_agents.defs.insights.facts import build_facts, facts_payload
from bg_agents.defs.insights.service import generate_slot, load_inputs, teams_in_slot
from bg_agents.defs.metrics import metric_tools
from bg_agents.defs.metrics import quality as metrics_quality
from bg_agents.defs.metrics.service import build_weekly_metrics, top_spenders
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents.defs.reconciliation.unmatched import snapshot_unmatched, unmatched_on
from bg_agents.lib.agents.backends import OfflineBackend
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import Base, Team
from bg_agents.lib.delivery_slots import slot_for
from bg_agents_tests.helpers import VOLATILE, WORLD_END, seed

WEEKS = 3
FIRST_DAY = WORLD_END - timedelta(days=7 * WEEKS - 1)
MONDAYS = [FIRST_DAY + timedelta(weeks=k) for k in range(WEEKS)]
WEEK = MONDAYS[-1]
NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)  # inside every zone's delivery window of WEEK
# Written at wall-clock time or by whichever thread ran first: not part of a result.
UNSTABLE = {
    "llm_calls": {"id", "latency_ms"},
    "insight_claims": {"id", "owner", "claimed_at", "finished_at"},
    "notifications": {"delivered_at", "read_at", "next_attempt_at"},
    # Windows are slots of the wall clock at which the run reported its events.
    "notification_events": {"window_start"},
    "notification_messages": {"window_start"},
}


def _run_everything(engine: Engine) -> dict[str, Any]:
    """Seed, ingest, snapshot, reconcile, measure and write insights; collect every answer."""
    out: dict[str, Any] = {}
    seed(engine, teams=5, weeks=WEEKS, seed_value=11)
    day = FIRST_DAY
    while day <= WORLD_END:
        out[f"ingest {day}"] = ingest_day(engine, day)
        out[f"snapshot {day}"] = snapshot_unmatched(engine, day)
        day += timedelta(days=1)
    report = reconcile(engine, FIRST_DAY, WORLD_END)
    out["reconcile"] = (report.teams, report.records, report.candidates, dict(report.decisions))
    for monday in MONDAYS:
        out[f"metrics {monday}"] = build_weekly_metrics(engine, monday)
    with engine.connect() as conn:
        zones = sorted(set(conn.scalars(sa.select(Team.time_zone))))
        team_ids = conn.scalars(sa.select(Team.id).order_by(Team.id)).all()
        for day in (FIRST_DAY, WEEK, WORLD_END):
            out[f"unmatched_on {day}"] = unmatched_on(conn, day)
        for monday in MONDAYS:
            out[f"top_spenders {monday}"] = [tuple(r) for r in top_spenders(conn, monday)]
            out[f"totals check {monday}"] = metrics_quality.weekly_totals_match(conn, monday)
        out["finite check"] = ingestion_quality.finite_amounts(conn, FIRST_DAY, WORLD_END)
        out["duplicates check"] = ingestion_quality.duplicate_natural_keys(
            conn, FIRST_DAY, WORLD_END
        )
        slots = sorted({slot_for(WEEK, zone) for zone in zones})
        teams = [t for slot in slots for t in teams_in_slot(conn, WEEK, slot)]
        inputs = load_inputs(conn, teams, WEEK)
        out["insight inputs"] = {k: asdict(v) for k, v in inputs.items()}
        out["facts payloads"] = {
            k: json.loads(json.dumps(facts_payload(build_facts(v)), default=str))
            for k, v in inputs.items()
        }
        out["recomputed inputs"] = {
            k: asdict(v)
            for k, v in insights_quality.recomputed_inputs(conn, team_ids, WEEK).items()
        }
    for team_id in team_ids:
        for tool in metric_tools(engine, team_id, WORLD_END + timedelta(days=1)):
            args = {"metric": "net", "period1": "week_before", "period2": "last_week"}
            parsed = tool.args.model_validate(args if tool.name == "compare_periods" else {})
            out[f"tool {tool.name} {team_id}"] = tool.fn(parsed)
    for slot in slots:
        result = generate_slot(engine, WEEK, slot, OfflineBackend(), now=NOW, concurrency=2)
        out[f"insights {slot}"] = sorted((g.team_id, g.path, g.content) for g in result.generated)
        out[f"delivery {slot}"] = result.delivery
    with engine.connect() as conn:
        out["facts check"] = insights_quality.insight_facts_match(conn, WEEK, team_ids)
    return out


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every application table's rows without timestamps; unordered where ids are not stable."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            skip = VOLATILE | UNSTABLE.get(table.name, set())
            cols = [c for c in table.columns if c.name not in skip]
            rows = [tuple(r) for r in conn.execute(sa.select(*cols).order_by(*cols))]
            out[table.name] = rows
    return out


@pytest.mark.postgres
@pytest.mark.integration
def test_sqlite_and_postgresql_give_the_same_answers(sqlite_url: str, postgres_url: str) -> None:
    answers, tables = [], []
    for url in (sqlite_url, postgres_url):
        engine = get_engine(url)
        migrate.upgrade(engine)
        answers.append(_run_everything(engine))
        tables.append(_tables(engine))
    lite, pg = answers
    assert lite.keys() == pg.keys()
    differing = [key for key in lite if lite[key] != pg[key]]
    assert not differing, {key: (lite[key], pg[key]) for key in differing[:3]}
    for name in tables[0]:
        assert tables[0][name] == tables[1][name], name
    # The world is not trivial: every kind of answer has something in it.
    assert lite["facts check"].passed and lite["facts check"].metadata["insights_checked"] == 5
    assert any(v.overdue_count for v in _inputs(lite)) and lite["reconcile"][3]["auto"] > 0
    assert all(len(tables[0][t]) > 0 for t in ("matches", "weekly_category_metrics", "insights"))


def _inputs(answers: dict[str, Any]) -> list[Any]:
    from types import SimpleNamespace

    return [SimpleNamespace(**v) for v in answers["insight inputs"].values()]
