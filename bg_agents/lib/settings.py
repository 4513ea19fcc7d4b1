"""Configuration from the environment, in one place, validated once.

Every knob is an environment variable with an embedded default, so the project runs on a laptop
with nothing set and in production with only variables changed. All of them are read here, by
one pydantic-settings model (:class:`Environment`); nothing else in the package reads
``os.environ`` for its own configuration. A bad value is a :class:`SettingsError` that names
each wrong variable on a line of its own, so the command line prints them instead of a traceback
deep inside a run.

Secrets (database passwords, API keys) are read here only to decide *which* backend to use; Dagster
resources receive them through ``EnvVar`` so they never show in the UI, and no error message
repeats them.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ipaddress
import math
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_HISTORY_START = "2025-01-01"
API_KEY_VARS = ("BG_AGENTS_LLM_API_KEY", "OPENAI_API_KEY")

# Dates the project can stand at. Far beyond them, date arithmetic (a week later, a catch-up
# window) overflows Python's datetime; nothing real happens before 1970 or after 2100.
EARLIEST = date(1970, 1, 1)
LATEST = date(2100, 12, 31)

# A catch-up window longer than a year would deliver last year's news as this week's.
MAX_CATCH_UP_HOURS = 366 * 24
MAX_LLM_TIMEOUT = 3600.0
MAX_LLM_RETRIES = 20

# Links in messages point here unless BG_AGENTS_PUBLIC_URL says otherwise (the local unsubscribe
# page), so a demo's e-mails have working links with nothing configured.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8025"
SMTP_URL_HINT = (
    "e.g. smtp://user:pass@host:587?starttls=1, smtps://host:465 or smtp://127.0.0.1:1025"
)
SECRET_KEY_FILE = "secret_key"
# Where the demo records the first week it filled, so partitions begin with the data
# (``history_start_of``). BG_AGENTS_HISTORY_START, when set, wins.
HISTORY_START_FILE = "history_start"
MIN_SECRET_KEY = 16
# Run-failure alerts (the monitoring domain): links point at the Dagster UI here by default.
DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000"
MAX_ESCALATE_AFTER = 100
# Where a run's steps execute (deploy/README.md, "Runs on Celery"). "multiprocess" is Dagster's
# own default executor: each step in a child process of the run, on the run's machine.
EXECUTORS = ("multiprocess", "celery")
DEFAULT_CELERY_BROKER_URL = "pyamqp://guest@127.0.0.1:5672//"
DEFAULT_CELERY_QUEUE = "dagster"
# dagster-celery returns each step's events to the run as the Celery task's result, so a result
# backend is required, not optional; "rpc://" sends them back over the broker itself (no store).
CELERY_RESULT_BACKEND = "rpc://"
# Customer enrichment's company-data provider: requests per second, days an answer is reused.
MAX_ENRICHMENT_RATE = 1000.0
MAX_ENRICHMENT_CACHE_DAYS = 3650


class SettingsError(ValueError):
    """One or more environment variables are unusable; ``problems`` has one line for each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def check_date_range(value: date, what: str) -> None:
    """Refuse dates the project cannot compute with (see ``EARLIEST``/``LATEST``)."""
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"{what} must be between {EARLIEST} and {LATEST}, not {value}")


def _iso_date(value: Any) -> date:
    # Strict ISO: pydantic would also take "1700000000" as a Unix timestamp.
    if isinstance(value, date):
        return value
    try:
        parsed = date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("must be an ISO date (YYYY-MM-DD)") from None
    check_date_range(parsed, "the date")
    return parsed


def writable_folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (or become) a folder this process writes in, or None.

    Writing is tried, not inferred from permission bits: root passes every permission check
    but still cannot write to a read-only mount.
    """
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == path else f"cannot be created: {existing} is a file"
        return f"{where}, not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if existing == path:
            return f"is not writable ({reason})"
        return f"cannot be created: {existing} is not writable ({reason})"
    return None


@dataclass(frozen=True)
class SmtpServer:
    """Where e-mail leaves, as ``BG_AGENTS_SMTP_URL`` describes it (the password is never shown)."""

    host: str
    port: int
    security: str  # "plain" | "starttls" (upgraded after connecting) | "tls" (from the first byte)
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _http_url(text: str, example: str) -> SplitResult:
    """``text`` split as an http(s) URL with a host and a readable port, else ValueError naming
    ``example``: the one check behind every URL setting."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL, e.g. {example}")
    return parts


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_smtp_url(text: str) -> SmtpServer:
    """``smtp://[user:pass@]host[:port][?starttls=1]`` or ``smtps://[user:pass@]host[:port]``.

    User and password are URL-decoded (a ``@`` in a password is written ``%40``). A password is
    refused over an unencrypted connection to anything but this machine: it would cross the
    network in clear text. Errors never repeat the password.
    """
    from urllib.parse import parse_qsl, unquote

    try:
        parts = urlsplit(text.strip())
        port = parts.port
        query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError(f"is not an SMTP URL ({SMTP_URL_HINT})") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"must start with smtp:// or smtps:// ({SMTP_URL_HINT})")
    if not parts.hostname:
        raise ValueError(f"names no host ({SMTP_URL_HINT})")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError(f"has a path; only host, port and ?starttls=1 are read ({SMTP_URL_HINT})")
    starttls = False
    for key, value in query:
        if key != "starttls":
            raise ValueError(f"has an unknown option {key!r}; only starttls=1 is known")
        if value.lower() not in _TRUE + _FALSE:
            raise ValueError("starttls must be 1 or 0")
        starttls = value.lower() in _TRUE
    if parts.scheme == "smtps" and starttls:
        raise ValueError(
            "asks for STARTTLS on smtps://, which is TLS from the first byte: "
            "use smtp://host:587?starttls=1 or smtps://host:465"
        )
    security = "tls" if parts.scheme == "smtps" else "starttls" if starttls else "plain"
    if port is None:
        port = 465 if security == "tls" else 587 if security == "starttls" else 25
    if port == 0:
        raise ValueError("port 0 is not a port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if not ((username or "") + (password or "")).isascii():
        raise ValueError("user and password must be ASCII (SMTP AUTH sends them as ASCII)")
    if password and not username:
        raise ValueError("has a password but no user")
    if username and not password:
        raise ValueError(f"has a user but no password ({SMTP_URL_HINT})")
    if password and security == "plain" and not _is_loopback(parts.hostname):
        raise ValueError("would send the password unencrypted: add ?starttls=1 or use smtps://")
    return SmtpServer(parts.hostname, port, security, username, password)


def _mail_address(text: str) -> str:
    """A From address as a user writes it (``billing@example.com``, ``Finance <b@example.com>``)."""
    from email.utils import parseaddr

    if any(c in text for c in "\r\n\0"):
        raise ValueError("must be one line")
    name, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in addr):
        raise ValueError("must be an e-mail address, e.g. Finance <billing@example.com>")
    return text.strip()


def parse_operator_emails(text: str) -> list[str]:
    """``a@example.com, Ops <b@example.com>`` as bare addresses, lower-cased, once each."""
    from email.utils import parseaddr

    addresses: list[str] = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            _mail_address(part)
        except ValueError:
            raise ValueError(
                f"{part.strip()[:80]!r} is not an e-mail address; give addresses separated by "
                "commas, e.g. ops@example.com,oncall@example.com"
            ) from None
        address = parseaddr(part)[1].lower()
        if address not in addresses:
            addresses.append(address)
    return addresses


# The mapping the next Environment() reads: os.environ unless a caller passes its own.
_SOURCE: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "bg_agents_env", default=None
)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (tests pass their own)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        mapping = _SOURCE.get()
        mapping = os.environ if mapping is None else mapping
        return {k: v for k, v in mapping.items() if v != ""}  # empty means unset


class Environment(BaseSettings):
    """Every environment variable the project reads, with its bounds."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    home: str | None = Field(None, alias="BG_AGENTS_HOME")
    database_url: str | None = Field(None, alias="BG_AGENTS_DATABASE_URL")
    history_start: date = Field(
        date.fromisoformat(DEFAULT_HISTORY_START), alias="BG_AGENTS_HISTORY_START"
    )
    now: datetime | None = Field(None, alias="BG_AGENTS_NOW")
    insights_catch_up_hours: float = Field(
        48.0,
        ge=0,
        le=MAX_CATCH_UP_HOURS,
        allow_inf_nan=False,
        alias="BG_AGENTS_INSIGHTS_CATCH_UP_HOURS",
    )
    reminders_catch_up_hours: float = Field(
        24.0,
        ge=0,
        le=MAX_CATCH_UP_HOURS,
        allow_inf_nan=False,
        alias="BG_AGENTS_REMINDERS_CATCH_UP_HOURS",
    )
    llm_backend: str | None = Field(None, alias="BG_AGENTS_LLM_BACKEND")
    llm_model: str = Field("gpt-4o-mini", alias="BG_AGENTS_LLM_MODEL", max_length=100)
    llm_base_url: str | None = Field(None, alias="BG_AGENTS_LLM_BASE_URL")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    llm_api_key_set: bool = Field(False, alias="BG_AGENTS_LLM_API_KEY")
    openai_api_key_set: bool = Field(False, alias="OPENAI_API_KEY")
    llm_timeout: float = Field(
        30.0, gt=0, le=MAX_LLM_TIMEOUT, allow_inf_nan=False, alias="BG_AGENTS_LLM_TIMEOUT"
    )
    llm_max_retries: int = Field(4, ge=0, le=MAX_LLM_RETRIES, alias="BG_AGENTS_LLM_MAX_RETRIES")
    dagster_home: str | None = Field(None, alias="DAGSTER_HOME")
    # Month-end reports: a folder or an fsspec URL (s3://bucket/reports); default <home>/reports.
    reports_url: str | None = Field(None, alias="BG_AGENTS_REPORTS_URL", max_length=1000)
    # Unset: the e-mail channel is off. SecretStr: the URL may hold the password.
    smtp_url: SecretStr | None = Field(None, alias="BG_AGENTS_SMTP_URL")
    smtp_from: str | None = Field(
        None, alias="BG_AGENTS_SMTP_FROM", max_length=320, validate_default=True
    )
    public_url: str = Field(DEFAULT_PUBLIC_URL, alias="BG_AGENTS_PUBLIC_URL")
    secret_key: SecretStr | None = Field(None, alias="BG_AGENTS_SECRET_KEY")
    # Operators (run-failure alerts): addresses, a webhook (a Slack URL is itself a secret).
    operator_emails: str | None = Field(None, alias="BG_AGENTS_OPERATOR_EMAILS")
    operator_webhook_url: SecretStr | None = Field(None, alias="BG_AGENTS_OPERATOR_WEBHOOK_URL")
    operator_webhook_slack: bool = Field(False, alias="BG_AGENTS_OPERATOR_WEBHOOK_SLACK")
    dagster_url: str = Field(DEFAULT_DAGSTER_URL, alias="BG_AGENTS_DAGSTER_URL")
    alert_escalate_after: int = Field(
        3, ge=1, le=MAX_ESCALATE_AFTER, alias="BG_AGENTS_ALERT_ESCALATE_AFTER"
    )
    executor: str = Field("multiprocess", alias="BG_AGENTS_EXECUTOR")
    # SecretStr: the broker URL may hold the password.
    celery_broker_url: SecretStr | None = Field(None, alias="BG_AGENTS_CELERY_BROKER_URL")
    celery_queue: str = Field(DEFAULT_CELERY_QUEUE, alias="BG_AGENTS_CELERY_QUEUE")
    # Customer enrichment (defs/enrichment/http_provider.py). Unset URL: the offline provider.
    enrichment_url: str | None = Field(None, alias="BG_AGENTS_ENRICHMENT_URL", max_length=1000)
    enrichment_api_key_set: bool = Field(False, alias="BG_AGENTS_ENRICHMENT_API_KEY")
    enrichment_rate: float = Field(
        5.0, gt=0, le=MAX_ENRICHMENT_RATE, allow_inf_nan=False, alias="BG_AGENTS_ENRICHMENT_RATE"
    )
    enrichment_cache_days: int = Field(
        30, ge=1, le=MAX_ENRICHMENT_CACHE_DAYS, alias="BG_AGENTS_ENRICHMENT_CACHE_DAYS"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _MappingSource(settings_cls))

    @field_validator(
        "llm_api_key_set", "openai_api_key_set", "enrichment_api_key_set", mode="before"
    )
    @classmethod
    def _present(cls, value: Any) -> bool:
        return bool(value)  # the key itself is never kept here

    @field_validator("home", "dagster_home")
    @classmethod
    def _folder(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = Path(value).expanduser()
        if info.field_name == "dagster_home" and not path.is_absolute():
            raise ValueError("must be an absolute path (Dagster requires one)")
        problem = writable_folder_problem(path.resolve())
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import sqlalchemy as sa

        hint = "expected sqlite:///path/app.db or postgresql://user@host:5432/dbname"
        try:
            url = sa.engine.make_url(value.strip())
        except (sa.exc.ArgumentError, ValueError):
            raise ValueError(f"is not a database URL ({hint})") from None
        # Split by hand: SQLAlchemy's getters import the dialect, which fails for unknown ones.
        backend, _, driver = url.drivername.partition("+")
        if backend == "postgres":
            raise ValueError("write postgresql://, not postgres:// (SQLAlchemy knows only that)")
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"uses {backend!r}; only sqlite and postgresql are supported ({hint})")
        allowed = {"sqlite": ("pysqlite",), "postgresql": ("psycopg2",)}[backend]
        if driver and driver not in allowed:
            raise ValueError(f"driver {driver!r} is not supported; use {backend}:// ({hint})")
        if backend == "postgresql" and url.port is not None and not 0 < url.port < 65536:
            raise ValueError(f"port {url.port} is out of range")
        if backend == "sqlite" and url.database and url.database != ":memory:":
            problem = writable_folder_problem(Path(url.database).expanduser().resolve().parent)
            if problem:
                raise ValueError(f"the database's folder {problem}")
        return value.strip()

    @field_validator("history_start", mode="before")
    @classmethod
    def _history_start(cls, value: Any) -> date:
        return _iso_date(value)

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, value: Any) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError("must be an ISO instant, e.g. 2026-11-23T07:00:00+05:30") from None
        if parsed.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-11-23T07:00:00+00:00")
        if not EARLIEST <= parsed.date() <= LATEST:
            raise ValueError(f"must be between {EARLIEST} and {LATEST}")
        return parsed.astimezone(UTC)

    @field_validator("llm_backend")
    @classmethod
    def _backend(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        backend = value.strip().lower()
        if backend not in ("openai", "offline"):
            raise ValueError("must be 'openai' or 'offline'")
        return backend

    @field_validator("llm_model")
    @classmethod
    def _model(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a model")
        return value.strip()

    @field_validator("llm_base_url", "openai_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _http_url(value.strip(), "http://localhost:11434/v1")
        return value.strip()

    @field_validator("enrichment_url")
    @classmethod
    def _enrichment_url(cls, value: str | None) -> str | None:
        """The provider's base URL. The API key travels in a header, so plain http is only
        accepted to this machine (a test server, a local proxy), never across a network."""
        if value is None:
            return None
        text = value.strip()
        parts = _http_url(text, "https://companies.example.com/v1")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be a plain base URL, without query, fragment or credentials")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("would send the API key unencrypted: use https://")
        return text.rstrip("/")

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp_url(cls, value: Any) -> Any:
        if value is None or isinstance(value, SecretStr):
            return value
        parse_smtp_url(str(value))
        return str(value).strip()

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("smtp_url") is not None:
                raise ValueError(
                    "must be set when BG_AGENTS_SMTP_URL is: the sender, e.g. "
                    "Finance <billing@example.com>"
                )
            return None
        return _mail_address(value)

    @field_validator("operator_emails")
    @classmethod
    def _operator_emails(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return ",".join(parse_operator_emails(value)) or None

    @field_validator("operator_webhook_url", mode="before")
    @classmethod
    def _operator_webhook_url(cls, value: Any) -> Any:
        if value is None or isinstance(value, SecretStr):
            return value
        from bg_agents.lib.urls import check_url

        return check_url(str(value))

    @field_validator("reports_url", mode="before")
    @classmethod
    def _reports_url(cls, value: Any) -> Any:
        """A folder, or a URL whose fsspec backend is installed: said at start, not at the
        first month-end."""
        text = None if value is None else str(value).strip()
        if not text or "://" not in text or text.startswith("file://"):
            return text or None
        import fsspec

        protocol = text.split("://", 1)[0]
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise ValueError(f"no storage is known for {protocol}://") from None
        except ImportError as exc:
            raise ValueError(f"{protocol}:// needs a package: {exc}") from None
        return text

    @field_validator("operator_webhook_slack", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return bool(value)
        text = str(value).strip().lower()
        if text not in _TRUE + _FALSE:
            raise ValueError("must be 1 or 0")
        return text in _TRUE

    @field_validator("executor")
    @classmethod
    def _executor(cls, value: str) -> str:
        if value.strip().lower() not in EXECUTORS:
            raise ValueError(f"must be one of {', '.join(EXECUTORS)}")
        return value.strip().lower()

    @field_validator("celery_broker_url", mode="before")
    @classmethod
    def _celery_broker_url(cls, value: Any) -> Any:
        if value is None or isinstance(value, SecretStr):
            return value
        from kombu.transport import TRANSPORT_ALIASES

        text = str(value)
        scheme, sep, rest = text.partition("://")
        if not sep or not rest or any(c.isspace() for c in text):
            raise ValueError(
                f"must be a broker URL without spaces, e.g. {DEFAULT_CELERY_BROKER_URL}"
            )
        # Kombu picks the transport by the URL's scheme: an unknown one fails only at a run.
        if scheme not in TRANSPORT_ALIASES:
            raise ValueError(
                f"has the scheme {scheme!r}, which is no Celery transport (RabbitMQ: pyamqp://)"
            )
        return text

    @field_validator("celery_queue")
    @classmethod
    def _celery_queue(cls, value: str) -> str:
        # RabbitMQ reserves "amq."; the name also becomes a routing-key prefix, hence no spaces.
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", value) or value.startswith("amq."):
            raise ValueError(
                "must be 1 to 100 letters, digits, '.', '_' or '-' (not starting with 'amq.')"
            )
        return value

    @field_validator("dagster_url")
    @classmethod
    def _dagster_url(cls, value: str) -> str:
        return cls._public_url(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = _http_url(value.strip(), "https://app.example.com")
        if parts.query or parts.fragment or any(c.isspace() or c in '<>"' for c in value.strip()):
            raise ValueError("must be a plain base URL, without query, fragment or spaces")
        return value.strip().rstrip("/")

    @field_validator("secret_key", mode="before")
    @classmethod
    def _secret_key(cls, value: Any) -> Any:
        if value is None or isinstance(value, SecretStr):
            return value
        if len(str(value).strip()) < MIN_SECRET_KEY:
            raise ValueError(
                f"must be at least {MIN_SECRET_KEY} characters (it signs unsubscribe links); "
                "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe())'"
            )
        return str(value).strip()

    @field_validator(
        "llm_timeout",
        "insights_catch_up_hours",
        "reminders_catch_up_hours",
        "enrichment_rate",
        mode="before",
    )
    @classmethod
    def _finite(cls, value: Any) -> Any:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number") from None
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        return number


_SECRET_FIELDS = {
    "BG_AGENTS_LLM_API_KEY",
    "OPENAI_API_KEY",
    "BG_AGENTS_SECRET_KEY",
    "BG_AGENTS_OPERATOR_WEBHOOK_URL",
    "BG_AGENTS_ENRICHMENT_API_KEY",
}
# URLs shown with their password hidden.
_URL_FIELDS = {"BG_AGENTS_SMTP_URL", "BG_AGENTS_CELERY_BROKER_URL", "BG_AGENTS_REPORTS_URL"}


def hide_url_password(text: str) -> str:
    """``scheme://user:***@host...``: the URL with whatever sits between user and host hidden.

    Split by hand (up to the last ``@`` before the path), since a URL bad enough to be refused
    may not parse, and an unencoded ``@`` in a password must not leave its tail showing.
    """
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=-1)
    netloc, tail = (rest, "") if end < 0 else (rest[:end], rest[end:])
    userinfo, at, host = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return text
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{tail}"


def _shown(name: str, value: Any) -> str:
    """The offending value as the user typed it, minus secrets and URL passwords."""
    if name in _SECRET_FIELDS:
        return ""
    if value is None:  # a variable that is required but unset
        return ""
    text = str(value)
    if name in _URL_FIELDS:
        text = hide_url_password(text)
    if name == "BG_AGENTS_DATABASE_URL" and "@" in text:
        import sqlalchemy as sa

        try:
            text = sa.engine.make_url(text).render_as_string(hide_password=True)
        except Exception:  # not a URL at all: show only where it points
            text = "***@" + text.rsplit("@", 1)[1]
    if len(text) > 80:
        text = text[:77] + "..."
    return f"={text!r}"


def _problem_line(error: Mapping[str, Any], raw: Mapping[str, str]) -> str:
    name = str(error["loc"][0]) if error["loc"] else "environment"
    # A default that fails validation (a variable required by another) is named by its field.
    field_info = Environment.model_fields.get(name)
    name = field_info.alias if field_info and field_info.alias else name
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    elif message.startswith("Input should be "):
        message = "must be " + message[len("Input should be ") :]
    elif message.startswith("String should have at most"):
        message = "is too long: " + message[len("String should have ") :]
    return f"{name}{_shown(name, raw.get(name))}: {message}"


_NAMES = tuple(f.alias for f in Environment.model_fields.values() if f.alias)


def read_environment(env: Mapping[str, str] | None = None) -> Environment:
    """Validate every setting; ``env`` defaults to ``os.environ`` (tests pass their own).

    The clock asks on every call, so a validated set of values is remembered: the same
    variables are checked (folders probed) once, and any change is validated afresh.
    """
    raw = os.environ if env is None else env
    return _validated(tuple((name, raw[name]) for name in _NAMES if name in raw))


@functools.lru_cache(maxsize=64)
def _validated(values: tuple[tuple[str, str], ...]) -> Environment:
    mapping = dict(values)
    token = _SOURCE.set(mapping)
    try:
        return Environment()
    except ValidationError as exc:
        raise SettingsError([_problem_line(e, mapping) for e in exc.errors()]) from None
    finally:
        _SOURCE.reset(token)


def validate_environment(env: Mapping[str, str] | None = None) -> None:
    """The check a command runs once at start: raises :class:`SettingsError` listing problems."""
    read_environment(env)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    history_start: date
    smtp: SmtpServer | None = None  # None: the e-mail channel is off
    smtp_from: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL
    configured_secret_key: str | None = field(default=None, repr=False)
    reports_url: str | None = None

    @property
    def reports_base(self) -> str:
        """Where month-end reports go: ``BG_AGENTS_REPORTS_URL``, else ``<home>/reports``."""
        return self.reports_url or str(self.home / "reports")

    @property
    def import_dir(self) -> Path:
        """Drop bank files (CSV, Parquet, OFX, MT940, camt, QIF) in ``<import_dir>/<team-slug>/``;
        the import sensor picks them up."""
        return self.home / "imports"

    def secret_key(self) -> str:
        """The key that signs links (unsubscribe): ``BG_AGENTS_SECRET_KEY``, else one kept in
        ``<home>/secret_key``, made on first use, so a demo's links work unconfigured and keep
        working across restarts. Changing it invalidates every link already sent."""
        return self.configured_secret_key or _home_secret_key(self.home)


def _home_secret_key(home: Path) -> str:
    """Read ``<home>/secret_key``, creating it (0600) if missing.

    The new key is written to a private temporary file and linked into place, so two processes
    starting at once agree on one key and none ever reads a half-written file.
    """
    path = home / SECRET_KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=home, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first: theirs
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    key = path.read_text(encoding="utf-8", errors="replace").strip()
    if len(key) < MIN_SECRET_KEY:
        raise SettingsError(
            [
                f"{path} holds no usable key (under {MIN_SECRET_KEY} characters): delete it to "
                "make a new one (links already sent stop working) or set BG_AGENTS_SECRET_KEY"
            ]
        )
    return key


def history_start_of(home: Path) -> date:
    """The history start when BG_AGENTS_HISTORY_START is not set: the one ``<home>/history_start``
    records, else the default.

    Partitions start there. The demo writes that file with the first week it seeds
    (``record_history_start``), so every process sharing the home (the demo, `make dev`'s UI and
    daemon, the CLI) shows partitions from the data's first day instead of hundreds of empty
    ones. A deployment sets the variable to its first booking day instead.
    """
    path = home / HISTORY_START_FILE
    if not path.exists():
        return date.fromisoformat(DEFAULT_HISTORY_START)
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        return _iso_date(text)
    except ValueError:
        raise SettingsError(
            [f"{path} holds {text[:40]!r}, not an ISO date: fix or delete it"]
        ) from None


def record_history_start(home: Path, first_day: date) -> date:
    """Make ``first_day`` the home's history start unless one at or before it is recorded
    already (a later demo run never hides weeks an earlier one filled). Returns the start."""
    path = home / HISTORY_START_FILE
    if path.exists() and history_start_of(home) <= first_day:
        return history_start_of(home)
    home.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{HISTORY_START_FILE}.{os.getpid()}")
    tmp.write_text(first_day.isoformat() + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return first_day


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Where the project keeps its data; ``env`` defaults to ``os.environ``."""
    e = read_environment(env)
    home = Path(e.home or Path.cwd() / ".bg_agents").expanduser().resolve()
    url = e.database_url or f"sqlite:///{home / 'app.db'}"
    smtp_url = e.smtp_url.get_secret_value() if e.smtp_url else None
    return Settings(
        home=home,
        database_url=url,
        history_start=(
            e.history_start if "history_start" in e.model_fields_set else history_start_of(home)
        ),
        smtp=parse_smtp_url(smtp_url) if smtp_url else None,
        smtp_from=e.smtp_from,
        public_url=e.public_url,
        configured_secret_key=e.secret_key.get_secret_value() if e.secret_key else None,
        reports_url=e.reports_url,
    )


def history_start_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``BG_AGENTS_HISTORY_START`` is set (then no recorded start overrides it)."""
    return "history_start" in read_environment(env).model_fields_set


def database_url_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``BG_AGENTS_DATABASE_URL`` is set (it may hold a password: Dagster gets its name)."""
    return read_environment(env).database_url is not None


def use_dagster_home(settings: Settings) -> Path:
    """``DAGSTER_HOME`` for an in-process Dagster instance (the demo): the configured one, else a
    folder beside the app's home. Exported, because Dagster's instance reads it from there."""
    os.environ.setdefault("DAGSTER_HOME", str(settings.home.parent / ".dagster_home"))
    path = Path(os.environ["DAGSTER_HOME"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def pinned_now(env: Mapping[str, str] | None = None) -> datetime | None:
    """``BG_AGENTS_NOW`` as a UTC instant, or None when the clock is not pinned."""
    return read_environment(env).now


def catch_up_hours(env: Mapping[str, str] | None = None) -> float:
    """``BG_AGENTS_INSIGHTS_CATCH_UP_HOURS`` (default 48)."""
    return read_environment(env).insights_catch_up_hours


def reminders_catch_up_hours(env: Mapping[str, str] | None = None) -> float:
    """``BG_AGENTS_REMINDERS_CATCH_UP_HOURS`` (default 24): how late a missed 09:00 may still go
    out; older units are recorded as skipped."""
    return read_environment(env).reminders_catch_up_hours


@dataclass(frozen=True)
class OperatorSettings:
    """Who hears about failed runs, and where the alerts' links point."""

    emails: tuple[str, ...]
    webhook_url: str | None = field(repr=False)  # a Slack URL is itself a secret
    webhook_slack: bool
    dagster_url: str
    escalate_after: int

    @property
    def configured(self) -> bool:
        """Alerts are off until an address or a webhook is set: nobody would hear them."""
        return bool(self.emails or self.webhook_url)


def load_operator_settings(env: Mapping[str, str] | None = None) -> OperatorSettings:
    """``BG_AGENTS_OPERATOR_*``, ``BG_AGENTS_DAGSTER_URL``, ``BG_AGENTS_ALERT_ESCALATE_AFTER``."""
    e = read_environment(env)
    return OperatorSettings(
        emails=tuple(e.operator_emails.split(",")) if e.operator_emails else (),
        webhook_url=e.operator_webhook_url.get_secret_value() if e.operator_webhook_url else None,
        webhook_slack=e.operator_webhook_slack,
        dagster_url=e.dagster_url,
        escalate_after=e.alert_escalate_after,
    )


@dataclass(frozen=True)
class LLMSettings:
    """Which model to call. The key itself is read only where the client is built."""

    backend: str  # openai | offline
    model: str
    base_url: str | None
    api_key_var: str | None  # the environment variable that holds the key, if any
    request_timeout: float
    max_retries: int

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The key's value from the variable ``api_key_var`` names (None when there is none)."""
        if not self.api_key_var:
            return None
        return (os.environ if env is None else env).get(self.api_key_var)


def load_llm_settings(env: Mapping[str, str] | None = None) -> LLMSettings:
    """``openai`` when a key or a base URL is configured, else the offline backend.

    ``BG_AGENTS_LLM_BACKEND=offline|openai`` overrides the choice (e.g. offline in a test run
    that has a key in its environment, or openai for a local server that needs no key).
    """
    e = read_environment(env)
    key_var = (
        "BG_AGENTS_LLM_API_KEY"
        if e.llm_api_key_set
        else "OPENAI_API_KEY"
        if e.openai_api_key_set
        else None
    )
    base_url = e.llm_base_url or e.openai_base_url
    backend = e.llm_backend or ("openai" if key_var or base_url else "offline")
    return LLMSettings(
        backend=backend,
        model=e.llm_model,
        base_url=base_url,
        api_key_var=key_var,
        request_timeout=e.llm_timeout,
        max_retries=e.llm_max_retries,
    )


@dataclass(frozen=True)
class ExecutorSettings:
    """Where runs' steps execute: ``multiprocess`` (one machine) or ``celery`` (any worker
    consuming ``celery_queue`` on the broker; deploy/README.md, "Runs on Celery")."""

    executor: str
    broker_url: str = field(repr=False)  # may hold the broker's password
    broker_url_configured: bool  # set by BG_AGENTS_CELERY_BROKER_URL (reach Dagster as an EnvVar)
    queue: str


def load_executor_settings(env: Mapping[str, str] | None = None) -> ExecutorSettings:
    """``BG_AGENTS_EXECUTOR``, ``BG_AGENTS_CELERY_BROKER_URL``, ``BG_AGENTS_CELERY_QUEUE``."""
    e = read_environment(env)
    url = e.celery_broker_url.get_secret_value() if e.celery_broker_url else None
    return ExecutorSettings(
        executor=e.executor,
        broker_url=url or DEFAULT_CELERY_BROKER_URL,
        broker_url_configured=url is not None,
        queue=e.celery_queue,
    )


@dataclass(frozen=True)
class EnrichmentSettings:
    """Where customer enrichment asks for company data: ``http`` (a provider at ``base_url``)
    or ``offline`` (the billing e-mail's domain only). The key is read only where the client
    is built, through ``api_key``."""

    provider: str  # http | offline
    base_url: str | None
    api_key_var: str | None  # the environment variable that holds the key, if set
    rate: float  # requests per second to the provider
    cache_days: int  # how long a provider's answer (found or not) is reused

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        """The key's value (None when there is none)."""
        if not self.api_key_var:
            return None
        return (os.environ if env is None else env).get(self.api_key_var)


def load_enrichment_settings(env: Mapping[str, str] | None = None) -> EnrichmentSettings:
    """``BG_AGENTS_ENRICHMENT_URL`` (unset: offline), ``_API_KEY``, ``_RATE``, ``_CACHE_DAYS``."""
    e = read_environment(env)
    return EnrichmentSettings(
        provider="http" if e.enrichment_url else "offline",
        base_url=e.enrichment_url,
        api_key_var="BG_AGENTS_ENRICHMENT_API_KEY" if e.enrichment_api_key_set else None,
        rate=e.enrichment_rate,
        cache_days=e.enrichment_cache_days,
    )
