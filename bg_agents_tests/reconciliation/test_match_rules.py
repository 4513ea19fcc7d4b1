"""The linking rules: tolerances, date window, name normalization and a score that behaves."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from bg_agents.defs.reconciliation.matcher.rules import (
    MatchRules,
    Side,
    check_pair,
    name_similarity,
    normalize_name,
)

DAY = date(2026, 3, 2)


def receipt(amount: str = "100.00", **kw: object) -> Side:
    fields: dict = dict(id="doc-1", date=DAY, amount=Decimal(amount), currency="USD")
    fields["name"] = "Blue Bottle Coffee"
    fields.update(kw)
    return Side(**fields)


def bank(amount: str = "-100.00", days: int = 0, **kw: object) -> Side:
    fields: dict = dict(id="tx-1", date=DAY + timedelta(days=days), amount=Decimal(amount))
    fields.update(currency="USD", name="CARD PURCHASE SQ *BLUE BOTTLE COFFEE 4417")
    fields.update(kw)
    return Side(**fields)


def test_defaults_are_the_seed_rules() -> None:
    rules = MatchRules()
    assert (rules.amount_pct, rules.amount_abs) == (Decimal("0.005"), Decimal("0.01"))
    assert (rules.date_days, rules.min_confidence) == (5, 0.8)


def test_exact_pair_links_with_full_score() -> None:
    check = check_pair(receipt(), bank())
    assert check.ok and check.score == 1.0 and check.problems == []
    assert "same amount (100.00 USD)" in check.reasons and "same date" in check.reasons


def test_amount_within_half_a_percent_links() -> None:
    check = check_pair(receipt("100.00"), bank("-100.50"))
    assert check.ok
    assert "amount differs by 0.5 % (limit 0.5 %)" in check.reasons


def test_amount_just_outside_half_a_percent_is_refused_with_the_reason() -> None:
    just_outside = check_pair(receipt("100.00"), bank("-100.51"))
    assert not just_outside.ok
    assert just_outside.problems[0] == "amount differs by 0.51 % (limit 0.5 %)"
    far = check_pair(receipt("1000.00"), bank("-1031.00"))
    assert far.problems[0] == "amount differs by 3.1 % (limit 0.5 %)"


def test_absolute_tolerance_wins_for_tiny_amounts() -> None:
    # 0.5 % of 1.00 is half a cent, so a one-cent rounding difference would fail without it.
    assert check_pair(receipt("1.00"), bank("-1.01")).ok
    refused = check_pair(receipt("1.00"), bank("-1.02"))
    assert not refused.ok
    assert refused.problems[0] == "amount differs by 0.02 USD (limit 0.01 USD)"


def test_date_window_edges() -> None:
    assert check_pair(receipt(), bank(days=5)).ok
    assert check_pair(receipt(), bank(days=-5)).ok
    late = check_pair(receipt(), bank(days=6))
    assert not late.ok and "dates 6 days apart (limit 5)" in late.problems
    assert "dates 9 days apart (limit 5)" in check_pair(receipt(), bank(days=-9)).problems


def test_amounts_compare_by_absolute_value() -> None:
    assert check_pair(receipt("42.50"), bank("-42.50")).score == 1.0
    assert check_pair(receipt("42.50"), bank("42.50")).score == 1.0
    assert check_pair(receipt("-42.50"), bank("-42.50")).score == 1.0


def test_different_currency_needs_base_amounts() -> None:
    gbp = receipt("15.54", currency="GBP")
    missing = check_pair(gbp, bank("-19.74", base_amount=Decimal("-19.74")))
    assert not missing.ok and missing.score == 0.0
    assert missing.problems == ["different currency and no base amount"]

    converted = replace(gbp, base_amount=Decimal("19.74"))
    check = check_pair(converted, bank("-19.80", base_amount=Decimal("-19.80")))
    assert check.ok and check.parts["compared"] == "base_amount"
    assert not check_pair(converted, bank("-20.09", base_amount=Decimal("-20.09"))).ok


def test_same_currency_ignores_base_amounts() -> None:
    check = check_pair(receipt(base_amount=Decimal("1")), bank(base_amount=Decimal("-999")))
    assert check.ok and check.parts["compared"] == "amount"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Hetzner Online GmbH", "hetzner online"),
        ("HETZNER ONLINE", "hetzner online"),
        ("Trident Textiles G.K.", "trident textiles"),
        ("Acme Pty. Ltd.", "acme"),
        ("Café Lumière S.A.", "cafe lumiere"),
        ("Müller Bäckerei", "mueller baeckerei"),
        ("McDonald's", "mcdonalds"),
        ("CARD PURCHASE SQ *BLUE BOTTLE 4417", "blue bottle"),
        ("PAYPAL *UDEMY", "udemy"),
        ("DEBIT CARD SUMUP *CAFE KING", "cafe king"),
        ("TST* SWGRN", "swgrn"),
        ("AMZN Mktp *66D9Q", "amazon 66d9q"),
        ("BOOKING.COM HOTEL", "booking hotel"),
        ("Square", "square"),  # stripping must never leave nothing
    ],
)
def test_name_normalization(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Amazon", "AMZN Mktp *66D9Q"),
        ("Notion Labs", "NOTION LABS INC"),
        ("Udemy", "PAYPAL *UDEMY 20931"),
        ("Müller GmbH", "MUELLER"),
    ],
)
def test_names_that_mean_the_same_party_agree(a: str, b: str) -> None:
    assert name_similarity(a, b) >= MatchRules().name_threshold


def test_unrelated_name_stops_an_exact_same_day_pair() -> None:
    check = check_pair(receipt(name="HubSpot"), bank(name="NOTION LABS INC"))
    assert not check.ok and check.score == pytest.approx(0.7)
    assert check.problems == ["score 0.70 below the minimum 0.80"]


def test_an_alias_counts_when_it_agrees() -> None:
    side = bank(name="GUSTO", aliases=("CARD PURCHASE BLUE BOTTLE COFFEE",))
    assert check_pair(receipt(), side).ok


def test_pair_at_both_tolerance_edges_with_agreeing_names_still_links() -> None:
    check = check_pair(receipt("100.00"), bank("-100.50", days=5))
    assert check.ok and check.score == pytest.approx(0.8)


def test_invoice_period_counts_as_zero_days() -> None:
    invoice = receipt("3520.00", date_until=DAY + timedelta(days=30), name="Vanguard Clinic")
    paid = bank("3520.00", days=20, name="ACH CREDIT VANGUARD CLINIC")
    check = check_pair(invoice, paid)
    assert check.ok and check.parts["days_apart"] == 0
    assert not check_pair(invoice, replace(paid, date=DAY + timedelta(days=36))).ok


def test_score_falls_as_amount_date_or_name_get_worse() -> None:
    amounts = [check_pair(receipt(), bank(f"-{100 + i * 0.25:.2f}")).score for i in range(12)]
    days = [check_pair(receipt(), bank(days=d)).score for d in range(12)]
    names = ["Blue Bottle Coffee", "Blue Bottle Cafe", "Blue Bottles", "Bottle Shop", "Uber"]
    by_name = [check_pair(receipt(), bank(name=n)).score for n in names]
    for scores in (amounts, days, by_name):
        assert scores == sorted(scores, reverse=True)
        assert scores[0] > scores[-1]
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_rules_reject_inconsistent_settings() -> None:
    with pytest.raises(ValueError, match="weights"):
        MatchRules(weight_amount=0.9)
    with pytest.raises(ValueError):
        MatchRules(name_floor=0.9)
