"""Materialize assets inside this process (the demo, tests): one place that knows how.

A partition range runs as one run (the daily assets have a single-run backfill policy), which is
what the UI's backfill does too.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from bg_agents.definitions import defs
from bg_agents.defs._shared.resources import LLM, AppDatabase, app_database, llm

# Callers print their own progress; Dagster's per-event console log would bury it.
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def materialize(
    names: list[str],
    *,
    instance: dg.DagsterInstance,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    app_db: AppDatabase | None = None,
    llm_resource: LLM | None = None,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    run_tags = dict(tags or {})
    if partition_range:
        run_tags["dagster/asset_partition_range_start"] = partition_range[0]
        run_tags["dagster/asset_partition_range_end"] = partition_range[1]
    return dg.materialize(
        [a for a in defs.assets or [] if a.key.path[0] in names],
        instance=instance,
        resources={"app_db": app_db or app_database(), "llm": llm_resource or llm()},
        partition_key=partition_key,
        run_config={**QUIET, **(run_config or {})},
        tags=run_tags,
    )


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata values an asset reported in ``result`` (empty if it did not materialize)."""
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key == dg.AssetKey(asset):
            return {k: v.value for k, v in mat.metadata.items()}
    return {}
