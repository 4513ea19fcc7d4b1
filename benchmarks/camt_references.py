"""Benchmark: how many payments reconciliation links once camt remittance information is kept.

    python benchmarks/camt_references.py [--seed 5] [--customers 60]

A SIMULATED team with customers who pay several invoices of the same amount (retainers), under
names their banks spell their own way, receives a camt.053 statement of those payments plus
unrelated bank rows. Most payers quote the invoice number in the remittance text, some as an ISO
11649 creditor reference (RF...), some quote nothing. The same statement is imported twice into
fresh databases through ``bg-agents import``'s own code: once as the bank sent it, once with the
remittance information removed (what an importer that keeps only amount, date and name sees).
Each is then matched by the application's learned reconciliation (a model trained on that
database, as the ``match_model`` asset does). It prints automatic links (right/wrong),
suggestions, and payments left unlinked, per variant.

The generator below writes camt.053.001.08 from the ISO 20022 message definition, independently
of the project's camt reader.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent

COMPANY_WORDS = (
    "Müller", "Schäfer", "Brandt", "Lefèvre", "Nordlicht", "Alpen", "Rhein", "Hansa", "Sonne",
    "Weber", "Kaiser", "Falke", "Eiche", "Berg", "Seeblick", "Lumière", "Vogel", "Krone",
)  # fmt: skip
TRADES = ("Bau", "Logistik", "Design", "Consulting", "Druck", "Technik", "Handel", "Medien")
FORMS = ("GmbH", "AG", "KG", "GmbH & Co. KG", "e.K.", "SARL")
RETAINERS = (Decimal("1190.00"), Decimal("595.00"), Decimal("2380.00"), Decimal("714.00"))
OTHER = ("Miete Lager", "Stadtwerke Abschlag", "Kartenumsatz", "Erstattung Porto", "Zinsen")


@dataclass(frozen=True)
class Invoice:
    number: str
    customer: int
    amount: Decimal
    issued: date


@dataclass(frozen=True)
class Payment:
    ref: str  # the bank's entry reference (AcctSvcrRef)
    booked: date
    amount: Decimal
    payer: str
    iban: str
    remittance: str | None  # unstructured text
    creditor_ref: str | None  # structured ISO 11649 reference
    invoice: str | None  # what it pays (the truth), None for an unrelated row


def rf_reference(reference: str) -> str:
    """ISO 11649: 'RF' + two check digits (mod 97 over the reference + 'RF00', letters 10-35)."""
    digits = "".join(str(int(c, 36)) for c in reference + "RF00")
    return f"RF{98 - int(digits) % 97:02d}{reference}"


def generate(seed: int, customers: int) -> tuple[list[str], list[Invoice], list[Payment]]:
    rnd = random.Random(seed)
    names = []
    for _ in range(customers):
        name = f"{rnd.choice(COMPANY_WORDS)} {rnd.choice(TRADES)} {rnd.choice(FORMS)}"
        while name in names:
            name = f"{rnd.choice(COMPANY_WORDS)} {rnd.choice(TRADES)} {rnd.choice(FORMS)}"
        names.append(name)
    start = date(2026, 6, 1)
    invoices: list[Invoice] = []
    for c in range(customers):
        retainer = rnd.choice(RETAINERS)
        for month in range(rnd.randint(3, 6)):
            amount = retainer if rnd.random() < 0.7 else Decimal(rnd.randint(9000, 400000)) / 100
            issued = start + timedelta(days=30 * month + rnd.randint(0, 6))
            invoices.append(Invoice(f"RE-2026-{len(invoices) + 1:04d}", c, amount, issued))
    payments: list[Payment] = []
    for inv in invoices:
        if rnd.random() > 0.85:
            continue  # still open
        payer = names[inv.customer].upper() if rnd.random() < 0.5 else names[inv.customer]
        if rnd.random() < 0.25:
            payer = payer.split(" ")[0] + " " + payer.split(" ")[1][:4]  # a bank's truncation
        compact = inv.number.replace("-", "")
        style = rnd.random()
        remittance, creditor_ref = None, None
        if style < 0.55:
            remittance = f"Rechnung {inv.number} Kd-Nr {1000 + inv.customer}"
        elif style < 0.7:
            remittance = f"{compact} vielen Dank"
        elif style < 0.9:
            creditor_ref = rf_reference(compact)
        amount = inv.amount if rnd.random() < 0.92 else inv.amount - Decimal("0.35")  # a fee
        payments.append(
            Payment(
                ref=f"ASR{len(payments):07d}",
                booked=inv.issued + timedelta(days=rnd.randint(2, 40)),
                amount=amount,
                payer=payer,
                iban=f"DE{rnd.randint(10, 99)}{rnd.randint(10**17, 10**18 - 1)}",
                remittance=remittance,
                creditor_ref=creditor_ref,
                invoice=inv.number,
            )
        )
    for _ in range(len(payments) // 2):
        payments.append(
            Payment(
                ref=f"ASR{len(payments):07d}",
                booked=start + timedelta(days=rnd.randint(0, 200)),
                amount=-Decimal(rnd.randint(500, 300000)) / 100,
                payer=rnd.choice(OTHER),
                iban=f"DE{rnd.randint(10, 99)}{rnd.randint(10**17, 10**18 - 1)}",
                remittance=None,
                creditor_ref=None,
                invoice=None,
            )
        )
    payments.sort(key=lambda p: (p.booked, p.ref))
    return names, invoices, payments


def camt053(payments: list[Payment], keep_remittance: bool) -> str:
    """One statement of one account, camt.053.001.08, with consistent OPBD/CLBD balances."""
    opening = Decimal("10000.00")
    closing = opening + sum((p.amount for p in payments), Decimal(0))
    entries = []
    for p in payments:
        party = "Dbtr" if p.amount > 0 else "Cdtr"
        remittance = ""
        if keep_remittance and p.remittance:
            remittance = f"<RmtInf><Ustrd>{escape(p.remittance)}</Ustrd></RmtInf>"
        elif keep_remittance and p.creditor_ref:
            remittance = (
                "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
                f"<Ref>{p.creditor_ref}</Ref></CdtrRefInf></Strd></RmtInf>"
            )
        entries.append(
            f"""<Ntry><Amt Ccy="EUR">{abs(p.amount):.2f}</Amt>
<CdtDbtInd>{"CRDT" if p.amount > 0 else "DBIT"}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>{p.booked}</Dt></BookgDt><ValDt><Dt>{p.booked}</Dt></ValDt>
<AcctSvcrRef>{p.ref}</AcctSvcrRef><BkTxCd/>
<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
<RltdPties><{party}><Pty><Nm>{escape(p.payer)}</Nm></Pty></{party}>
<{party}Acct><Id><IBAN>{p.iban}</IBAN></Id></{party}Acct></RltdPties>{remittance}
</TxDtls></NtryDtls></Ntry>"""
        )
    first, last = payments[0].booked, payments[-1].booked

    def balance(code: str, amount: Decimal, day: date) -> str:
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="EUR">{abs(amount):.2f}</Amt>'
            f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt>"
            "</Bal>"
        )

    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<BkToCstmrStmt><GrpHdr><MsgId>BENCH-1</MsgId><CreDtTm>{last}T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>STMT-1</Id><CreDtTm>{last}T18:00:00</CreDtTm>
<Acct><Id><IBAN>DE02120300000000202051</IBAN></Id><Ccy>EUR</Ccy></Acct>
{balance("OPBD", opening, first)}{balance("CLBD", closing, last)}
{"".join(entries)}
</Stmt></BkToCstmrStmt></Document>
"""


def run_variant(
    names: list[str], invoices: list[Invoice], payments: list[Payment], keep: bool, work: Path
) -> dict[str, object]:
    """A fresh database: the team, its invoices, the statement imported, then reconciled."""
    home = work / ("kept" if keep else "dropped")
    from bg_agents.defs.ingestion.report import import_paths
    from bg_agents.defs.reconciliation import model_store
    from bg_agents.defs.reconciliation.matcher.config import profile
    from bg_agents.defs.reconciliation.service import reconcile
    from bg_agents.lib.db import migrate
    from bg_agents.lib.db.engine import get_engine
    from bg_agents.lib.db.models import Customer, Match, Team, Transaction
    from bg_agents.lib.db.models import Invoice as InvoiceRow

    home.mkdir(parents=True)
    engine = get_engine(f"sqlite:///{home / 'bench.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        team_id = conn.execute(
            sa.insert(Team).returning(Team.id),
            {"slug": "t-ref", "name": "Ref", "time_zone": "Europe/Berlin", "base_currency": "EUR"},
        ).scalar_one()
        ids = [
            conn.execute(
                sa.insert(Customer).returning(Customer.id),
                {"team_id": team_id, "external_id": f"C{i}", "name": n, "company": n},
            ).scalar_one()
            for i, n in enumerate(names)
        ]
        conn.execute(
            sa.insert(InvoiceRow),
            [
                {
                    "team_id": team_id,
                    "customer_id": ids[inv.customer],
                    "number": inv.number,
                    "amount": inv.amount,
                    "currency": "EUR",
                    "issue_date": inv.issued,
                    "due_date": inv.issued + timedelta(days=14),
                }
                for inv in invoices
            ],
        )
    statement = work / f"statement-{'kept' if keep else 'dropped'}.xml"
    statement.write_text(camt053(payments, keep), encoding="utf-8")
    started = time.perf_counter()
    (report,) = import_paths(engine, "t-ref", [statement], home / "imports", date(2026, 1, 5))
    imported_s = time.perf_counter() - started
    assert report.adds_up and report.landed == len(payments), report
    model = model_store.train(engine)
    started = time.perf_counter()
    reconcile(engine, date(2026, 1, 1), date(2027, 1, 1), config=profile("learned"), model=model)
    reconcile_s = time.perf_counter() - started
    truth = {p.ref: p.invoice for p in payments if p.invoice}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Match.decision, Transaction.external_id, InvoiceRow.number)
            .join(Transaction, Transaction.id == Match.transaction_id)
            .join(InvoiceRow, InvoiceRow.id == Match.record_id)
            .where(Match.record_kind == "invoice")
        ).all()
    auto = [(ext.split("/")[-1], num) for d, ext, num in rows if d == "link"]
    right = sum(truth.get(_entry_ref(ext, truth)) == num for ext, num in auto)
    linked = {_entry_ref(ext, truth) for ext, _ in auto}
    by_style = {
        style: sum(1 for p in payments if p.invoice and _style(p) == style and p.ref in linked)
        for style in STYLES
    }
    return {
        "by_style": by_style,
        "variant": "remittance kept" if keep else "remittance dropped",
        "payments": len(truth),
        "auto": len(auto),
        "right": right,
        "suggestions": sum(d != "link" for d, _, _ in rows),
        "unlinked": sum(ref not in linked for ref in truth),
        "import_s": imported_s,
        "reconcile_s": reconcile_s,
        "balances": report.notes(),
    }


STYLES = ("number in the text", "RF creditor reference", "nothing quoted")


def _style(p: Payment) -> str:
    return STYLES[0] if p.remittance else STYLES[1] if p.creditor_ref else STYLES[2]


def _entry_ref(external_id: str, truth: dict[str, str]) -> str:
    """The generator's AcctSvcrRef inside whatever external id the reader built from it."""
    return next((ref for ref in truth if ref in external_id), external_id)


def main() -> None:
    os.environ["BG_AGENTS_NOW"] = "2027-01-10T12:00:00+00:00"  # the statement's rows are past
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--customers", type=int, default=60)
    args = parser.parse_args()
    names, invoices, payments = generate(args.seed, args.customers)
    quoted = sum(1 for p in payments if p.invoice and (p.remittance or p.creditor_ref))
    paying = sum(1 for p in payments if p.invoice)
    print(
        f"# camt remittance and reconciliation (SIMULATED, seed {args.seed})\n\n"
        f"{len(invoices)} invoices of {args.customers} customers; {paying} paid by transfer, "
        f"{quoted} of them quoting the invoice (number in the text or an RF creditor "
        f"reference); {len(payments) - paying} unrelated bank rows.\n"
    )
    styles = {s: sum(1 for p in payments if p.invoice and _style(p) == s) for s in STYLES}
    print(
        "| statement imported | auto links | right | wrong | suggestions | payments unlinked | "
        + " | ".join(f"linked: {s} (of {n})" for s, n in styles.items())
        + " |"
    )
    print("|---" * (6 + len(STYLES)) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for keep in (True, False):
            r = run_variant(names, invoices, payments, keep, Path(tmp))
            print(
                f"| {r['variant']} | {r['auto']} | {r['right']} | "
                f"{int(r['auto']) - int(r['right'])} | {r['suggestions']} | "
                f"{r['unlinked']} of {r['payments']} | "
                + " | ".join(str(n) for n in r["by_style"].values())
                + " |",
                flush=True,
            )
            print(f"<!-- import {r['import_s']:.2f} s, reconcile {r['reconcile_s']:.2f} s; "
                  f"{'; '.join(r['balances'])} -->", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
