"""Customer enrichment as a service: facts with their source, people's fields never overwritten,
only new/changed/stale/failed customers touched, and a re-run with nothing changed writing
nothing, on SQLite and PostgreSQL, with the HTTP provider against a scripted server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.enrichment.customers import (
    EnrichmentCounts,
    batch_writes,
    check_company_facts,
    customers_needing,
    enrich_customers,
    set_person_fact,
)
from bg_agents.defs.enrichment.http_provider import HttpProvider
from bg_agents.defs.enrichment.providers import OfflineProvider, company_domain
from bg_agents.lib.db.models import Customer, CustomerFact, CustomerProfile, Team
from bg_agents_tests.enrichment.provider_stub import SERVER_ERROR, ScriptedProvider, found
from bg_agents_tests.helpers import dump, seed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TTL = timedelta(days=30)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def stub() -> Iterator[ScriptedProvider]:
    with ScriptedProvider() as server:
        yield server


def http(engine: Engine, stub: ScriptedProvider, clock: Clock, **kwargs) -> HttpProvider:  # type: ignore[no-untyped-def]
    options = {"rate": 1000.0, "max_attempts": 1, "rng": random.Random(3), **kwargs}
    return HttpProvider(
        engine, stub.url, "key", now=clock, sleep=lambda s: None, cache_ttl=TTL, **options
    )


def add_team(engine: Engine, slug: str = "acme-books") -> int:
    with engine.begin() as conn:
        return conn.execute(
            sa.insert(Team)
            .values(slug=slug, name=slug, time_zone="Europe/Berlin", base_currency="EUR")
            .returning(Team.id)
        ).scalar_one()


def add_customer(engine: Engine, team: int, ext: str, email: str | None, **values) -> int:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return conn.execute(
            sa.insert(Customer)
            .values(team_id=team, external_id=ext, name=values.pop("name", ext), email=email,
                    **values)
            .returning(Customer.id)
        ).scalar_one()  # fmt: skip


def update_customer(engine: Engine, customer: int, **values) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        conn.execute(sa.update(Customer).where(Customer.id == customer).values(**values))


def facts(engine: Engine, customer: int) -> dict[str, tuple[str, str]]:
    """field -> (value, source)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(CustomerFact.field, CustomerFact.value, CustomerFact.source)
            .where(CustomerFact.customer_id == customer)
        )  # fmt: skip
        return {f: (v, s) for f, v, s in rows}


def profile(engine: Engine, customer: int) -> tuple[str, dict, datetime]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                sa.select(
                    CustomerProfile.status, CustomerProfile.summary, CustomerProfile.profiled_at
                ).where(CustomerProfile.customer_id == customer)
            ).one()
        )  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("billing@acme.com", "acme.com"),
        ("AP@Sub.Acme.co.uk", "sub.acme.co.uk"),
        ("rechnung@bücher.de", "xn--bcher-kva.de"),
        ("finance@acme.com.", "acme.com"),
        ("jane@gmail.com", None),
        ("jane@googlemail.com", None),
        ("jane@yahoo.co.uk", None),
        ("jane@hotmail.fr", None),
        ("jane@outlook.com", None),
        ("jane@gmx.de", None),
        ("jane@web.de", None),
        ("jane@proton.me", None),
        ("jane@icloud.com", None),
        ("jane@t-online.de", None),
        ("jane@qq.com", None),
        ("jane@mail.example", None),  # the simulated world's free-mail
        ("admin@localhost", None),
        ("x@192.168.0.1", None),
        ("x@acme.test", None),
        ("x@-acme.com", None),
        ("x@acme..com", None),
        ("x@acme.c0m", None),
        ("not an address", None),
        ("@acme.com", None),
        (None, None),
    ],
)
def test_the_company_domain_comes_from_a_business_address_only(
    email: str | None, domain: str | None
) -> None:
    assert company_domain(email) == domain


def test_the_offline_provider_records_the_domain_and_nothing_for_free_mail(
    engine: Engine,
) -> None:
    team = add_team(engine)
    business = add_customer(engine, team, "c1", "billing@acme.com")
    private = add_customer(engine, team, "c2", "jane@gmail.com")
    counts = enrich_customers(engine, OfflineProvider(), ttl=TTL, now=Clock())
    assert (counts.seen, counts.enriched, counts.partial, counts.provider_calls) == (2, 1, 1, 0)
    assert facts(engine, business) == {"domain": ("acme.com", "offline")}
    assert facts(engine, private) == {}
    assert profile(engine, business)[0] == "enriched"
    status, summary, _ = profile(engine, private)
    assert (status, summary["lookup"]) == ("partial", "no company domain")
    assert check_company_facts(engine).passed


def fact_times(engine: Engine, customer: int) -> dict[str, datetime]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(CustomerFact.field, CustomerFact.fetched_at)
            .where(CustomerFact.customer_id == customer)
        )  # fmt: skip
        return {f: at.replace(tzinfo=at.tzinfo or UTC) for f, at in rows}


def test_the_customer_record_wins_over_the_provider_and_follows_its_edits(
    engine: Engine, stub: ScriptedProvider
) -> None:
    team = add_team(engine)
    entered = add_customer(
        engine, team, "c1", "billing@acme.com", company="Acme (our spelling)", country="de"
    )
    stub.script(
        "acme.com",
        found("acme.com", name="ACME Holdings", country="FR", industry="Machinery"),
    )
    clock = Clock()
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
        source = p.name
    assert facts(engine, entered) == {
        "company_name": ("Acme (our spelling)", "customer"),
        "country": ("DE", "customer"),
        "industry": ("Machinery", source),
        "domain": ("acme.com", source),
    }
    first_said = fact_times(engine, entered)["company_name"]

    # The team corrects the record: the facts follow on the next run.
    update_customer(engine, entered, company="Acme GmbH", country="AT")
    clock.at += timedelta(hours=1)
    with http(engine, stub, clock) as p:
        assert enrich_customers(engine, p, ttl=TTL, now=clock).profiled == 1
    assert facts(engine, entered)["company_name"] == ("Acme GmbH", "customer")
    assert facts(engine, entered)["country"] == ("AT", "customer")
    assert fact_times(engine, entered)["company_name"] == clock.at != first_said

    # Only the e-mail changes: the record's facts say the same and keep their time.
    update_customer(engine, entered, email="finance@acme.com")
    said = clock.at
    clock.at += timedelta(hours=1)
    with http(engine, stub, clock) as p:
        assert enrich_customers(engine, p, ttl=TTL, now=clock).profiled == 1
    assert fact_times(engine, entered)["company_name"] == said

    # The team clears the columns: the provider's answer takes their place.
    update_customer(engine, entered, company=None, country=None)
    clock.at += timedelta(hours=1)
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
    assert facts(engine, entered)["company_name"] == ("ACME Holdings", source)
    assert facts(engine, entered)["country"] == ("FR", source)


def test_the_record_is_followed_even_when_the_provider_fails(
    engine: Engine, stub: ScriptedProvider
) -> None:
    team = add_team(engine)
    customer = add_customer(engine, team, "c1", "ap@acme.com", company="Acme", country="DE")
    stub.script("acme.com", found("acme.com", industry="Machinery"))
    clock = Clock()
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
    stub.script("acme.com", SERVER_ERROR)
    update_customer(engine, customer, company="Acme AG", country=None)
    clock.at += TTL  # the cached answer is stale: the provider is asked, and fails
    with http(engine, stub, clock) as p:
        assert enrich_customers(engine, p, ttl=TTL, now=clock).failed == 1
    assert facts(engine, customer) == {
        "company_name": ("Acme AG", "customer"),
        "industry": ("Machinery", "http:127.0.0.1"),  # kept: the provider could not answer
        "domain": ("acme.com", "http:127.0.0.1"),
    }


def test_a_fact_a_person_set_wins_over_the_record_and_the_provider(
    engine: Engine, stub: ScriptedProvider
) -> None:
    team = add_team(engine)
    customer = add_customer(
        engine, team, "c1", "billing@acme.com", company="Acme (our spelling)", country="DE"
    )
    set_at = datetime(2025, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for name, value in (("company_name", "Acme Official"), ("industry", "Robotics")):
            set_person_fact(conn, "acme-books", "c1", name, value, set_at)
    stub.script("acme.com", found("acme.com", name="ACME Holdings", industry="Machinery"))
    clock = Clock()
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
        source = p.name
    expected = {
        "company_name": ("Acme Official", "person"),
        "industry": ("Robotics", "person"),
        "country": ("DE", "customer"),
        "domain": ("acme.com", source),
    }
    assert facts(engine, customer) == expected

    # The record changes and is cleared, the provider says otherwise: the person's facts stand.
    update_customer(engine, customer, company="Acme GmbH")
    clock.at += timedelta(hours=1)
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
    update_customer(engine, customer, company=None, email="finance@acme.com")
    stub.script("acme.com", found("acme.com", name="Acme Renamed", industry="Retail"))
    clock.at += timedelta(days=31)  # past the cache's TTL too
    with http(engine, stub, clock) as p:
        assert enrich_customers(engine, p, ttl=TTL, now=clock).profiled == 1
    assert facts(engine, customer) == expected
    assert fact_times(engine, customer)["industry"] == set_at


def test_a_fact_a_person_sets_while_a_run_writes_is_kept(
    engine: Engine, stub: ScriptedProvider
) -> None:
    """The run reads the facts, asks, and writes in one transaction; a person's ``customers
    set`` can commit in between (read committed). The run's update, insert and delete of those
    fields must then leave the person's facts alone."""
    team = add_team(engine)
    customer = add_customer(engine, team, "c1", "billing@acme.com")
    stub.script("acme.com", found("acme.com", name="Acme", industry="Machinery"))
    clock = Clock()
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
    # The provider now renames the company (an update), adds a country (an insert) and no
    # longer names an industry (a delete).
    stub.script("acme.com", found("acme.com", name="Acme Renamed", country="FR"))
    clock.at += TTL
    (pending,), _ = customers_needing(engine, clock.at, TTL)
    with http(engine, stub, clock) as p:
        answer = (pending.reason, "acme.com", p.lookup("acme.com"), clock.at)
        source = p.name
    person = {"company_name": "Acme Official", "country": "DE", "industry": "Robotics"}
    with engine.begin() as run:
        writes = batch_writes(run, [(pending.customer, answer)], source, EnrichmentCounts())
        assert {f["field"] for f in writes.facts} >= {"company_name", "country"}
        assert writes.stale  # the industry, as the run read it
        with engine.begin() as meanwhile:  # a person, between the run's read and its write
            for name, value in person.items():
                set_person_fact(meanwhile, "acme-books", "c1", name, value, clock.at)
        writes.apply(run)
    assert facts(engine, customer) == {
        **{name: (value, "person") for name, value in person.items()},
        "domain": ("acme.com", source),
    }


def test_rerunning_with_nothing_changed_writes_nothing(
    engine: Engine, stub: ScriptedProvider
) -> None:
    seed(engine, teams=3, weeks=1)
    with engine.connect() as conn:
        emails = conn.execute(sa.select(Customer.email).order_by(Customer.id)).scalars().all()
    domains = sorted({d for d in map(company_domain, emails) if d})
    for i, domain in enumerate(domains):
        if i % 2 == 0:  # half found, half unknown to the provider
            stub.script(domain, found(domain, industry="Retail", size_band="11-50"))
    clock = Clock()
    with http(engine, stub, clock) as p:
        first = enrich_customers(engine, p, ttl=TTL, now=clock)
    assert first.seen == len(emails) and first.profiled == first.seen
    assert first.enriched == len(domains[::2]) and first.provider_calls == len(domains)
    before, requests = dump(engine), stub.count()
    clock.at += timedelta(days=29)
    with http(engine, stub, clock) as p:
        again = enrich_customers(engine, p, ttl=TTL, now=clock)
    assert (again.unchanged, again.profiled, again.provider_calls) == (first.seen, 0, 0)
    assert dump(engine) == before  # same rows, same ids, same fetch and profile times
    assert stub.count() == requests


def test_only_new_and_changed_customers_are_enriched(
    engine: Engine, stub: ScriptedProvider
) -> None:
    team = add_team(engine)
    kept = add_customer(engine, team, "c1", "billing@initech.com")
    moved = add_customer(engine, team, "c2", "ap@acme.com")
    stub.script("acme.com", found("acme.com", name="Acme", industry="Machinery"))
    clock = Clock()
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
    kept_before = profile(engine, kept)
    newcomer = add_customer(engine, team, "c3", "finance@globex.com")
    update_customer(engine, moved, email="jane.doe@gmail.com")  # now a private address
    pending, seen = customers_needing(engine, clock.at, TTL)
    assert seen == 3
    assert {(n.customer.id, n.reason) for n in pending} == {(newcomer, "new"), (moved, "changed")}
    clock.at += timedelta(hours=1)
    with http(engine, stub, clock) as p:
        counts = enrich_customers(engine, p, ttl=TTL, now=clock)
    assert (counts.unchanged, counts.profiled) == (1, 2)
    assert profile(engine, kept) == kept_before
    assert facts(engine, moved) == {}  # nothing about Acme stays
    assert profile(engine, moved)[0] == "partial"


def test_a_failed_lookup_keeps_the_facts_and_is_retried_after_an_hour(
    engine: Engine, stub: ScriptedProvider
) -> None:
    team = add_team(engine)
    customer = add_customer(engine, team, "c1", "ap@acme.com")
    stub.script("acme.com", found("acme.com", name="Acme", industry="Machinery"))
    clock = Clock()
    with http(engine, stub, clock) as p:
        enrich_customers(engine, p, ttl=TTL, now=clock)
    known = facts(engine, customer)
    stub.script("acme.com", SERVER_ERROR)
    clock.at += TTL  # the profile and the cached answer are stale
    with http(engine, stub, clock) as p:
        counts = enrich_customers(engine, p, ttl=TTL, now=clock)
    assert (counts.failed, counts.provider_errors) == (1, 1)
    status, summary, _ = profile(engine, customer)
    assert (status, summary["error"]) == ("failed", "HTTP 500")
    assert facts(engine, customer) == known
    calls = stub.count()
    clock.at += timedelta(minutes=59)
    with http(engine, stub, clock) as p:
        assert enrich_customers(engine, p, ttl=TTL, now=clock).profiled == 0
    assert stub.count() == calls
    stub.script("acme.com", found("acme.com", name="Acme", industry="Robots"))
    clock.at += timedelta(minutes=1)
    with http(engine, stub, clock) as p:
        assert enrich_customers(engine, p, ttl=TTL, now=clock).enriched == 1
    assert facts(engine, customer)["industry"][0] == "Robots"


def test_an_open_breaker_fails_fast_and_the_run_says_the_provider_is_unavailable(
    engine: Engine, stub: ScriptedProvider
) -> None:
    team = add_team(engine)
    ids = [add_customer(engine, team, f"c{i}", f"ap@company{i}.com") for i in range(5)]
    for i in range(5):
        stub.script(f"company{i}.com", SERVER_ERROR)
    clock = Clock()
    with http(engine, stub, clock, failure_threshold=2, cooldown=300) as p:
        counts = enrich_customers(engine, p, ttl=TTL, now=clock)
    assert (counts.provider_errors, counts.breaker_open, counts.failed) == (2, 3, 5)
    assert counts.breaker_state == "open" and stub.count() == 2
    assert profile(engine, ids[-1])[1]["error"] == "provider unavailable (circuit open)"


def test_the_check_flags_personal_data_without_repeating_it(engine: Engine) -> None:
    team = add_team(engine)
    customer = add_customer(engine, team, "c1", "billing@acme.com")
    enrich_customers(engine, OfflineProvider(), ttl=TTL, now=Clock())
    assert check_company_facts(engine).passed
    with engine.begin() as conn:
        for field, value in (("ceo_email", "ceo@acme.com"), ("industry", "call +1 415 555 0100")):
            conn.execute(
                sa.insert(CustomerFact).values(
                    customer_id=customer, team_id=team, field=field, value=value,
                    source="http:companies.example", fetched_at=T0,
                )
            )  # fmt: skip
    outcome = check_company_facts(engine)
    assert not outcome.passed and outcome.metadata["failing"] == 2
    shown = repr(outcome)
    assert "ceo@acme.com" not in shown and "555" not in shown
