"""A labelled evaluation set from the SIMULATED world, and the scores of a matcher on it.

The simulated world (simulate/hard_cases.py, simulate/invoices.py) plants every hard case users
report: identical same-day charges, VAT, card surcharges, FX, date offsets, name variants,
invoices paid late, in parts, together or net of a fee, and decoys (receipts with no bank row,
refunds, invoices never paid).
Its ground truth says which bank row each record belongs to, so matching can be scored without a
database: receipts are matched against a team's outgoing rows, invoices against incoming ones.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from bg_agents.defs.reconciliation.matcher.rules import Side
from bg_agents.defs.reconciliation.matcher.types import Pair
from bg_agents.simulate.world import World, generate_world


@dataclass
class EvalSet:
    records: list[Side]
    candidates: list[Side]
    truth: dict[tuple[str, str], str]  # (record id, candidate id) -> case
    # Records of a "duplicate" case and their rows, by twin group: either pairing is right.
    twins: dict[str, str] = field(default_factory=dict)

    def is_true(self, left_id: str, right_id: str) -> bool:
        if (left_id, right_id) in self.truth:
            return True
        group = self.twins.get(left_id)
        return group is not None and self.twins.get(right_id) == group


def _decimal(text: str | None) -> Decimal | None:
    try:
        return None if text in (None, "") else Decimal(text)
    except InvalidOperation:
        return None


def from_world(world: World) -> EvalSet:
    customers = {(c["team_slug"], c["external_id"]): c for c in world.customers}
    records: list[Side] = []
    for doc in world.documents:
        records.append(
            Side(
                id=doc["external_id"],
                date=doc["document_date"],
                amount=doc["amount"],
                currency=doc["currency"],
                name=doc["vendor"],
                base_amount=doc["base_amount"],
                group=f"{doc['team_slug']}:out",
            )
        )
    for inv in world.invoices:
        if inv["status"] == "void":
            continue
        customer = customers[(inv["team_slug"], inv["customer_external_id"])]
        names = [n for n in (customer["company"], customer["name"]) if n]
        records.append(
            Side(
                id=f"{inv['team_slug']}:{inv['number']}",
                date=inv["issue_date"],
                date_until=inv["due_date"],
                amount=inv["amount"],
                currency=inv["currency"],
                name=names[0],
                aliases=tuple(names[1:]),
                reference=inv["number"],
                group=f"{inv['team_slug']}:in",
            )
        )
    candidates: list[Side] = []
    for row in world.bank_feed:
        amount = _decimal(row["amount"])
        if amount is None or not row["external_id"] or amount == 0:
            continue  # a malformed row: ingestion quarantines it
        texts = [t for t in (row["counterparty"], row["description"]) if t]
        candidates.append(
            Side(
                id=row["external_id"],
                date=row["value_date"],
                amount=amount,
                currency=row["currency"],
                name=texts[0] if texts else "",
                aliases=tuple(texts[1:]),
                base_amount=_decimal(row["base_amount"]),
                reference=row["reference"],
                group=f"{row['team_slug']}:{'out' if amount < 0 else 'in'}",
            )
        )
    truth: dict[tuple[str, str], str] = {}
    twins: dict[str, str] = {}
    docs = {d["external_id"]: d for d in world.documents}
    for t in world.ground_truth:
        if t["record_kind"] == "invoice":
            left = f"{t['team_slug']}:{t['record_external_id']}"
        else:
            left = t["record_external_id"]
        truth[(left, t["transaction_ref"])] = t["case"]
        if t["case"] == "duplicate":
            d = docs[left]
            group = f"{d['team_slug']}|{d['vendor']}|{d['amount']}|{d['document_date']}"
            twins[left] = twins[t["transaction_ref"]] = group
    return EvalSet(records, candidates, truth, twins)


def labelled_set(teams: int, weeks: int, seed: int = 7, end: date | None = None) -> EvalSet:
    """SIMULATED: ``teams`` teams x ``weeks`` weeks of records, bank rows and the true pairs."""
    return from_world(generate_world(teams, weeks, seed, end or date(2025, 12, 28)))


@dataclass
class Scores:
    records: int
    true_pairs: int
    auto: int
    auto_correct: int
    suggest: int
    found: int  # true pairs proposed (auto or suggest)
    ties: int
    model_calls: int
    recall_by_case: dict[str, float]
    wrong_auto: list[Pair]

    @property
    def auto_precision(self) -> float:
        return self.auto_correct / self.auto if self.auto else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.true_pairs if self.true_pairs else 1.0

    @property
    def auto_share(self) -> float:
        """True pairs linked without anyone looking."""
        return self.auto_correct / self.true_pairs if self.true_pairs else 0.0

    @property
    def ties_per_100(self) -> float:
        return 100 * self.ties / self.records if self.records else 0.0


def evaluate(pairs: list[Pair], data: EvalSet, stats: Counter[str] | None = None) -> Scores:
    auto = [p for p in pairs if p.decision == "auto"]
    wrong = [p for p in auto if not data.is_true(p.left_id, p.right_id)]
    proposed = {(p.left_id, p.right_id) for p in pairs}
    found_by_case: Counter[str] = Counter()
    total_by_case: Counter[str] = Counter()
    found = 0
    by_left: dict[str, set[str]] = {}
    for left, right in proposed:
        by_left.setdefault(left, set()).add(right)
    for (left, right), case in data.truth.items():
        total_by_case[case] += 1
        hit = (left, right) in proposed or (
            case == "duplicate" and any(data.is_true(left, r) for r in by_left.get(left, ()))
        )
        if hit:
            found += 1
            found_by_case[case] += 1
    stats = stats or Counter()
    return Scores(
        records=len(data.records),
        true_pairs=len(data.truth),
        auto=len(auto),
        auto_correct=len(auto) - len(wrong),
        suggest=len(pairs) - len(auto),
        found=found,
        ties=stats.get("ties", 0),
        model_calls=stats.get("model_calls", 0),
        recall_by_case={c: found_by_case[c] / n for c, n in sorted(total_by_case.items())},
        wrong_auto=wrong,
    )
