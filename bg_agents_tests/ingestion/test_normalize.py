"""Row validation before ingestion: good rows become transactions, bad rows keep a reason."""

from decimal import Decimal

from bg_agents.defs.ingestion.normalize import TeamRef, normalize
from bg_agents.defs.ingestion.raw import RawTransaction

TEAMS = {"acme": TeamRef(id=1, base_currency="EUR")}


def raw(**overrides: str | None) -> RawTransaction:
    fields = dict(
        source="csv",
        batch_ref="sha",
        row_ref="1",
        team_ref="acme",
        external_id="x1",
        booking_date="2026-03-02",
        amount="-12.30",
        currency="EUR",
        description="  Coffee  ",
    )
    fields.update(overrides)
    return RawTransaction(**fields)  # type: ignore[arg-type]


def test_good_row_becomes_a_transaction_with_decimal_amount_and_base_amount() -> None:
    out = normalize([raw()], TEAMS)
    assert out.quarantined == []
    (tx,) = out.transactions
    assert tx["amount"] == Decimal("-12.30") and tx["base_amount"] == Decimal("-12.30")
    assert tx["team_id"] == 1 and tx["description"] == "Coffee"


def test_foreign_currency_without_base_amount_keeps_base_amount_empty() -> None:
    (tx,) = normalize([raw(currency="usd")], TEAMS).transactions
    assert tx["currency"] == "USD" and tx["base_amount"] is None


def test_each_bad_field_is_quarantined_with_its_own_reason() -> None:
    rows = [
        raw(row_ref="1", team_ref="nobody"),
        raw(row_ref="2", booking_date="2026-02-30"),
        raw(row_ref="3", amount="12,3,4"),
        raw(row_ref="4", amount="NaN"),
        raw(row_ref="5", currency="ZZZ"),
        raw(row_ref="6", amount="1.23456"),
        raw(row_ref="7", external_id=""),
        raw(row_ref="8"),
    ]
    out = normalize(rows, TEAMS)
    reasons = {q["row_ref"]: q["reason"] for q in out.quarantined}
    assert reasons == {
        "1": "unknown team 'nobody'",
        "2": "bad booking date '2026-02-30'",
        "3": "bad amount '12,3,4'",
        "4": "amount must be finite, got 'NaN'",
        "5": "unknown currency 'ZZZ'",
        "6": "amount '1.23456' has more than 4 decimal places",
        "7": "missing or over-long external id ''",
    }
    assert [t["external_id"] for t in out.transactions] == ["x1"]
    assert out.quarantined[0]["raw"]["team_ref"] == "nobody"
