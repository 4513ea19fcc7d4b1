"""Bank files for the reader benchmark, written from each format's specification: CSV (a German
bank's semicolon export), OFX 2.2, SWIFT MT940, ISO 20022 camt.053.001.02 and QIF.

Independent of the readers and of the test fixtures: one list of entries (names with umlauts and
accents, remittance texts, end-to-end ids, RF creditor references, check numbers, splits) is
written in each format, so every file holds the same money and a reader that loses or invents an
entry shows against ``Written.entries``. Seeded: the same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import random
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby
from pathlib import Path
from xml.sax.saxutils import escape

START = date(2025, 1, 2)
OPENING = Decimal("25000.00")
ACCOUNT_IBAN = "DE02120300000000202051"  # a valid-checksum IBAN (DKB's documented sample)
ACCOUNT_BLZ, ACCOUNT_NO = "12030000", "0000202051"

_PEOPLE = (
    "Jürgen Müller", "Ömer Yıldız", "Françoise Dubois", "Søren Kierkegård", "Zoë O'Neill",
    "Łukasz Wiśniewski", "José Núñez", "Anna-Lena Schäfer", "Björn Ångström", "Marie Kühn",
    "Renée Lefèvre", "Dušan Novák", "Ines Größer", "Tomás Ó Briain", "Helga Weiß",
)  # fmt: skip
_COMPANIES = (
    "Stadtwerke München GmbH", "Bäckerei Schön", "Café de Flore SARL", "Müller & Söhne KG",
    "Deutsche Bahn AG", "Telekom Deutschland GmbH", "Amazon EU S.a.r.l.", "Büroservice Nord",
    "Rewe Markt GmbH", "Öko-Strom Genossenschaft eG", "Zürich Versicherung AG",
    "Société Générale", "Allianz Versicherungs-AG", "Hotel Königshof", "Straßenmeisterei Süd",
    "Northwind Traders Ltd", "Globex Corporation", "Initech <Software> & Co", "Ümit Döner Imbiss",
)  # fmt: skip
_CATEGORIES = ("Rent", "Utilities", "Office:Supplies", "Travel", "Sales", "Payroll", "Meals")


@dataclass(frozen=True)
class Entry:
    """One booked bank entry, as every format writes it."""

    number: int
    booked: date
    value: date
    amount: Decimal  # signed: positive = money in
    name: str
    iban: str
    bic: str
    purpose: str  # unstructured remittance text
    end_to_end: str | None
    creditor_ref: str | None  # ISO 11649 RF reference
    check: str | None
    category: str
    splits: tuple[tuple[str, Decimal], ...] = ()  # QIF split lines (category, amount)
    batch: int | None = None  # camt: entries with the same batch are one Ntry

    @property
    def bank_ref(self) -> str:
        return f"BR{self.booked:%y%m%d}{self.number:08d}"


def _mod97(text: str) -> int:
    digits = "".join(str(int(c, 36)) for c in text)
    return int(digits) % 97


def iban(rng: random.Random) -> str:
    """A German IBAN with a valid ISO 13616 checksum."""
    bban = f"{rng.randrange(10_000_000, 99_999_999)}{rng.randrange(10**9, 10**10)}"
    return f"DE{98 - _mod97(bban + 'DE00'):02d}{bban}"


def rf_reference(body: str) -> str:
    """An ISO 11649 creditor reference: RF, two check digits, the body."""
    return f"RF{98 - _mod97(body + 'RF00'):02d}{body}"


def _amount(rng: random.Random, kind: str) -> Decimal:
    scale = {"card": 60, "bill": 400, "rent": 2400, "salary": 3800, "invoice": 5200}[kind]
    cents = max(1, int(rng.lognormvariate(0, 0.8) * scale * 100))
    return Decimal(cents).scaleb(-2)


def generate(n: int, seed: int = 18) -> list[Entry]:
    """``n`` entries over about a year, a few hundred a day, in booking order."""
    rng = random.Random(seed)
    per_day = max(1, n // 250)
    entries: list[Entry] = []
    day, batch = START, 0
    for number in range(1, n + 1):
        if number % per_day == 1 or per_day == 1:
            day += timedelta(days=1 + (day.weekday() == 4) * 2)  # business days
        kind = rng.choices(
            ("card", "bill", "rent", "salary", "invoice"), weights=(50, 25, 3, 7, 15)
        )[0]
        amount = _amount(rng, kind)
        if kind == "invoice":  # money in
            name = rng.choice(_COMPANIES)
            invoice = f"INV-{day.year}-{rng.randrange(1, 99_999):05d}"
            purpose = f"Rechnung {invoice} vom {day - timedelta(days=14):%d.%m.%Y}"
            body = f"{rng.randrange(10**8, 10**9)}"
            creditor = rf_reference(body) if rng.random() < 0.5 else None
        else:
            amount = -amount
            name = rng.choice(_PEOPLE if kind == "salary" else _COMPANIES)
            purpose = {
                "card": f"Kartenzahlung {day:%d.%m.} {rng.randrange(8, 22):02d}:"
                f"{rng.randrange(60):02d} Terminal {rng.randrange(10**7, 10**8)}",
                "bill": f"SEPA-Lastschrift Mandat M-{rng.randrange(10**5):05d} "
                f"Kunde {rng.randrange(10**6):06d}",
                "rent": f"Miete {day:%m/%Y} Büro Etage {rng.randrange(1, 6)}",
                "salary": f"Gehalt {day:%m/%Y} Personalnr. {rng.randrange(1000, 9999)}",
            }[kind]
            creditor = None
        if kind == "salary":  # salaries go out as one batch per day
            batch = batch if entries and entries[-1].batch == batch else batch + 1
        check = f"{rng.randrange(1000, 9999)}" if kind == "rent" and rng.random() < 0.3 else None
        splits: tuple[tuple[str, Decimal], ...] = ()
        if kind == "bill" and rng.random() < 0.2:
            first = (amount * Decimal("0.6")).quantize(Decimal("0.01"))
            splits = (("Utilities", first), ("Office:Supplies", amount - first))
        entries.append(
            Entry(
                number=number,
                booked=day,
                value=day + timedelta(days=rng.random() < 0.2),
                amount=amount,
                name=name,
                iban=iban(rng),
                bic=rng.choice(("COBADEFFXXX", "DEUTDEFF", "GENODEM1GLS", "BYLADEM1001")),
                purpose=purpose,
                end_to_end=f"E2E{rng.randrange(10**11, 10**12)}" if rng.random() < 0.7 else None,
                creditor_ref=creditor,
                check=check,
                category=rng.choice(_CATEGORIES),
                splits=splits,
                batch=batch if kind == "salary" else None,
            )
        )
    return entries


def _days(entries: list[Entry]) -> Iterator[tuple[date, list[Entry]]]:
    for day, group in groupby(entries, key=lambda e: e.booked):
        yield day, list(group)


def _comma(value: Decimal) -> str:
    return f"{abs(value):f}".replace(".", ",")


def _grouped(value: Decimal, sep: str, point: str) -> str:
    text = f"{value:,.2f}"  # 1,234.56
    return text.replace(",", "\x00").replace(".", point).replace("\x00", sep)


# --- CSV: a German bank's export -------------------------------------------------------------


def write_csv(entries: list[Entry], path: Path) -> int:
    """Semicolon separated, decimal comma, DD.MM.YYYY, a two-line preamble (RFC 4180 quoting)."""
    out = io.StringIO()
    out.write(f"Kontonummer:;{ACCOUNT_IBAN}\n")
    out.write(f"Zeitraum:;{entries[0].booked:%d.%m.%Y} - {entries[-1].booked:%d.%m.%Y}\n\n")
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(
        ["Buchungstag", "Valuta", "Auftraggeber/Empfänger", "IBAN", "Verwendungszweck",
         "Referenz", "Betrag", "Währung"]
    )  # fmt: skip
    for e in entries:
        writer.writerow(
            [
                f"{e.booked:%d.%m.%Y}",
                f"{e.value:%d.%m.%Y}",
                e.name,
                e.iban,
                e.purpose,
                e.end_to_end or e.creditor_ref or "",
                _grouped(e.amount, ".", ","),
                "EUR",
            ]
        )
    path.write_text(out.getvalue(), encoding="utf-8")
    return len(entries)


# --- OFX 2.2 (XML) ---------------------------------------------------------------------------


def write_ofx(entries: list[Entry], path: Path) -> int:
    """One bank statement; NAME within the spec's 32 characters, the rest in MEMO."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" '
        'NEWFILEUID="NONE"?>\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE>'
        "<SEVERITY>INFO</SEVERITY></STATUS><DTSERVER>20260301120000</DTSERVER>"
        "<LANGUAGE>DEU</LANGUAGE></SONRS></SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS>"
        "<TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><STMTRS>"
        f"<CURDEF>EUR</CURDEF><BANKACCTFROM><BANKID>{ACCOUNT_BLZ}</BANKID>"
        f"<ACCTID>{ACCOUNT_NO}</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>"
        f"<BANKTRANLIST><DTSTART>{entries[0].booked:%Y%m%d}</DTSTART>"
        f"<DTEND>{entries[-1].booked:%Y%m%d}</DTEND>\n"
    ]
    for e in entries:
        kind = "CHECK" if e.check else "CREDIT" if e.amount > 0 else "DEBIT"
        memo = " ".join(x for x in (e.purpose, e.end_to_end, e.creditor_ref) if x)
        parts.append(
            f"<STMTTRN><TRNTYPE>{kind}</TRNTYPE><DTPOSTED>{e.booked:%Y%m%d}120000</DTPOSTED>"
            f"<DTUSER>{e.value:%Y%m%d}</DTUSER><TRNAMT>{e.amount:f}</TRNAMT>"
            f"<FITID>{e.bank_ref}</FITID>"
            + (f"<CHECKNUM>{e.check}</CHECKNUM>" if e.check else "")
            + f"<NAME>{escape(e.name[:32])}</NAME><MEMO>{escape(memo)}</MEMO></STMTTRN>\n"
        )
    closing = OPENING + sum((e.amount for e in entries), Decimal(0))
    parts.append(
        f"</BANKTRANLIST><LEDGERBAL><BALAMT>{closing:f}</BALAMT>"
        f"<DTASOF>{entries[-1].booked:%Y%m%d}</DTASOF></LEDGERBAL></STMTRS></STMTTRNRS>"
        "</BANKMSGSRSV1></OFX>\n"
    )
    path.write_text("".join(parts), encoding="utf-8")
    return len(entries)


# --- SWIFT MT940 -----------------------------------------------------------------------------

# SWIFT's X character set has no umlauts: German banks transliterate.
_SWIFT = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "&": "+",
     "<": "(", ">": ")", "_": "-", ";": ",", "!": ".", "#": " ", "*": " ", "@": " "}
)  # fmt: skip


def _swift(text: str) -> str:
    """Text in the X character set: umlauts spelled out, accents dropped, "?" (field 86's
    subfield mark) and anything else outside it as a full stop."""
    text = unicodedata.normalize("NFKD", text.translate(_SWIFT))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "".join(c if c.isascii() and c != "?" else "." for c in text)


def _mt_balance(tag: str, when: date, value: Decimal) -> str:
    return f":{tag}:{'C' if value >= 0 else 'D'}{when:%y%m%d}EUR{_comma(value)}"


def _mt86(e: Entry) -> list[str]:
    """Field 86 in the German structured layout (?00 text, ?20-?29 purpose, ?30-?33 party),
    each subfield up to 27 characters, lines up to 65 characters broken between subfields."""
    code, text = ("166", "GUTSCHR. UEBERWEISUNG") if e.amount > 0 else ("105", "FOLGELASTSCHRIFT")
    purpose = _swift(e.purpose)
    if e.end_to_end:
        purpose = f"EREF+{e.end_to_end} SVWZ+{purpose}"
    if e.creditor_ref:
        purpose += f" {e.creditor_ref}"
    chunks = [purpose[i : i + 27] for i in range(0, len(purpose), 27)][:10]
    name = _swift(e.name)
    subfields = [f"?00{text}", f"?10{e.number % 10000:04d}"]
    subfields += [f"?2{i}{chunk}" for i, chunk in enumerate(chunks)]
    subfields += [f"?30{e.bic}", f"?31{e.iban}", f"?32{name[:27]}"]
    if len(name) > 27:
        subfields.append(f"?33{name[27:54]}")
    lines, line = [], f":86:{code}"
    for sub in subfields:
        if len(line) + len(sub) > 65:
            lines.append(line)
            line = ""
        line += sub
    return [*lines, line]


def write_mt940(entries: list[Entry], path: Path) -> int:
    """One statement a day (:20:/:25:/:28C:/:60F:, :61:+:86: per entry, :62F:), "-" between."""
    lines: list[str] = []
    balance = OPENING
    for number, (day, group) in enumerate(_days(entries), 1):
        lines += [
            f":20:STMT{day:%y%m%d}",
            f":25:{ACCOUNT_BLZ}/{ACCOUNT_NO}",
            f":28C:{number:05d}/001",
            _mt_balance("60F", day - timedelta(days=1), balance),
        ]
        for e in group:
            mark = "C" if e.amount > 0 else "D"
            ref = (e.end_to_end or "NONREF")[:16]
            lines.append(
                f":61:{e.value:%y%m%d}{e.booked:%m%d}{mark}{_comma(e.amount)}NTRF{ref}"
                f"//{e.bank_ref[:16]}"
            )
            lines += _mt86(e)
            balance += e.amount
        lines += [_mt_balance("62F", day, balance), "-"]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="ascii")
    return len(entries)


# --- ISO 20022 camt.053.001.02 ---------------------------------------------------------------

_CAMT_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def _camt_balance(code: str, value: Decimal, when: date) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
        f'<Amt Ccy="EUR">{abs(value):f}</Amt><CdtDbtInd>{"CRDT" if value >= 0 else "DBIT"}'
        f"</CdtDbtInd><Dt><Dt>{when.isoformat()}</Dt></Dt></Bal>"
    )


def _camt_details(e: Entry) -> str:
    party, account = ("Dbtr", "DbtrAcct") if e.amount > 0 else ("Cdtr", "CdtrAcct")
    agent = "DbtrAgt" if e.amount > 0 else "CdtrAgt"
    if e.creditor_ref:
        remittance = (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry><Issr>ISO</Issr></Tp>"
            f"<Ref>{e.creditor_ref}</Ref></CdtrRefInf></Strd>"
        )
    else:
        remittance = f"<Ustrd>{escape(e.purpose)}</Ustrd>"
    return (
        f"<TxDtls><Refs><AcctSvcrRef>{e.bank_ref}</AcctSvcrRef>"
        f"<EndToEndId>{e.end_to_end or 'NOTPROVIDED'}</EndToEndId></Refs>"
        f'<AmtDtls><TxAmt><Amt Ccy="EUR">{abs(e.amount):f}</Amt></TxAmt></AmtDtls>'
        f"<RltdPties><{party}><Nm>{escape(e.name)}</Nm></{party}>"
        f"<{account}><Id><IBAN>{e.iban}</IBAN></Id></{account}></RltdPties>"
        f"<RltdAgts><{agent}><FinInstnId><BIC>{e.bic}</BIC></FinInstnId></{agent}></RltdAgts>"
        f"<RmtInf>{remittance}</RmtInf></TxDtls>"
    )


def _camt_entry(group: list[Entry]) -> str:
    """One Ntry: a single transfer, or a batch (salaries) whose TxDtls are its transfers."""
    first = group[0]
    total = sum((e.amount for e in group), Decimal(0))
    family = ("RCDT", "ESCT") if total > 0 else ("ICDT", "ESCT")
    batch = f"<Btch><NbOfTxs>{len(group)}</NbOfTxs></Btch>" if len(group) > 1 else ""
    return (
        f"<Ntry><NtryRef>{first.bank_ref}</NtryRef>"
        f'<Amt Ccy="EUR">{abs(total):f}</Amt>'
        f"<CdtDbtInd>{'CRDT' if total > 0 else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>{first.booked.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{first.value.isoformat()}</Dt></ValDt>"
        f"<AcctSvcrRef>{first.bank_ref}</AcctSvcrRef>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family[0]}</Cd>"
        f"<SubFmlyCd>{family[1]}</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"<NtryDtls>{batch}{''.join(_camt_details(e) for e in group)}</NtryDtls></Ntry>\n"
    )


def write_camt053(entries: list[Entry], path: Path) -> int:
    """One Stmt a day with OPBD/CLBD balances; a day's salaries are one batch Ntry."""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{_CAMT_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n<BkToCstmrStmt>'
        "<GrpHdr><MsgId>CAMT053-BENCH-1</MsgId><CreDtTm>2026-03-01T06:00:00</CreDtTm>"
        "<MsgPgntn><PgNb>1</PgNb><LastPgInd>true</LastPgInd></MsgPgntn></GrpHdr>\n"
    ]
    balance = OPENING
    for number, (day, group) in enumerate(_days(entries), 1):
        closing = balance + sum((e.amount for e in group), Decimal(0))
        parts.append(
            f"<Stmt><Id>{day:%Y%m%d}-{number:05d}</Id><ElctrncSeqNb>{number}</ElctrncSeqNb>"
            f"<CreDtTm>{day.isoformat()}T22:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
            + _camt_balance("OPBD", balance, day - timedelta(days=1))
            + _camt_balance("CLBD", closing, day)
            + "\n"
        )
        for _, batch in groupby(group, key=lambda e: e.batch or -e.number):
            parts.append(_camt_entry(list(batch)))
        parts.append("</Stmt>\n")
        balance = closing
    parts.append("</BkToCstmrStmt>\n</Document>\n")
    path.write_text("".join(parts), encoding="utf-8")
    return len(entries)  # every TxDtls is a row: batches are split into their transfers


# --- QIF -------------------------------------------------------------------------------------


def write_qif(entries: list[Entry], path: Path) -> int:
    """A Quicken bank register: M/D'YY dates, 1,234.56 amounts, check numbers, splits."""
    out = ["!Account", "NGeschäftskonto", "TBank", "^", "!Type:Bank"]
    for e in entries:
        out.append(f"D{e.booked.month:>2}/{e.booked.day:>2}'{e.booked:%y}")
        out.append(f"T{_grouped(e.amount, ',', '.')}")
        out.append("C*")
        if e.check:
            out.append(f"N{e.check}")
        elif e.amount > 0:
            out.append("NDEP")
        out.append(f"P{e.name}")
        out.append(f"M{' '.join(x for x in (e.purpose, e.end_to_end, e.creditor_ref) if x)}")
        if e.splits:
            out.append("L--Splits--")
            for category, amount in e.splits:
                out += [f"S{category}", f"${_grouped(amount, ',', '.')}"]
        else:
            out.append(f"L{e.category}")
        out.append("^")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(entries)


WRITERS: dict[str, tuple[str, Callable[[list[Entry], Path], int]]] = {
    "CSV": (".csv", write_csv),
    "OFX": (".ofx", write_ofx),
    "MT940": (".sta", write_mt940),
    "camt.053": (".xml", write_camt053),
    "QIF": (".qif", write_qif),
}


@dataclass(frozen=True)
class Written:
    path: Path
    entries: int  # rows a faithful reader must account for (rows + rejected)
    seconds: float


def write_all(entries: list[Entry], directory: Path, formats: list[str]) -> dict[str, Written]:
    """Each format's file in ``directory``, with the time writing it took."""
    out: dict[str, Written] = {}
    for name in formats:
        suffix, writer = WRITERS[name]
        path = directory / f"bank_files_{name.replace('.', '')}{suffix}"
        started = time.perf_counter()
        count = writer(entries, path)
        out[name] = Written(path, count, time.perf_counter() - started)
    return out
