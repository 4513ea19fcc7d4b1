"""A company-data provider over HTTP, made safe to call from a background run.

**The contract** (what a provider, or an adapter in front of one, implements)::

    GET {BG_AGENTS_ENRICHMENT_URL}/companies?domain=acme.com
    Authorization: Bearer {BG_AGENTS_ENRICHMENT_API_KEY}     (omitted when no key is set)
    Accept: application/json

    200 {"domain": "acme.com", "name": "Acme GmbH", "industry": "Industrial machinery",
         "size_band": "51-200", "country": "DE", "logo_url": "https://cdn.example/acme.png"}
    404 the domain is unknown (cached as not found)
    429 / 5xx: try later (``Retry-After`` in seconds or as an HTTP date is honoured)

Every field of a 200 is optional. ``size_band`` is one of ``providers.SIZE_BANDS``, ``country``
an ISO 3166-1 alpha-2 code, ``logo_url`` https. Anything else in the answer (people, e-mails,
phone numbers, unknown keys) is dropped, as is a value that is too long, of the wrong type or
that carries an e-mail address or a phone number: one bad field costs that field, not the answer.

**Calling it**: answers (found and not found) are cached in ``provider_lookups`` for
``BG_AGENTS_ENRICHMENT_CACHE_DAYS``, across teams (a domain is no team's secret); errors are never
cached. A token bucket holds requests to ``BG_AGENTS_ENRICHMENT_RATE`` per second (bursts of
the same size). 429, 5xx, timeouts and connection errors are retried with exponential backoff and
full jitter, never sooner than the provider's ``Retry-After``. A circuit breaker opens after
``failure_threshold`` lookups in a row failed: for ``cooldown`` seconds lookups fail fast as
``unavailable`` (no request), then one probe is let through (half-open) and its outcome closes or
re-opens it. Clocks, sleep and randomness are injectable, so tests run on a scripted server
without waiting.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy.engine import Engine

from bg_agents.defs.enrichment.providers import FIELDS, Company, Lookup, clean_fact
from bg_agents.lib import clock
from bg_agents.lib.db.models import ProviderLookup
from bg_agents.lib.db.upsert import upsert
from bg_agents.lib.retry_after import parse_retry_after

# Seconds per phase of a request; a provider that never answers costs at most READ per attempt.
TIMEOUT = httpx.Timeout(connect=3.0, read=5.0, write=5.0, pool=5.0)
MAX_BODY = 64 * 1024  # a company record is a few hundred bytes; more is not an answer
UNAVAILABLE = "provider unavailable (circuit open)"


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, ``burst`` at once.

    A caller that finds the bucket empty takes a token on credit and sleeps until it is paid,
    so callers queue in order and the long-run rate holds whatever the sleep's precision.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst = rate, burst
        self._monotonic, self._sleep = monotonic, sleep
        self._tokens, self._last = float(burst), monotonic()
        self.waited = 0.0  # seconds slept in total

    def acquire(self) -> float:
        """Take one token; return the seconds slept for it."""
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        wait = -self._tokens / self.rate
        self._sleep(wait)
        self.waited += wait
        return wait


class CircuitBreaker:
    """closed -> (``threshold`` failures in a row) -> open -> (``cooldown`` s) -> half_open:
    the one probe's success closes it, its failure opens it again."""

    def __init__(
        self, threshold: int, cooldown: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        self._monotonic = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self.opened = 0  # times it opened

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._monotonic() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a request may go out now (open: no; half-open: the probe)."""
        return self.state != "open"

    def success(self) -> None:
        self._failures, self._opened_at = 0, None

    def failure(self) -> None:
        self._failures += 1
        if self.state == "half_open" or self._failures >= self.threshold:
            self._opened_at = self._monotonic()
            self.opened += 1


class CompanyAnswer(BaseModel):
    """A provider's 200, validated field by field (``providers.clean_fact``): an invalid field
    becomes None, unknown keys (people, e-mails, phones...) are dropped."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    domain: str | None = None
    company_name: str | None = Field(None, alias="name")
    industry: str | None = None
    size_band: str | None = None
    country: str | None = None
    logo_url: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _clean(cls, value: Any, info: ValidationInfo) -> str | None:
        return clean_fact(info.field_name or "", value)


def parse_company(asked: str, body: Any) -> Company:
    """The company in a 200's JSON object (``asked``: the domain looked up, kept when the answer
    names no usable one). ValueError when the body is not a JSON object."""
    if not isinstance(body, dict):
        raise ValueError("the answer is not a JSON object")
    try:
        answer = CompanyAnswer.model_validate(body)
    except ValidationError as exc:  # only a validator bug gets here: each field is lenient
        raise ValueError(f"the answer does not validate ({exc.error_count()} errors)") from None
    values = answer.model_dump(exclude={"domain"})
    return Company(domain=answer.domain or asked, **values)


class _Transient(Exception):
    """A failure worth another attempt (429, 5xx, timeout, connection), with the wait asked."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class HttpProvider:
    """The HTTP provider of the module's contract, with cache, rate limit, retries and breaker."""

    def __init__(
        self,
        engine: Engine,
        base_url: str,
        api_key: str | None = None,
        *,
        rate: float = 5.0,
        burst: float | None = None,
        cache_ttl: timedelta = timedelta(days=30),
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        failure_threshold: int = 5,
        cooldown: float = 60.0,
        timeout: httpx.Timeout = TIMEOUT,
        now: Callable[[], datetime] = clock.now,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        host = urlsplit(base_url).hostname or "http"
        self.name = f"http:{host}"[:32]  # the source of its facts; keys its cache
        self.engine = engine
        self.cache_ttl = cache_ttl
        self.max_attempts, self.backoff, self.max_backoff = max_attempts, backoff, max_backoff
        self.max_retry_after = max_retry_after
        self.now, self.sleep = now, sleep
        self.rng = rng or random.Random()
        self.bucket = TokenBucket(rate, burst or max(1.0, rate), monotonic, sleep)
        self.breaker = CircuitBreaker(failure_threshold, cooldown, monotonic)
        headers = {"Accept": "application/json", "User-Agent": "bg-agents enrichment"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, follow_redirects=False
        )

    @property
    def breaker_state(self) -> str:
        return self.breaker.state

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> HttpProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the cache ------------------------------------------------------------------------------

    def _cached(self, domain: str) -> Lookup | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(ProviderLookup).where(
                    ProviderLookup.provider == self.name, ProviderLookup.lookup_key == domain
                )
            ).first()
        if row is None or row.expires_at <= self.now():
            return None
        company = None
        if row.status == "found":
            payload = row.payload or {}
            values = {f: payload.get(f) for f in FIELDS if f != "domain"}
            company = Company(domain=payload.get("domain") or domain, **values)
        return Lookup(row.status, company, cached=True, fetched_at=row.fetched_at)

    def _store(self, domain: str, status: str, company: Company | None, at: datetime) -> None:
        row = {
            "provider": self.name,
            "lookup_key": domain,
            "status": status,
            "payload": company.facts() if company else {},
            "fetched_at": at,
            "expires_at": at + self.cache_ttl,
        }
        with self.engine.begin() as conn:
            upsert(conn, ProviderLookup, [row], ("provider", "lookup_key"),
                   ("status", "payload", "fetched_at", "expires_at"))  # fmt: skip

    # -- one lookup -----------------------------------------------------------------------------

    def lookup(self, domain: str) -> Lookup:
        """The company behind ``domain``: from the cache within its TTL, else from the provider."""
        cached = self._cached(domain)
        if cached is not None:
            return cached
        if not self.breaker.allow():
            return Lookup("unavailable", error=UNAVAILABLE)
        requests = 0
        reason = "no attempt was made"
        for attempt in range(self.max_attempts):
            requests += 1
            try:
                status, company = self._request(domain)
            except _Transient as exc:
                reason = str(exc)
                wait = self._backoff(attempt)
                if exc.retry_after is not None:
                    if exc.retry_after > self.max_retry_after:
                        reason += f" (asked to wait {exc.retry_after:.0f} s)"
                        break
                    wait = max(wait, exc.retry_after)
                if attempt + 1 < self.max_attempts:
                    self.sleep(wait)
                continue
            except ValueError as exc:  # a final answer that is not one: not worth repeating
                reason = str(exc)
                break
            self.breaker.success()
            at = self.now()
            self._store(domain, status, company, at)
            return Lookup(status, company, requests=requests, fetched_at=at)  # type: ignore[arg-type]
        self.breaker.failure()
        return Lookup("error", requests=requests, error=reason)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        return self.rng.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))

    def _request(self, domain: str) -> tuple[str, Company | None]:
        self.bucket.acquire()
        try:
            with self.client.stream("GET", "/companies", params={"domain": domain}) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise ValueError(f"the answer is over {MAX_BODY} bytes")
        except httpx.TimeoutException:
            raise _Transient("the provider did not answer in time") from None
        except httpx.TransportError as exc:
            raise _Transient(f"cannot reach the provider ({type(exc).__name__})") from None
        code = response.status_code
        if code == 404:
            return "not_found", None
        if code == 429 or code >= 500:
            raise _Transient(f"HTTP {code}", parse_retry_after(response.headers, self.now()))
        if code != 200:
            raise ValueError(f"HTTP {code}")
        try:
            data = json.loads(body)
        except ValueError:
            raise ValueError("the answer is not JSON") from None
        return "found", parse_company(domain, data)
