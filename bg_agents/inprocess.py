"""Materialize assets inside this process (the demo, tests): one place that knows how.

Runs are runs of the code location's jobs, as the UI would have launched them: a job's own name
when given (``daily_ingest_job``, ``match_model_job``), else Dagster's global asset job with an
asset selection (what a sensor targeting assets, the automation and the UI's Materialize button
launch), and each run records the location it belongs to (``bg_agents`` in workspace.yaml). So
the UI finds each run's job and can re-execute it from its page: a plain ``dg.materialize`` run
belongs to an ``__ephemeral_asset_job__`` of no location and cannot be.

Dagster's public in-process API (``execute_in_process``) creates its run without a location, so
the run is created here with one and executed in this process with ``execute_run`` (what a run
worker calls), steps one after another, with this call's resources.

A partition range runs as one run (the daily assets have a single-run backfill policy), which is
what the UI's backfill does too.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run
from dagster._core.execution.execute_in_process import merge_run_tags
from dagster._core.execution.execution_result import ExecutionResult
from dagster._core.remote_origin import RemoteRepositoryOrigin
from dagster._core.storage.defs_state.base import set_defs_state_storage
from dagster._core.workspace.load_target import ModuleTarget

from bg_agents.definitions import defs
from bg_agents.defs._shared.resources import LLM, AppDatabase, app_database, llm

# Callers print their own progress; Dagster's per-event console log would bury it.
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
# workspace.yaml's location (a test holds them equal) and the repository a Definitions makes.
LOCATION = "bg_agents"
REPOSITORY = "__repository__"


def _origin(job_name: str) -> Any:
    (location,) = ModuleTarget(
        module_name="bg_agents.definitions",
        attribute=None,
        working_directory=None,
        location_name=LOCATION,
    ).create_origins()
    return RemoteRepositoryOrigin(location, REPOSITORY).get_job_origin(job_name)


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
    raise_on_error: bool = True,
) -> ExecutionResult:
    run_tags = dict(tags or {})
    if partition_range:
        run_tags["dagster/asset_partition_range_start"] = partition_range[0]
        run_tags["dagster/asset_partition_range_end"] = partition_range[1]
    # The location's definitions with this call's resources bound (a test's database), steps
    # executed one after another in this process. Loading definitions reads the state storage of
    # the instance Dagster last made current, which may be one a caller has since discarded: the
    # run's own instance is made current for the load.
    with set_defs_state_storage(instance.defs_state_storage):
        bound = dg.Definitions(
            assets=defs.assets,
            asset_checks=defs.asset_checks,
            jobs=defs.jobs,
            resources={"app_db": app_db or app_database(), "llm": llm_resource or llm()},
            executor=dg.in_process_executor,
        )
        job_def = (
            bound.resolve_job_def(job) if job else bound.resolve_implicit_global_asset_job_def()
        )
    keys = [dg.AssetKey(name) for name in names]
    if partition_key is not None:
        _register_dynamic_partitions(instance, keys, partition_key)
    config = {**QUIET, **(run_config or {})}
    run_tags = {
        **merge_run_tags(job_def, partition_key, run_tags, keys, instance, config),
    }
    run = instance.create_run_for_job(
        job_def=job_def,
        run_config=config,
        tags=run_tags,
        asset_selection=frozenset(keys),
        remote_job_origin=_origin(job_def.name),
    )
    return execute_run(InMemoryJob(job_def), run, instance, raise_on_error=raise_on_error)


def _register_dynamic_partitions(
    instance: dg.DagsterInstance, keys: list[dg.AssetKey], partition_key: str
) -> None:
    """Register the key's dynamic dimensions (a delivery slot), as the sensor that requests such
    a run in production does first: a run of an unregistered partition fails at its first output."""
    for asset in defs.assets or ():
        if not isinstance(asset, dg.AssetsDefinition) or not set(keys) & asset.keys:
            continue
        partitions = asset.partitions_def
        if not isinstance(partitions, dg.MultiPartitionsDefinition):
            continue
        by_dimension = partitions.get_partition_key_from_str(partition_key).keys_by_dimension
        for dimension in partitions.partitions_defs:
            dynamic = dimension.partitions_def
            if isinstance(dynamic, dg.DynamicPartitionsDefinition) and dynamic.name:
                value = by_dimension[dimension.name]
                if not instance.has_dynamic_partition(dynamic.name, value):
                    instance.add_dynamic_partitions(dynamic.name, [value])


def materialization_metadata(result: ExecutionResult, asset: str) -> dict[str, Any]:
    """The metadata values an asset reported in ``result`` (empty if it did not materialize);
    for a run over several partitions, the first partition's (see ``partition_metadata``)."""
    for values in partition_metadata(result, asset).values():
        return values
    return {}


def partition_metadata(result: ExecutionResult, asset: str) -> dict[str | None, dict[str, Any]]:
    """Each materialized partition's metadata values (key None for an unpartitioned asset)."""
    out: dict[str | None, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key == dg.AssetKey(asset):
            out[mat.partition] = {k: v.value for k, v in mat.metadata.items()}
    return out
