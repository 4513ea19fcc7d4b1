"""Customer enrichment: company facts for each customer, from a provider, under people's say.

A customer needs enriching when it has no profile, when the fields enrichment reads (name,
e-mail, company, country: ``input_digest``) changed, when its profile is older than the cache
TTL, or when the last attempt failed over an hour ago. Everyone else is left alone, so a re-run
with nothing changed writes nothing.

Facts (``customer_facts``, one row per customer and field) carry their source and fetch time,
and for each field the first of these that has a value is stored:

1. ``person``: a fact a person set with ``bg-agents customers set``. Never replaced or deleted by
   a run, even one that read the facts before the person wrote (the writes are guarded).
2. ``customer``: ``customers.company`` and ``customers.country``, what the team's customer record
   says. They follow the record: an edit or a cleared column changes the fact on the next run
   (the columns are part of the digest).
3. ``offline``: the company domain the billing e-mail names (free-mail ignored).
4. the provider's name (``http:<host>``): what it found about that domain.

A lookup that failed (an error, or the breaker open) changes no provider or offline fact: the
profile is marked ``failed`` and the customer is tried again later. A definite answer (found, not
found, no domain to ask about) makes the run's facts exactly that answer, so a customer who moved
from acme.com to a gmail address keeps nothing about Acme.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.defs.enrichment.http_provider import HttpProvider
from bg_agents.defs.enrichment.providers import (
    FIELDS,
    CompanyProvider,
    Lookup,
    OfflineProvider,
    clean_fact,
    company_domain,
    expected_form,
)
from bg_agents.lib import clock
from bg_agents.lib.checks import CheckOutcome
from bg_agents.lib.db.models import Customer, CustomerFact, CustomerProfile, Team, customer_teams
from bg_agents.lib.db.upsert import upsert
from bg_agents.lib.settings import EnrichmentSettings

PERSON, CUSTOMER, OFFLINE = "person", "customer", "offline"
RETRY_FAILED_AFTER = timedelta(hours=1)
WRITE_BATCH = 200  # customers written per transaction (their lookups are made before it opens)
# The customer record's columns the team fills in, and the fact each one is (source customer).
RECORD_COLUMNS = {"company": "company_name", "country": "country"}


@dataclass(frozen=True)
class CustomerInput:
    id: int
    team_id: int
    name: str
    email: str | None
    company: str | None
    country: str | None

    @property
    def digest(self) -> str:
        return input_digest(self.name, self.email, self.company, self.country)


def input_digest(name: str, email: str | None, company: str | None, country: str | None) -> str:
    """The hash of what enrichment reads of a customer (a change here means enrich again)."""
    text = json.dumps([name, email, company, country], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class EnrichmentCounts:
    """What one pass did; ``breaker_open``: lookups refused because the breaker was open."""

    seen: int = 0
    unchanged: int = 0
    enriched: int = 0
    partial: int = 0
    failed: int = 0
    cache_hits: int = 0
    lookups: int = 0
    provider_calls: int = 0  # HTTP requests, retries included
    provider_errors: int = 0
    breaker_open: int = 0
    breaker_state: str = "closed"
    errors: list[str] = field(default_factory=list)  # the distinct reasons, first few

    @property
    def profiled(self) -> int:
        return self.enriched + self.partial + self.failed

    @property
    def cache_hit_rate(self) -> float | None:
        """Cached answers per lookup (None: no lookup)."""
        return round(self.cache_hits / self.lookups, 4) if self.lookups else None


def _customers(conn: Connection, ids: Iterable[int] | None) -> list[CustomerInput]:
    query = (
        sa.select(
            Customer.id,
            Customer.team_id,
            Customer.name,
            Customer.email,
            Customer.company,
            Customer.country,
        )
        .join(Team, Team.id == Customer.team_id)
        .where(customer_teams())
        .order_by(Customer.id)
    )
    if ids is not None:
        query = query.where(Customer.id.in_(sorted(set(ids))))
    return [CustomerInput(*row) for row in conn.execute(query)]


class Needing(NamedTuple):
    customer: CustomerInput
    reason: str  # new | changed | failed | stale
    profiled_at: datetime | None  # the last attempt's


def _needs(profile: Any, digest: str, now: datetime, ttl: timedelta) -> str | None:
    """Why a customer with this profile row needs enriching now, or None."""
    if profile is None:
        return "new"
    if profile.input_digest != digest:
        return "changed"
    if profile.status == "failed":
        return "failed" if profile.profiled_at + RETRY_FAILED_AFTER <= now else None
    return "stale" if profile.profiled_at + ttl <= now else None


def customers_needing(
    engine: Engine,
    now: datetime,
    ttl: timedelta,
    ids: Iterable[int] | None = None,
) -> tuple[list[Needing], int]:
    """The customers (of ``ids``, else all) that need enriching, and how many were looked at.
    One pass over customers and profiles."""
    with engine.connect() as conn:
        customers = _customers(conn, ids)
        profiles = {
            row.customer_id: row
            for row in conn.execute(
                sa.select(
                    CustomerProfile.customer_id,
                    CustomerProfile.input_digest,
                    CustomerProfile.status,
                    CustomerProfile.profiled_at,
                )
            )
        }
    out = []
    for customer in customers:
        profile = profiles.get(customer.id)
        reason = _needs(profile, customer.digest, now, ttl)
        if reason:
            out.append(Needing(customer, reason, profile.profiled_at if profile else None))
    return out, len(customers)


def pending_key(engine: Engine, now: datetime, ttl: timedelta) -> tuple[list[int], str]:
    """The customers needing enrichment and a key naming that set as it stands (ids, digests,
    reasons and last attempts), so a sensor requests the same set once, and a failed set again
    after its retry wait (the attempt's time changed)."""
    pending, _ = customers_needing(engine, now, ttl)
    material = json.dumps(
        [(n.customer.id, n.customer.digest, n.reason, str(n.profiled_at)) for n in pending]
    )
    return [n.customer.id for n in pending], hashlib.sha256(material.encode()).hexdigest()[:32]


def _record_facts(customer: CustomerInput) -> dict[str, str]:
    """The facts the team's customer record states (its company and country columns)."""
    out = {}
    for column, name in RECORD_COLUMNS.items():
        value = clean_fact(name, getattr(customer, column))
        if value is not None:
            out[name] = value
    return out


def _desired(
    customer: CustomerInput, domain: str | None, found: Lookup | None, source: str, at: datetime
) -> dict[str, tuple[str, str, datetime]]:
    """field -> (value, source, fetched_at) of a definite answer, before the customer record's
    and people's facts win."""
    out: dict[str, tuple[str, str, datetime]] = {}
    if domain:
        out["domain"] = (domain, OFFLINE, at)
    if found is not None and found.company is not None:
        fetched = found.fetched_at or at
        for name, value in found.company.facts().items():
            out[name] = (value, source, fetched)
    return out


FACT_VALUES = ("value", "source", "fetched_at")


@dataclass
class _Writes:
    """A batch's writes, made in three statements: stale facts deleted, facts and profiles
    upserted. Both fact statements leave ``person`` facts alone, whatever was read."""

    stale: list[int] = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, conn: Connection) -> None:
        if self.stale:
            conn.execute(
                sa.delete(CustomerFact).where(
                    CustomerFact.id.in_(self.stale), CustomerFact.source != PERSON
                )
            )
        # Never over a ``person`` fact: a person who set the field after this run read the
        # facts (read committed lets them) keeps it.
        upsert(conn, CustomerFact, self.facts, ("customer_id", "field"), FACT_VALUES,
               where=CustomerFact.source != PERSON)  # fmt: skip
        upsert(conn, CustomerProfile, self.profiles, ("customer_id",),
               ("input_digest", "status", "summary", "profiled_at"))  # fmt: skip


class Stored(NamedTuple):
    id: int
    source: str
    value: str


def _existing_facts(conn: Connection, ids: list[int]) -> dict[int, dict[str, Stored]]:
    """customer id -> field -> the stored fact."""
    out: dict[int, dict[str, Stored]] = {i: {} for i in ids}
    rows = conn.execute(
        sa.select(CustomerFact.customer_id, CustomerFact.field, CustomerFact.id,
                  CustomerFact.source, CustomerFact.value)
        .where(CustomerFact.customer_id.in_(ids))
    )  # fmt: skip
    for customer_id, name, *fact in rows:
        out[customer_id][name] = Stored(*fact)
    return out


def _facts(
    writes: _Writes,
    customer: CustomerInput,
    existing: dict[str, Stored],
    desired: dict[str, tuple[str, str, datetime]] | None,
    now: datetime,
) -> dict[str, str]:
    """The customer's facts, added to ``writes``: a person's stay as they are, the customer
    record's columns come next, then ``desired`` (None, a failed lookup: the provider's and
    offline facts stay as they are). Returns field -> source of what will be stored."""
    wanted = dict(desired or {})
    wanted.update({f: (value, CUSTOMER, now) for f, value in _record_facts(customer).items()})
    rows: dict[str, dict[str, Any]] = {}
    for name, (value, source, fetched) in wanted.items():
        before = existing.get(name)
        if before is not None and before.source == PERSON:
            continue
        if (
            before is not None
            and source == CUSTOMER
            and (before.source, before.value) == (CUSTOMER, value)
        ):
            continue  # the record says the same: its fact keeps the time it was first said
        rows[name] = {"value": value, "source": source, "fetched_at": fetched}
    # What this answer no longer backs (a failed lookup backs nothing new, so only the record's
    # facts are measured against the record).
    stale = [
        fact.id
        for f, fact in existing.items()
        if fact.source != PERSON
        and f not in wanted
        and (desired is not None or fact.source == CUSTOMER)
    ]
    writes.stale += stale
    writes.facts += [
        {"customer_id": customer.id, "team_id": customer.team_id, "field": f, **r}
        for f, r in rows.items()
    ]
    kept = {f: fact.source for f, fact in existing.items() if fact.id not in stale}
    return {**kept, **{f: r["source"] for f, r in rows.items()}}


def _count_lookup(counts: EnrichmentCounts, lookup: Lookup) -> None:
    counts.lookups += 1
    counts.cache_hits += lookup.cached
    counts.provider_calls += lookup.requests
    if lookup.status == "error":
        counts.provider_errors += 1
    elif lookup.status == "unavailable":
        counts.breaker_open += 1
    if lookup.error and lookup.error not in counts.errors and len(counts.errors) < 5:
        counts.errors.append(lookup.error)


def _profile(
    writes: _Writes,
    customer: CustomerInput,
    existing: dict[str, Stored],
    answer: tuple[str, str | None, Lookup | None, datetime],
    source: str,
) -> str:
    """One customer's facts and profile from its lookup, added to ``writes``; returns the
    profile's status."""
    reason, domain, lookup, at = answer
    failed = lookup is not None and lookup.status in ("error", "unavailable")
    status = "failed" if failed else "enriched" if lookup and lookup.company else "partial"
    desired = None if failed else _desired(customer, domain, lookup, source, at)
    sources = _facts(writes, customer, existing, desired, at)
    summary: dict[str, Any] = {
        "reason": reason,
        "domain": domain,
        "lookup": lookup.status if lookup else "no company domain",
        "sources": dict(sorted(sources.items())),
    }
    if lookup is not None and lookup.error:
        summary["error"] = lookup.error
    writes.profiles.append(
        {
            "customer_id": customer.id,
            "team_id": customer.team_id,
            "input_digest": customer.digest,
            "status": status,
            "summary": summary,
            "profiled_at": at,
        }
    )
    return status


Answer = tuple[CustomerInput, tuple[str, str | None, Lookup | None, datetime]]


def batch_writes(
    conn: Connection, answers: list[Answer], source: str, counts: EnrichmentCounts
) -> _Writes:
    """A batch's writes from its answers and the facts stored now (applied separately: a person
    may set a fact in between, and the writes leave it alone)."""
    existing = _existing_facts(conn, [c.id for c, _ in answers])
    writes = _Writes()
    for customer, answer in answers:
        status = _profile(writes, customer, existing[customer.id], answer, source)
        setattr(counts, status, getattr(counts, status) + 1)
    return writes


def enrich_customers(
    engine: Engine,
    provider: CompanyProvider,
    *,
    ttl: timedelta,
    customer_ids: Iterable[int] | None = None,
    now: Callable[[], datetime] = clock.now,
) -> EnrichmentCounts:
    """Enrich the customers (of ``customer_ids``, else all) that need it; see the module."""
    counts = EnrichmentCounts()
    started = now()
    pending, counts.seen = customers_needing(engine, started, ttl, customer_ids)
    counts.unchanged = counts.seen - len(pending)
    for start in range(0, len(pending), WRITE_BATCH):
        # Ask first, then write the batch in one transaction (no HTTP inside a transaction).
        answers = []
        for customer, reason, _ in pending[start : start + WRITE_BATCH]:
            domain = company_domain(customer.email)
            lookup = provider.lookup(domain) if domain else None
            answers.append((customer, (reason, domain, lookup, now())))
            if lookup is not None:
                _count_lookup(counts, lookup)
        with engine.begin() as conn:
            writes = batch_writes(conn, answers, provider.name, counts)
            writes.apply(conn)
    counts.breaker_state = provider.breaker_state
    return counts


def build_provider(engine: Engine, settings: EnrichmentSettings) -> CompanyProvider:
    """The provider the settings name: HTTP at ``BG_AGENTS_ENRICHMENT_URL``, else offline."""
    if settings.provider == "http" and settings.base_url:
        return HttpProvider(
            engine,
            settings.base_url,
            settings.api_key(),
            rate=settings.rate,
            cache_ttl=timedelta(days=settings.cache_days),
        )
    return OfflineProvider()


def coverage_by_source(engine: Engine) -> dict[str, int]:
    """Stored facts per source (person, customer, offline, a provider)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(CustomerFact.source, sa.func.count()).group_by(CustomerFact.source)
        )
        return {source: count for source, count in rows}


def profiles_by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(CustomerProfile.status, sa.func.count()).group_by(CustomerProfile.status)
        )
        return {status: count for status, count in rows}


def check_company_facts(engine: Engine, shown: int = 10) -> CheckOutcome:
    """Every stored fact is an allowed company field whose value would pass the provider's
    validation (so nothing personal: no e-mail, phone number or link; https logos; ISO countries;
    size bands from the list), from a known source."""
    bad: Counter[str] = Counter()
    samples: list[str] = []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(CustomerFact.id, CustomerFact.field, CustomerFact.value, CustomerFact.source)
        )
        total = 0
        for fact_id, name, value, source in rows:
            total += 1
            if name not in FIELDS:
                problem = f"field {name!r} is not a company field"
            elif source not in (PERSON, CUSTOMER, OFFLINE) and not source.startswith("http:"):
                problem = f"source {source!r} is unknown"
            elif clean_fact(name, value) != value:
                problem = f"{name} holds a value that may not be stored"
            else:
                continue
            bad[name] += 1
            if len(samples) < shown:
                samples.append(f"fact {fact_id}: {problem}")  # never the value itself
    passed = not bad
    return CheckOutcome(
        passed=passed,
        description=(
            f"all {total} customer facts are company data from a known source"
            if passed
            else f"{sum(bad.values())} of {total} customer facts may not be stored"
        ),
        metadata={
            "facts": total,
            "failing": sum(bad.values()),
            "failing_by_field": dict(sorted(bad.items())),
            "samples": samples,
        },
    )


# -- what a person sees and sets (bg-agents customers) ------------------------------------------


@dataclass(frozen=True)
class FactView:
    field: str
    value: str
    source: str
    fetched_at: datetime


@dataclass(frozen=True)
class CustomerView:
    external_id: str
    name: str
    status: str | None  # the profile's (None: never enriched)
    profiled_at: datetime | None
    facts: tuple[FactView, ...]


def _team_customer(conn: Connection, team: str, external_id: str | None) -> tuple[int, list[Any]]:
    team_id = conn.execute(sa.select(Team.id).where(Team.slug == team)).scalar()
    if team_id is None:
        raise ValueError(f"unknown team {team!r}; `bg-agents teams` lists them")
    query = sa.select(Customer.id, Customer.external_id, Customer.name).where(
        Customer.team_id == team_id
    )
    if external_id is not None:
        query = query.where(Customer.external_id == external_id)
    customers = conn.execute(query.order_by(Customer.external_id)).all()
    if external_id is not None and not customers:
        raise ValueError(f"the team {team!r} has no customer {external_id!r}")
    return int(team_id), customers


def show_customers(
    conn: Connection, team: str, external_id: str | None = None
) -> list[CustomerView]:
    """The team's customers (or one) with their facts and profile."""
    _, customers = _team_customer(conn, team, external_id)
    ids = [c.id for c in customers]
    facts: dict[int, list[FactView]] = {i: [] for i in ids}
    rows = conn.execute(
        sa.select(
            CustomerFact.customer_id,
            CustomerFact.field,
            CustomerFact.value,
            CustomerFact.source,
            CustomerFact.fetched_at,
        )
        .where(CustomerFact.customer_id.in_(ids))
        .order_by(CustomerFact.customer_id, CustomerFact.field)
    )
    for customer_id, *fact in rows:
        facts[customer_id].append(FactView(*fact))
    profiles = {
        row.customer_id: row
        for row in conn.execute(
            sa.select(
                CustomerProfile.customer_id, CustomerProfile.status, CustomerProfile.profiled_at
            ).where(CustomerProfile.customer_id.in_(ids))
        )
    }
    return [
        CustomerView(
            c.external_id,
            c.name,
            profiles[c.id].status if c.id in profiles else None,
            profiles[c.id].profiled_at if c.id in profiles else None,
            tuple(facts[c.id]),
        )
        for c in customers
    ]


def set_person_fact(
    conn: Connection, team: str, external_id: str, name: str, value: str, now: datetime
) -> tuple[FactView, bool]:
    """Record a fact a person states (source ``person``: it wins over the customer record's
    columns and the provider, and no run replaces or deletes it). Returns the stored fact and
    whether anything changed (the same value again changes nothing)."""
    if name not in FIELDS:
        raise ValueError(f"unknown field {name!r}; one of: {', '.join(FIELDS)}")
    clean = clean_fact(name, value)
    if clean is None:
        raise ValueError(
            f"{value[:80]!r} is not a {name} that may be stored (company data only): "
            f"expected {expected_form(name)}"
        )
    team_id, (customer,) = _team_customer(conn, team, external_id)
    existing = conn.execute(
        sa.select(CustomerFact.source, CustomerFact.value, CustomerFact.fetched_at).where(
            CustomerFact.customer_id == customer.id, CustomerFact.field == name
        )
    ).one_or_none()
    if existing is not None and (existing.source, existing.value) == (PERSON, clean):
        return FactView(name, clean, PERSON, existing.fetched_at), False
    upsert(
        conn,
        CustomerFact,
        [{"customer_id": customer.id, "team_id": team_id, "field": name, "value": clean,
          "source": PERSON, "fetched_at": now}],
        ("customer_id", "field"),
        ("value", "source", "fetched_at"),
    )  # fmt: skip
    return FactView(name, clean, PERSON, now), True
