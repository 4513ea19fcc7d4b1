"""Real ``dagster-webserver`` and ``dagster-daemon`` processes on PostgreSQL, for end-to-end tests.

What production runs (deploy/README.md "One machine"), started from a test: the project's
``deploy/dagster.yaml`` in a fresh ``DAGSTER_HOME`` whose instance storage is a fresh PostgreSQL
database (the ``DAGSTER_PG_*`` variables), the application database another fresh, migrated one
(``BG_AGENTS_DATABASE_URL``), both processes loading ``workspace.yaml`` from the repository root.
The test talks to them as an operator's script would: through the webserver's GraphQL API
(:class:`DagsterGraphQL`).

    with dagster_processes(admin_url, tmp_path, prepare_app_db=seed) as dagster:
        run_id = dagster.graphql.launch_run("stage_import_file_job", run_config=...)
        dagster.graphql.wait_for_run(run_id, {"SUCCESS"})

Each process runs in its own session (process group), so stopping it also stops what it started
(the code servers and, under the daemon, every run worker). Stopping always happens, also when the
test or the start-up fails. The processes' output goes to log files kept in the work folder;
:meth:`DagsterProcesses.logs_on_failure` prints their tails when a block fails.

``instance_overrides`` replace single settings of ``deploy/dagster.yaml`` in the copy the
processes read; a caller passes only what it needs (e.g. a faster run queue) and names
it in its own docstring. :meth:`DagsterProcesses.instance` opens the same instance storage in the
test process, for the little GraphQL cannot do (e.g. backdating a schedule's start).
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import sqlalchemy as sa
import yaml

from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine, temporary_database

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCATION = "bg_agents"  # workspace.yaml's location_name
REPOSITORY = "__repository__"  # the repository name of a dg.Definitions code location
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


def wait_for(check: Callable[[], Any], timeout: float, what: str, *, every: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last seen: {value!r})")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in (tags or {}).items()]


class GraphQLError(AssertionError):
    """The webserver answered with GraphQL errors or an error type instead of the result."""


@dataclass
class DagsterGraphQL:
    """A small client for the webserver's GraphQL API (POST /graphql), the UI's own API."""

    url: str
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))

    def query(self, text: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post(
            f"{self.url}/graphql", json={"query": text, "variables": variables}
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    @staticmethod
    def _ok(result: dict[str, Any], typename: str) -> dict[str, Any]:
        if result["__typename"] != typename:
            raise GraphQLError(result)
        return result

    # --- runs ----------------------------------------------------------------------------------

    def launch_run(
        self,
        job_name: str,
        *,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        assets: Sequence[str] | None = None,
    ) -> str:
        """Launch (queue) a run of a job, or of ``assets`` through the implicit asset job."""
        selector: dict[str, Any] = {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": job_name,
        }
        if assets is not None:
            selector["assetSelection"] = [{"path": [a]} for a in assets]
        params = {
            "selector": selector,
            "runConfigData": dict(run_config or {}),
            "executionMetadata": {"tags": _tag_list(tags)},
        }
        data = self.query(
            """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
                 __typename
                 ... on LaunchRunSuccess { run { runId } }
                 ... on RunConfigValidationInvalid { errors { message } }
                 ... on Error { message } } }""",
            params=params,
        )
        return self._ok(data["launchRun"], "LaunchRunSuccess")["run"]["runId"]

    _RUN_FIELDS = "runId status jobName tags { key value } startTime endTime"

    def run(self, run_id: str) -> dict[str, Any]:
        """The run's id, status, job, tags (a dict), start and end times."""
        data = self.query(
            f"""query($id: ID!) {{ runOrError(runId: $id) {{ __typename
                  ... on Run {{ {self._RUN_FIELDS} }} ... on Error {{ message }} }} }}""",
            id=run_id,
        )
        return self._flat(self._ok(data["runOrError"], "Run"))

    def runs(self, *, tags: Mapping[str, str] | None = None, limit: int = 50) -> list[dict]:
        """Runs carrying all of ``tags``, newest first."""
        runs_filter = {"tags": _tag_list(tags)}
        data = self.query(
            f"""query($filter: RunsFilter, $limit: Int) {{
                  runsOrError(filter: $filter, limit: $limit) {{ __typename
                    ... on Runs {{ results {{ {self._RUN_FIELDS} }} }}
                    ... on Error {{ message }} }} }}""",
            filter=runs_filter,
            limit=limit,
        )
        return [self._flat(r) for r in self._ok(data["runsOrError"], "Runs")["results"]]

    @staticmethod
    def _flat(run: dict[str, Any]) -> dict[str, Any]:
        return {**run, "tags": {t["key"]: t["value"] for t in run["tags"]}}

    def run_messages(self, run_id: str) -> list[str]:
        """Every event message of the run's log, in order (first 1,000 events)."""
        data = self.query(
            """query($id: ID!) { logsForRun(runId: $id, limit: 1000) { __typename
                 ... on EventConnection { events { __typename ... on MessageEvent { message } } }
                 ... on Error { message } } }""",
            id=run_id,
        )
        events = self._ok(data["logsForRun"], "EventConnection")["events"]
        return [e.get("message") or "" for e in events]

    def wait_for_run(self, run_id: str, statuses: set[str], timeout: float) -> dict[str, Any]:
        """Wait until the run has one of ``statuses``; fail at once if it finished otherwise."""

        def reached() -> dict[str, Any] | None:
            run = self.run(run_id)
            if run["status"] in statuses:
                return run
            if run["status"] in FINISHED:
                raise AssertionError(f"run {run_id} ended {run['status']}, expected {statuses}")
            return None

        return wait_for(reached, timeout, f"run {run_id} reaching {sorted(statuses)}")

    # --- backfills -----------------------------------------------------------------------------

    def launch_backfill(self, assets: Sequence[str], partitions: Sequence[str]) -> str:
        """Request an asset backfill of ``partitions`` of ``assets``, as the UI's "Materialize"
        over a partition selection does; the daemon's BACKFILL loop launches its runs."""
        data = self.query(
            """mutation($params: LaunchBackfillParams!) {
                 launchPartitionBackfill(backfillParams: $params) { __typename
                   ... on LaunchBackfillSuccess { backfillId }
                   ... on PythonError { message } ... on Error { message } } }""",
            params={
                "assetSelection": [{"path": [a]} for a in assets],
                "partitionNames": list(partitions),
            },
        )
        return self._ok(data["launchPartitionBackfill"], "LaunchBackfillSuccess")["backfillId"]

    def backfill(self, backfill_id: str) -> dict[str, Any]:
        """The backfill's ``status`` (a BulkActionStatus), ``error``, and ``runs`` as :meth:`run`
        gives them."""
        data = self.query(
            f"""query($id: String!) {{ partitionBackfillOrError(backfillId: $id) {{ __typename
                  ... on PartitionBackfill {{ status error {{ message }}
                    runs {{ {self._RUN_FIELDS} }} }}
                  ... on PythonError {{ message }} ... on Error {{ message }} }} }}""",
            id=backfill_id,
        )
        backfill = self._ok(data["partitionBackfillOrError"], "PartitionBackfill")
        return {**backfill, "runs": [self._flat(r) for r in backfill["runs"]]}

    # --- schedules and sensors -----------------------------------------------------------------

    def instigator(self, name: str, ticks: int = 10) -> dict[str, Any]:
        """A schedule's or sensor's state: ``id``, ``status`` and its latest ``ticks`` (newest
        first, each with status, timestamp, runIds, skipReason and error message)."""
        data = self.query(
            """query($selector: InstigationSelector!, $limit: Int) {
                 instigationStateOrError(instigationSelector: $selector) { __typename
                   ... on InstigationState { id name status instigationType
                     ticks(limit: $limit) { status timestamp runIds skipReason error { message } } }
                   ... on Error { message } } }""",
            selector={
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "name": name,
            },
            limit=ticks,
        )
        return self._ok(data["instigationStateOrError"], "InstigationState")

    def sensors(self) -> dict[str, str]:
        """Every sensor of the code location with its status (RUNNING or STOPPED)."""
        data = self.query(
            """query($selector: RepositorySelector!) {
                 sensorsOrError(repositorySelector: $selector) { __typename
                   ... on Sensors { results { name sensorState { status } } }
                   ... on Error { message } } }""",
            selector={"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY},
        )
        results = self._ok(data["sensorsOrError"], "Sensors")["results"]
        return {r["name"]: r["sensorState"]["status"] for r in results}

    def start_sensor(self, name: str) -> None:
        data = self.query(
            """mutation($selector: SensorSelector!) { startSensor(sensorSelector: $selector) {
                 __typename ... on Error { message } } }""",
            selector={
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "sensorName": name,
            },
        )
        self._ok(data["startSensor"], "Sensor")

    def stop_sensor(self, name: str) -> None:
        data = self.query(
            """mutation($id: String) { stopSensor(id: $id) {
                 __typename ... on Error { message } } }""",
            id=self.instigator(name, ticks=0)["id"],
        )
        self._ok(data["stopSensor"], "StopSensorMutationResult")

    def start_schedule(self, name: str) -> None:
        data = self.query(
            """mutation($selector: ScheduleSelector!) { startSchedule(scheduleSelector: $selector) {
                 __typename ... on Error { message } } }""",
            selector={
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "scheduleName": name,
            },
        )
        self._ok(data["startSchedule"], "ScheduleStateResult")

    def stop_schedule(self, name: str) -> None:
        data = self.query(
            """mutation($id: String) { stopRunningSchedule(id: $id) {
                 __typename ... on Error { message } } }""",
            id=self.instigator(name, ticks=0)["id"],
        )
        self._ok(data["stopRunningSchedule"], "ScheduleStateResult")

    # --- the instance --------------------------------------------------------------------------

    def location_loaded(self) -> bool:
        data = self.query(
            """{ workspaceOrError { __typename ... on Workspace { locationEntries {
                 name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
               } } } }"""
        )
        for entry in data["workspaceOrError"].get("locationEntries", []):
            if entry["name"] == LOCATION and entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"]
                if loaded["__typename"] == "PythonError":
                    raise GraphQLError(f"the code location failed to load: {loaded['message']}")
                return True
        return False

    def daemons_healthy(self, daemon_types: Sequence[str]) -> bool:
        data = self.query(
            "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
        )
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        healthy = {s["daemonType"] for s in statuses if s["healthy"]}
        return set(daemon_types) <= healthy


@dataclass
class DagsterProcesses:
    """The running pair: where they listen, their home, databases, environment and logs."""

    url: str
    graphql: DagsterGraphQL
    home: Path
    app_db_url: str
    dagster_db_url: str
    env: dict[str, str]
    logs: dict[str, Path]
    processes: dict[str, subprocess.Popen[bytes]]

    def log_tails(self, lines: int = 80) -> str:
        out = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            out.append(f"----- {name} ({path}), last {lines} lines -----")
            out.extend(text[-lines:])
        return "\n".join(out)

    @contextmanager
    def logs_on_failure(self, lines: int = 80) -> Iterator[None]:
        """Print the processes' log tails when the block raises (pytest shows them with it)."""
        try:
            yield
        except BaseException:
            print(self.log_tails(lines))
            raise

    @contextmanager
    def instance(self) -> Iterator[dg.DagsterInstance]:
        """The test's own handle on the processes' instance storage (the same PostgreSQL
        database), for what the GraphQL API does not offer."""
        view = self.home.parent / "test_instance_view"
        view.mkdir(exist_ok=True)
        storage = {"storage": {"postgres": {"postgres_url": self.dagster_db_url}}}
        (view / "dagster.yaml").write_text(yaml.safe_dump(storage))
        with dg.DagsterInstance.from_config(str(view)) as instance:
            yield instance

    def assert_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}")


def _start(argv: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: code servers and runs stop with it
        )


def _stop(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the process group (dagster shuts its children down), then SIGKILL what is left."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # leftovers of the group (e.g. a run worker)
    process.wait(timeout=10)


def _answers(dagster: DagsterProcesses) -> bool:
    """The webserver listens and has loaded the code location."""
    dagster.assert_alive()
    try:
        return dagster.graphql.location_loaded()
    except httpx.TransportError:
        return False  # not listening yet


def _pg_env(url: str) -> dict[str, str]:
    u = sa.engine.make_url(url)
    return {
        "DAGSTER_PG_HOST": u.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(u.port or 5432),
        "DAGSTER_PG_DB": u.database or "",
        "DAGSTER_PG_USER": u.username or "postgres",
        "DAGSTER_PG_PASSWORD": u.password or "",
    }


@contextmanager
def dagster_processes(
    admin_url: str,
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    instance_overrides: Mapping[str, Any] | None = None,
    prepare_app_db: Callable[[str], None] | None = None,
    before_daemon: Callable[[DagsterProcesses], None] | None = None,
    daemons: Sequence[str] = ("SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING"),
    start_timeout: float = 180.0,
) -> Iterator[DagsterProcesses]:
    """Start the webserver, then the daemon; yield once ``daemons`` report healthy; stop both
    process groups and drop the databases.

    ``env`` is added to both processes' environment (e.g. the model's base URL).
    ``prepare_app_db(url)`` seeds the migrated application database before the processes start.
    ``before_daemon(processes)`` runs once the webserver has loaded the code location and before
    the daemon starts: e.g. to stop sensors a test does not exercise before their first tick.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    home = workdir / "dagster_home"
    home.mkdir(exist_ok=True)
    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    (home / "dagster.yaml").write_text(yaml.safe_dump(_merge(config, instance_overrides or {})))
    logs = {"webserver": workdir / "webserver.log", "daemon": workdir / "daemon.log"}

    with ExitStack() as stack:
        dagster_db = stack.enter_context(temporary_database(admin_url, "bg_agents_dagster"))
        app_db = stack.enter_context(temporary_database(admin_url, "bg_agents_app"))
        migrate.upgrade(get_engine(app_db))
        if prepare_app_db is not None:
            prepare_app_db(app_db)
        get_engine.cache_clear()  # no pooled connection of ours outlives the test's use of it

        base_env = {
            **os.environ,
            **_pg_env(dagster_db),
            "DAGSTER_HOME": str(home),
            "BG_AGENTS_DATABASE_URL": app_db,
            "BG_AGENTS_HOME": str(workdir / "bg_agents_home"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        # One process creates Dagster's schema, so the two do not race to create it.
        subprocess.run(
            [str(BIN / "dagster"), "instance", "migrate"],
            env=base_env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        processes: dict[str, subprocess.Popen[bytes]] = {}
        dagster = DagsterProcesses(
            url, DagsterGraphQL(url), home, app_db, dagster_db, base_env, logs, processes
        )
        stack.callback(dagster.graphql.client.close)
        try:
            processes["webserver"] = _start(
                [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1",
                 "-p", str(port)],
                base_env,
                logs["webserver"],
            )  # fmt: skip
            stack.callback(_stop, processes["webserver"])
            wait_for(lambda: _answers(dagster), start_timeout, "the webserver", every=1.0)
            if before_daemon is not None:
                before_daemon(dagster)
            processes["daemon"] = _start(
                [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                base_env,
                logs["daemon"],
            )
            stack.callback(_stop, processes["daemon"])

            def healthy() -> bool:
                dagster.assert_alive()
                return dagster.graphql.daemons_healthy(daemons)

            wait_for(healthy, start_timeout, f"the daemon's {', '.join(daemons)}", every=1.0)
        except BaseException:
            print(dagster.log_tails())
            raise
        yield dagster
