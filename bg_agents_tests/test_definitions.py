"""The Dagster code location loads, validates, and its asset graph matches the reviewed snapshot."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from bg_agents.definitions import defs

ROOT = Path(__file__).resolve().parents[1]


def graph_summary() -> dict:
    """Keys, deps, partitions, groups, kinds and checks: what a reviewer must see change."""
    graph = defs.resolve_asset_graph()
    out = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        out[key.to_user_string()] = {
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "group": node.group_name,
            "partitions": type(partitions).__name__ if partitions else None,
            "partition_start": (
                partitions.start.date().isoformat()
                if isinstance(partitions, dg.TimeWindowPartitionsDefinition)
                else None
            ),
            "kinds": sorted(node.kinds),
            "automation": node.automation_condition.get_label()
            if node.automation_condition
            else None,
            "checks": sorted(c.name for c in node.check_keys),
            "pools": sorted(node.pools),
            "backfill_policy": str(node.backfill_policy.policy_type)
            if node.backfill_policy
            else None,
        }
    return out


def test_asset_graph_matches_snapshot(snapshot) -> None:  # type: ignore[no-untyped-def]
    assert graph_summary() == snapshot


def test_jobs_schedules_and_sensors_are_all_defined() -> None:
    repo = defs.get_repository_def()
    assert {s.name for s in repo.schedule_defs} == {
        "hourly_ingest_schedule",
        "weekly_match_model_schedule",
    }
    assert {s.name for s in repo.sensor_defs} == {
        "import_folder_sensor",
        "staged_rows_sensor",
        "unmatched_records_sensor",
        "metrics_automation_sensor",
        "insight_delivery_sensor",
        "notification_sensor",
        "reminder_sensor",
        "customer_reminder_retry_sensor",
        "run_failure_alert_sensor",
        "run_recovery_alert_sensor",
        "freshness_sensor",
        "month_end_report_sensor",
        "enrichment_automation_sensor",
        "customer_profile_sensor",
        "enrichment_correction_sensor",
    }
    # A deployment runs them all from its first start: nobody has to find and toggle one.
    stopped = [d.name for d in (*repo.schedule_defs, *repo.sensor_defs)
               if d.default_status.value != "RUNNING"]  # fmt: skip
    assert stopped == []
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {
        "daily_ingest_job",
        "stage_import_file_job",
        "match_model_job",
        "notifications_job",
        "customer_reminder_retry_job",
    } <= jobs


def test_dagster_cli_validates_the_workspace(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "BG_AGENTS_HOME": str(tmp_path / "home"),
    }
    env.pop("BG_AGENTS_DATABASE_URL", None)
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Loading must not create the database: definitions stay import-only (no I/O at load).
    assert not (tmp_path / "home" / "app.db").exists()
