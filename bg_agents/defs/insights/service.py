"""Generate and store weekly insights: facts from the database, prose from the agent, checked.

For each team: build the facts (pure, :mod:`bg_agents.defs.insights.facts`), let the insights agent
write 3-5 bullets from them, validate every number and word; a failing answer gets one retry
with the problems listed, then the deterministic text built from the same facts. The stored row
records which path produced it. One row per (team, week): re-running overwrites a generated
insight and never duplicates it; a delivered one is left alone unless forced.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bg_agents.defs.insights.delivery import DeliveryResult, catch_up_window, deliver
from bg_agents.defs.insights.facts import (
    BASELINE_WEEKS,
    CategoryFigures,
    Facts,
    InsightInputs,
    LargeTransaction,
    WeekFigures,
    build_facts,
    bullets_within_budget,
    facts_payload,
    fallback_text,
)
from bg_agents.defs.insights.validation import validate
from bg_agents.defs.metrics import metric_tools
from bg_agents.lib import clock
from bg_agents.lib.agents.backends import ChatBackend, LLMUnavailable, OfflineBackend
from bg_agents.lib.agents.ledger import Ledger
from bg_agents.lib.agents.loop import Limits, run_agent
from bg_agents.lib.agents.messages import Message, Turn
from bg_agents.lib.agents.prompting import data_block, load_prompt
from bg_agents.lib.db.models import (
    OPEN_INVOICE,
    Insight,
    InsightClaim,
    Invoice,
    Team,
    Transaction,
    WeeklyCategoryMetric,
    WeeklyMetric,
    customer_teams,
)
from bg_agents.lib.db.types import (
    SPLIT,
    from_units,
    money_units,
    split_units,
    utcnow,
)
from bg_agents.lib.db.upsert import insert_missing, upsert
from bg_agents.lib.delivery_slots import due_local, slot_for

AGENT = "insights"
# A claim older than this and not finished belongs to a process that died: it may be taken over.
# Longer than a generation can take (two attempts of the agent's 120 s wall time, plus retries).
CLAIM_TIMEOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class TeamRow:
    id: int
    slug: str
    name: str
    time_zone: str
    currency: str
    locale: str


OFFLINE_PATH = "offline"
PATHS = ("llm", "retried", OFFLINE_PATH, "fallback")


@dataclass
class Generated:
    team_id: int
    content: str
    path: str  # llm | retried (the model's second try) | offline (the offline rules) | fallback
    model: str
    facts: dict[str, Any]  # the payload the text was written from, stored beside it
    problems: list[str] = field(default_factory=list)


def teams_in_slot(conn: Connection, week_start: date, slot: str, team: str | None = None) -> list:
    """The teams whose Monday 07:00 after ``week_start`` falls in ``slot``."""
    query = (
        sa.select(Team.id, Team.slug, Team.name, Team.time_zone, Team.base_currency, Team.locale)
        .where(customer_teams())
        .order_by(Team.id)
    )
    if team is not None:
        query = query.where(Team.slug == team)
    slots: dict[str, str] = {}
    out = []
    for row in conn.execute(query):
        zone_slot = slots.setdefault(row.time_zone, slot_for(week_start, row.time_zone))
        if zone_slot == slot:
            out.append(TeamRow(*row))
    return out


def _week(m: Any | None, monday: date) -> WeekFigures:
    if m is None:
        return WeekFigures(monday, Decimal(0), Decimal(0), Decimal(0), 0)
    return WeekFigures(monday, m.revenue, m.expenses, m.net, m.transaction_count)


def load_inputs(conn: Connection, teams: Sequence[TeamRow], week: date) -> dict[int, InsightInputs]:
    """Everything the facts need, for many teams at once (a handful of queries, not per team).

    Teams without a metrics row for ``week`` are left out: there is nothing true to say yet.
    """
    ids = [t.id for t in teams]
    first = week - timedelta(weeks=BASELINE_WEEKS + 1)
    weekly: dict[int, dict[date, Any]] = defaultdict(dict)
    for m in conn.execute(
        sa.select(WeeklyMetric.__table__).where(
            WeeklyMetric.team_id.in_(ids), WeeklyMetric.week_start.between(first, week)
        )
    ):
        weekly[m.team_id][m.week_start] = m
    c = WeeklyCategoryMetric
    categories: dict[int, list[CategoryFigures]] = defaultdict(list)
    for r in conn.execute(
        sa.select(c.team_id, c.category, c.expenses, c.prev_expenses, c.change_pct)
        .where(c.team_id.in_(ids), c.week_start == week)
        .order_by(c.team_id, c.expenses.desc(), c.category)
    ):
        categories[r.team_id].append(
            CategoryFigures(r.category, r.expenses, r.prev_expenses, r.change_pct)
        )
    largest: dict[int, list[LargeTransaction]] = defaultdict(list)
    t = Transaction
    ranked = (
        sa.select(
            t.team_id,
            t.booking_date,
            t.base_amount,
            sa.func.coalesce(t.counterparty, t.description).label("name"),
            sa.func.row_number()
            .over(partition_by=t.team_id, order_by=(t.base_amount.asc(), t.id))
            .label("n"),
        )
        .where(
            t.team_id.in_(ids),
            t.booking_date.between(week, week + timedelta(days=6)),
            t.base_amount < 0,
        )
        .subquery()
    )
    for r in conn.execute(sa.select(ranked).where(ranked.c.n <= 3)):
        largest[r.team_id].append(LargeTransaction(r.booking_date, r.base_amount, r.name or ""))
    overdue: dict[int, tuple[Decimal, int]] = {}
    receivable: dict[int, tuple[Decimal, int]] = {}
    due_day = week + timedelta(days=7)
    # Summed as exact unit parts joined in Python: one team's huge invoices cannot overflow the
    # query every team of the slot shares.
    dialect = conn.dialect.name
    owed = money_units(Invoice.amount, dialect) - money_units(Invoice.amount_paid, dialect)
    for team_id, is_overdue, high, low, count in conn.execute(
        sa.select(
            Invoice.team_id,
            Invoice.due_date < due_day,
            *(sa.func.sum(part) for part in split_units(owed, dialect)),
            sa.func.count(),
        )
        .where(
            Invoice.team_id.in_(ids),
            Invoice.status.in_(OPEN_INVOICE),
            Invoice.issue_date < due_day,
        )
        .group_by(Invoice.team_id, Invoice.due_date < due_day)
    ):
        target = overdue if is_overdue else receivable
        target[team_id] = (from_units(int(high or 0) * SPLIT + int(low or 0)), int(count))
    out = {}
    for team in teams:
        weeks = weekly.get(team.id, {})
        if week not in weeks:
            continue
        previous = week - timedelta(weeks=1)
        baseline = [
            _week(weeks[w], w)
            for w in (previous - timedelta(weeks=k) for k in range(1, BASELINE_WEEKS + 1))
            if w in weeks
        ]
        over_amount, over_count = overdue.get(team.id, (Decimal(0), 0))
        rec_amount, rec_count = receivable.get(team.id, (Decimal(0), 0))
        out[team.id] = InsightInputs(
            team_name=team.name,
            currency=team.currency,
            locale=team.locale,
            week=_week(weeks[week], week),
            previous=_week(weeks.get(previous), previous),
            baseline=baseline,
            categories=categories.get(team.id, []),
            largest=largest.get(team.id, []),
            overdue_amount=over_amount,
            overdue_count=over_count,
            receivables=rec_amount + over_amount,
            receivables_count=rec_count + over_count,
        )
    return out


def generate(
    engine: Engine,
    team: TeamRow,
    week: date,
    facts: Facts,
    backend: ChatBackend,
    ledger: Ledger,
    limits: Limits | None = None,
) -> Generated:
    """The agent's bullets if they validate (at most one retry), else the fallback text."""
    instructions = load_prompt(
        __package__,
        AGENT,
        team_name=team.name,
        currency=team.currency,
        week_start=week.isoformat(),
        week_end=(week + timedelta(days=6)).isoformat(),
    )
    payload = json.loads(json.dumps(facts_payload(facts), default=str))
    prompt = (
        f"{data_block('facts', payload)}\n\n"
        "Write the 3 to 5 bullet points now, using only these facts."
    )
    today = due_local(week, team.time_zone).date()
    tools = [t for t in metric_tools(engine, team.id, today) if t.name == "compare_periods"]
    limits = limits or Limits(max_steps=4)
    history: list[Message] = []
    problems: list[str] = []
    # The path names who wrote the text: the offline backend's rules are not a model, and an
    # insight they wrote must not say "llm" (SIMULATED intelligence, bg_agents/lib/agents).
    first = OFFLINE_PATH if backend.name == OfflineBackend.name else "llm"
    for attempt in (first, "retried"):
        if attempt == "retried":
            prompt = (
                "Your bullet points cannot be published: " + "; ".join(problems) + ". Rewrite "
                "them, using only numbers exactly as they appear in the facts."
            )
        try:
            result = run_agent(
                backend,
                agent=AGENT,
                instructions=instructions,
                prompt=prompt,
                tools=tools,
                limits=limits,
                record=ledger,
                history=history,
                offline=offline_insights,
            )
        except LLMUnavailable as exc:
            problems = [f"model unavailable: {exc}"]
            break
        text = (result.text or "").strip()
        problems = validate(text, facts, team.locale) if text else ["no answer"]
        if not problems:
            # The model that wrote it, as the server named it (a proxy may route elsewhere).
            model = next(
                (c.reported_model for c in reversed(ledger.calls) if c.reported_model),
                backend.model,
            )
            return Generated(team.id, text, attempt, model, payload)
        history = result.messages[1:]
    return Generated(team.id, fallback_text(facts), "fallback", "none", payload, problems)


def store(conn: Connection, week: date, generated: Sequence[Generated]) -> int:
    """Upsert one row per (team, week). Delivered insights never get here unless forced: see
    :func:`generate_slot`."""
    rows = [
        {
            "team_id": g.team_id,
            "week_start": week,
            "content": g.content,
            "status": "generated",
            "path": g.path,
            "facts": g.facts,
            "model": g.model,
        }
        for g in generated
    ]
    upsert(
        conn,
        Insight,
        rows,
        ("team_id", "week_start"),
        ["content", "status", "path", "facts", "model"],
    )
    return len(rows)


# --- claims: one paid generation per (team, week), however many runs race for it ---------------


def claim(
    engine: Engine,
    team_id: int,
    week: date,
    owner: str,
    started: datetime,
    timeout: timedelta = CLAIM_TIMEOUT,
    retry_of: Sequence[str] = (),
) -> bool:
    """Take (team, week) for ``owner`` before any model call; False if another run has it.

    A new claim is an INSERT the unique key arbitrates. An existing one is taken over by an
    UPDATE whose condition both racers re-check under the row lock, so at most one wins: when
    its holder died (unfinished past ``timeout``, or held by one of the runs in ``retry_of``:
    a run is retried or re-executed only once it has ended, so its unfinished claims are
    dead at once), or when it finished before this run ``started`` (an ordinary re-run). One
    finished while this run was going is left alone: that insight is as fresh as the one this
    run would write.
    """
    now = utcnow()
    c = InsightClaim
    with engine.begin() as conn:
        row = {"team_id": team_id, "week_start": week, "owner": owner, "claimed_at": now}
        if insert_missing(conn, InsightClaim, [row], ("team_id", "week_start")):
            return True
        taken = conn.execute(
            sa.update(c)
            .where(
                c.team_id == team_id,
                c.week_start == week,
                sa.or_(
                    sa.and_(
                        c.finished_at.is_(None),
                        sa.or_(
                            c.claimed_at < now - timeout,
                            *(c.owner.startswith(f"{run}:", autoescape=True) for run in retry_of),
                        ),
                    ),
                    c.finished_at < started,
                ),
            )
            .values(owner=owner, claimed_at=now, finished_at=None)
        )
        return taken.rowcount == 1


def finish_claims(conn: Connection, week: date, team_ids: Sequence[int], owner: str) -> None:
    c = InsightClaim
    conn.execute(
        sa.update(c)
        .where(c.week_start == week, c.team_id.in_(team_ids), c.owner == owner)
        .values(finished_at=utcnow())
    )


def release_claim(engine: Engine, team_id: int, week: date, owner: str) -> None:
    """Give a claim back at once when generation failed, instead of waiting for the timeout."""
    c = InsightClaim
    with engine.begin() as conn:
        conn.execute(
            sa.delete(c).where(c.team_id == team_id, c.week_start == week, c.owner == owner)
        )


@dataclass
class SlotResult:
    week: date
    slot: str
    generated: list[Generated] = field(default_factory=list)
    stored: int = 0
    ledger_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)  # of the calls whose cost is known
    cost_unknown_calls: int = 0  # unpriced model or tokens the server never reported
    delivery: DeliveryResult | None = None
    waiting: list[str] = field(default_factory=list)  # teams whose week has no metrics
    claimed_elsewhere: list[str] = field(default_factory=list)  # another run is writing these


def generate_slot(
    engine: Engine,
    week: date,
    slot: str,
    backend: ChatBackend,
    *,
    now: datetime | None = None,
    team: str | None = None,
    force: bool = False,
    run_id: str | None = None,
    partition_key: str | None = None,
    concurrency: int = 8,
    claim_timeout: timedelta = CLAIM_TIMEOUT,
    retry_of: Sequence[str] = (),
) -> SlotResult:
    """Generate, store and (inside the delivery window) deliver one unit: a week x slot.

    Each team is claimed before its model call; a team another run holds is left to that run
    (listed in ``claimed_elsewhere``), so two racing runs never pay twice for one insight.
    ``retry_of``: the run ids this run retries (a killed run's claims are its to take).
    """
    result = SlotResult(week, slot)
    started = utcnow()
    owner = f"{run_id or 'local'}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with engine.connect() as conn:
        teams = teams_in_slot(conn, week, slot, team)
        if not force:  # a delivered insight is final: re-runs spend no model calls on it
            final = set(
                conn.scalars(
                    sa.select(Insight.team_id).where(
                        Insight.week_start == week, Insight.status.in_(("delivered", "skipped"))
                    )
                )
            )
            teams = [t for t in teams if t.id not in final]
        inputs = load_inputs(conn, teams, week)
    # No metrics row means the week was never computed for the team (the sensor waits for fresh
    # metrics, so this is a team created since): an insight would report zeros. It waits.
    result.waiting = [t.slug for t in teams if t.id not in inputs]
    teams = [t for t in teams if t.id in inputs]
    facts = {t.id: build_facts(inputs[t.id]) for t in teams}

    def one(t: TeamRow) -> tuple[Generated, Ledger] | None:
        if not claim(engine, t.id, week, owner, started, claim_timeout, retry_of):
            return None
        try:
            ledger = Ledger(engine, AGENT, t.id, run_id, partition_key)
            return generate(engine, t, week, facts[t.id], backend, ledger), ledger
        except BaseException:
            release_claim(engine, t.id, week, owner)
            raise

    # Model calls wait on the network, so teams run side by side. Per step this is at most
    # `concurrency` calls; the Dagster pool caps how many such steps run at once.
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        outcomes = list(pool.map(one, teams))
    mine = []
    for t, outcome in zip(teams, outcomes, strict=True):
        if outcome is None:
            result.claimed_elsewhere.append(t.slug)
            continue
        generated, ledger = outcome
        mine.append(t.id)
        result.generated.append(generated)
        for call in ledger.calls:
            result.ledger_calls += 1
            result.prompt_tokens += call.usage.prompt_tokens
            result.completion_tokens += call.usage.completion_tokens
        result.cost_usd += ledger.total_cost
        result.cost_unknown_calls += ledger.cost_unknown_calls
    try:
        with engine.begin() as conn:
            result.stored = store(conn, week, result.generated)
            finish_claims(conn, week, mine, owner)
            result.delivery = deliver(
                conn,
                week,
                slot,
                mine,
                now or clock.now(),
                catch_up_window(),
            )
    except BaseException:  # nothing was stored: the next run may claim these at once
        for team_id in mine:
            release_claim(engine, team_id, week, owner)
        raise
    return result


# --- offline behaviour (SIMULATED: the pre-written sentences of the top facts) -------------------


def offline_insights(
    messages: Sequence[Message], tools: Sequence[dict[str, Any]], response_format: Any
) -> Turn:
    """Bullets from the facts' own sentences, most newsworthy first, within the word budget."""
    for message in messages:
        content = message.get("content") or ""
        if message["role"] == "user" and '<data name="facts">' in content:
            payload = json.loads(content.split('<data name="facts">', 1)[1].split("</data>", 1)[0])
            # Already most newsworthy first.
            sentences = [fact["sentence"] for fact in payload["facts"]]
            return Turn(content=bullets_within_budget(sentences))
    return Turn(content="- No facts were provided for this week.")
