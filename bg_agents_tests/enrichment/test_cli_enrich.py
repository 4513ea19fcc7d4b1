"""``bg-agents enrich`` and ``categorize``, run in-process against the test's own database
(SQLite and PostgreSQL): the JSON shape, rules/cache/model/none, a correction's outcome, and
one-line errors with exit code 2."""

from __future__ import annotations

import importlib
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.cli import enrich as enrich_cli
from bg_agents.defs.enrichment.rules import recognize
from bg_agents.defs.enrichment.service import enrich_days
from bg_agents.lib.agents.backends import OfflineBackend
from bg_agents.lib.db.models import DescriptorCategory
from bg_agents_tests.enrichment.test_service import (
    DAY,
    UNKNOWN,
    add_line,
    add_team,
    scripted_model,
    stored,
)
from bg_agents_tests.openai_stub import ScriptedOpenAI, repeat

# The module (the package exports its main function under the same name).
cli_main = importlib.import_module("bg_agents.cli.main")
LLM_VARS = ("OPENAI_API_KEY", "BG_AGENTS_LLM_API_KEY", "OPENAI_BASE_URL", "BG_AGENTS_LLM_BASE_URL")


@pytest.fixture
def cli(app_env: str, engine: Engine, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    """Run ``bg-agents`` offline (no model configured); (exit code, stdout, stderr)."""
    for var in LLM_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BG_AGENTS_LLM_BACKEND", "offline")
    if enrich_cli not in cli_main.GROUPS:  # until main.py lists the module
        monkeypatch.setattr(cli_main, "GROUPS", (*cli_main.GROUPS, enrich_cli))

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main.main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run


def test_enrich_json_offline_is_rules_then_cache_then_none(cli, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    cached_text = "QQPLM HOLDINGS 0042"
    with engine.begin() as conn:
        conn.execute(
            sa.insert(DescriptorCategory).values(
                descriptor_key=recognize(cached_text).descriptor_key, merchant="Qqplm Holdings",
                category="rent", confidence=0.91, model="stub-model-1",
            )
        )  # fmt: skip
    code, out, _ = cli("enrich", "--descriptor", UNKNOWN, "--descriptor", cached_text, "--json")
    assert code == 0
    rows = json.loads(out)
    assert [set(r) for r in rows] == [
        {"descriptor", "merchant", "category", "confidence", "source"}
    ] * 2
    assert rows[0] == {
        "descriptor": UNKNOWN, "merchant": recognize(UNKNOWN).merchant, "category": None,
        "confidence": 0.0, "source": "none",
    }  # fmt: skip
    assert rows[1] == {
        "descriptor": cached_text, "merchant": "Qqplm Holdings", "category": "rent",
        "confidence": 0.91, "source": "model",
    }  # fmt: skip

    code, out, _ = cli("enrich", "--descriptor", cached_text)
    assert code == 0 and "Qqplm Holdings" in out and "rent" in out and "model" in out


def test_enrich_names_a_rule_known_merchant(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("enrich", "--descriptor", "STARBUCKS STORE 1234", "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["source"] == "rule" and row["category"] and row["merchant"]


def test_enrich_asks_a_configured_model(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with ScriptedOpenAI(repeat(scripted_model({"zqxw": ("Zqxw Trading", "software", 0.9)}))) as s:
        monkeypatch.setenv("BG_AGENTS_LLM_BACKEND", "openai")
        monkeypatch.setenv("BG_AGENTS_LLM_BASE_URL", s.base_url)
        code, out, err = cli("enrich", "--descriptor", UNKNOWN, "--json")
        assert code == 0, err
        assert len(s.requests) == 1
        (row,) = json.loads(out)
        assert (row["source"], row["category"], row["merchant"]) == (
            "model", "software", "Zqxw Trading"
        )  # fmt: skip
        code, out, _ = cli("enrich", "--descriptor", UNKNOWN, "--json")  # cached now
        assert len(s.requests) == 1 and json.loads(out)[0]["source"] == "model"


def test_categorize_records_a_correction_and_offers_earlier_lines(cli, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    acme = add_team(engine, "acme")
    earlier = add_line(engine, acme, UNKNOWN, DAY)
    corrected = add_line(engine, acme, UNKNOWN, DAY + timedelta(days=1))
    later = add_line(engine, acme, UNKNOWN, DAY + timedelta(days=2))
    enrich_days(engine, DAY, DAY + timedelta(days=2), OfflineBackend())

    code, out, _ = cli(
        "categorize", "--team", "acme", "--transaction", str(corrected), "--category",
        "software", "--json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(out)
    assert result["followed"] == [later] and result["category"] == "software"
    assert [o["transaction_id"] for o in result["offered"]] == [earlier]
    assert result["offered"][0]["booking_date"] == DAY.isoformat()
    assert stored(engine)[later]["source"] == "learned"

    code, out, _ = cli(
        "categorize", "--team", "acme", "--transaction", str(later), "--category", "software"
    )
    assert code == 0
    assert f"transaction {later}" in out and "1 earlier transactions" in out
    assert f"{earlier}  {DAY}" in out and "--category software" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--team", "nobody", "--category", "rent"), "unknown team 'nobody'"),
        (("--team", "acme", "--category", "crypto"), "unknown category 'crypto'; one of: income"),
        (("--team", "globex", "--category", "rent"), "is not a transaction of team 'globex'"),
    ],
)
def test_categorize_mistakes_are_one_line_and_exit_2(cli, engine: Engine, args, message) -> None:  # type: ignore[no-untyped-def]
    acme = add_team(engine, "acme")
    add_team(engine, "globex")
    tx = add_line(engine, acme, UNKNOWN)
    code, out, err = cli("categorize", "--transaction", str(tx), *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("bg-agents: error: ") and message in err
    assert stored(engine) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("99999999999999999999999", "no transaction id is above 9223372036854775807"),
        (str(2**63), "no transaction id is above"),
        ("0", "transaction ids are positive numbers"),
        ("12a", "not a transaction id"),
    ],
)
def test_categorize_refuses_an_id_no_database_holds(
    cli, engine: Engine, capsys, text, message
) -> None:  # type: ignore[no-untyped-def]
    """An id past 64 bits is a usage error (exit 2, the reason on one line), not an
    OverflowError from the database driver."""
    add_team(engine, "acme")
    with pytest.raises(SystemExit) as exit_:
        cli("categorize", "--team", "acme", "--transaction", text, "--category", "rent")
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    assert f"argument --transaction: {message}" in err


def test_categorize_takes_the_largest_id(cli, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """2**63-1 passes the argument check and reaches the database (which has no such line)."""
    add_team(engine, "acme")
    code, out, err = cli(
        "categorize", "--team", "acme", "--transaction", str(2**63 - 1), "--category", "rent"
    )
    assert code == 2 and "is not a transaction of team 'acme'" in err
