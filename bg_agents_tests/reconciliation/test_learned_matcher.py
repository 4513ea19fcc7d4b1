"""The learned matcher (profile "learned") as a user relies on it, on small hand-built files.

Written against the promises in the docstrings of learned.py and evidence/*, not its code: term
frequency, bounded blocking, one-to-one links, calibrated decisions with explanations, the rule
guard, evidence learned from the file at hand, feedback, a stored model, determinism.
Every file here is SIMULATED: invented vendors, amounts and dates from a seeded random.Random.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from bg_agents.defs.reconciliation.matcher import Feedback, Side, match, profile
from bg_agents.defs.reconciliation.matcher.evidence.candidates import Blocking, candidate_pairs
from bg_agents.defs.reconciliation.matcher.evidence.comparisons import COMPARISONS, DATE_AT
from bg_agents.defs.reconciliation.matcher.evidence.features import build_pair
from bg_agents.defs.reconciliation.matcher.evidence.model import EvidenceModel
from bg_agents.defs.reconciliation.matcher.learned import check_learned, comparisons_of, fit_model

LEARNED = profile("learned")
START = date(2025, 1, 6)
SYLLABLES = ("ka", "lo", "mi", "ner", "vos", "tri", "pel", "dan", "quor", "zib", "fen", "rul")
KINDS = ("Handel", "Studio", "Werk", "Labs", "Markt", "Service")


# --- SIMULATED files ------------------------------------------------------------------------


def simulated_vendor(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
    return f"{word} {rng.choice(KINDS)}"


def receipt(id_: str, day: date, amount: str | Decimal, name: str, **kw) -> Side:
    return Side(id=id_, date=day, amount=Decimal(amount), currency="EUR", name=name, **kw)


def bank_row(id_: str, day: date, amount: str | Decimal, name: str, **kw) -> Side:
    """A bank row pays out: a negative amount, the bank's label in capitals."""
    return Side(id=id_, date=day, amount=-Decimal(amount), currency="EUR", name=name, **kw)


def simulated_book(
    seed: int = 1, n: int = 300, lag: tuple[int, int] = (0, 2), noise: int = 100
) -> tuple[list[Side], list[Side]]:
    """SIMULATED receipts, each paid by one bank row ``lag`` days later (same amount, the
    vendor behind a card prefix, a transaction number), plus ``noise`` unrelated bank rows."""
    rng = random.Random(seed)
    vendors = [simulated_vendor(rng) for _ in range(60)]
    records, rows = [], []
    for i in range(n):
        vendor = rng.choice(vendors)
        amount = Decimal(rng.randint(300, 90_000)) / 100
        day = START + timedelta(days=rng.randint(0, 120))
        records.append(receipt(f"r{i}", day, amount, vendor))
        rows.append(
            bank_row(f"t{i}", day + timedelta(days=rng.randint(*lag)), amount,
                     f"CARD {vendor.upper()}", aliases=(f"TRX {rng.randint(10**6, 10**7)}",))
        )  # fmt: skip
    for k in range(noise):
        amount = Decimal(rng.randint(300, 90_000)) / 100
        day = START + timedelta(days=rng.randint(0, 125))
        rows.append(bank_row(f"n{k}", day, amount, f"CARD {rng.choice(vendors).upper()}"))
    return records, rows


def simulated_invoices(seed: int = 7, n: int = 200) -> tuple[list[Side], list[Side]]:
    """SIMULATED invoices (INV-2025-1NNN) paid within 3 days by a transfer in the vendor's
    name; half the transfers quote the invoice number, half only the bank's own number."""
    rng = random.Random(seed)
    vendors = [simulated_vendor(rng) for _ in range(40)]
    records, rows = [], []
    for i in range(n):
        vendor = rng.choice(vendors)
        amount = Decimal(rng.randint(5_000, 400_000)) / 100
        day = START + timedelta(days=rng.randint(0, 120))
        number = f"INV-2025-{1000 + i}"
        quoted = number if i % 2 else f"TRX {rng.randint(10**6, 10**7)}"
        records.append(receipt(f"inv{i}", day, amount, vendor, reference=number))
        rows.append(bank_row(f"trf{i}", day + timedelta(days=rng.randint(0, 3)), amount,
                             vendor.upper(), aliases=(quoted,)))  # fmt: skip
    return records, rows


# --- reading results ------------------------------------------------------------------------


def pair_of(result, left_id: str):
    found = [p for p in result.pairs if p.left_id == left_id]
    assert found, f"no pair for {left_id}"
    return found[0]


def autos(result) -> set[tuple[str, str]]:
    return {(p.left_id, p.right_id) for p in result.pairs if p.decision == "auto"}


_WEIGHT = re.compile(r"\(([+-]\d+(?:\.\d+)?)\)$")


def weight_in(explanation: str, starts: str) -> float:
    """The match weight the explanation gives the evidence that starts with ``starts``."""
    parts = [p for p in explanation.split(": ", 1)[1].split("; ") if p.startswith(starts)]
    assert len(parts) == 1, (starts, explanation)
    found = _WEIGHT.search(parts[0])
    assert found, parts[0]
    return float(found.group(1))


# --- term frequency -------------------------------------------------------------------------


def test_an_amount_hundreds_of_candidates_share_weighs_less_than_a_rare_one() -> None:
    records, rows = simulated_book(seed=2)
    rng = random.Random(3)
    rows += [bank_row(f"sixty{k}", START + timedelta(days=rng.randint(0, 125)), "60.00",
                      f"CARD {simulated_vendor(rng).upper()}") for k in range(300)]  # fmt: skip
    day = START + timedelta(days=50)
    records += [receipt("common", day, "60.00", "Brastovic Tools"),
                receipt("rare", day, "73.19", "Olpenwick Tools")]  # fmt: skip
    paid = day + timedelta(days=1)
    rows += [bank_row("t-common", paid, "60.00", "CARD BRASTOVIC TOOLS"),
             bank_row("t-rare", paid, "73.19", "CARD OLPENWICK TOOLS")]  # fmt: skip

    result = match(records, rows, LEARNED)
    common, rare = pair_of(result, "common"), pair_of(result, "rare")
    assert (common.right_id, rare.right_id) == ("t-common", "t-rare")
    common_w = weight_in(common.explanation, "same amount")
    rare_w = weight_in(rare.explanation, "same amount")
    assert common_w < rare_w - 3, (common.explanation, rare.explanation)
    assert common.score <= rare.score


def test_a_memo_many_rows_share_weighs_less_than_a_rare_memo() -> None:
    records, rows = simulated_book(seed=4)
    rng = random.Random(5)
    rows += [bank_row(f"fee{k}", START + timedelta(days=rng.randint(0, 125)),
                      Decimal(rng.randint(300, 90_000)) / 100, "MONTHLY SERVICE FEE")
             for k in range(300)]  # fmt: skip
    day = START + timedelta(days=40)
    records += [receipt("common", day, "81.37", "Monthly Service Fee"),
                receipt("rare", day, "82.41", "Zorblax Service Fee")]  # fmt: skip
    paid = day + timedelta(days=1)
    rows += [bank_row("t-common", paid, "81.37", "MONTHLY SERVICE FEE"),
             bank_row("t-rare", paid, "82.41", "ZORBLAX SERVICE FEE")]  # fmt: skip

    result = match(records, rows, LEARNED)
    common, rare = pair_of(result, "common"), pair_of(result, "rare")
    assert (common.right_id, rare.right_id) == ("t-common", "t-rare")
    common_w = weight_in(common.explanation, "names equal")
    rare_w = weight_in(rare.explanation, "names equal")
    assert common_w < rare_w - 3, (common.explanation, rare.explanation)


def test_the_explanation_counts_the_candidates_sharing_a_name() -> None:
    records, rows = simulated_book(seed=1)
    result = match(records, rows, LEARNED)
    pair = pair_of(result, "r0")
    record = next(r for r in records if r.id == "r0")
    sharing = sum(row.name == f"CARD {record.name.upper()}" for row in rows)
    assert sharing > 3
    assert f"names equal, as {sharing} candidates are" in pair.explanation, pair.explanation


# --- bounded blocking -----------------------------------------------------------------------


def coffees(prefix: str, count: int, sign: int = 1) -> list[Side]:
    day = date(2025, 5, 14)
    return [
        Side(id=f"{prefix}{k}", date=day, amount=Decimal("5.00") * sign, currency="EUR",
             name="Coffee")
        for k in range(count)
    ]  # fmt: skip


def per_record_counts(records: list[Side], rows: list[Side], blocking: Blocking) -> Counter:
    left, right, _ = build_pair(records, rows)
    rec, _, _ = candidate_pairs(left, right, blocking)
    return Counter(rec.tolist())


@pytest.mark.parametrize(
    "config",
    [LEARNED, LEARNED.with_tolerances(amount_pct=Decimal("0.15"), date_days=21)],
    ids=["profile", "widened"],
)
def test_blocking_is_bounded_per_record_for_3000_identical_rows(config) -> None:
    records, rows = coffees("r", 3000), coffees("t", 3000, sign=-1)
    counts = per_record_counts(records, rows, config.blocking)
    assert len(counts) == 3000  # every record has candidates ...
    assert max(counts.values()) <= Blocking().max_per_record  # ... but never more than the bound


def test_blocking_is_bounded_per_record_on_a_dense_file_with_widened_tolerances() -> None:
    """Thousands of rows of similar amounts within three weeks, names shared widely."""
    rng = random.Random(11)
    vendors = [simulated_vendor(rng) for _ in range(5)]
    records, rows = [], []
    for k in range(2000):
        day = START + timedelta(days=rng.randint(0, 21))
        amount = Decimal(rng.randint(9_000, 11_000)) / 100
        vendor = rng.choice(vendors)
        records.append(receipt(f"r{k}", day, amount, vendor, reference=f"ORD {10_000 + k}"))
        rows.append(bank_row(f"t{k}", day, amount, f"{vendor.upper()} ORD {10_000 + k}"))
    config = LEARNED.with_tolerances(amount_pct=Decimal("0.15"), date_days=21)
    counts = per_record_counts(records, rows, config.blocking)
    assert max(counts.values()) <= Blocking().max_per_record


def test_3000_identical_coffees_each_get_their_own_candidate_quickly() -> None:
    """3,000 identical receipts and 3,000 identical rows: each record is proposed a distinct
    row (twins are no rivals), in a few seconds. This file alone holds no evidence that an
    equal amount means a match (every pair looks alike), so the decision is not asserted."""
    records, rows = coffees("r", 3000), coffees("t", 3000, sign=-1)
    started = time.perf_counter()
    result = match(records, rows, LEARNED)
    assert time.perf_counter() - started < 10
    chosen = {}
    for p in result.pairs:
        chosen.setdefault(p.left_id, p.right_id)  # the first (assigned) pair of each record
    assert len(chosen) == 3000
    assert len(set(chosen.values())) == 3000


@pytest.mark.xfail(
    strict=True,
    reason="300 identical coffees beside a book whose receipts all auto-link are only "
    "suggested, each at p 0.9744 < 0.995 (amount and name shared by 300 candidates weigh "
    "+1.2 bits each), so a person must confirm 300 pairs; 10 coffees do auto-link",
)
def test_300_identical_coffees_in_a_book_are_auto_linked() -> None:
    records, rows = simulated_book(seed=1)
    records += coffees("c", 300)
    rows += coffees("k", 300, sign=-1)
    result = match(records, rows, LEARNED)
    linked = {p.left_id: p.right_id for p in result.pairs
              if p.left_id.startswith("c") and p.decision == "auto"}  # fmt: skip
    assert len(linked) == 300
    assert len(set(linked.values())) == 300


NO_IDENTIFIER = (receipt("r1", START, "12.40", "Bakery Olm"),
                 bank_row("t1", START, "12.40", "BAKERY OLM"))  # fmt: skip


@pytest.mark.parametrize("entry", ["match", "check_learned", "comparisons_of"])
def test_rows_without_any_identifier_can_be_compared(entry: str) -> None:
    """Receipts and card rows often quote no number at all (this used to raise IndexError)."""
    record, row = NO_IDENTIFIER
    if entry == "match":
        match([record], [row], LEARNED)
    elif entry == "check_learned":
        records, rows = simulated_book(seed=1)
        check_learned(record, row, fit_model(records, rows, LEARNED), LEARNED)
    else:
        comparisons_of([(record, row)], LEARNED)


# --- one-to-one and calibrated decisions ----------------------------------------------------


def harder_book() -> tuple[list[Side], list[Side]]:
    """A SIMULATED book with look-alikes: for some receipts a second row of the same vendor,
    an amount 1-3 % off and a few days away; dates 0-6 days later."""
    records, rows = simulated_book(seed=9, lag=(0, 6))
    rng = random.Random(10)
    for record in records[::4]:
        amount = (record.amount * Decimal(rng.choice(("0.98", "0.99", "1.01", "1.02")))).quantize(
            Decimal("0.01")
        )
        day = record.date + timedelta(days=rng.randint(-3, 8))
        rows.append(bank_row(f"like-{record.id}", day, amount, f"CARD {record.name.upper()}"))
    return records, rows


def test_no_candidate_is_auto_linked_twice() -> None:
    records, rows = harder_book()
    result = match(records, rows, LEARNED)
    linked = [p for p in result.pairs if p.decision == "auto"]
    assert len(linked) > 100
    assert len({p.right_id for p in linked}) == len(linked)
    assert len({p.left_id for p in linked}) == len(linked)


def test_a_record_with_two_equally_good_candidates_is_not_auto_linked() -> None:
    records, rows = simulated_book(seed=12)
    day = START + timedelta(days=30)
    records.append(receipt("tie", day, "318.27", "Acme"))
    rows += [bank_row("tie-a", day + timedelta(days=1), "318.27", "ACME BERLIN"),
             bank_row("tie-b", day + timedelta(days=1), "318.27", "ACME MUNICH")]  # fmt: skip
    result = match(records, rows, LEARNED)
    mine = {p.right_id: p for p in result.pairs if p.left_id == "tie"}
    assert set(mine) == {"tie-a", "tie-b"}
    assert {p.decision for p in mine.values()} == {"suggest"}
    assert mine["tie-a"].score == mine["tie-b"].score


def tied_book() -> tuple[list[Side], list[Side]]:
    records, rows = simulated_book(seed=12)
    day = START + timedelta(days=30)
    records.append(receipt("tie", day, "318.27", "Acme"))
    rows += [bank_row("tie-a", day + timedelta(days=1), "318.27", "ACME BERLIN"),
             bank_row("tie-b", day + timedelta(days=1), "318.27", "ACME MUNICH")]  # fmt: skip
    return records, rows


def test_a_tie_goes_to_the_tie_breaker_and_its_choice_is_linked_under_the_guard() -> None:
    asked: list[list[str]] = []

    def choose_b(record: Side, options: list[tuple[Side, float]]) -> str | None:
        asked.append([candidate.id for candidate, _ in options])
        return "tie-b"

    records, rows = tied_book()
    result = match(records, rows, LEARNED, tie_breaker=choose_b)
    mine = [p for p in result.pairs if p.left_id == "tie"]
    assert sorted(map(sorted, asked)) == [["tie-a", "tie-b"]]
    assert [(p.right_id, p.decision, p.decided_by) for p in mine] == [("tie-b", "auto", "model")]
    assert result.stats["model_links"] == 1 and result.stats["ties"] >= 1


def test_a_tie_breakers_answer_outside_the_options_links_nothing() -> None:
    records, rows = tied_book()
    result = match(records, rows, LEARNED, tie_breaker=lambda record, options: "not-offered")
    mine = {p.right_id: p.decision for p in result.pairs if p.left_id == "tie"}
    assert mine == {"tie-a": "suggest", "tie-b": "suggest"}
    assert result.stats["model_refused"] == 1


def with_near_ties(records: list[Side], rows: list[Side]) -> tuple[list[Side], list[Side]]:
    """Five receipts, each with two rows of its vendor and amount, one and two days later."""
    records, rows = records[:], rows[:]
    for k in range(5):
        day = START + timedelta(days=20 + 9 * k)
        amount = f"{318 + k}.27"
        records.append(receipt(f"near{k}", day, amount, "Acme"))
        rows.append(bank_row(f"near{k}-a", day + timedelta(days=1), amount, "ACME BERLIN"))
        rows.append(bank_row(f"near{k}-b", day + timedelta(days=2), amount, "ACME MUNICH"))
    return records, rows


def with_chain(records: list[Side], rows: list[Side]) -> tuple[list[Side], list[Side]]:
    """Six receipts of one vendor and amount every other day, each paid a day later: every row
    fits two receipts, so each receipt has several plausible rows."""
    records, rows = records[:], rows[:]
    for k in range(6):
        day = START + timedelta(days=10 + 2 * k)
        records.append(receipt(f"chain{k}", day, "250.00", "Orvik Studio"))
        rows.append(bank_row(f"chain-row{k}", day + timedelta(days=1), "250.00",
                             "CARD ORVIK STUDIO"))  # fmt: skip
    return records, rows


def test_auto_links_clear_the_auto_probability() -> None:
    records, rows = with_chain(*with_near_ties(*harder_book()))
    result = match(records, rows, LEARNED)
    decisions = Counter(p.decision for p in result.pairs)
    assert decisions["auto"] > 100 and decisions["suggest"] > 10, decisions
    for p in result.pairs:
        assert 0.0 <= p.score <= 1.0
        if p.decision == "auto":
            assert p.score >= LEARNED.auto_probability, p
        else:
            assert p.score >= LEARNED.suggest_probability, p


def test_a_records_suggestions_are_ranked_by_probability() -> None:
    records, rows = with_chain(*harder_book())
    result = match(records, rows, LEARNED)
    suggested: dict[str, list[float]] = defaultdict(list)
    for p in result.pairs:
        if p.decision == "suggest":
            suggested[p.left_id].append(p.score)
    assert (
        sum(len(scores) > 1 for scores in suggested.values()) >= 2
    )  # enough records with options to see their order
    for left_id, scores in suggested.items():
        assert scores == sorted(scores, reverse=True), (left_id, scores)


def test_a_few_identical_coffees_pair_one_to_one() -> None:
    """Twins are no rivals: ten identical coffees in a book each link to their own row."""
    records, rows = simulated_book(seed=1)
    records += coffees("c", 10)
    rows += coffees("k", 10, sign=-1)
    result = match(records, rows, LEARNED)
    linked = {p.left_id: p.right_id for p in result.pairs
              if p.left_id.startswith("c") and p.decision == "auto"}  # fmt: skip
    assert len(linked) == 10
    assert len(set(linked.values())) == 10


def test_the_explanation_names_the_evidence_in_words() -> None:
    records, rows = simulated_book(seed=1, lag=(2, 4))
    result = match(records, rows, LEARNED)
    pair = pair_of(result, "r0")
    text = pair.explanation
    assert text.startswith(f"match probability {pair.score:.4f}: ")
    assert "same amount (" in text and "days later" in text and "names " in text
    strengths = ("very strong", "strong", "some evidence", "neutral", "against")
    for part in text.split(": ", 1)[1].split("; "):
        assert any(f": {word} (" in part for word in strengths), part
    assert weight_in(text, "same amount") > 0


# --- the guard ------------------------------------------------------------------------------


GUARD_DAY = START + timedelta(days=60)


def guarded_case(case: str) -> tuple[Side, Side]:
    """A record and a bank row whose names agree perfectly, but which the rules forbid."""
    record = receipt("odd", GUARD_DAY, "1234.56", "Quandrix Labs", reference="INV-2025-1900")
    amount, days, quoted = "1234.56", 0, "INV-2025-1900"
    if case == "amount 20 % apart":
        amount = "1481.47"
    elif case in ("40 days apart", "60 days apart"):
        days = int(case.split()[0])
    elif case == "another invoice quoted":
        quoted = "INV-2025-1032"
    day = GUARD_DAY + timedelta(days=days)
    return record, bank_row("odd-row", day, amount, "QUANDRIX LABS", aliases=(quoted,))


GUARDED = ["amount 20 % apart", "40 days apart", "60 days apart", "another invoice quoted"]


@pytest.mark.parametrize("case", GUARDED)
def test_the_guard_never_auto_links_a_pair_outside_the_rules(case: str) -> None:
    records, rows = simulated_invoices()
    record, row = guarded_case(case)
    result = match([*records, record], [*rows, row], LEARNED)
    odd = [p for p in result.pairs if p.left_id == "odd"]
    assert all(p.decision != "auto" for p in odd), odd
    if case != "60 days apart":  # within the search window: shown to a person, not linked
        assert [p.decision for p in odd] == ["suggest"], odd
    assert len(autos(result)) >= 150  # the file's own invoices still link


@pytest.mark.parametrize("case", GUARDED)
def test_check_learned_refuses_a_pair_outside_the_rules(case: str) -> None:
    records, rows = simulated_invoices()
    model = fit_model(records, rows, LEARNED)
    verdict = check_learned(*guarded_case(case), model, LEARNED)
    assert not verdict.ok
    assert verdict.problems


def test_check_learned_accepts_a_good_pair() -> None:
    records, rows = simulated_invoices()
    model = fit_model(records, rows, LEARNED)
    verdict = check_learned(*guarded_case("good"), model, LEARNED)
    assert verdict.ok, verdict
    assert verdict.problems == [] and verdict.score > 0
    assert "same amount" in verdict.text


# --- learned from the file at hand ----------------------------------------------------------


def date_weight(model: EvidenceModel, label: str) -> float:
    return next(row["weight"] for row in model.weight_table()
                if row["comparison"] == "date" and row["level"] == label)  # fmt: skip


def test_the_date_evidence_is_learned_from_the_file() -> None:
    late_records, late_rows = simulated_book(seed=21, lag=(3, 10))
    same_records, same_rows = simulated_book(seed=21, lag=(0, 0))
    late = fit_model(late_records, late_rows, LEARNED)
    same = fit_model(same_records, same_rows, LEARNED)
    assert date_weight(late, "4-5 days later") > 0 >= date_weight(late, "same day")
    assert date_weight(same, "same day") > 0 >= date_weight(same, "4-5 days later")

    # and what a user sees: one pair five days later, one on the day, checked by each model
    record = receipt("x", START + timedelta(days=30), "444.44", "Velmora Studio")
    five = bank_row(
        "five",
        record.date + timedelta(days=5),
        "444.44",
        "CARD VELMORA STUDIO",
        aliases=("TRX 5550001",),
    )
    today = replace(five, id="today", date=record.date)
    for model, good, bad in ((late, five, today), (same, today, five)):
        good_text = check_learned(record, good, model, LEARNED).text
        bad_text = check_learned(record, bad, model, LEARNED).text
        good_label = "4-5 days later" if good is five else "same day"
        bad_label = "same day" if good is five else "4-5 days later"
        assert weight_in(good_text, good_label) > 0, good_text
        assert weight_in(bad_text, bad_label) <= 0, bad_text


# --- feedback -------------------------------------------------------------------------------


def test_a_declined_pair_is_never_proposed() -> None:
    records, rows = simulated_book(seed=1)
    by_id = {s.id: s for s in [*records, *rows]}
    before = match(records, rows, LEARNED)
    assert ("r5", "t5") in autos(before)
    feedback = Feedback.of(declined=[(by_id["r5"], by_id["t5"])])
    after = match(records, rows, LEARNED, feedback=feedback)
    assert ("r5", "t5") not in {(p.left_id, p.right_id) for p in after.pairs}


def test_a_confirmed_alias_makes_names_agree() -> None:
    records, rows = simulated_book(seed=1)
    day = START + timedelta(days=70)
    record = receipt("fiber", day, "59.90", "Fiberlink")
    row = bank_row("fiber-row", day + timedelta(days=1), "59.90", "XQZ PAYMENTS")
    earlier = (receipt("old", START, "59.90", "Fiberlink"), bank_row("old-row", START, "59.90",
                                                                      "XQZ PAYMENTS"))  # fmt: skip
    plain = pair_of(match([*records, record], [*rows, row], LEARNED), "fiber")
    taught = pair_of(
        match([*records, record], [*rows, row], LEARNED, feedback=Feedback.of(confirmed=[earlier])),
        "fiber",
    )
    assert "names equal" not in plain.explanation
    assert "names equal" in taught.explanation, taught.explanation
    assert taught.score >= plain.score


# --- the model: relearn, storage, determinism -----------------------------------------------


def test_relearn_moves_m_toward_the_labelled_levels() -> None:
    records, rows = simulated_book(seed=1, lag=(0, 2))
    model = fit_model(records, rows, LEARNED)
    rng = random.Random(31)
    labelled = []
    for k in range(40):  # people confirmed payments 8-10 days late
        day = START + timedelta(days=rng.randint(0, 100))
        amount = Decimal(rng.randint(500, 50_000)) / 100
        labelled.append(
            (
                receipt(f"l{k}", day, amount, "Korvan Markt"),
                bank_row(
                    f"lt{k}",
                    day + timedelta(days=9),
                    amount,
                    "KORVAN MARKT",
                    aliases=(f"TRX {900_000 + k}",),
                ),
            )
        )
    gamma = comparisons_of(labelled, LEARNED)
    late = COMPARISONS[DATE_AT].levels.index("8-10 days later")
    assert (gamma[:, DATE_AT] == late).all()
    relearned = model.relearn(gamma, np.ones(len(gamma), bool))
    assert relearned.m[DATE_AT][late] > model.m[DATE_AT][late] + 0.1
    assert relearned.m[DATE_AT].sum() == pytest.approx(1.0)
    assert relearned.trained_on["confirmed"] == 40
    # declined pairs alone teach m nothing (u is counted on random pairs)
    declined = model.relearn(gamma, np.zeros(len(gamma), bool))
    assert np.allclose(declined.m[DATE_AT], model.m[DATE_AT])


def test_a_model_round_trips_through_a_dict_and_gives_the_same_answer() -> None:
    records, rows = harder_book()
    model = fit_model(records, rows, LEARNED)
    restored = EvidenceModel.from_dict(model.as_dict())
    assert restored.weight_table() == model.weight_table()
    assert restored.match_share == model.match_share
    with_model = match(records, rows, LEARNED, model=model)
    with_restored = match(records, rows, LEARNED, model=restored)
    assert with_restored.pairs == with_model.pairs


def test_a_stored_model_with_other_level_labels_is_refused() -> None:
    records, rows = simulated_book(seed=1)
    stored = fit_model(records, rows, LEARNED).as_dict()
    date_levels = next(c for c in stored["comparisons"] if c["name"] == "date")["levels"]
    date_levels[3]["label"] = "on the day"
    with pytest.raises(ValueError, match=r"'date' levels differ.*train it again"):
        EvidenceModel.from_dict(stored)


def test_the_same_input_twice_gives_identical_pairs() -> None:
    records, rows = harder_book()
    first = match(records, rows, LEARNED)
    second = match(records, rows, LEARNED)
    assert first.pairs == second.pairs


@pytest.mark.parametrize("model_given", [True, False], ids=["model-given", "model-learned"])
def test_results_do_not_depend_on_row_order(model_given: bool) -> None:
    records, rows = with_chain(*with_near_ties(*harder_book()))
    model = fit_model(records, rows, LEARNED) if model_given else None
    expected = match(records, rows, LEARNED, model=model)
    assert len(autos(expected)) > 100
    key = lambda p: (p.left_id, p.right_id, p.decision, p.score)  # noqa: E731
    for seed in (0, 1, 2):
        rng = random.Random(seed)
        shuffled_records, shuffled_rows = records[:], rows[:]
        rng.shuffle(shuffled_records)
        rng.shuffle(shuffled_rows)
        shuffled = match(shuffled_records, shuffled_rows, LEARNED, model=model)
        assert autos(shuffled) == autos(expected), seed
        if model_given:  # with one model, every proposal and its probability are the same
            assert sorted(map(key, shuffled.pairs)) == sorted(map(key, expected.pairs))


def test_an_invoices_payment_date_is_explained_against_its_period() -> None:
    """An invoice may be paid any day from issue to due date: "same day" would be wrong."""
    records, rows = simulated_book(seed=8)
    issued = START + timedelta(days=40)
    due = issued + timedelta(days=30)
    records += [
        receipt("inv-on-time", issued, "1234.56", "Kestrel Print", date_until=due),
        receipt("inv-late", issued, "2345.67", "Kestrel Print", date_until=due),
    ]
    rows += [bank_row("pay-on-time", issued + timedelta(days=12), "1234.56", "KESTREL PRINT"),
             bank_row("pay-late", due + timedelta(days=5), "2345.67", "KESTREL PRINT")]  # fmt: skip
    result = match(records, rows, LEARNED)
    on_time, late = pair_of(result, "inv-on-time"), pair_of(result, "inv-late")
    assert "paid within the invoice's period" in on_time.explanation, on_time.explanation
    assert "5 days after the due date" in late.explanation, late.explanation
    assert "same day" not in on_time.explanation
