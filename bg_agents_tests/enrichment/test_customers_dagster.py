"""The customer_profiles asset materialized in process against the scripted provider (metadata,
its check, a re-run that changes nothing) and the sensor requesting only new or changed
customers, once per set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents import inprocess
from bg_agents.defs._shared.resources import AppDatabase
from bg_agents.defs.enrichment.providers import company_domain
from bg_agents.defs.enrichment.sensors import customer_profile_sensor
from bg_agents.lib.db.models import Customer, CustomerFact
from bg_agents_tests.enrichment.provider_stub import ScriptedProvider, found
from bg_agents_tests.enrichment.test_customers import add_customer, add_team, update_customer
from bg_agents_tests.helpers import dump, seed

KEY = "sk-provider-key-0123456789"


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedProvider]:
    with ScriptedProvider() as stub:
        monkeypatch.setenv("BG_AGENTS_ENRICHMENT_URL", stub.url)
        monkeypatch.setenv("BG_AGENTS_ENRICHMENT_API_KEY", KEY)
        yield stub


def run(db_url: str, ids: list[int] | None = None) -> dg.ExecutionResult:  # type: ignore[name-defined]
    config = {} if ids is None else {"customer_ids": ids}
    return inprocess.materialize(
        ["customer_profiles"],
        instance=dg.DagsterInstance.ephemeral(),
        app_db=AppDatabase(url=db_url),
        run_config={"ops": {"customer_profiles": {"config": config}}},
    )


def checks(result) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_the_asset_enriches_reports_coverage_and_a_rerun_changes_nothing(
    engine: Engine, db_url: str, provider_env: ScriptedProvider
) -> None:
    seed(engine, teams=2, weeks=1)
    with engine.connect() as conn:
        emails = conn.execute(sa.select(Customer.email)).scalars().all()
    domains = sorted({d for d in map(company_domain, emails) if d})
    provider_env.script(domains[0], found(domains[0], industry="Retail", country="NL"))
    result = run(db_url)
    assert result.success
    meta = inprocess.materialization_metadata(result, "customer_profiles")
    assert meta["customers_seen"] == len(emails)
    assert (meta["customers_enriched"], meta["customers_unchanged"]) == (1, 0)
    assert meta["provider_calls"] == len(domains) and meta["provider_errors"] == 0
    # Customers of one company share its lookup: the second one is a cache hit.
    with_domain = sum(1 for e in emails if company_domain(e))
    assert meta["cache_hits"] == with_domain - len(domains)
    assert meta["cache_hit_rate"] == round((with_domain - len(domains)) / with_domain, 4)
    assert meta["breaker_state"] == "closed"
    assert meta["provider"] == "http:127.0.0.1"
    with engine.connect() as conn:
        by_source = dict(
            conn.execute(
                sa.select(CustomerFact.source, sa.func.count()).group_by(CustomerFact.source)
            ).all()
        )
    coverage = meta["coverage_by_source"]
    for source, count in by_source.items():
        assert f"| {source} | {count} |" in coverage
    assert checks(result) == {"customer_facts_company_only": True}
    assert {r.authorization for r in provider_env.requests} == {f"Bearer {KEY}"}

    before, requests = dump(engine), provider_env.count()
    again = inprocess.materialization_metadata(run(db_url), "customer_profiles")
    assert (again["customers_unchanged"], again["provider_calls"], again["changed"]) == (
        len(emails), 0, False,
    )  # fmt: skip
    assert dump(engine) == before and provider_env.count() == requests


def test_an_unreachable_provider_is_recorded_and_the_run_succeeds(
    engine: Engine, db_url: str, provider_env: ScriptedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider outage is the run's news, not its failure: the customer is marked failed and
    tried again later; the facts already known stay."""
    monkeypatch.setenv("BG_AGENTS_ENRICHMENT_URL", "http://127.0.0.1:9")  # nobody listens
    team = add_team(engine)
    add_customer(engine, team, "c1", "ap@company.com", company="Company Ltd")
    result = run(db_url)
    assert result.success
    meta = inprocess.materialization_metadata(result, "customer_profiles")
    assert (meta["customers_failed"], meta["provider_errors"], meta["provider_calls"]) == (1, 1, 4)
    assert "| customer | 1 |" in meta["coverage_by_source"]  # the record's company column


def test_the_sensor_requests_new_and_changed_customers_once(
    engine: Engine, db_url: str, provider_env: ScriptedProvider
) -> None:
    app_db = AppDatabase(url=db_url)
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor: str | None) -> dg.SensorResult:
        context = dg.build_sensor_context(
            cursor=cursor, resources={"app_db": app_db}, instance=instance
        )
        return customer_profile_sensor(context)

    def skipped(result: dg.SensorResult) -> str:
        assert not result.run_requests and result.skip_reason
        return result.skip_reason.skip_message or ""

    assert skipped(tick(None)) == "no new or changed customers"
    team = add_team(engine)
    first = [add_customer(engine, team, f"c{i}", f"ap@firm{i}.com") for i in range(3)]
    result = tick(None)
    (request,) = result.run_requests
    assert request.run_config["ops"]["customer_profiles"]["config"] == {"customer_ids": first}
    # The same set: not requested twice.
    assert "requested already" in skipped(tick(result.cursor))
    assert run(db_url, first).success
    assert skipped(tick(result.cursor)) == "no new or changed customers"

    newcomer = add_customer(engine, team, "c9", "ap@newco.com")
    update_customer(engine, first[1], email="billing@renamed.com")
    update_customer(engine, first[2], reminders_opt_in=True)  # not read by enrichment
    later = tick(result.cursor)
    (request,) = later.run_requests
    ids = request.run_config["ops"]["customer_profiles"]["config"]["customer_ids"]
    assert ids == sorted([newcomer, first[1]])
    assert request.run_key != result.run_requests[0].run_key and later.cursor != result.cursor


@dg.op
def simulated_profiles_step(context) -> None:  # type: ignore[no-untyped-def]
    """SIMULATED: a customer_profiles run's outcome, as the run the sensor requested (its tags)."""
    if context.run.tags.get("outcome") == "failure":
        raise RuntimeError("SIMULATED: the run failed after its retries")


@dg.job
def simulated_profiles_run() -> None:
    simulated_profiles_step()


def test_the_sensor_requests_a_set_whose_run_failed_again_at_most_hourly(
    engine: Engine, db_url: str, provider_env: ScriptedProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_db = AppDatabase(url=db_url)
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor: str | None, at: datetime) -> dg.SensorResult:
        monkeypatch.setenv("BG_AGENTS_NOW", at.isoformat())
        context = dg.build_sensor_context(
            cursor=cursor, resources={"app_db": app_db}, instance=instance
        )
        return customer_profile_sensor(context)

    def launch(request: dg.RunRequest, outcome: str) -> None:
        """The run the daemon would start for ``request``, ending in ``outcome``."""
        tags = {"dagster/run_key": request.run_key or "", "outcome": outcome}
        simulated_profiles_run.execute_in_process(
            instance=instance, tags=tags, raise_on_error=False
        )

    def skipped(result: dg.SensorResult) -> str:
        assert not result.run_requests and result.skip_reason
        return result.skip_reason.skip_message or ""

    team = add_team(engine)
    ids = [add_customer(engine, team, f"c{i}", f"ap@firm{i}.com") for i in range(2)]
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    first = tick(None, t0)
    (request,) = first.run_requests
    launch(request, "failure")
    # Not again within the hour: the reason names when.
    assert "failed; requested again at 2026-03-02 10:00 UTC" in skipped(
        tick(first.cursor, t0 + timedelta(minutes=59))
    )
    second = tick(first.cursor, t0 + timedelta(hours=1))
    (retry,) = second.run_requests
    assert retry.run_key != request.run_key
    assert retry.run_config == request.run_config  # the same customers
    assert retry.run_config["ops"]["customer_profiles"]["config"] == {"customer_ids": ids}

    # It fails again: the next request is another hour after this one.
    launch(retry, "failure")
    assert "failed" in skipped(tick(second.cursor, t0 + timedelta(hours=1, minutes=59)))
    third = tick(second.cursor, t0 + timedelta(hours=2))
    (request3,) = third.run_requests

    # A run that did not fail is not requested again, however long the set waits.
    launch(request3, "success")
    assert "requested already" in skipped(tick(third.cursor, t0 + timedelta(hours=9)))
