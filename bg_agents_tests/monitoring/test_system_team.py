"""The operators' team is the system's own: no weekly metric, insight, reminder or team listing."""

from datetime import timedelta

import sqlalchemy as sa

from bg_agents.defs.insights.service import teams_in_slot
from bg_agents.defs.monitoring.operators import ensure_operators
from bg_agents.defs.reminders.team import teams_of_slot
from bg_agents.lib.db.inventory import list_teams
from bg_agents.lib.db.models import Team, WeeklyMetric
from bg_agents.lib.delivery_slots import slot_for
from bg_agents.lib.settings import OperatorSettings
from bg_agents_tests.helpers import WORLD_END, ingest_and_measure, seed


def test_the_operators_team_is_left_out_of_every_agent(engine) -> None:  # type: ignore[no-untyped-def]
    seed(engine, teams=2, weeks=1)
    with engine.begin() as conn:
        settings = OperatorSettings(
            emails=("ops@example.test",),
            webhook_url=None,
            webhook_slack=False,
            dagster_url="http://127.0.0.1:3000",
            escalate_after=3,
        )
        operators = ensure_operators(conn, settings)
    ingest_and_measure(engine, weeks=1)
    week = WORLD_END - timedelta(days=6)
    with engine.connect() as conn:
        measured = set(conn.scalars(sa.select(WeeklyMetric.team_id)))
        teams = set(conn.scalars(sa.select(Team.id))) - {operators}
        assert measured == teams, "every customer team measured, the operators not"
        utc = slot_for(week, "UTC")
        assert operators not in {t.id for t in teams_in_slot(conn, week, utc)}
        assert operators not in {t.id for t in teams_of_slot(conn, WORLD_END, "UTC+00:00")}
        assert [t["slug"] for t in list_teams(conn)] == sorted(
            conn.scalars(sa.select(Team.slug).where(Team.id != operators))
        )
