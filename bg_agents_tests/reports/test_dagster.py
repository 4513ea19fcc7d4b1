"""Month-end reports in Dagster: a team's month is reported once it has ended in its zone and its
bank days were fetched after that; the asset counts what it did and why teams wait; its checks
catch a file that is not what was recorded or does not print the books; the sensor requests a
month once per situation and says why when it does not."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.reports.readiness import why_not_ready
from bg_agents.defs.reports.sensors import month_end_report_sensor
from bg_agents.inprocess import materialization_metadata, materialize
from bg_agents.lib.db.models import Report, Team
from bg_agents_tests.reports.month_data import CUTOFF, LAST, MONTH, seed_month

KEY = MONTH.isoformat()
# New York's March has ended (04:00 UTC), Honolulu's (10:00 UTC) has not.
EARLY = datetime(2026, 4, 1, 5, 0, tzinfo=UTC)
HONOLULU_CUTOFF = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
HISTORY = date(2025, 1, 1)


def test_a_month_is_ready_once_ended_and_its_days_fetched_after_the_end() -> None:
    days = {(MONTH + timedelta(days=k)).isoformat() for k in range(31)}

    def fetched_at(at: datetime | None):  # type: ignore[no-untyped-def]
        return lambda day: at if day == LAST else CUTOFF - timedelta(days=1)

    zone = "America/New_York"
    after = fetched_at(CUTOFF + timedelta(minutes=5))
    assert why_not_ready(MONTH, zone, CUTOFF - timedelta(seconds=1), HISTORY, days, after) == (
        "2026-03 ends at 2026-04-01 04:00 UTC in America/New_York"
    )
    assert why_not_ready(MONTH, zone, EARLY, HISTORY, days - {"2026-03-09"}, after) == (
        "1 of its 31 booking days not fetched yet (first 2026-03-09)"
    )
    before = fetched_at(CUTOFF - timedelta(minutes=1))
    assert "2026-03-31 last fetched 2026-04-01 03:59 UTC, before the month ended" in str(
        why_not_ready(MONTH, zone, EARLY, HISTORY, days, before)
    )
    assert why_not_ready(MONTH, zone, EARLY, HISTORY, days, fetched_at(None)) is not None
    assert why_not_ready(MONTH, zone, EARLY, HISTORY, days, after) is None
    # A history starting mid-month: only its days exist, and only they are waited for.
    assert why_not_ready(MONTH, zone, EARLY, date(2026, 3, 20), {"2026-03-31"}, after) == (
        "11 of its 12 booking days not fetched yet (first 2026-03-20)"
    )


@pytest.fixture
def world(engine, app_env, monkeypatch):  # type: ignore[no-untyped-def]
    """The hand-made March (acme, other: New York) plus a Honolulu team, the clock at EARLY."""
    seed_month(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team).values(
                slug="aloha",
                name="Aloha",
                time_zone="Pacific/Honolulu",
                base_currency="USD",
                locale="en_US",
            )
        )
    monkeypatch.setenv("BG_AGENTS_NOW", EARLY.isoformat())
    return AppDatabase(url=app_env)


def _fetch_march(instance: dg.DagsterInstance) -> None:
    """Record March's transactions days as materialized now (after every cut-off)."""
    for k in range(31):
        day = (MONTH + timedelta(days=k)).isoformat()
        instance.report_runless_asset_event(dg.AssetMaterialization("transactions", partition=day))


def _checks(result) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def _run(instance, world):  # type: ignore[no-untyped-def]
    return materialize(["month_end_reports"], instance=instance, partition_key=KEY, app_db=world)


def _versions(engine) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return sorted(
            conn.execute(sa.select(Team.slug, Report.version).join(Team, Team.id == Report.team_id))
        )


def test_the_asset_reports_ready_teams_and_its_checks_pass(engine, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    instance = dg.DagsterInstance.ephemeral()
    _fetch_march(instance)
    result = _run(instance, world)
    meta = materialization_metadata(result, "month_end_reports")
    assert (meta["written"], meta["unchanged"], meta["not_ready"]) == (2, 0, 1)
    assert (
        "aloha: 2026-03 ends at 2026-04-01 10:00 UTC in Pacific/Honolulu"
        in meta["not_ready_reasons"]
    )
    assert "acme v1: first version" in meta["reasons"]
    assert meta["sample_path"].startswith(str(tmp_path / "home" / "reports"))
    assert meta["seconds_per_report"] > 0 and meta["dagster/row_count"] == 2
    assert _checks(result) == {
        "report_pdfs_open": True,
        "report_totals_match_books": True,
        "report_checksums_match": True,
    }
    assert _versions(engine) == [("acme", 1), ("other", 1)]

    again = materialization_metadata(_run(instance, world), "month_end_reports")
    assert (again["written"], again["unchanged"], again["dagster/row_count"]) == (0, 2, 2)
    assert _versions(engine) == [("acme", 1), ("other", 1)]


def test_the_checks_catch_a_file_that_is_not_the_recorded_report(engine, world) -> None:  # type: ignore[no-untyped-def]
    """acme's file replaced by other's report (a valid PDF, checksum updated): it opens, its
    checksum matches, but it prints other's totals; then a damaged file fails the other two."""
    instance = dg.DagsterInstance.ephemeral()
    _fetch_march(instance)
    _run(instance, world)
    with engine.begin() as conn:
        paths = dict(
            conn.execute(
                sa.select(Team.slug, Report.path).join(Team, Team.id == Report.team_id)
            ).all()
        )
        other = conn.execute(
            sa.select(Report.sha256, Report.pages).where(Report.path == paths["other"])
        ).one()
        conn.execute(
            sa.update(Report)
            .where(Report.path == paths["acme"])
            .values(sha256=other.sha256, pages=other.pages)
        )
    shutil.copyfile(paths["other"], paths["acme"])
    assert _checks(_run(instance, world)) == {
        "report_pdfs_open": True,
        "report_totals_match_books": False,
        "report_checksums_match": True,
    }
    Path(paths["acme"]).write_bytes(b"%PDF-1.4 cut short")
    assert _checks(_run(instance, world)) == {
        "report_pdfs_open": False,
        "report_totals_match_books": False,
        "report_checksums_match": False,
    }


def test_the_sensor_requests_a_month_once_per_situation(engine, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    instance = dg.DagsterInstance.ephemeral()

    def tick() -> dg.SensorResult:
        return month_end_report_sensor(
            dg.build_sensor_context(instance=instance, resources={"app_db": world})
        )

    waiting = tick()
    assert waiting.run_requests == []
    assert "2026-03: 3 teams unreported, none ready" in waiting.skip_reason.skip_message
    assert "31 of its 31 booking days not fetched yet" in waiting.skip_reason.skip_message

    _fetch_march(instance)
    first, same = tick(), tick()
    assert [r.partition_key for r in first.run_requests] == [KEY]
    assert first.run_requests[0].run_key == same.run_requests[0].run_key
    assert first.run_requests[0].tags["bg_agents/ready_teams"] == "2"

    _run(instance, world)  # acme and other reported; aloha's month still running
    done = tick()
    assert done.run_requests == []
    assert "2026-03: 1 teams unreported, none ready (2026-03 ends at" in (
        done.skip_reason.skip_message
    )
    monkeypatch.setenv("BG_AGENTS_NOW", (HONOLULU_CUTOFF + timedelta(minutes=1)).isoformat())
    later = tick()
    assert [r.partition_key for r in later.run_requests] == [KEY]
    assert later.run_requests[0].run_key != first.run_requests[0].run_key


def test_one_team_that_cannot_be_reported_does_not_cost_the_others(
    engine, world, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """acme's folder cannot be made (a file stands where it should be); other is still written,
    and the step fails with acme named, so the retry policy and the run-failure alert act."""
    instance = dg.DagsterInstance.ephemeral()
    _fetch_march(instance)
    reports = tmp_path / "home" / "reports"
    reports.mkdir(parents=True)
    (reports / "acme").write_text("not a folder")
    result = materialize(
        ["month_end_reports"], instance=instance, partition_key=KEY, app_db=world,
        raise_on_error=False,
        # The step's retry policy would try three more times, 70 s of backoff: once is enough.
        run_config={"execution": {"config": {"retries": {"disabled": {}}}}},
    )  # fmt: skip
    assert not result.success
    assert _versions(engine) == [("other", 1)]
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "1 team(s) could not be reported: acme: BlobError" in str(failure.step_failure_data)
