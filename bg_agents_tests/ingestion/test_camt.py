"""ISO 20022 camt.053 statements and camt.054 notifications become rows a finance team can
reconcile: the bank's references as ids, references and remittance text kept, batches split,
pending entries held, balances checked, and hostile XML refused.

The fixtures in ``data/camt`` were written from the ISO 20022 message definitions, one per
version family (001.02, 001.04, 001.08, 001.13); each file's comment says what it exercises.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bg_agents.cli import main
from bg_agents.defs.ingestion.camt_file import (
    PENDING_REASON,
    count_units,
    looks_like_camt,
    parse_camt,
)
from bg_agents.defs.ingestion.files import ParsedFile, read_import_file
from bg_agents.defs.ingestion.formats import ImportFileError
from bg_agents.lib.db.models import ImportFile, QuarantinedRow, Team, Transaction

DATA = Path(__file__).parent / "data" / "camt"
V02 = DATA / "camt053_v02_latin1.xml"
V04 = DATA / "camt053_v04_batch_bom.xml"
V08 = DATA / "camt053_v08_two_accounts.xml"
V13 = DATA / "camt053_v13_mismatch.xml"
N054 = DATA / "camt054_v08_notification.xml"


def read(path: Path) -> ParsedFile:
    return read_import_file(path, "acme", default_currency="USD")


def read_bytes(tmp_path: Path, data: bytes, name: str = "statement.xml") -> ParsedFile:
    path = tmp_path / name
    path.write_bytes(data)
    return read(path)


def fields(parsed: ParsedFile, *names: str) -> list[tuple[object, ...]]:
    return [tuple(getattr(row, n) for n in names) for row in parsed.rows]


def accounted(parsed: ParsedFile) -> bool:
    """Every counted unit is a row or a rejected row, each under its own row_ref."""
    refs = [r.row_ref for r in parsed.rows] + [r["row_ref"] for r in parsed.rejected]
    return len(refs) == len(set(refs)) == parsed.rows_total


def generated_statement(entries: int, *, version: str = "001.08") -> bytes:
    """A camt.053 of ``entries`` booked entries (every 10th a batch of two), balances that add
    up, and the bank's references: the shape of a busy account's month."""
    parts, total = [], Decimal(0)
    for i in range(entries):
        cents = (i * 7919) % 500_000 + 1
        amount = Decimal(cents) / 100
        credit = i % 3 == 0
        total += amount if credit else -amount
        day = f"2026-03-{i % 28 + 1:02d}"
        if i % 10 == 9:
            first = (Decimal(cents // 2)) / 100
            txs = "".join(
                f"<TxDtls><Refs><EndToEndId>E2E-{i}-{k}</EndToEndId></Refs>"
                f'<AmtDtls><TxAmt><Amt Ccy="EUR">{part:.2f}</Amt></TxAmt></AmtDtls>'
                f"<RltdPties><Cdtr><Pty><Nm>Supplier {k}</Nm></Pty></Cdtr></RltdPties>"
                f"<RmtInf><Ustrd>Invoice INV-{i}-{k}</Ustrd></RmtInf></TxDtls>"
                for k, part in ((1, first), (2, amount - first))
            )
        else:
            txs = (
                f"<TxDtls><Refs><EndToEndId>E2E-{i}</EndToEndId></Refs><RltdPties>"
                f"<Dbtr><Pty><Nm>Customer {i % 997}</Nm></Pty></Dbtr>"
                f"<DbtrAcct><Id><IBAN>DE{i % 97:02d}500105170000{i:08d}</IBAN></Id></DbtrAcct>"
                f"<Cdtr><Pty><Nm>Supplier {i % 991}</Nm></Pty></Cdtr></RltdPties>"
                f"<RmtInf><Ustrd>Invoice INV-{i:06d}</Ustrd></RmtInf></TxDtls>"
            )
        parts.append(
            f'<Ntry><Amt Ccy="EUR">{amount:.2f}</Amt>'
            f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
            f"<AcctSvcrRef>GEN{i:08d}</AcctSvcrRef><NtryDtls>{txs}</NtryDtls></Ntry>"
        )
    opening = Decimal("100000.00")

    def balance(code: str, value: Decimal) -> str:
        return (
            f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(value):.2f}'
            f"</Amt><CdtDbtInd>{'CRDT' if value >= 0 else 'DBIT'}</CdtDbtInd>"
            "<Dt><Dt>2026-03-28</Dt></Dt></Bal>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.{version}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>GEN</MsgId><CreDtTm>2026-03-29T06:00:00</CreDtTm></GrpHdr><Stmt>"
        "<Id>GEN-2026-03</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy>"
        f"</Acct>{balance('OPBD', opening)}{balance('CLBD', opening + total)}"
        + "\n".join(parts)
        + "</Stmt></BkToCstmrStmt></Document>\n"
    ).encode()


# --- one file at a time ---------------------------------------------------------------------------


def test_v02_statement_in_latin1_keeps_references_parties_and_remittance_text() -> None:
    parsed = read(V02)
    assert (parsed.file_format, parsed.rejected, parsed.rows_total) == ("camt.053", [], 3)
    assert parsed.layout == {
        "format": "camt.053.001.02",
        "statements": 1,
        "accounts": ["DE89370400440532013000"],
    }
    first = parsed.rows[0]
    assert (first.source, first.batch_ref, first.team_ref) == ("camt", parsed.sha256, "acme")
    assert fields(
        parsed, "external_id", "booking_date", "value_date", "amount", "currency", "reference"
    ) == [
        ("DE89370400440532013000:2026030400001", "2026-03-04", "2026-03-04", "1190.00", "EUR",
         "RF18539007547034"),
        ("DE89370400440532013000:2026030400002", "2026-03-04", "2026-03-05", "-250.00", "EUR",
         "E2E-7781"),
        ("DE89370400440532013000:2026030400003", "2026-03-04", "2026-03-04", "-60.00", "EUR",
         None),
    ]  # fmt: skip
    # The quoted invoice number is in the joined remittance lines; the RF reference beside it.
    assert fields(parsed, "description", "counterparty", "counterparty_iban") == [
        ("Rechnung RE-2026-0117", "Müller GmbH", "DE02120300000000202051"),
        ('Abschlag März, Kundennr. 4711, invoice "INV-88231"', "Stadtwerke Köln",
         "DE44500105175407324931"),
        ("Kontoführungsgebühr Februar", None, None),
    ]  # fmt: skip
    (balance,) = parsed.balances
    assert (balance.opening, balance.closing, balance.entries, balance.ok) == (
        Decimal("10000.00"),
        Decimal("10880.00"),
        Decimal("880.00"),
        True,
    )
    assert (balance.statement, balance.currency, balance.entry_count) == ("20260304-0063", "EUR", 3)


def test_batch_entry_splits_into_one_row_per_transaction_that_add_up_to_the_entry() -> None:
    parsed = read(V04)  # UTF-8 with a byte order mark, and a comment before the root
    batch = [row for row in parsed.rows if row.row_ref.startswith("1.")]
    assert [(r.row_ref, r.external_id, r.amount, r.counterparty, r.reference) for r in batch] == [
        ("1.1", "CH9300762011623852957:B0306-SAL/1", "-1500.00", "Anna Keller",
         "SAL-2026-03-KELLER"),
        ("1.2", "CH9300762011623852957:B0306-SAL/2", "-2000.00", "Jürg Brunner",
         "SAL-2026-03-BRUNNER"),
        ("1.3", "CH9300762011623852957:B0306-SAL/3", "-1000.00", "Léa Favre",
         "SAL-2026-03-FAVRE"),
    ]  # fmt: skip
    assert sum(Decimal(r.amount) for r in batch) == Decimal("-4500.00")
    assert parsed.rows_total == 6 and accounted(parsed)


@pytest.mark.parametrize(
    ("tx_refs", "expected"),
    [
        (["T-1", "T-2", "T-3"], ["T-1", "T-2", "T-3"]),
        # Some banks copy the entry's reference into every part: it identifies none of them.
        (["B0306-SAL"] * 3, ["B0306-SAL/1", "B0306-SAL/2", "B0306-SAL/3"]),
    ],
)
def test_batch_parts_take_their_own_servicer_reference_when_it_tells_them_apart(
    tmp_path: Path, tx_refs: list[str], expected: list[str]
) -> None:
    content = V04.read_bytes()
    for k, ref in enumerate(tx_refs, 1):
        instr = f"<Refs><InstrId>SAL-03-{k}</InstrId>".encode()
        content = content.replace(instr, instr + f"<AcctSvcrRef>{ref}</AcctSvcrRef>".encode())
    batch = [row for row in read_bytes(tmp_path, content).rows if row.row_ref.startswith("1.")]
    assert [row.external_id for row in batch] == [
        f"CH9300762011623852957:{ref}" for ref in expected
    ]


def test_reversal_keeps_the_reversing_direction_and_names_the_original_counterparty() -> None:
    (reversal,) = [row for row in read(V04).rows if row.row_ref == "2"]
    # A returned direct debit: money comes back (CRDT), from the creditor of the original debit,
    # not from this account's own name that the bank wrote as debtor.
    assert (reversal.amount, reversal.description) == ("120.00", "Reversal: Rechnung Februar 2026")
    assert (reversal.counterparty, reversal.counterparty_iban) == (
        "Swisscom (Schweiz) AG",
        "CH3908704016075473007",
    )


@pytest.mark.parametrize("variant", ["parties-swapped", "no-ibans"])
def test_reversal_counterparty_when_the_bank_swaps_parties_or_names_no_accounts(
    tmp_path: Path, variant: str
) -> None:
    content = V04.read_bytes()
    debtor = (
        b"<Dbtr><Nm>Acme Software AG</Nm></Dbtr>\n              <DbtrAcct><Id><IBAN>"
        b"CH9300762011623852957</IBAN></Id></DbtrAcct>"
    )
    creditor = (
        b"<Cdtr><Nm>Swisscom (Schweiz) AG</Nm></Cdtr>\n              <CdtrAcct><Id><IBAN>"
        b"CH3908704016075473007</IBAN></Id></CdtrAcct>"
    )
    assert content.count(debtor) == content.count(creditor) == 1
    if variant == "parties-swapped":  # this account written as the creditor of the return
        swapped = debtor.replace(b"Dbtr", b"Cdtr"), creditor.replace(b"Cdtr", b"Dbtr")
        content = content.replace(debtor, swapped[0]).replace(creditor, swapped[1])
    else:  # names only: the direction of the original debit alone picks the creditor
        content = content.replace(debtor, b"<Dbtr><Nm>Acme Software AG</Nm></Dbtr>")
        content = content.replace(creditor, b"<Cdtr><Nm>Swisscom (Schweiz) AG</Nm></Cdtr>")
    (reversal,) = [row for row in read_bytes(tmp_path, content).rows if row.row_ref == "2"]
    assert (reversal.amount, reversal.counterparty) == ("120.00", "Swisscom (Schweiz) AG")


def test_pending_entry_is_held_with_its_reason_and_left_out_of_the_balance() -> None:
    parsed = read(V04)
    assert [(r["row_ref"], r["reason"]) for r in parsed.rejected] == [("3", PENDING_REASON)]
    assert parsed.rejected[0]["raw"]["AcctSvcrRef"] == "P0306-1"
    (balance,) = parsed.balances
    # PRCD (previously closed) opens the statement when there is no OPBD.
    assert (balance.opening, balance.entries, balance.entry_count, balance.ok) == (
        Decimal("20000.00"),
        Decimal("-3580.00"),
        3,
        True,
    )


def test_structured_national_reference_wins_over_a_not_provided_end_to_end_id() -> None:
    (qr,) = [row for row in read(V04).rows if row.row_ref == "4"]
    assert (qr.reference, qr.counterparty) == ("210000000003139471430009017", "Café Zoë Sàrl")


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            b'<Amt Ccy="CHF">1000.00</Amt></TxAmt>',
            b'<Amt Ccy="CHF">999.00</Amt></TxAmt>',
            "batch entry of 3 transactions: their amounts add up to -4499.00 but the entry is "
            "-4500.00 CHF",
        ),
        (
            b'<AmtDtls><TxAmt><Amt Ccy="CHF">2000.00</Amt></TxAmt></AmtDtls>',
            b"",
            "batch entry of 3 transactions: transaction 2 has no amount",
        ),
        (
            b'<Amt Ccy="CHF">1000.00</Amt></TxAmt>',
            b'<Amt Ccy="EUR">1000.00</Amt></TxAmt>',
            "batch entry of 3 transactions: transaction 3 is in EUR, the entry in CHF",
        ),
    ],
)
def test_a_batch_that_cannot_be_split_exactly_lands_no_part(
    tmp_path: Path, old: bytes, new: bytes, reason: str
) -> None:
    content = V04.read_bytes()
    assert content.count(old) == 1
    parsed = read_bytes(tmp_path, content.replace(old, new))
    batch = [r for r in parsed.rejected if r["row_ref"].startswith("1.")]
    assert [r["row_ref"] for r in batch] == ["1.1", "1.2", "1.3"]
    assert all(r["reason"].startswith(reason) for r in batch), batch[0]["reason"]
    assert not [row for row in parsed.rows if row.row_ref.startswith("1.")]
    assert [row.row_ref for row in parsed.rows] == ["2", "4"] and accounted(parsed)
    # The entry itself is booked: the statement still adds up, the rows wait in quarantine.
    assert parsed.balances[0].ok


def test_two_statements_of_two_accounts_each_with_its_balance() -> None:
    parsed = read(V08)
    assert parsed.layout["accounts"] == ["FR1420041010050500013M02606", "GB29NWBK60161331926819"]
    assert parsed.layout["statements"] == 2
    assert [(b.account, b.currency, b.opening, b.closing, b.ok) for b in parsed.balances] == [
        ("FR1420041010050500013M02606", "EUR", Decimal("5000.00"), Decimal("7300.10"), True),
        ("GB29NWBK60161331926819", "GBP", Decimal("-300.00"), Decimal("655.00"), True),
    ]
    assert fields(parsed, "external_id", "currency", "counterparty", "reference") == [
        ("FR1420041010050500013M02606:FR0309A1", "EUR", "Société Générale", None),
        ("FR1420041010050500013M02606:FR0309A2", "EUR", "Orange SA", "RF712348231"),
        ("GB29NWBK60161331926819:GB0309A", "GBP", "Acme Holdings plc", "ACME-INV-1042"),
        ("GB29NWBK60161331926819:GB0309B", "GBP", None, None),
    ]
    # A DtTm booking keeps the day the bank wrote (no shift to another zone).
    assert parsed.rows[-1].booking_date == "2026-03-09"


def test_a_notification_and_the_later_statement_give_the_same_entry_the_same_id() -> None:
    notified, stated = read(N054), read(V08)
    assert (notified.file_format, notified.layout["format"]) == ("camt.054", "camt.054.001.08")
    (balance,) = notified.balances
    assert (balance.opening, balance.closing, balance.ok, balance.currency) == (
        None,
        None,
        None,
        "EUR",
    )
    keys = ("external_id", "booking_date", "amount", "currency", "source")
    assert fields(notified, *keys) == fields(stated, *keys)[:2]


def test_an_intraday_camt052_report_is_read_like_a_notification(tmp_path: Path) -> None:
    report = (
        N054.read_bytes()
        .replace(b"camt.054.001.08", b"camt.052.001.08")
        .replace(b"BkToCstmrDbtCdtNtfctn>", b"BkToCstmrAcctRpt>")
        .replace(b"Ntfctn>", b"Rpt>")
    )
    parsed = read_bytes(tmp_path, report, "intraday.txt")  # recognized by content
    assert (parsed.file_format, parsed.layout["format"]) == ("camt.052", "camt.052.001.08")
    keys = ("external_id", "amount", "reference")
    assert fields(parsed, *keys) == fields(read(N054), *keys)


def test_v13_codes_entry_numbers_derived_ids_and_a_balance_mismatch() -> None:
    parsed = read(V13)
    ids = [row.external_id for row in parsed.rows]
    # NtryRef is numbered per statement by some banks, so the booking date scopes it.
    assert ids[0] == "NL91ABNA0417164300:ntry:2026-03-02:1"
    # Two identical coffees without any reference stay two rows with distinct ids.
    assert ids[1].startswith("derived-") and ids[2].startswith("derived-") and ids[1] != ids[2]
    assert [(r["row_ref"], r["reason"]) for r in parsed.rejected] == [("4", PENDING_REASON)]
    (balance,) = parsed.balances
    assert (balance.ok, balance.difference, balance.entries) == (
        False,
        Decimal("10.00"),
        Decimal("143.00"),
    )
    assert "difference 10.00" in balance.describe()


def test_derived_ids_survive_an_overlapping_statement_with_more_entries(tmp_path: Path) -> None:
    content = V13.read_bytes()
    coffee = content[content.index(b'<Ntry>\n        <Amt Ccy="EUR">3.50') :]
    coffee = coffee[: coffee.index(b"</Ntry>") + len(b"</Ntry>")]
    lunch = coffee.replace(b"3.50", b"12.80").replace(b"Koffie Bar Centraal", b"Lunch")
    first = content.index(b"<Ntry>")
    longer = content[:first] + lunch + b"\n      " + content[first:]
    before, after = read(V13), read_bytes(tmp_path, longer)
    assert {r.external_id for r in before.rows} < {r.external_id for r in after.rows}


def test_a_bank_reference_repeated_in_a_file_does_not_merge_entries(tmp_path: Path) -> None:
    content = V02.read_bytes().replace(b"2026030400003", b"2026030400002")
    ids = [row.external_id for row in read_bytes(tmp_path, content).rows]
    assert ids[1:] == [
        "DE89370400440532013000:2026030400002",
        "DE89370400440532013000:2026030400002#2",
    ]


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b'<Amt Ccy="EUR">250.00</Amt>', b'<Amt Ccy="EUR">2,50.00</Amt>', "bad amount '2,50.00'"),
        (b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>D</CdtDbtInd>", "bad credit/debit"),
        (
            b"<BookgDt><Dt>2026-03-04</Dt></BookgDt>\n        <ValDt><Dt>2026-03-05",
            b"<BookgDt><Dt>2026-02-30</Dt></BookgDt>\n        <ValDt><Dt>2026-03-05",
            "bad booking date '2026-02-30'",
        ),
        (b"<Sts>BOOK</Sts>", b"<Sts>INFO</Sts>", "information-only entry"),
    ],
)
def test_a_bad_entry_is_rejected_with_its_reason_and_the_rest_kept(
    tmp_path: Path, old: bytes, new: bytes, reason: str
) -> None:
    content = V02.read_bytes()
    index = content.index(b"<Ntry>", content.index(b"<Ntry>") + 1)  # the second entry
    damaged = content[:index] + content[index:].replace(old, new, 1)
    parsed = read_bytes(tmp_path, damaged)
    ((row_ref, got),) = [(r["row_ref"], r["reason"]) for r in parsed.rejected]
    assert row_ref == "2" and got.startswith(reason), got
    assert [row.row_ref for row in parsed.rows] == ["1", "3"] and accounted(parsed)


def test_an_entry_outside_any_statement_is_counted_and_reported_not_lost(tmp_path: Path) -> None:
    content = V02.read_bytes()
    start, end = content.index(b"<Ntry>"), content.index(b"</Ntry>") + len(b"</Ntry>")
    stray = content.replace(b"</Stmt>", b"</Stmt>" + content[start:end], 1)
    parsed = read_bytes(tmp_path, stray)
    assert count_units(stray) == 4 == parsed.rows_total and len(parsed.rows) == 3
    ((lost),) = parsed.rejected
    assert lost["row_ref"] == "#4" and "4 entries" in lost["reason"] and accounted(parsed)


def test_versions_encodings_and_content_detection(tmp_path: Path) -> None:
    expected = fields(read(V08), "external_id", "amount", "counterparty", "description")
    utf16 = V08.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    for name, data in [
        ("utf16.xml", utf16.encode("utf-16")),
        ("statement.camt", V08.read_bytes()),
        ("prefixed.xml", re.sub(rb"<(/?)(?=[A-Za-z])", rb"<\1c:", V08.read_bytes()).replace(
            b'xmlns="', b'xmlns:c="')),
    ]:  # fmt: skip
        got = read_bytes(tmp_path, data, name)
        assert fields(got, "external_id", "amount", "counterparty", "description") == expected
    assert looks_like_camt(V02.read_bytes()) and looks_like_camt(V04.read_bytes())
    assert looks_like_camt(utf16.encode("utf-16"))
    assert not looks_like_camt(b"Date,Amount\n2026-03-01,5.00\n")
    assert not looks_like_camt(b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:'
                               b'tech:xsd:pain.001.001.09"/>')  # fmt: skip


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ((DATA / "hostile_entities.xml").read_bytes(), "declares a document type or entities"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://example.com/x.dtd"><Document/>',
            "declares a document type",
        ),
        (V02.read_bytes()[:2000], "malformed or cut off at line"),
        (
            b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
            b'pain.001.001.09"><CstmrCdtTrfInitn/></Document>',
            "not a camt.053/054 file",
        ),
        (
            V02.read_bytes().replace(b"<IBAN>DE89370400440532013000</IBAN>", b""),
            "names no account",
        ),
    ],
    ids=["entity-expansion", "external-dtd", "cut-off", "other-iso-message", "no-account"],
)
def test_unusable_files_are_refused_whole_with_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    with pytest.raises(ImportFileError) as caught:
        read_bytes(tmp_path, content)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_large_generated_statement_reads_whole_with_distinct_ids() -> None:
    data = generated_statement(3000)
    parsed = parse_camt(data, sha256="x" * 64, team_ref="acme", default_currency=None)
    assert parsed.rejected == [] and parsed.rows_total == len(parsed.rows) == 3300
    assert len({row.external_id for row in parsed.rows}) == 3300
    assert parsed.balances[0].ok


# --- through `bg-agents import` -------------------------------------------------------------------

TEAM = "camt-team"


@pytest.fixture
def camt_team(engine, app_env, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BG_AGENTS_NOW", "2026-03-20T12:00:00+00:00")
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Team),
            {"slug": TEAM, "name": "Camt", "time_zone": "UTC", "base_currency": "EUR"},
        )
    return TEAM


def _import(tmp_path: Path, capsys, name: str, data: bytes) -> dict[str, object]:  # type: ignore[no-untyped-def]
    source = tmp_path / "downloads" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    code = main(["import", "--team", TEAM, str(source), "--json"])
    out = capsys.readouterr()
    assert code == 0 and "Traceback" not in out.err, out.err
    (report,) = json.loads(out.out)
    assert report["adds_up"], report
    return report


def _counts(report: dict[str, object]) -> tuple[object, ...]:
    return tuple(report[k] for k in ("rows", "landed", "duplicates", "quarantined", "waiting"))


@pytest.mark.integration
def test_notification_then_statement_land_each_entry_once(  # type: ignore[no-untyped-def]
    engine, camt_team, tmp_path, capsys
) -> None:
    notified = _import(tmp_path, capsys, N054.name, N054.read_bytes())
    assert _counts(notified) == (2, 2, 0, 0, 0)
    stated = _import(tmp_path, capsys, V08.name, V08.read_bytes())
    assert _counts(stated) == (4, 2, 2, 0, 0)  # the EUR pair is already there
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(
                Transaction.source,
                Transaction.external_id,
                Transaction.amount,
                Transaction.reference,
                Transaction.value_date,
                Transaction.counterparty_iban,
            ).order_by(Transaction.external_id)
        ).all()
        details = conn.execute(sa.select(ImportFile.file_format, ImportFile.details)).all()
    assert [(s, e, str(a), r, str(v), i) for s, e, a, r, v, i in stored] == [
        ("camt", "FR1420041010050500013M02606:FR0309A1", "2400.0000", None, "2026-03-09",
         "FR7630003035409876543210925"),
        ("camt", "FR1420041010050500013M02606:FR0309A2", "-99.9000", "RF712348231", "2026-03-09",
         "FR7610107001011234567890129"),
        ("camt", "GB29NWBK60161331926819:GB0309A", "1000.0000", "ACME-INV-1042", "2026-03-09",
         None),
        ("camt", "GB29NWBK60161331926819:GB0309B", "-45.0000", None, "2026-03-10", None),
    ]  # fmt: skip
    formats = {fmt: d for fmt, d in details}
    assert set(formats) == {"camt.054", "camt.053"}
    assert [b["ok"] for b in formats["camt.053"]["balances"]] == [True, True]
    assert formats["camt.053"]["layout"]["format"] == "camt.053.001.08"


@pytest.mark.integration
def test_batch_statement_and_its_overlapping_successor_land_nothing_twice(  # type: ignore[no-untyped-def]
    engine, camt_team, tmp_path, capsys
) -> None:
    first = _import(tmp_path, capsys, V04.name, V04.read_bytes())
    assert _counts(first) == (6, 5, 0, 1, 0)
    with engine.connect() as conn:
        (reason,) = conn.scalars(sa.select(QuarantinedRow.reason)).all()
    assert reason == PENDING_REASON
    # The next statement repeats the day and books the pending credit three days later.
    booked = (
        V04.read_bytes()
        .replace(b"<Sts>PDNG</Sts>", b"<Sts>BOOK</Sts><BookgDt><Dt>2026-03-09</Dt></BookgDt>")
        .replace(b"16420.00", b"16720.00")
    )
    second = _import(tmp_path, capsys, "next.xml", booked)
    assert _counts(second) == (6, 1, 5, 0, 0)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Transaction.external_id, Transaction.amount, Transaction.description)
        ).all()
        balances = conn.scalars(sa.select(ImportFile.details)).all()
    assert len(rows) == 6 and sum(a for _, a, _ in rows) == Decimal("-3280.00")
    assert ("CH9300762011623852957:P0306-1", Decimal("300.00"), "Rückerstattung Prämie") in [
        (e, a, d) for e, a, d in rows
    ]
    assert all(d["balances"][0]["ok"] for d in balances)
