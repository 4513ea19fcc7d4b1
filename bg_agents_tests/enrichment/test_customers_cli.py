"""``bg-agents customers show|set``: a person's fact is validated, recorded once, shown with its
source, and kept by the next enrichment run."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from bg_agents.cli import customers
from bg_agents.defs.enrichment.customers import enrich_customers
from bg_agents.defs.enrichment.providers import OfflineProvider
from bg_agents_tests.enrichment.test_customers import add_customer, add_team


def cli(*argv: str) -> int:
    """The command as bg-agents runs it (the group is not wired into main.py yet)."""
    parser = argparse.ArgumentParser(prog="bg-agents")
    customers.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_a_persons_fact_is_recorded_once_shown_and_kept(
    engine: Engine, app_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    team = add_team(engine, "acme-books")
    add_customer(engine, team, "c1", "billing@acme.com", name="Acme", country="DE")
    assert cli("customers", "set", "--team", "acme-books", "--customer", "c1", "industry",
               "Robotics", "--json") == 0  # fmt: skip
    first = json.loads(capsys.readouterr().out)
    assert (first["value"], first["source"], first["changed"]) == ("Robotics", "person", True)
    cli("customers", "set", "--team", "acme-books", "--customer", "c1", "industry", "Robotics",
        "--json")  # fmt: skip
    again = json.loads(capsys.readouterr().out)
    assert again["changed"] is False and again["fetched_at"] == first["fetched_at"]

    enrich_customers(engine, OfflineProvider(), ttl=timedelta(days=30))
    assert cli("customers", "show", "--team", "acme-books", "--json") == 0
    (shown,) = json.loads(capsys.readouterr().out)
    assert shown["status"] == "enriched"
    assert {(f["field"], f["value"], f["source"]) for f in shown["facts"]} == {
        ("industry", "Robotics", "person"),
        ("country", "DE", "customer"),
        ("domain", "acme.com", "offline"),
    }
    cli("customers", "show", "--team", "acme-books", "--customer", "c1")
    text = capsys.readouterr().out
    assert "acme-books/c1 (Acme): enriched" in text and "Robotics  [person" in text


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--customer", "c1", "industry", "call +1 415 555 0100"), "may be stored"),
        (("--customer", "c1", "country", "Germany"), "an ISO 3166 alpha-2 code such as DE"),
        (("--customer", "c1", "size_band", "about 40"), "one of 1-10, 11-50, "),
        (("--customer", "c1", "logo_url", "http://acme.com/logo.png"), "may be stored"),
        (("--customer", "nobody", "industry", "Retail"), "no customer 'nobody'"),
    ],
)
def test_a_fact_that_may_not_be_stored_is_refused(
    engine: Engine, app_env: str, argv: tuple[str, ...], says: str
) -> None:
    add_customer(engine, add_team(engine, "acme-books"), "c1", "billing@acme.com")
    with pytest.raises(ValueError, match=says):
        cli("customers", "set", "--team", "acme-books", *argv)
    with pytest.raises(ValueError, match="unknown team"):
        cli("customers", "show", "--team", "nobody")
