"""Materialize assets inside this process (the demo, tests): one place that knows how.

Runs are runs of the code location's jobs, named as the schedules, sensors and UI name them: a
job's own name when given (``daily_ingest_job``, ``match_model_job``), else Dagster's global
asset job with an asset selection, which is what a sensor targeting assets, the automation and
the UI's Materialize button launch. So the UI finds each run's job and can re-execute it (an
ad-hoc ``dg.materialize`` run belongs to an ``__ephemeral_asset_job__`` no location has).

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
    job: str | None = None,
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
    # The location's definitions with this call's resources bound (a test's database).
    bound = dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        resources={"app_db": app_db or app_database(), "llm": llm_resource or llm()},
    )
    job_def = bound.resolve_job_def(job) if job else bound.resolve_implicit_global_asset_job_def()
    return job_def.execute_in_process(
        run_config={**QUIET, **(run_config or {})},
        instance=instance,
        partition_key=partition_key,
        asset_selection=[dg.AssetKey(name) for name in names],
        tags=run_tags,
    )


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata values an asset reported in ``result`` (empty if it did not materialize);
    for a run over several partitions, the first partition's (see ``partition_metadata``)."""
    for values in partition_metadata(result, asset).values():
        return values
    return {}


def partition_metadata(
    result: dg.ExecuteInProcessResult, asset: str
) -> dict[str | None, dict[str, Any]]:
    """Each materialized partition's metadata values (key None for an unpartitioned asset)."""
    out: dict[str | None, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key == dg.AssetKey(asset):
            out[mat.partition] = {k: v.value for k, v in mat.metadata.items()}
    return out
