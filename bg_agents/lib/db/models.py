"""SQLAlchemy 2.0 models of the application database.

Every table that receives side effects carries its natural key as a unique constraint
(docs/architecture.md, principle 1): writes are insert-if-absent or upserts on that key, so a
retry, a re-materialization, a backfill or two racing runs can never duplicate a row.
Money columns are :class:`~bg_agents.lib.db.types.Money` (exact Decimal), instants are UTC-aware,
dates are dates, time zones are IANA names.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bg_agents.lib.db.types import Money, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite, so autoincrement works on both.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money(),
        # JSONB on PostgreSQL: it has equality (upserts compare values) and can be indexed.
        dict[str, Any]: sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
    }


def _id() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


def _team_fk() -> Mapped[int]:
    return mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = _id()
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    base_currency: Mapped[str] = mapped_column(sa.String(3))
    locale: Mapped[str] = mapped_column(sa.String(16), default="en_US")
    created_at: Mapped[datetime] = _created()


# Teams whose slug starts with "_" are the system's own (the operators who receive alerts): they
# keep no books, so no agent measures them, writes them insights or lists them as a customer team.
SYSTEM_TEAM_PREFIX = "_"


def customer_teams() -> sa.ColumnElement[bool]:
    """The WHERE clause for every team but the system's own (``_`` is a LIKE wildcard, escaped)."""
    return ~Team.slug.startswith(SYSTEM_TEAM_PREFIX, autoescape=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("team_id", "email"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200))
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    locale: Mapped[str | None] = mapped_column(sa.String(16))  # None: the team's
    # Channel and category switches, per-category channels off, quiet hours, e-mail unsubscribe:
    # the format is notifications/preferences.py's.
    notification_prefs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (sa.UniqueConstraint("team_id", "external_id"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    external_id: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    company: Mapped[str | None] = mapped_column(sa.String(200))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    # The language of the customer's payment reminders (None: the team's), and whether the team
    # may send them at all: customer e-mails are opt-in, per team and per customer.
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    reminders_opt_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = _created()


class Transaction(Base):
    """A booked bank transaction. Positive amounts are money in, negative money out."""

    __tablename__ = "transactions"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "source", "external_id"),
        sa.Index("ix_transactions_team_id_booking_date", "team_id", "booking_date"),
    )
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    source: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    booking_date: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3))
    # The amount in the team's base currency, when the provider gave it or the currency is the base.
    base_amount: Mapped[Decimal | None]
    description: Mapped[str] = mapped_column(sa.Text, default="")
    counterparty: Mapped[str | None] = mapped_column(sa.String(200))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    # From statements (MT940, camt) and exports that give them: when the money moved, and whose
    # account it came from or went to (an IBAN identifies a customer better than a name).
    value_date: Mapped[date | None]
    counterparty_iban: Mapped[str | None] = mapped_column(sa.String(34))
    merchant: Mapped[str | None] = mapped_column(sa.String(200))
    category: Mapped[str | None] = mapped_column(sa.String(64))
    ingested_at: Mapped[datetime] = _created()


# The statuses of an invoice still owed (partly or wholly): reconciliation matches them, insights
# count them as receivables and overdue. One definition, so the two cannot drift apart.
OPEN_INVOICE = ("open", "partially_paid")


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "number"),
        # A recurring invoice's occurrence exists once per period, whoever creates it.
        sa.UniqueConstraint("template_id", "period_start"),
        sa.Index("ix_invoices_team_id_due_date", "team_id", "due_date"),
    )
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(sa.String(64))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3))
    issue_date: Mapped[date] = mapped_column(index=True)
    due_date: Mapped[date]
    # open | partially_paid | paid | void
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    amount_paid: Mapped[Decimal] = mapped_column(default=Decimal(0))
    paid_date: Mapped[date | None]
    # A template's rhythm (None | monthly | quarterly | yearly), ending after a date or after a
    # number of invoices (the template counted) when either is set.
    recurrence: Mapped[str | None] = mapped_column(sa.String(16))
    recurrence_end: Mapped[date | None]
    recurrence_count: Mapped[int | None]
    # An occurrence created from a template: which one, and the period (its scheduled issue date).
    template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )
    period_start: Mapped[date | None]
    created_at: Mapped[datetime] = _created()


class Document(Base):
    """A receipt or supplier bill uploaded by a user (the file itself lives elsewhere)."""

    __tablename__ = "documents"
    __table_args__ = (sa.UniqueConstraint("team_id", "external_id"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    external_id: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(sa.String(16), default="receipt")
    vendor: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3))
    base_amount: Mapped[Decimal | None]
    document_date: Mapped[date] = mapped_column(index=True)
    file_name: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = _created()


class Match(Base):
    """A link (decided) or suggestion (for review) between a record and a bank transaction."""

    __tablename__ = "matches"
    __table_args__ = (sa.UniqueConstraint("team_id", "record_kind", "record_id", "transaction_id"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    record_kind: Mapped[str] = mapped_column(sa.String(16))  # document | invoice
    record_id: Mapped[int]
    transaction_id: Mapped[int] = mapped_column(
        sa.ForeignKey("transactions.id", ondelete="CASCADE"), index=True
    )
    decision: Mapped[str] = mapped_column(sa.String(16))  # link | suggestion
    status: Mapped[str] = mapped_column(sa.String(16))  # auto | pending | confirmed | declined
    score: Mapped[float]
    matched_amount: Mapped[Decimal | None]
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MatchModel(Base):
    """A trained evidence model of the learned matcher (its parameters as canonical JSON).

    The digest of the parameters is the natural key, so training again on unchanged data stores
    nothing; matching reads the most recently trained one, never fits its own inside a run.
    """

    __tablename__ = "match_models"
    id: Mapped[int] = _id()
    digest: Mapped[str] = mapped_column(sa.String(64), unique=True)  # sha256 hex of parameters
    parameters: Mapped[str] = mapped_column(sa.Text)
    trained_at: Mapped[datetime] = mapped_column(index=True)
    pairs: Mapped[int]  # candidate pairs EM saw
    records: Mapped[int]  # records (receipts, invoices) it was fitted on
    labels: Mapped[int]  # people's decisions it relearned from


class UnmatchedRecord(Base):
    """Snapshot row of the ``unmatched_records`` asset: a record dated that day with no link."""

    __tablename__ = "unmatched_records"
    __table_args__ = (sa.UniqueConstraint("record_kind", "record_id"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    record_kind: Mapped[str] = mapped_column(sa.String(16))  # receipt | invoice | payment
    record_id: Mapped[int]
    record_date: Mapped[date] = mapped_column(index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3))
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    snapshot_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WeeklyMetric(Base):
    """One team's totals for one ISO week (Monday start), in the team's base currency."""

    __tablename__ = "weekly_metrics"
    __table_args__ = (sa.UniqueConstraint("team_id", "week_start"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    week_start: Mapped[date] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    revenue: Mapped[Decimal]
    expenses: Mapped[Decimal]
    net: Mapped[Decimal]
    transaction_count: Mapped[int]
    income_count: Mapped[int]
    expense_count: Mapped[int]
    # Foreign-currency rows without a base amount: counted here, left out of the totals.
    unconverted_count: Mapped[int] = mapped_column(default=0)
    prev_revenue: Mapped[Decimal]
    prev_expenses: Mapped[Decimal]
    prev_net: Mapped[Decimal]
    revenue_change_pct: Mapped[float | None]
    expenses_change_pct: Mapped[float | None]
    net_change_pct: Mapped[float | None]
    # When these figures last changed (a re-run that changes nothing leaves it alone).
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeeklyCategoryMetric(Base):
    __tablename__ = "weekly_category_metrics"
    __table_args__ = (sa.UniqueConstraint("team_id", "week_start", "category"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    week_start: Mapped[date] = mapped_column(index=True)
    category: Mapped[str] = mapped_column(sa.String(64))
    expenses: Mapped[Decimal]
    transaction_count: Mapped[int]
    prev_expenses: Mapped[Decimal]
    change_pct: Mapped[float | None]


class Insight(Base):
    __tablename__ = "insights"
    __table_args__ = (sa.UniqueConstraint("team_id", "week_start"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    week_start: Mapped[date]
    content: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))  # generated | delivered | skipped
    path: Mapped[str] = mapped_column(sa.String(16))  # llm | retried | fallback | offline
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = _created()


class Report(Base):
    """One version of a team's month-end report (a PDF in storage).

    (team, month, version) is the natural key: a re-run whose figures did not change
    (``content_sha256``, a hash of the canonical figures printed on the last page) writes nothing;
    late data that changed them writes version N+1 with its ``reason`` and keeps N. A version once
    written is never rewritten, so a delivered one cannot change under its reader. ``sha256`` is
    the file's own hash, checked against the stored bytes.
    """

    __tablename__ = "reports"
    __table_args__ = (sa.UniqueConstraint("team_id", "month", "version"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    month: Mapped[date]  # the first day of the team's local month
    version: Mapped[int]
    path: Mapped[str] = mapped_column(sa.String(1024))  # a file path or an fsspec URL
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    pages: Mapped[int]
    size_bytes: Mapped[int]
    totals: Mapped[dict[str, Any]] = mapped_column(default=dict)  # printed totals, as strings
    reason: Mapped[str] = mapped_column(sa.Text)  # why this version exists
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = _created()
    delivered_at: Mapped[datetime | None]


class InsightClaim(Base):
    """Who is writing (team, week)'s insight: taken with an INSERT the unique key arbitrates,
    before the model is called, so racing runs pay for one generation. A claim not finished
    within the timeout (its process died) can be taken over."""

    __tablename__ = "insight_claims"
    __table_args__ = (sa.UniqueConstraint("team_id", "week_start"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    week_start: Mapped[date]
    owner: Mapped[str] = mapped_column(sa.String(128))
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class NotificationEvent(Base):
    """Something a team should hear about, as a producer reported it, once per natural key.

    Events are facts about a team (an invoice paid, a file imported); the engine fans each out
    to the team's members (in-app, e-mail) and webhook endpoints, alone or in a digest as the
    category's policy says. ``user_id`` set addresses one member only.
    """

    __tablename__ = "notification_events"
    __table_args__ = (sa.Index("ix_notification_events_pending", "message_id", "window_start"),)
    id: Mapped[int] = _id()
    idempotency_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    team_id: Mapped[int] = _team_fk()
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Title and body as message ids and values, written out in each reader's language when sent
    # (notifications/texts.py); None: ``title`` and ``body`` are the text for everyone.
    words: Mapped[dict[str, Any] | None]
    # The batching window the event fell in (by the instant it was reported) and its batch key;
    # both fixed at insert, so every flusher assigns the event to the same digest.
    batch_key: Mapped[str] = mapped_column(sa.String(255))
    window_start: Mapped[datetime]
    created_at: Mapped[datetime] = _created()
    # The message that carried it (its own, or a digest); None while its window is open.
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notification_messages.id", ondelete="SET NULL")
    )
    # Taken back before it was sent (its category's guard found it no longer true, e.g. the
    # invoice of a reminder was paid meanwhile): never sent, the reason kept.
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(sa.String(200))


class ReminderSettings(Base):
    """How a team reminds its customers: off until the team turns it on (``customer_reminders``),
    then on the steps it chose (days after the due date; negative: before), with its payment
    details in the text and replies going to the address it chose."""

    __tablename__ = "reminder_settings"
    id: Mapped[int] = _id()
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"), unique=True)
    customer_reminders: Mapped[bool] = mapped_column(default=False)
    customer_steps: Mapped[list[int]] = mapped_column(
        sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), default=lambda: [1, 7, 14]
    )
    reply_to: Mapped[str | None] = mapped_column(sa.String(320))
    payment_details: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Reminder(Base):
    """One reminder about one invoice, decided once per natural key (``key``).

    Team reminders (``audience`` team) go through the notification engine and are keyed by
    (invoice, kind, local date); customer reminders (``audience`` customer) are e-mailed by the
    reminders domain and keyed by (invoice, step), so no step reaches a customer twice. A reminder
    not sent is kept with the reason (``skipped_paid``, ``skipped_late``): the record says what
    happened to every planned reminder.
    """

    __tablename__ = "reminders"
    __table_args__ = (
        sa.Index("ix_reminders_team_id_local_date", "team_id", "local_date"),
        sa.Index("ix_reminders_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = _id()
    key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    audience: Mapped[str] = mapped_column(sa.String(16))  # team | customer
    kind: Mapped[str] = mapped_column(sa.String(32))  # due_soon | overdue_7 | after_7 | before_3
    local_date: Mapped[date]  # the team's date whose 09:00 it belongs to
    slot: Mapped[str] = mapped_column(sa.String(16))
    due_at: Mapped[datetime]  # 09:00 local that day, as UTC
    # team: notified | skipped_paid | skipped_late
    # customer: pending | sending | failed | sent | dead | skipped_paid | skipped_late |
    #           skipped_opt_out
    status: Mapped[str] = mapped_column(sa.String(16))
    amount_due: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3))
    to_address: Mapped[str | None] = mapped_column(sa.String(320))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None]


class NotificationMessage(Base):
    """One thing told: a single event, or a digest of a window's events (``item_count`` > 1).

    The key names the window (team, addressee, batch key, window start, part), so racing or
    repeated flushes insert it once; ``part`` counts windows closed early by ``max_items``.
    """

    __tablename__ = "notification_messages"
    id: Mapped[int] = _id()
    idempotency_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    team_id: Mapped[int] = _team_fk()
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))  # single | digest
    batch_key: Mapped[str] = mapped_column(sa.String(255))
    window_start: Mapped[datetime | None]
    part: Mapped[int] = mapped_column(default=0)
    item_count: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    # The items as listed (capped) and the counts by kind, for channels that render their own.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class WebhookEndpoint(Base):
    """A team's webhook: where its messages are POSTed, signed with the endpoint's secret."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.UniqueConstraint("team_id", "url"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    url: Mapped[str] = mapped_column(sa.String(2048))
    secret: Mapped[str] = mapped_column(sa.String(128))
    slack: Mapped[bool] = mapped_column(default=False)  # Slack-compatible payload
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = _created()


class Notification(Base):
    """A delivery: one message to one recipient on one channel, keyed for exactly-once.

    Recipients are a user (in-app, e-mail) or a webhook endpoint. ``status``: pending | held
    (quiet hours) | delivered | failed (will retry at ``next_attempt_at``) | dead (gave up) |
    suppressed (the user turned the category or channel off, or unsubscribed).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_notifications_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = _id()
    idempotency_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    team_id: Mapped[int] = _team_fk()
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("notification_messages.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(sa.String(16))  # in_app | email | webhook
    category: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = _created()
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class LLMCall(Base):
    """The call ledger: every model call, for cost accounting and debugging."""

    __tablename__ = "llm_calls"
    id: Mapped[int] = _id()
    agent: Mapped[str] = mapped_column(sa.String(64))
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(sa.String(100))
    # What the server's answer named (NULL: it named none, or the answer could not be read).
    reported_model: Mapped[str | None] = mapped_column(sa.String(100))
    # NULL means unknown (not reported, or an unusable count), never guessed as 0.
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    latency_ms: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[Decimal | None]  # NULL: no known price for the model, or tokens unknown
    outcome: Mapped[str] = mapped_column(sa.String(32))
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    partition_key: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = _created()


class TransactionEnrichment(Base):
    """What the enrichment agent made of one bank line: a merchant name and a category.

    Kept beside the transaction (the bank's own ``merchant``/``category`` stay as sent), one row
    per transaction. ``source`` says who decided (enrichment/taxonomy.py's SOURCES); a ``person``
    row is never overwritten by the agent. ``merchant_key`` is the normalized merchant that
    corrections and the model cache are keyed by.
    """

    __tablename__ = "transaction_enrichments"
    __table_args__ = (
        sa.Index("ix_transaction_enrichments_team_id_booking_date", "team_id", "booking_date"),
    )
    id: Mapped[int] = _id()
    transaction_id: Mapped[int] = mapped_column(
        sa.ForeignKey("transactions.id", ondelete="CASCADE"), unique=True
    )
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    booking_date: Mapped[date]  # the transaction's, so a day's partition is one index range
    merchant: Mapped[str | None] = mapped_column(sa.String(200))
    merchant_key: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    category: Mapped[str | None] = mapped_column(sa.String(64))
    confidence: Mapped[float] = mapped_column(default=0.0)
    source: Mapped[str] = mapped_column(sa.String(16))  # person | learned | rule | model | none
    detail: Mapped[str | None] = mapped_column(sa.String(200))  # which rule, or the model's name
    enriched_at: Mapped[datetime] = _created()


class MerchantCategory(Base):
    """A person's correction, learned for the team: this merchant belongs in this category.

    (team, merchant_key) is the natural key; a later correction of the same merchant replaces the
    category. The team's later transactions of the merchant follow it (source ``learned``).
    """

    __tablename__ = "merchant_categories"
    __table_args__ = (sa.UniqueConstraint("team_id", "merchant_key"),)
    id: Mapped[int] = _id()
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"))
    merchant_key: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(64))
    transaction_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("transactions.id", ondelete="SET NULL")
    )
    decided_by: Mapped[str | None] = mapped_column(sa.String(320))
    decided_at: Mapped[datetime] = _created()


class DescriptorCategory(Base):
    """The model's answer for one normalized descriptor, shared by every team.

    Only the normalized descriptor (no amounts, people or team data) is ever sent, so the answer
    belongs to no team and one call serves all. ``category`` NULL: the model did not know or was
    below the confidence gate; kept so the descriptor is not asked again.
    """

    __tablename__ = "descriptor_categories"
    id: Mapped[int] = _id()
    descriptor_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    merchant: Mapped[str | None] = mapped_column(sa.String(200))
    category: Mapped[str | None] = mapped_column(sa.String(64))
    confidence: Mapped[float] = mapped_column(default=0.0)
    model: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = _created()


class CustomerFact(Base):
    """One company fact about a customer (domain, industry, size band, country, ...).

    (customer, field) is the natural key. ``source`` is ``person`` (set by someone with
    ``bg-agents customers set``: no run replaces it), ``customer`` (the team's customer record:
    company, country; follows its edits, wins over any provider), ``offline`` (the billing
    e-mail's domain) or a provider's name;
    ``fetched_at`` is when the source said so. Company data only, never personal data.
    """

    __tablename__ = "customer_facts"
    __table_args__ = (sa.UniqueConstraint("customer_id", "field"),)
    id: Mapped[int] = _id()
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    team_id: Mapped[int] = _team_fk()
    field: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[str] = mapped_column(sa.String(500))
    source: Mapped[str] = mapped_column(sa.String(32))
    fetched_at: Mapped[datetime]


class CustomerProfile(Base):
    """When a customer was last enriched, and from what: ``input_digest`` hashes the fields
    enrichment reads (name, e-mail, company, country), so the sensor sees new and changed
    customers without a change log; ``summary`` says what each source gave."""

    __tablename__ = "customer_profiles"
    id: Mapped[int] = _id()
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    team_id: Mapped[int] = _team_fk()
    input_digest: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))  # enriched | partial | failed
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profiled_at: Mapped[datetime]


class ProviderLookup(Base):
    """A company-data provider's answer for one key (a domain), cached across teams with a TTL.

    ``status``: found | not_found; errors are not cached (the next run asks again).
    """

    __tablename__ = "provider_lookups"
    __table_args__ = (sa.UniqueConstraint("provider", "lookup_key"),)
    id: Mapped[int] = _id()
    provider: Mapped[str] = mapped_column(sa.String(32))
    lookup_key: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fetched_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class QuarantinedRow(Base):
    """An input row that could not be ingested, with the reason. Nothing is dropped silently."""

    __tablename__ = "quarantined_rows"
    __table_args__ = (sa.UniqueConstraint("source", "batch_ref", "row_ref"),)
    id: Mapped[int] = _id()
    source: Mapped[str] = mapped_column(sa.String(64))
    batch_ref: Mapped[str] = mapped_column(sa.String(128))  # a file's sha256 or a feed day
    row_ref: Mapped[str] = mapped_column(sa.String(128))  # a row number or external id
    team_ref: Mapped[str | None] = mapped_column(sa.String(64))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(sa.Text)
    quarantined_at: Mapped[datetime] = _created()


class ImportFile(Base):
    """A bank file picked up from the import folder, keyed by content hash."""

    __tablename__ = "import_files"
    id: Mapped[int] = _id()
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"))
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_format: Mapped[str] = mapped_column(sa.String(8))
    rows_staged: Mapped[int] = mapped_column(default=0)
    rows_quarantined: Mapped[int] = mapped_column(default=0)
    # Rows the reader counted on its own (CSV records, OFX STMTTRN tags), so a file's report can
    # show that landed + duplicates + quarantined + waiting add up to what the file held.
    rows_total: Mapped[int] = mapped_column(default=0, server_default="0")
    # What the reader recognized and the statements' balance checks (``ParsedFile.layout`` and
    # ``.balances``), so a file's report can show a mismatch long after the import.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    imported_at: Mapped[datetime] = _created()


class StagedImportRow(Base):
    """A parsed file row waiting for its ``transactions`` partition (its booking date)."""

    __tablename__ = "staged_import_rows"
    __table_args__ = (sa.UniqueConstraint("import_file_id", "row_number"),)
    id: Mapped[int] = _id()
    import_file_id: Mapped[int] = mapped_column(
        sa.ForeignKey("import_files.id", ondelete="CASCADE")
    )
    row_number: Mapped[int]
    team_id: Mapped[int] = _team_fk()
    booking_date: Mapped[date] = mapped_column(index=True)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # None while waiting for its partition; then landed | duplicate | quarantined.
    outcome: Mapped[str | None] = mapped_column(sa.String(16))


class SimulatedBankFeedRow(Base):
    """SIMULATED: the demo bank's ledger, written by ``bg-agents seed``.

    It stands in for a bank API (Plaid, GoCardless...): the ``transactions`` asset fetches one day
    from it. Fields are kept as the text a bank would send, so malformed rows reach quarantine.
    """

    __tablename__ = "simulated_bank_feed"
    __table_args__ = (sa.UniqueConstraint("team_slug", "external_id"),)
    id: Mapped[int] = _id()
    team_slug: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str] = mapped_column(sa.String(128))
    value_date: Mapped[date] = mapped_column(index=True)
    amount: Mapped[str] = mapped_column(sa.String(64))
    currency: Mapped[str] = mapped_column(sa.String(8))
    base_amount: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    counterparty: Mapped[str | None] = mapped_column(sa.String(200))
    reference: Mapped[str | None] = mapped_column(sa.String(200))
    category: Mapped[str | None] = mapped_column(sa.String(64))


class SimulatedGroundTruth(Base):
    """SIMULATED: which records truly belong to which bank transactions, for evaluating matching.

    Transactions are named by their feed external id, since database ids exist only after ingest.
    """

    __tablename__ = "sim_ground_truth"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "record_kind", "record_external_id", "transaction_ref"),
    )
    id: Mapped[int] = _id()
    team_id: Mapped[int] = _team_fk()
    record_kind: Mapped[str] = mapped_column(sa.String(16))  # document | invoice
    record_external_id: Mapped[str] = mapped_column(sa.String(128))
    transaction_ref: Mapped[str] = mapped_column(sa.String(128))
    case: Mapped[str] = mapped_column(sa.String(32))  # exact | vat | fee | fx | partial | ...
    allocated_amount: Mapped[Decimal | None]
