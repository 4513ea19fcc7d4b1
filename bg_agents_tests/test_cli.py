"""The `bg-agents` commands a newcomer runs: demo (twice), stats, teams, and clear errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).with_name("bg-agents")


def run(args: list[str], home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BG_AGENTS_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    env.pop("BG_AGENTS_DATABASE_URL", None)
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.integration
def test_demo_fills_an_empty_home_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run(["demo", "--teams", "2", "--weeks", "2"], home)
    assert "[2/2] daily" in first.stdout and "[2/2] weekly" in first.stdout
    assert "make dev" in first.stdout
    stats = json.loads(run(["stats", "--json"], home).stdout)
    assert stats["teams"] == 2 and stats["transactions"] > 0
    assert stats["weekly_metrics"] == 4  # 2 teams x 2 weeks
    assert stats["unmatched_records"] > 0
    assert stats["insights"] == 2  # the last week, one per team
    assert set(stats) >= {"notifications", "llm_calls", "insights", "quarantined_rows"}

    second = run(["demo", "--teams", "2", "--weeks", "2"], home)
    assert second.stdout.count("already materialized") == 5  # 2 daily, 2 weekly, insights
    assert "(0 new rows" in second.stdout
    assert json.loads(run(["stats", "--json"], home).stdout) == stats

    teams = json.loads(run(["teams", "--json"], home).stdout)
    assert len(teams) == 2 and all("/" in t["time_zone"] for t in teams)
    table = run(["teams"], home).stdout
    assert teams[0]["slug"] in table and teams[0]["time_zone"] in table


def test_stats_on_an_empty_home_says_how_to_migrate(tmp_path: Path) -> None:
    proc = run(["stats"], tmp_path / "home", check=False)
    assert proc.returncode == 2
    assert "bg-agents db upgrade" in proc.stderr


def test_bad_arguments_are_refused_with_a_message(tmp_path: Path) -> None:
    proc = run(["seed", "--teams", "0"], tmp_path / "home", check=False)
    assert proc.returncode == 2 and "must be at least 1" in proc.stderr
