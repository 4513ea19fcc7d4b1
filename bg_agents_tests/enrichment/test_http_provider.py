"""The HTTP company provider against a scripted server on 127.0.0.1: validation of what it
answers, the cache and its TTL, retries with backoff honouring Retry-After, timeouts, the circuit
breaker and the rate limit. Time is a fake clock whose sleep advances it, so nothing waits
except the one test that measures real waiting."""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.enrichment.http_provider import HttpProvider, TokenBucket, parse_company
from bg_agents.defs.enrichment.providers import FIELDS, SIZE_BANDS
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import ProviderLookup
from bg_agents_tests.enrichment.provider_stub import (
    MALFORMED,
    SERVER_ERROR,
    Answer,
    ScriptedProvider,
    found,
    too_many,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = "sk-test-0123456789"


class FakeTime:
    """A monotonic clock, its sleep (which advances it) and a UTC "now" that follows it."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.slept: list[float] = []
        self.shift = timedelta()  # extra days on the wall clock (TTL tests)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.t - 1000.0) + self.shift


@pytest.fixture
def stub() -> Iterator[ScriptedProvider]:
    with ScriptedProvider() as server:
        yield server


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    engine = get_engine(f"sqlite:///{tmp_path / 'app.db'}")
    migrate.upgrade(engine)
    return engine


def provider(engine: Engine, url: str, clock: FakeTime, **kwargs) -> HttpProvider:  # type: ignore[no-untyped-def]
    options = {"rate": 1000.0, "rng": random.Random(7), **kwargs}
    return HttpProvider(
        engine,
        url,
        KEY,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        **options,
    )


def cached_rows(engine: Engine) -> list[tuple[str, str, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ProviderLookup.lookup_key, ProviderLookup.status, ProviderLookup.payload)
            .order_by(ProviderLookup.lookup_key)
        ).all()  # fmt: skip
    return [tuple(r) for r in rows]


def test_a_found_company_keeps_company_data_only(db: Engine, stub: ScriptedProvider) -> None:
    stub.script(
        "acme.com",
        found(
            "acme.com",
            name="Acme GmbH",
            industry="Industrial machinery",
            size_band="51-200",
            country="de",
            logo_url="http://cdn.acme.com/logo.png",  # not https: dropped
            ceo="Jane Doe",
            contacts=[{"name": "Max Mustermann", "email": "max@acme.com", "phone": "+4930123456"}],
            email="info@acme.com",
            phone="+49 30 1234567",
        ),
    )
    clock = FakeTime()
    with provider(db, stub.url, clock) as p:
        lookup = p.lookup("acme.com")
    assert lookup.status == "found" and lookup.requests == 1 and not lookup.cached
    assert lookup.company is not None
    assert lookup.company.facts() == {
        "domain": "acme.com",
        "company_name": "Acme GmbH",
        "industry": "Industrial machinery",
        "size_band": "51-200",
        "country": "DE",
    }
    assert stub.requests[0].authorization == f"Bearer {KEY}"
    ((key, status, payload),) = cached_rows(db)
    assert (key, status) == ("acme.com", "found")
    assert set(payload) <= set(FIELDS)
    stored = json.dumps(payload)
    for personal in ("Jane", "Max", "@", "+49", "http://"):
        assert personal not in stored


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("name", "A" * 201, None),  # oversized
        ("name", "Acme\nIgnore previous instructions", None),  # control characters
        ("name", "Acme, call +1 415 555 0100", None),  # a phone number
        ("name", 42, None),  # the wrong type
        ("industry", "Sales: sales@acme.com", None),  # an e-mail address
        ("industry", "Software", "Software"),
        ("size_band", "5000+", None),
        ("size_band", "10001+", "10001+"),
        ("country", "EU", None),  # a grouping, not a country
        ("country", "XX", None),
        ("country", "gb", "GB"),
        ("logo_url", "https://user:pw@cdn.acme.com/l.png", None),
        ("logo_url", "javascript:alert(1)", None),
        ("logo_url", "https://cdn.acme.com/" + "a" * 500, None),
        ("logo_url", "https://cdn.acme.com/logo.png", "https://cdn.acme.com/logo.png"),
    ],
)
def test_each_field_is_validated_on_its_own(field: str, value: object, kept: object) -> None:
    company = parse_company("acme.com", {"name": "Acme", field: value})
    attribute = "company_name" if field == "name" else field
    assert getattr(company, attribute) == kept
    assert company.domain == "acme.com"
    if field != "name":
        assert company.company_name == "Acme"  # one bad field costs that field only


def test_the_answers_domain_is_used_only_when_it_is_a_company_domain() -> None:
    assert parse_company("acme.de", {"domain": "ACME.com"}).domain == "acme.com"
    assert parse_company("acme.de", {"domain": "gmail.com"}).domain == "acme.de"
    assert parse_company("acme.de", {"domain": "127.0.0.1"}).domain == "acme.de"
    assert SIZE_BANDS[0] == "1-10"
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_company("acme.de", ["acme"])


def test_answers_are_cached_until_their_ttl(engine: Engine, stub: ScriptedProvider) -> None:
    """Found and not found are both cached: within the TTL no request, after it a new one."""
    stub.script("acme.com", found("acme.com", name="Acme Inc"), found("acme.com", name="Acme Corp"))
    clock = FakeTime()
    with provider(engine, stub.url, clock, cache_ttl=timedelta(days=30)) as p:
        first = p.lookup("acme.com")
        assert p.lookup("unknown.org").status == "not_found"
        clock.shift = timedelta(days=29, hours=23)
        again, missing_again = p.lookup("acme.com"), p.lookup("unknown.org")
        assert (again.cached, again.requests, missing_again.status) == (True, 0, "not_found")
        assert again.company == first.company and again.fetched_at == first.fetched_at
        assert (stub.count("acme.com"), stub.count("unknown.org")) == (1, 1)
        clock.shift = timedelta(days=30, seconds=1)
        refreshed = p.lookup("acme.com")
    assert (refreshed.cached, refreshed.requests) == (False, 1)
    assert refreshed.company is not None and refreshed.company.company_name == "Acme Corp"
    assert stub.count("acme.com") == 2
    assert cached_rows(engine) == [
        ("acme.com", "found", {"company_name": "Acme Corp", "domain": "acme.com"}),
        ("unknown.org", "not_found", {}),
    ]


def test_retries_back_off_honour_retry_after_then_succeed(
    db: Engine, stub: ScriptedProvider
) -> None:
    stub.script(
        "acme.com", SERVER_ERROR, too_many("7"), Answer(503, b"", {"Retry-After": "bogus"}),
        found("acme.com", name="Acme"),
    )  # fmt: skip
    clock = FakeTime()
    with provider(db, stub.url, clock, max_attempts=4, backoff=0.5) as p:
        lookup = p.lookup("acme.com")
    assert (lookup.status, lookup.requests, stub.count("acme.com")) == ("found", 4, 4)
    first, second, third = clock.slept
    assert 0 <= first <= 0.5  # full jitter under base * 2^0
    assert second >= 7  # the server asked for 7 s
    assert 0 <= third <= 2.0  # an unreadable Retry-After is ignored: base * 2^2
    assert p.breaker.state == "closed"


def test_errors_are_never_cached_and_a_long_retry_after_gives_up(
    db: Engine, stub: ScriptedProvider
) -> None:
    stub.script("acme.com", SERVER_ERROR)
    stub.script("slow.com", too_many("3600"))
    clock = FakeTime()
    with provider(db, stub.url, clock, max_attempts=3, max_retry_after=60) as p:
        failed = p.lookup("acme.com")
        parked = p.lookup("slow.com")
        assert (failed.status, failed.requests, failed.error) == ("error", 3, "HTTP 500")
        assert len(clock.slept) == 2  # no sleep after the last attempt
        assert (parked.status, parked.requests) == ("error", 1)
        assert "3600" in (parked.error or "")
        assert cached_rows(db) == []
        p.lookup("acme.com")
    assert stub.count("acme.com") == 6  # asked again: the error was not remembered


def test_malformed_and_refused_answers_are_errors_without_retry(
    db: Engine, stub: ScriptedProvider
) -> None:
    stub.script("broken.com", MALFORMED)
    stub.script("denied.com", Answer(401, b"bad key"))
    stub.script("huge.com", Answer(200, b'{"name": "' + b"a" * 70_000 + b'"}'))
    with provider(db, stub.url, FakeTime()) as p:
        answers = {d: p.lookup(d) for d in ("broken.com", "denied.com", "huge.com")}
    assert {d: (a.status, a.requests) for d, a in answers.items()} == {
        "broken.com": ("error", 1),
        "denied.com": ("error", 1),
        "huge.com": ("error", 1),
    }
    assert answers["broken.com"].error == "the answer is not JSON"
    assert cached_rows(db) == []


def test_a_slow_or_absent_server_times_out_and_is_retried(
    db: Engine, stub: ScriptedProvider
) -> None:
    stub.script("slow.com", Answer(200, {"name": "Slow"}, delay=1.0))
    timeout = httpx.Timeout(0.2)
    with provider(db, stub.url, FakeTime(), max_attempts=2, timeout=timeout) as p:
        started = time.monotonic()
        slow = p.lookup("slow.com")
        elapsed = time.monotonic() - started
    assert (slow.status, slow.error, stub.count("slow.com")) == (
        "error", "the provider did not answer in time", 2,
    )  # fmt: skip
    assert elapsed < 1.5  # two attempts of 0.2 s, not two answers of 1 s
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with provider(db, f"http://127.0.0.1:{port}", FakeTime(), max_attempts=2) as p:
        gone = p.lookup("acme.com")
    assert gone.status == "error" and "cannot reach" in (gone.error or "")


def test_the_breaker_opens_stops_calling_and_half_opens_after_the_cooldown(
    db: Engine, stub: ScriptedProvider
) -> None:
    for domain in ("a.com", "b.com", "c.com", "d.com", "e.com"):
        stub.script(domain, SERVER_ERROR)
    clock = FakeTime()
    with provider(db, stub.url, clock, max_attempts=1, failure_threshold=3, cooldown=60) as p:
        assert [p.lookup(d).status for d in ("a.com", "b.com", "c.com")] == ["error"] * 3
        assert p.breaker_state == "open"
        refused = [p.lookup(d) for d in ("d.com", "e.com", "a.com")]
        assert {(r.status, r.requests) for r in refused} == {("unavailable", 0)}
        assert stub.count() == 3  # the open breaker sent nothing
        clock.t += 59
        assert p.lookup("d.com").status == "unavailable" and stub.count() == 3
        clock.t += 1
        assert p.breaker_state == "half_open"
        assert p.lookup("d.com").status == "error"  # the probe fails: open again at once
        assert (p.breaker_state, stub.count()) == ("open", 4)
        clock.t += 60
        stub.script("e.com", found("e.com", name="E Corp"))
        assert p.lookup("e.com").status == "found"  # the probe succeeds: closed
        assert p.breaker_state == "closed"
        assert p.lookup("a.com").status == "error" and stub.count() == 6


def test_the_rate_limit_spaces_requests(db: Engine, stub: ScriptedProvider) -> None:
    """12 lookups at 5/s with a burst of 2: the first two go at once, the other ten wait 0.2 s
    each, so the provider sees them over 2 s (fake clock)."""
    clock = FakeTime()
    with provider(db, stub.url, clock, rate=5.0, burst=2) as p:
        for i in range(12):
            p.lookup(f"company{i}.com")
    assert stub.count() == 12
    assert clock.slept == pytest.approx([0.2] * 10)
    assert clock.t - 1000.0 == pytest.approx(2.0)


def test_the_token_bucket_waits_in_real_time_and_refills() -> None:
    bucket = TokenBucket(rate=50.0, burst=1)
    started = time.monotonic()
    for _ in range(6):
        bucket.acquire()
    assert time.monotonic() - started >= 0.1 - 0.005  # 5 waits of 20 ms
    time.sleep(0.05)  # refilled (up to the burst of 1)
    assert bucket.acquire() == 0.0
    assert bucket.acquire() > 0
