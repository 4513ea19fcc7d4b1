"""``bg-agents review``, run in-process against the test's own database (SQLite and PostgreSQL):
the readable list, its JSON, decisions and their outcome, and one-line errors."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine

from bg_agents.cli import main
from bg_agents.defs.reconciliation.service import reconcile
from bg_agents_tests.reconciliation.test_feedback_end_to_end import (
    DAY,
    add_payment,
    add_receipt,
    add_team,
)
from bg_agents_tests.reconciliation.test_review import (
    AFTER_DUE,
    pairs,
    stage_tie,
)

ITEM_KEYS = {
    "match_id", "decision", "status", "score", "evidence", "matched_amount", "record", "bank",
    "options",
}  # fmt: skip
OUTCOME_KEYS = {
    "match_id", "decision", "status_before", "status", "changed", "record_kind", "record_id",
    "transaction_id", "invoice_state",
}  # fmt: skip


@pytest.fixture
def tie(engine: Engine) -> dict[str, int]:
    return stage_tie(engine)


@pytest.fixture
def cli(app_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run ``bg-agents`` with the clock past the invoices' due day; (exit code, stdout, stderr)."""
    monkeypatch.setenv("BG_AGENTS_NOW", AFTER_DUE.isoformat())

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run


def test_the_list_shows_each_option_with_its_evidence(cli, tie) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("review", "--team", "acme")
    assert code == 0
    assert "acme: 3 open suggestions for 2 records" in out
    assert "invoice INV-7 (overdue, due" in out and "2 options" in out
    assert "Globex Corporation" in out and "GBX SERVICES 2231" in out
    assert "please choose" in out and "names differ" in out
    assert "500.00 EUR" in out and "500.0000" not in out
    assert "UMBRELLA" not in out  # an automatic link: only with --all
    assert "--confirm ID" in out

    code, out, _ = cli("review", "--team", "acme", "--all")
    assert code == 0 and "UMBRELLA CORP" in out and "4 open suggestions and automatic links" in out


def test_json_lists_items_and_decisions_outcomes(cli, tie, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("review", "--team", "acme", "--json")
    items = json.loads(out)
    assert code == 0 and len(items) == 3
    assert all(set(i) == ITEM_KEYS for i in items)
    first = items[0]
    assert set(first["record"]) == {
        "kind", "id", "date", "amount", "currency", "name", "number", "due_date", "state",
    }  # fmt: skip
    assert set(first["bank"]) == {"id", "date", "amount", "currency", "counterparty", "text"}
    assert first["record"]["state"] == "overdue" and first["options"] == 2
    assert [i["options"] for i in items] == [2, 2, 1]

    chosen, refused = items[1]["match_id"], items[2]["match_id"]
    code, out, _ = cli(
        "review", "--team", "acme", "--confirm", str(chosen), "--decline", str(refused), "--json"
    )
    outcomes = json.loads(out)
    assert code == 0 and all(set(o) == OUTCOME_KEYS for o in outcomes)
    assert [(o["match_id"], o["status"], o["changed"]) for o in outcomes] == [
        (chosen, "confirmed", True),
        (refused, "declined", True),
    ]
    assert outcomes[0]["invoice_state"] == "paid" and outcomes[1]["invoice_state"] is None
    assert json.loads(cli("review", "--team", "acme", "--json")[1]) == []
    code, out, _ = cli("review", "--team", "acme")
    assert code == 0 and "no open suggestions" in out

    code, out, _ = cli("review", "--team", "acme", "--confirm", str(chosen), "--json")
    assert [o["changed"] for o in json.loads(out)] == [False]  # the same decision again


def test_declining_a_link_from_the_command_line_reopens_its_invoice(cli, tie, engine) -> None:  # type: ignore[no-untyped-def]
    link = pairs(engine, tie["team"])[("invoice", tie["linked_invoice"], tie["linked_payment"])]
    code, out, _ = cli("review", "--team", "acme", "--decline", str(link[0]))
    assert code == 0
    assert out.strip() == (
        f"match {link[0]} declined: invoice {tie['linked_invoice']} with bank row "
        f"{tie['linked_payment']}; the invoice is overdue"
    )
    code, out, _ = cli("review", "--team", "acme", "--decline", str(link[0]))
    assert code == 0 and "already declined, unchanged" in out


def test_wrong_requests_are_one_line_errors(cli, tie, engine) -> None:  # type: ignore[no-untyped-def]
    ours = pairs(engine, tie["team"])[("invoice", tie["invoice"], tie["first"])][0]
    other = add_team(engine, "other")
    add_receipt(engine, other, "12.00", "Initrode")
    add_payment(engine, other, "-12.00", "INITRODE")
    reconcile(engine, DAY, DAY)
    (theirs,) = [v[0] for v in pairs(engine, other).values()]
    cases = [
        (("--team", "acme", "--decline", str(theirs)), f"no pair with id {theirs}"),
        (("--team", "nobody"), "unknown team 'nobody'"),
        (("--team", "acme", "--confirm", "999999"), "no pair with id 999999"),
        (("--team", "acme", "--confirm", f"{ours},999999"), "no pair with id 999999"),
        (("--team", "acme", "--confirm", str(ours), "--decline", str(ours)), "choose one"),
        (("--team", "acme", "--confirm", str(ours), "--profile", "loose"), "unknown matching"),
    ]
    for args, message in cases:
        code, out, err = cli("review", *args)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, err
        assert err.startswith("bg-agents: error: ") and message in err
    assert pairs(engine, tie["team"])[("invoice", tie["invoice"], tie["first"])][2] == "pending"


@pytest.mark.parametrize("ids", ["x", "1,,y", "0", "-3"])
def test_malformed_ids_are_refused_by_the_parser(cli, app_env, ids: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exit_:
        cli("review", "--team", "acme", "--confirm", ids)
    assert exit_.value.code == 2
