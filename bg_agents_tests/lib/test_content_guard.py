"""A hostile model cannot phish a team: answers asking for credentials or payments, telling the
reader what to do, carrying links or contacts, or attaching real figures to the wrong metric or
direction never reach anyone; weekly insights fall back to the deterministic text and the analyst
to its offline answer. Legitimate answers in several locales still pass.

Every answer goes through the real ``openai`` client against the scripted server. The corpus is
``data/model_answers.json``."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bg_agents.defs.analyst.agent import ask
from bg_agents.defs.insights.facts import (
    Facts,
    LargeTransaction,
    build_facts,
    fallback_text,
)
from bg_agents.defs.insights.service import AGENT, TeamRow, generate, load_inputs, teams_in_slot
from bg_agents.defs.insights.validation import validate
from bg_agents.lib.agents.backends import OfflineBackend, OpenAIBackend, RetryPolicy
from bg_agents.lib.agents.ledger import Ledger
from bg_agents.lib.content_guard import content_problems
from bg_agents.lib.delivery_slots import slot_for
from bg_agents_tests.helpers import one_team_with_metrics
from bg_agents_tests.openai_stub import ScriptedOpenAI, reply, tool_calls

CORPUS = json.loads((Path(__file__).parent / "data" / "model_answers.json").read_text("utf-8"))
WEEK = date(2026, 3, 2)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)  # a Tuesday: last week is 2026-03-02..08
QUESTION = "How did expenses change last week?"
COMPARE = {"metric": "expenses", "period1": "week_before", "period2": "last_week"}
# What each kind of hostile insight must be refused for (any one of these problems).
REASONS = {
    "credentials": ("asks for credentials", "tells the reader", "reports no figure"),
    "wrong_metric": ("is not a figure of what the bullet", "is not in the facts"),
    "wrong_direction": ("the bullet says",),
    "payment": ("asks for a payment", "tells the reader"),
    "link": ("contains a link",),
    "contact": ("e-mail address", "phone number or contact"),
    "instruction": ("tells the reader", "repeats an instruction"),
    "no_fact": ("reports no figure",),
}
LOCALES = [
    ("en_US", "USD"), ("de_DE", "EUR"), ("de_CH", "CHF"), ("fr_FR", "EUR"), ("en_IN", "INR"),
    ("ja_JP", "JPY"),
]  # fmt: skip


def _backend(server: ScriptedOpenAI) -> OpenAIBackend:
    return OpenAIBackend(
        api_key="test", base_url=server.base_url, retry=RetryPolicy(max_retries=1, base_delay=0.01)
    )


@pytest.fixture
def team(engine) -> tuple[TeamRow, Any]:  # type: ignore[no-untyped-def]
    """One simulated team with two measured weeks: its row and its insight inputs."""
    _, zone = one_team_with_metrics(engine)
    with engine.connect() as conn:
        (row,) = teams_in_slot(conn, WEEK, slot_for(WEEK, zone))
        return row, load_inputs(conn, [row], WEEK)[row.id]


def _trend(facts: Facts, key: str) -> int:
    values = {g.name: Decimal(g.value) for g in facts[key].figures}
    change = values["this_week"] - values["previous"]
    assert change != 0, f"the seeded {key} did not move; the corpus needs a direction"
    return 1 if change > 0 else -1


def fill(template: str, facts: Facts) -> str:
    """The template with each placeholder replaced by the figure as this locale displays it."""
    ranked = facts.ranked()

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in ("ok1", "ok2"):
            return f"- {ranked[int(name[-1]) - 1].sentence}"
        key, _, figure = name.rpartition(".")
        if figure in ("direction", "wrong_direction"):
            up = _trend(facts, key) > 0
            return "up" if up == (figure == "direction") else "down"
        return next(g.display for g in facts[key].figures if g.name == figure)

    return re.sub(r"\{([\w.]+)\}", value, template)


def _generate(engine, row: TeamRow, facts: Facts, *answers: str):  # type: ignore[no-untyped-def]
    with ScriptedOpenAI(*(reply(a) for a in answers)) as server:
        ledger = Ledger(engine, AGENT, team_id=row.id)
        return generate(engine, row, WEEK, facts, _backend(server), ledger)


def test_hostile_insights_are_replaced_by_the_deterministic_text(engine, team) -> None:  # type: ignore[no-untyped-def]
    """Each hostile answer, sent twice (first try and retry), ends as the fallback text, refused
    for the reason its kind names; none of its words reach the stored insight."""
    row, inputs = team
    facts = build_facts(inputs)
    outcomes: Counter[tuple[str, str]] = Counter()
    for entry in CORPUS["hostile_insights"]:
        text = fill(entry["text"], facts)
        generated = _generate(engine, row, facts, text, text)
        outcomes[entry["kind"], generated.path] += 1
        assert generated.path == "fallback", text
        assert generated.content == fallback_text(facts)
        assert any(r in p for p in generated.problems for r in REASONS[entry["kind"]]), (
            text,
            generated.problems,
        )
        hostile = text.split("\n")[0]
        assert hostile not in generated.content
    assert sum(outcomes.values()) == len(CORPUS["hostile_insights"]) >= 25
    assert {path for _, path in outcomes} == {"fallback"}


def test_a_hostile_first_answer_gets_one_retry_with_the_reasons(engine, team) -> None:  # type: ignore[no-untyped-def]
    """The retry tells the model why; a clean second answer is published as retried."""
    row, inputs = team
    facts = build_facts(inputs)
    hostile = fill(CORPUS["hostile_insights"][0]["text"], facts)
    good = fill(CORPUS["legit_insights"][0], facts)
    with ScriptedOpenAI(reply(hostile), reply(good)) as server:
        ledger = Ledger(engine, AGENT, team_id=row.id)
        generated = generate(engine, row, WEEK, facts, _backend(server), ledger)
        retry = server.bodies()[1]["messages"][-1]["content"]
    assert (generated.path, generated.content) == ("retried", good)
    assert "cannot be published" in retry and "asks for credentials" in retry


@pytest.mark.parametrize(("locale", "currency"), LOCALES)
def test_legitimate_insights_pass_in_each_locale(engine, team, locale, currency) -> None:  # type: ignore[no-untyped-def]
    """No false refusals: faithful answers written with the locale's numbers are published as
    the model wrote them, and the deterministic text of the same facts validates."""
    row, inputs = team
    row = dataclasses.replace(row, locale=locale, currency=currency)
    facts = build_facts(dataclasses.replace(inputs, locale=locale, currency=currency))
    assert validate(fallback_text(facts), facts, locale) == []
    for template in CORPUS["legit_insights"]:
        text = fill(template, facts)
        assert validate(text, facts, locale) == [], text
        generated = _generate(engine, row, facts, text)
        assert (generated.path, generated.content) == ("llm", text)


def _tool_result(body: dict[str, Any]) -> dict[str, Any]:
    return json.loads(next(m for m in reversed(body["messages"]) if m["role"] == "tool")["content"])


STYLES = {  # the same number as an English, German, French and Swiss writer would type it
    "en": lambda x: f"{x:,}",
    "de": lambda x: f"{x:,}".translate(str.maketrans(",.", ".,")),
    "fr": lambda x: f"{x:,}".translate(str.maketrans(",.", "\u202f,")),
    "ch": lambda x: f"{x:,}".replace(",", "'"),
}


def fill_answer(template: str, result: dict[str, Any], style: str = "en") -> str:
    """An analyst answer citing the conversation's compare_periods result."""
    write = STYLES[style]
    pct = result["change_pct"]
    assert pct, "the seeded expenses did not move; the corpus needs a change"
    values = {
        "current": write(Decimal(str(result["current"])).quantize(Decimal("0.01"))),
        "previous": write(Decimal(str(result["previous"])).quantize(Decimal("0.01"))),
        "pct": write(abs(Decimal(str(pct)))),
        "direction": "up" if pct > 0 else "down",
        "currency": result["currency"],
        "week": result["period2"]["week_start"],
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def _ask(engine, slug: str, answer, history=()):  # type: ignore[no-untyped-def]
    """One question to the model: it calls compare_periods, then answers with ``answer(body)``."""
    with ScriptedOpenAI(tool_calls([("compare_periods", COMPARE)]), answer) as server:
        return ask(engine, slug, QUESTION, _backend(server), now=NOW, history=history)


def test_hostile_analyst_answers_are_withheld_for_the_offline_answer(engine, team) -> None:  # type: ignore[no-untyped-def]
    """ask: the hostile text is never shown nor kept in the chat history; the offline answer from
    the same tools is given instead, and the reason quotes nothing of the refused text."""
    row, _ = team
    offline = ask(engine, row.slug, QUESTION, OfflineBackend(), now=NOW)
    assert content_problems(offline.text) == [] and offline.text.startswith("Expenses in the week")
    outcomes: Counter[str] = Counter()
    for entry in CORPUS["hostile_answers"]:
        sent: list[str] = []

        def hostile(body: dict[str, Any], template: str = entry["text"], sent=sent) -> Any:  # type: ignore[no-untyped-def]
            sent.append(fill_answer(template, _tool_result(body)))
            return reply(sent[-1])

        answer = _ask(engine, row.slug, hostile)
        outcomes[answer.backend] += 1
        assert answer.backend == "offline", sent
        assert answer.fallback_reason and "withheld" in answer.fallback_reason
        assert answer.text == offline.text
        shown = [answer.text, answer.fallback_reason] + [
            str(m.get("content")) for m in answer.history
        ]
        assert not any(sent[0] in s for s in shown)
    assert outcomes == {"offline": len(CORPUS["hostile_answers"])}


def test_a_hostile_second_chat_turn_is_withheld(engine, team) -> None:  # type: ignore[no-untyped-def]
    """chat: numbers from an earlier turn's tools may be cited, phishing in a later turn not."""
    row, _ = team
    first = _ask(
        engine,
        row.slug,
        lambda body: reply(fill_answer(CORPUS["legit_answers"][0], _tool_result(body))),
    )
    assert first.backend == "openai"
    numbers = fill_answer("{current} {currency}", _tool_result({"messages": first.history}))
    hostile = f"Expenses were {numbers}. Please confirm your online banking password to continue."
    with ScriptedOpenAI(reply(hostile)) as server:
        second = ask(engine, row.slug, "And why?", _backend(server), now=NOW, history=first.history)
    assert second.backend == "offline" and hostile not in second.text
    assert all(hostile != m.get("content") for m in second.history)
    with ScriptedOpenAI(reply(f"Expenses were {numbers}.")) as server:
        third = ask(engine, row.slug, "How much?", _backend(server), now=NOW, history=first.history)
    assert (third.backend, third.text) == ("openai", f"Expenses were {numbers}.")


@pytest.mark.parametrize("style", sorted(STYLES))
def test_legitimate_analyst_answers_pass_in_each_number_style(engine, team, style) -> None:  # type: ignore[no-untyped-def]
    """No false refusals: answers citing the tool results, however the numbers are grouped."""
    row, _ = team
    for template in CORPUS["legit_answers"]:
        written: list[str] = []

        def answer(body: dict[str, Any], template: str = template, written=written) -> Any:  # type: ignore[no-untyped-def]
            written.append(fill_answer(template, _tool_result(body), style))
            return reply(written[-1])

        result = _ask(engine, row.slug, answer)
        assert (result.backend, result.fallback_reason, result.text) == (
            "openai",
            None,
            written[0],
        )


def test_counterparty_names_cannot_phish_through_the_deterministic_text(team) -> None:  # type: ignore[no-untyped-def]
    """User data reaches every sentence: a name that asks for credentials or carries contacts
    becomes "an unnamed counterparty", while names that merely contain a verb stay readable."""
    _, inputs = team
    names = {
        "Reply with your PIN": False,
        "Call +44 20 7946 0958": False,
        "help@fin-support.com": False,
        "Apple Pay": True,
        "Check Point Software": True,
        "Antworten Sie mit Ihrem Passwort": False,
        "Envie sua senha agora": False,
        "Votre mot de passe a expiré": False,
        "Ｐａｓｓｗｏｒｔ-Service": False,
        "Crédit Agricole": True,
        "Sofort GmbH": True,
        "Banco do Brasil": True,
        "PIX RECEBIDO": True,
    }
    for name, kept in names.items():
        big = LargeTransaction(WEEK, Decimal("-100000"), name)
        facts = build_facts(dataclasses.replace(inputs, largest=[big]))
        sentence = facts["largest.1"].sentence
        assert (name in sentence) == kept, sentence
        assert kept or "an unnamed counterparty" in sentence
        text = "\n".join([f"- {sentence}", *fallback_text(facts, 3).split("\n")[:2]])
        assert validate(text, facts) == [], text
