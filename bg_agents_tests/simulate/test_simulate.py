"""The SIMULATED world generator and its writer: determinism, realism, ground truth, idempotency."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.money import parse_currency, parse_plain_amount
from bg_agents.lib.weeks import last_complete_week_end
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import (
    DOCUMENT_CASES,
    INVOICE_CASES,
    MALFORMED_AMOUNTS,
    MALFORMED_CURRENCIES,
    World,
    generate_world,
)

END = date(2026, 11, 22)  # a Sunday
TABLES = ("teams", "users", "customers", "invoices", "documents", "bank_feed", "ground_truth")
ZONES = {
    "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu",
    "Australia/Lord_Howe", "Pacific/Chatham", "America/St_Johns", "Pacific/Kiritimati",
    "Pacific/Pago_Pago", "America/Los_Angeles", "Asia/Tokyo", "Australia/Adelaide",
    "America/Sao_Paulo", "Asia/Singapore", "Europe/Paris", "Asia/Tehran", "Africa/Lagos",
}  # fmt: skip


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(teams=20, weeks=8, seed=11, end=END)


def _malformed(row: dict) -> bool:
    try:
        parse_plain_amount(row["amount"])
        parse_currency(row["currency"])
    except ValueError:
        return True
    return False


def test_same_arguments_give_the_same_world_and_another_seed_a_different_one() -> None:
    a = generate_world(teams=4, weeks=3, seed=5, end=END)
    assert a == generate_world(teams=4, weeks=3, seed=5, end=END)
    b = generate_world(teams=4, weeks=3, seed=6, end=END)
    assert a.bank_feed != b.bank_feed
    assert a.invoices != b.invoices


def test_a_team_is_the_same_however_many_teams_are_generated() -> None:
    small = generate_world(teams=3, weeks=4, seed=9, end=END)
    large = generate_world(teams=5, weeks=4, seed=9, end=END)
    slugs = {t["slug"] for t in small.teams}
    assert len(slugs) == 3
    for table in TABLES:
        key = "slug" if table == "teams" else "team_slug"
        rows = [r for r in getattr(large, table) if r[key] in slugs]
        assert rows == getattr(small, table), table


def test_history_covers_exactly_the_iso_weeks_ending_on_end(world: World) -> None:
    assert world.start == date(2026, 9, 28) and world.start.isoweekday() == 1
    assert world.end == END
    inside = [r["value_date"] for r in world.bank_feed]
    inside += [d["document_date"] for d in world.documents]
    inside += [i["issue_date"] for i in world.invoices]
    assert min(inside) == world.start and max(inside) == world.end
    assert all(i["due_date"] > i["issue_date"] for i in world.invoices)


def test_rejects_an_end_that_is_not_a_sunday_and_empty_sizes() -> None:
    with pytest.raises(ValueError, match="Sunday"):
        generate_world(teams=1, weeks=1, seed=0, end=END - timedelta(days=1))
    with pytest.raises(ValueError, match="at least 1"):
        generate_world(teams=0, weeks=1, seed=0, end=END)
    with pytest.raises(ValueError, match="at least 1"):
        generate_world(teams=1, weeks=0, seed=0, end=END)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 23), date(2026, 11, 22)),  # Monday: yesterday closed the week
        (date(2026, 11, 26), date(2026, 11, 22)),
        (date(2026, 11, 29), date(2026, 11, 22)),  # Sunday: its own week is still running
    ],
)
def test_last_complete_week_end_is_the_sunday_before_this_iso_week(today, expected) -> None:
    assert last_complete_week_end(today) == expected


def test_teams_span_the_tricky_time_zones_with_matching_currency_and_locale(world: World) -> None:
    assert {t["time_zone"] for t in world.teams} == ZONES
    by_zone = {t["time_zone"]: t for t in world.teams}
    assert (by_zone["Asia/Tokyo"]["base_currency"], by_zone["Asia/Tokyo"]["locale"]) == (
        "JPY",
        "ja_JP",
    )
    assert by_zone["Asia/Kathmandu"]["base_currency"] == "NPR"
    assert by_zone["Pacific/Chatham"]["base_currency"] == "NZD"
    for team in world.teams:
        assert team["slug"] == team["slug"].lower()
        assert not set(team["slug"]) & set("|,[] ")
    users = Counter(u["team_slug"] for u in world.users)
    assert all(1 <= users[t["slug"]] <= 5 for t in world.teams)
    assert any(u["time_zone"] for u in world.users) and any(not u["time_zone"] for u in world.users)


def test_volume_and_weekly_seasonality_look_like_a_real_business(world: World) -> None:
    per_team_week = len(world.bank_feed) / (len(world.teams) * 8)
    assert 15 <= per_team_week <= 23
    card = Counter(
        r["value_date"].isoweekday()
        for r in world.bank_feed
        if r["category"] in ("meals", "travel", "office_supplies")
    )
    assert max(card[6], card[7]) < min(card[d] for d in range(1, 6))
    assert any(r["amount"].startswith("-") for r in world.bank_feed)
    assert any(not r["amount"].startswith("-") for r in world.bank_feed)


def test_ground_truth_links_existing_records_to_existing_bank_rows(world: World) -> None:
    feed = {(r["team_slug"], r["external_id"]): r for r in world.bank_feed}
    docs = {(d["team_slug"], d["external_id"]) for d in world.documents}
    invoices = {(i["team_slug"], i["number"]): i for i in world.invoices}
    assert len(feed) == len(world.bank_feed) and len(invoices) == len(world.invoices)
    combined: dict[tuple[str, str], Decimal] = {}
    for g in world.ground_truth:
        row = feed[g["team_slug"], g["transaction_ref"]]
        assert not _malformed(row)
        record = (g["team_slug"], g["record_external_id"])
        if g["record_kind"] == "document":
            assert record in docs
            assert row["amount"].startswith("-")
        else:
            assert invoices[record]["status"] == "open"
            assert not row["amount"].startswith("-")
        if g["case"] == "combined":
            key = (g["team_slug"], g["transaction_ref"])
            combined[key] = combined.get(key, Decimal(0)) + g["allocated_amount"]
    # A combined payment is exactly the sum of the invoices it settles.
    assert combined
    for key, total in combined.items():
        assert parse_plain_amount(feed[key]["amount"]) == total


def test_every_hard_case_appears_in_a_moderate_world(world: World) -> None:
    cases = Counter((g["record_kind"], g["case"]) for g in world.ground_truth)
    for case in DOCUMENT_CASES:
        assert cases["document", case] > 0, case
    for case in INVOICE_CASES:
        assert cases["invoice", case] > 0, case
    assert cases["document", "exact"] > max(
        n for (kind, case), n in cases.items() if kind == "document" and case != "exact"
    )
    linked = {(g["team_slug"], g["record_external_id"]) for g in world.ground_truth}
    decoys = [d for d in world.documents if (d["team_slug"], d["external_id"]) not in linked]
    assert decoys, "receipts without a bank row"
    used = {(g["team_slug"], g["transaction_ref"]) for g in world.ground_truth}
    assert any((r["team_slug"], r["external_id"]) not in used for r in world.bank_feed)


def test_amounts_respect_the_currency_minor_unit(world: World) -> None:
    jpy = [r for r in world.bank_feed if r["currency"] == "JPY" and not _malformed(r)]
    assert jpy and all("." not in r["amount"] for r in jpy)
    assert all(
        "." not in r["base_amount"]
        for r in world.bank_feed
        if r["base_amount"] and r["team_slug"].startswith("t0012-")  # the Tokyo team
    )
    for rec in world.invoices + world.documents:
        if rec["currency"] == "JPY":
            assert rec["amount"] == rec["amount"].to_integral_value()
            assert rec["amount"].as_tuple().exponent == 0
        elif rec["currency"] in ("USD", "EUR", "GBP"):
            assert rec["amount"].as_tuple().exponent == -2


def test_a_few_malformed_rows_exist_for_quarantine_and_no_truth_uses_them() -> None:
    world = generate_world(teams=3, weeks=2, seed=3, end=END)
    bad = [r for r in world.bank_feed if _malformed(r)]
    assert bad, "even a tiny demo shows quarantine at work"
    big = generate_world(teams=40, weeks=26, seed=3, end=END)
    bad = [r for r in big.bank_feed if _malformed(r)]
    assert 0 < len(bad) <= len(big.bank_feed) / 1000
    # Only the deliberate defects fail; every other row is a valid, in-range bank row.
    assert all(
        r["amount"] in MALFORMED_AMOUNTS or r["currency"] in MALFORMED_CURRENCIES for r in bad
    )
    assert all(parse_plain_amount(r["base_amount"]) for r in big.bank_feed if r["base_amount"])
    refs = {(g["team_slug"], g["transaction_ref"]) for g in big.ground_truth}
    assert not refs & {(r["team_slug"], r["external_id"]) for r in bad}


def _assert_written_once(engine: sa.Engine, world: World) -> None:
    assert write_world(engine, world) == world.counts()
    assert set(write_world(engine, world).values()) == {0}
    with engine.connect() as conn:
        for table, expected in world.counts().items():
            count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            assert count == expected, table


def test_write_world_twice_on_sqlite_inserts_everything_once(tmp_path: Path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path}/app.db")
    migrate.upgrade(engine)
    _assert_written_once(engine, generate_world(teams=3, weeks=3, seed=1, end=END))


@pytest.mark.postgres
def test_write_world_twice_on_postgres_inserts_everything_once(postgres_url: str) -> None:
    engine = get_engine(postgres_url)
    migrate.upgrade(engine)
    _assert_written_once(engine, generate_world(teams=3, weeks=3, seed=1, end=END))
