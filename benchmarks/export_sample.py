"""Write a SIMULATED ledger export and bank statement, to try `bg-agents match` on.

One simulated team's receipts (negative: money out) and invoices (positive) become `ledger.csv`
(ISO dates, dot decimals) and its bank rows `bank.csv` (a German-style export: `;`, BOM,
DD.MM.YYYY, decimal comma), with column names that need a map, as real exports do. `truth.csv`
holds the true pairs.

    PYTHONPATH=. python benchmarks/export_sample.py --out /tmp/sample

then run the `bg-agents match` command of the README's "Reconciling two exports" on it.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from bg_agents.simulate.match_evaluation import labelled_set


def _comma(amount: object) -> str:
    return f"{amount}".replace(".", ",")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = labelled_set(teams=1, weeks=args.weeks, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "ledger.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Beleg", "Datum", "Betrag", "Waehrung", "Partner", "Rechnung", "Faellig"])
        for r in data.records:
            due = r.date_until.isoformat() if r.date_until else ""
            # Signed like the bank: a receipt is money out, an invoice money in.
            amount = r.amount if r.date_until else -r.amount
            w.writerow([r.id, r.date.isoformat(), amount, r.currency, r.name,
                        r.reference or "", due])  # fmt: skip
    with open(args.out / "bank.csv", "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["Buchungs-ID", "Buchungstag", "Umsatz", "Waehrung", "Auftraggeber",
                    "Verwendungszweck"])  # fmt: skip
        for c in data.candidates:
            w.writerow([c.id, c.date.strftime("%d.%m.%Y"), _comma(c.amount), c.currency, c.name,
                        " ".join(c.aliases)])  # fmt: skip
    with open(args.out / "truth.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["left_id", "right_id", "case"])
        for (left, right), case in sorted(data.truth.items()):
            w.writerow([left, right, case])
    print(f"{len(data.records):,} ledger rows, {len(data.candidates):,} bank rows, "
          f"{len(data.truth):,} true pairs in {args.out}")  # fmt: skip


if __name__ == "__main__":
    main()
