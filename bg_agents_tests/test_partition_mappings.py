"""A week or a month reads the booking days that exist, so a backfill that includes the week in
progress, or the first month of a history that starts mid-month, does not fail on days that are no
partitions ("depends on non-existent partitions"). Checked through the code location's own asset
graph, loaded with history from Monday 2026-10-05 and "now" on Monday 2026-11-30, 12:00 UTC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json
from datetime import UTC, datetime

import dagster as dg

from bg_agents.definitions import defs

graph = defs.resolve_asset_graph()
now = datetime(2026, 11, 30, 12, tzinfo=UTC)
out = {}
for child, key, parent in [
    ("weekly_metrics", "2026-11-30", "transactions"),
    ("weekly_metrics", "2026-11-30", "transaction_enrichment"),
    ("weekly_metrics", "2026-11-23", "transaction_enrichment"),
    ("month_end_reports", "2026-10-01", "transactions"),
]:
    c, p = dg.AssetKey(child), dg.AssetKey(parent)
    cdef, pdef = graph.get(c).partitions_def, graph.get(p).partitions_def
    days = graph.get_partition_mapping(c, p).get_upstream_mapped_partitions_result_for_partitions(
        cdef.subset_with_partition_keys([key]), cdef, pdef, current_time=now
    )
    keys = sorted(days.partitions_subset.get_partition_keys())
    missing = sorted(days.required_but_nonexistent_subset.get_partition_keys())
    out[f"{child} {key} {parent}"] = [keys[0], keys[-1], len(keys), missing]
print(json.dumps(out))
"""


def test_weeks_and_months_read_the_days_that_exist(tmp_path: Path) -> None:
    env = {**os.environ, "BG_AGENTS_HOME": str(tmp_path), "BG_AGENTS_HISTORY_START": "2026-10-05"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found == {
        # The week in progress: Monday exists, Tuesday to Sunday are still to come.
        "weekly_metrics 2026-11-30 transactions": ["2026-11-30", "2026-11-30", 1, []],
        "weekly_metrics 2026-11-30 transaction_enrichment": ["2026-11-30", "2026-11-30", 1, []],
        "weekly_metrics 2026-11-23 transaction_enrichment": ["2026-11-23", "2026-11-29", 7, []],
        # October from the 5th: the 1st to the 4th are before the history.
        "month_end_reports 2026-10-01 transactions": ["2026-10-05", "2026-10-31", 27, []],
    }
