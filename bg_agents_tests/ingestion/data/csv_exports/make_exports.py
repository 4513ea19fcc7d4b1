"""Writes the CSV export fixtures of ``test_csv_exports`` (run it to regenerate them).

Each file follows the layout its bank or provider documents (headers, delimiter, encoding, date
and number style, preamble, row order); the contents are invented. Running balances are computed
here so they add up, except where a test removes a row on purpose.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).parent


def write(name: str, lines: list[str], *, encoding: str = "utf-8", newline: str = "\n") -> None:
    (HERE / name).write_bytes((newline.join(lines) + newline).encode(encoding))


def running(opening: str, amounts: list[str]) -> list[Decimal]:
    """The balance after each amount, oldest first."""
    balance, out = Decimal(opening), []
    for amount in amounts:
        balance += Decimal(amount)
        out.append(balance)
    return out


def comma(value: Decimal) -> str:
    """1234.5 -> "1.234,50" (German, Dutch, Spanish, Italian style)."""
    text = f"{value:,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def stripe() -> None:
    header = (
        "id,Type,Source,Amount,Fee,Net,Currency,Created (UTC),Available On (UTC),Description,"
        "Customer Facing Amount,Customer Facing Currency,Transfer,Transfer Date (UTC),"
        "Transfer Group"
    )
    write(
        "stripe_balance.csv",
        [
            header,
            "txn_3OaB1cLkdIwHu7ix0aBcDeF1,charge,ch_3OaB1cLkdIwHu7ix0xYz1234,120.00,3.78,116.22,"
            "usd,2024-01-15 09:12,2024-01-17 00:00,Invoice INV-1042,120.00,usd,,,",
            "txn_3OaC2dLkdIwHu7ix1bCdEfG2,refund,re_3OaC2dLkdIwHu7ix1qRs5678,-40.00,0.00,-40.00,"
            "usd,2024-01-16 14:03,2024-01-16 14:03,REFUND FOR CHARGE (Invoice INV-1031),"
            "-40.00,usd,,,",
            "txn_3OaD3eLkdIwHu7ix2cDeFgH3,charge,ch_3OaD3eLkdIwHu7ix2tUv9012,1250.00,36.55,"
            "1213.45,usd,2024-01-17 11:45,2024-01-19 00:00,Invoice INV-1043,1250.00,usd,,,",
            "txn_1OaE4fLkdIwHu7ix3dEfGhI4,stripe_fee,,-15.00,0.00,-15.00,usd,2024-01-18 00:05,"
            "2024-01-18 00:05,Billing - Usage Fee (2024-01-01 - 2024-01-31),,,,,",
            "txn_1OaF5gLkdIwHu7ix4eFgHiJ5,payout,po_1OaF5gLkdIwHu7ix4wXy3456,-1274.67,0.00,"
            "-1274.67,usd,2024-01-19 02:00,2024-01-19 02:00,STRIPE PAYOUT,,,,,",
        ],
    )


def paypal() -> None:
    header = (
        '"Date","Time","TimeZone","Name","Type","Status","Currency","Gross","Fee","Net",'
        '"From Email Address","To Email Address","Transaction ID","Shipping Address",'
        '"Address Status","Item Title","Item ID","Shipping and Handling Amount",'
        '"Insurance Amount","Sales Tax","Option 1 Name","Option 1 Value","Option 2 Name",'
        '"Option 2 Value","Reference Txn ID","Invoice Number","Custom Number","Quantity",'
        '"Receipt ID","Balance","Address Line 1","Address Line 2/District/Neighborhood",'
        '"Town/City","State/Province/Region/County/Territory/Prefecture/Republic",'
        '"Zip/Postal Code","Country","Contact Phone Number","Subject","Note","Country Code",'
        '"Balance Impact"'
    )
    # (date, time, name, type, status, currency, gross, fee, id, item, ref, invoice, impact)
    rows = [
        (
            "03/02/2024",
            "09:14:02",
            "Hannah Lewis",
            "Website Payment",
            "Completed",
            "GBP",
            "1,250.00",
            "-43.95",
            "8HW12345AB678901C",
            "Consulting, February",
            "",
            "INV-2024-017",
            "Credit",
        ),
        (
            "05/02/2024",
            "16:40:55",
            "Ordnance Supplies Ltd",
            "PreApproved Payment Bill User Payment",
            "Completed",
            "GBP",
            "-89.99",
            "0.00",
            "1JK23456CD789012E",
            "Monthly plan",
            "",
            "",
            "Debit",
        ),
        (
            "07/02/2024",
            "11:02:31",
            "Greenfield Inc",
            "Express Checkout Payment",
            "Completed",
            "USD",
            "300.00",
            "-11.07",
            "2LM34567EF890123G",
            "Workshop seat",
            "",
            "INV-2024-018",
            "Credit",
        ),
        (
            "07/02/2024",
            "11:02:31",
            "",
            "General Currency Conversion",
            "Completed",
            "USD",
            "-288.93",
            "0.00",
            "3NP45678GH901234J",
            "",
            "2LM34567EF890123G",
            "",
            "Debit",
        ),
        (
            "07/02/2024",
            "11:02:31",
            "",
            "General Currency Conversion",
            "Completed",
            "GBP",
            "226.51",
            "0.00",
            "4QR56789JK012345L",
            "",
            "2LM34567EF890123G",
            "",
            "Credit",
        ),
        (
            "09/02/2024",
            "08:00:12",
            "Müller & Söhne GmbH",
            "Website Payment",
            "Pending",
            "GBP",
            "75.00",
            "-2.85",
            "5ST67890LM123456N",
            "Translation",
            "",
            "INV-2024-019",
            "Credit",
        ),
        (
            "13/02/2024",
            "14:22:09",
            "",
            "General Withdrawal",
            "Completed",
            "GBP",
            "-1,000.00",
            "0.00",
            "6UV78901NP234567Q",
            "",
            "",
            "",
            "Debit",
        ),
    ]
    balances = {"GBP": Decimal("412.30"), "USD": Decimal("0.00")}
    lines = [header]
    for date, time, name, kind, status, cur, gross, fee, tid, item, ref, inv, impact in rows:
        net = Decimal(gross.replace(",", "")) + Decimal(fee)
        if status == "Completed":
            balances[cur] += net
        email = "" if not name else f"{name.split()[0].lower()}@example.com"
        cells = [
            date,
            time,
            "Europe/London",
            name,
            kind,
            status,
            cur,
            gross,
            fee,
            f"{net:,.2f}",
            email,
            "accounts@example.co.uk",
            tid,
            "",
            "",
            item,
            "",
            "0.00",
            "0.00",
            "0.00",
            "",
            "",
            "",
            "",
            ref,
            inv,
            "",
            "1",
            "",
            f"{balances[cur]:,.2f}",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            item,
            "",
            "GB",
            impact,
        ]
        lines.append(",".join(f'"{c}"' for c in cells))
    write("paypal_activity.csv", lines, encoding="utf-8-sig", newline="\r\n")


def wise() -> None:
    header = (
        '"TransferWise ID",Date,Amount,Currency,Description,"Payment Reference",'
        '"Running Balance","Exchange From","Exchange To","Exchange Rate","Payer Name",'
        '"Payee Name","Payee Account Number",Merchant,"Card Last Four Digits",'
        '"Card Holder Full Name",Attachment,Note,"Total fees"'
    )
    oldest_first = [
        (
            "TRANSFER-901234567",
            "02-04-2024",
            "2400.00",
            "Received money from Acme Corp Ltd with reference INV 88",
            "INV 88",
            "Acme Corp Ltd",
            "",
            "",
            "",
        ),
        (
            "CARD-1122334455",
            "03-04-2024",
            "-18.40",
            "Card transaction of 18.40 EUR issued by Bahn.de",
            "",
            "",
            "",
            "Bahn.de",
            "4821",
        ),
        (
            "TRANSFER-901299881",
            "05-04-2024",
            "-1200.00",
            "Sent money to Hausverwaltung Krause",
            "Miete April",
            "",
            "Hausverwaltung Krause",
            "",
            "",
        ),
        (
            "FEE-901299881",
            "05-04-2024",
            "-0.58",
            "Wise Charges for: TRANSFER-901299881",
            "",
            "",
            "",
            "",
            "",
        ),
        (
            "CARD-1122339876",
            "08-04-2024",
            "-64.90",
            "Card transaction of 64.90 EUR issued by Café Élysée",
            "",
            "",
            "",
            "Café Élysée",
            "4821",
        ),
    ]
    balances = running("310.25", [row[2] for row in oldest_first])
    lines = [header]
    # Wise lists the newest transaction first.
    for row, balance in reversed(list(zip(oldest_first, balances, strict=True))):
        tid, date, amount, desc, ref, payer, payee, merchant, card = row
        cells = [
            tid,
            date,
            amount,
            "EUR",
            desc,
            ref,
            f"{balance:.2f}",
            "",
            "",
            "",
            payer,
            payee,
            "",
            merchant,
            card,
            "Jana Novak" if card else "",
            "",
            "",
            "0.00",
        ]
        lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    write("wise_statement.csv", lines)


def xero() -> None:
    header = (
        "JournalID,JournalDate,JournalNumber,CreatedDateUTC,Reference,SourceID,SourceType,"
        "JournalLineID,AccountID,AccountCode,AccountType,AccountName,Description,NetAmount,"
        "GrossAmount,TaxAmount,TaxType,TaxName"
    )
    lines = [header]
    journal = [
        (
            "a1f3c2e4-0b7d-4c1e-9f2a-3b4c5d6e7f01",
            "2024-01-31T00:00:00",
            "412",
            "INV-0042",
            "ACCREC",
            [
                (
                    "7d1e2f3a-1111-4a2b-8c3d-4e5f6a7b8c01",
                    "200",
                    "REVENUE",
                    "Sales",
                    "Design services January",
                    "1000.00",
                    "1200.00",
                    "200.00",
                    "OUTPUT2",
                    "20% (VAT on Income)",
                ),
                (
                    "7d1e2f3a-2222-4a2b-8c3d-4e5f6a7b8c02",
                    "610",
                    "CURRENT",
                    "Accounts Receivable",
                    "",
                    "-1200.00",
                    "-1200.00",
                    "0.00",
                    "",
                    "",
                ),
                (
                    "7d1e2f3a-3333-4a2b-8c3d-4e5f6a7b8c03",
                    "820",
                    "CURRLIAB",
                    "VAT",
                    "",
                    "200.00",
                    "200.00",
                    "0.00",
                    "",
                    "",
                ),
            ],
        ),
        (
            "b2e4d3f5-1c8e-4d2f-8a3b-4c5d6e7f8a02",
            "2024-02-05T00:00:00",
            "413",
            "Bank transfer",
            "CASHREC",
            [
                (
                    "8e2f3a4b-4444-4b3c-9d4e-5f6a7b8c9d04",
                    "090",
                    "BANK",
                    "Business Bank Account",
                    "Payment INV-0042",
                    "1200.00",
                    "1200.00",
                    "0.00",
                    "",
                    "",
                ),
                (
                    "8e2f3a4b-5555-4b3c-9d4e-5f6a7b8c9d05",
                    "610",
                    "CURRENT",
                    "Accounts Receivable",
                    "Payment INV-0042",
                    "-1200.00",
                    "-1200.00",
                    "0.00",
                    "",
                    "",
                ),
            ],
        ),
    ]
    for jid, date, number, ref, source, journal_lines in journal:
        for line_id, code, kind, name, desc, net, gross, tax, tax_type, tax_name in journal_lines:
            lines.append(
                ",".join(
                    [
                        jid,
                        date,
                        number,
                        date.replace("T00:00:00", "T09:30:12"),
                        ref,
                        "c3f5e4a6-2d9f-4e3a-9b4c-5d6e7f8a9b03",
                        source,
                        line_id,
                        "d4a6f5b7-3e0a-4f4b-8c5d-6e7f8a9b0c04",
                        code,
                        kind,
                        name,
                        desc,
                        net,
                        gross,
                        tax,
                        tax_type,
                        f'"{tax_name}"' if tax_name else "",
                    ]
                )
            )
    write("xero_journals.csv", lines, newline="\r")  # an old-Mac export: CR only


def chase() -> None:
    oldest_first = [
        (
            "CREDIT",
            "01/02/2024",
            "ORIG CO NAME:GUSTO PAY 123456 ORIG ID:9138864001",
            "3150.00",
            "ACH_CREDIT",
            "",
        ),
        (
            "DEBIT",
            "01/03/2024",
            "AMAZON MKTPL*RT4YU8XC2 Amzn.com/bill WA 01/02",
            "-42.17",
            "DEBIT_CARD",
            "",
        ),
        ("CHECK", "01/05/2024", "CHECK 1042", "-600.00", "CHECK_PAID", "1042"),
        ("DEBIT", "01/08/2024", "COMCAST CABLE COMM 800-COMCAST PA", "-89.99", "ACH_DEBIT", ""),
        (
            "DSLIP",
            "01/12/2024",
            "REMOTE ONLINE DEPOSIT #          1",
            "250.00",
            "CHECK_DEPOSIT",
            "",
        ),
    ]
    balances = running("1204.33", [row[3] for row in oldest_first])
    lines = ["Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #"]
    for row, balance in reversed(list(zip(oldest_first, balances, strict=True))):
        details, date, desc, amount, kind, slip = row
        lines.append(f'{details},{date},"{desc}",{amount},{kind},{balance:.2f},{slip},')
    write("chase_checking.csv", lines, newline="\r\n")
    write(
        "chase_card.csv",
        [
            "Transaction Date,Post Date,Description,Category,Type,Amount,Memo",
            "01/28/2024,01/29/2024,UBER   *TRIP,Travel,Sale,-23.41,",
            "01/27/2024,01/29/2024,STARBUCKS STORE 06712,Food & Drink,Sale,-6.45,",
            "01/25/2024,01/25/2024,Payment Thank You-Mobile,,Payment,500.00,",
            "01/22/2024,01/23/2024,ADOBE  *CREATIVE CLOUD,Shopping,Sale,-59.99,",
            "01/20/2024,01/22/2024,ADOBE  *CREATIVE CLOUD,Shopping,Return,59.99,duplicate",
        ],
    )


def bank_of_america() -> None:
    amounts = ["2,500.00", "-1,850.00", "-64.12", "-120.00"]
    balances = running("1,312.45".replace(",", ""), [a.replace(",", "") for a in amounts])
    rows = [
        ("01/02/2024", "PAYROLL DES:PAYROLL ID:XXXXX1234 INDN:RIVERA ANA CO ID:XXXXX5678 PPD"),
        ("01/03/2024", "ONLINE BANKING TRANSFER TO CHK 4471 Confirmation# 3091845522"),
        ("01/09/2024", "CHECKCARD 0108 WHOLEFDS MKT 10442 AUSTIN TX"),
        ("01/16/2024", "ATM WITHDRAWAL 01/16 1ST ST AUSTIN TX"),
    ]
    lines = [
        "Description,,Summary Amt.",
        'Beginning balance as of 01/01/2024,,"1,312.45"',
        'Total credits,,"2,500.00"',
        'Total debits,,"-2,034.12"',
        f'Ending balance as of 01/31/2024,,"{balances[-1]:,.2f}"',
        "",
        "Date,Description,Amount,Running Bal.",
        '01/01/2024,Beginning balance as of 01/01/2024,,"1,312.45"',
    ]
    for (date, desc), amount, balance in zip(rows, amounts, balances, strict=True):
        lines.append(f'{date},"{desc}","{amount}","{balance:,.2f}"')
    write("bank_of_america.csv", lines, newline="\r\n")


def amex() -> None:
    header = (
        "Date,Description,Card Member,Account #,Amount,Extended Details,"
        "Appears On Your Statement As,Address,City/State,Zip Code,Country,Reference,Category"
    )
    write(
        "amex.csv",
        [
            header,
            '02/14/2024,DELTA AIR LINES     ATLANTA,JORDAN LEE,-71004,412.60,"Airline ticket '
            'ATL-BOS",DELTA AIR LINES     ATLANTA,"1030 DELTA BLVD","ATLANTA GA",30354,UNITED '
            "STATES,'320240450123456789',Travel-Airline",
            "02/12/2024,AUTOPAY PAYMENT - THANK YOU,JORDAN LEE,-71004,-1500.00,,AUTOPAY PAYMENT "
            "- THANK YOU,,,,,'320240430987654321',",
            '02/10/2024,"WEWORK 575 5TH AVE NEW YORK",JORDAN LEE,-71004,"1,080.00",Coworking '
            'membership,"WEWORK 575 5TH AVE NEW YORK","575 5TH AVE","NEW YORK NY",10017,UNITED '
            "STATES,'320240410555444333',Business Services-Office Supplies",
        ],
    )


def barclays() -> None:
    write(
        "barclays.csv",
        [
            "Number,Date,Account,Amount,Subcategory,Memo",
            " ,15/01/2024,20-32-06 13152170,-32.40,PAYMENT,TESCO STORES 3297    ON 14 JAN   "
            "       BCC",
            " ,16/01/2024,20-32-06 13152170,1850.00,DIRECTDEP,NORTHWIND LTD        SALARY JAN   "
            "       BGC",
            "100254,17/01/2024,20-32-06 13152170,-250.00,CHEQUE,CHEQUE 100254",
            " ,18/01/2024,20-32-06 13152170,-75.00,DIRECTDEBIT,THAMES WATER         "
            "900123456         DDR",
            " ,18/01/2024,20-32-06 13152170,-75.00,DIRECTDEBIT,THAMES WATER         "
            "900123456         DDR",
        ],
    )


def deutsche_bank() -> None:
    header = (
        "Buchungstag;Wert;Umsatzart;Begünstigter / Auftraggeber;Verwendungszweck;IBAN;BIC;"
        "Kundenreferenz;Mandatsreferenz ;Gläubiger ID;Fremde Gebühren;Betrag;Abweichender "
        "Empfänger;Anzahl der Aufträge;Anzahl der Schecks;Soll;Haben;Währung"
    )
    rows = [
        (
            "02.01.2024",
            "02.01.2024",
            "SEPA-Überweisung von",
            "Bäckerei Schäfer GmbH",
            "Rechnung 2023-1187 Dezember",
            "DE44500105175407324931",
            "INGDDEFFXXX",
            "",
            "",
            "",
            "",
            "",
            "1.480,00",
        ),
        (
            "03.01.2024",
            "03.01.2024",
            "SEPA-Lastschrift von",
            "Stadtwerke München GmbH",
            "Abschlag Strom Januar Vertrag 4711",
            "DE12701500000000123456",
            "SSKMDEMMXXX",
            "SWM-2024-01-4711",
            "MD-4711-0001",
            "DE98ZZZ09999999999",
            "",
            "-142,50",
            "",
        ),
        (
            "05.01.2024",
            "04.01.2024",
            "Kartenzahlung",
            "Tankstelle Größenwahn",
            "2024-01-04 Debitk.1 VISA Debit",
            "",
            "",
            "",
            "",
            "",
            "",
            "-61,23",
            "",
        ),
        (
            "08.01.2024",
            "08.01.2024",
            "SEPA-Überweisung an",
            "Müller Büroservice e.K.",
            "RE 0815 Büromaterial",
            "DE89370400440532013000",
            "COBADEFFXXX",
            "",
            "",
            "",
            "",
            "-1.009,90",
            "",
        ),
    ]
    lines = [
        "Umsätze Girokonto;Zeitraum: 01.01.2024 - 31.01.2024;",
        "Neuer Kontostand;1.716,47 EUR;",
        "",
        header,
    ]
    for date, value, kind, party, purpose, iban, bic, cref, mref, cid, fee, soll, haben in rows:
        lines.append(
            ";".join(
                [
                    date,
                    value,
                    kind,
                    party,
                    purpose,
                    iban,
                    bic,
                    cref,
                    mref,
                    cid,
                    fee,
                    "",
                    "",
                    "",
                    "",
                    soll,
                    haben,
                    "EUR",
                ]
            )
        )
    lines.append("Kontostand;31.01.2024;;;1.716,47;EUR")
    write("deutsche_bank.csv", lines, encoding="cp1252", newline="\r\n")


def sparkasse() -> None:
    header = [
        "Auftragskonto",
        "Buchungstag",
        "Valutadatum",
        "Buchungstext",
        "Verwendungszweck",
        "Glaeubiger ID",
        "Mandatsreferenz",
        "Kundenreferenz (End-to-End)",
        "Sammlerreferenz",
        "Lastschrift Ursprungsbetrag",
        "Auslagenersatz Ruecklastschrift",
        "Beguenstigter/Zahlungspflichtiger",
        "Kontonummer/IBAN",
        "BIC (SWIFT-Code)",
        "Betrag",
        "Waehrung",
        "Info",
    ]
    account = "DE02120300000000202051"
    rows = [
        (
            "29.02.24",
            "29.02.24",
            "GUTSCHR. UEBERWEISUNG",
            "RE-2024-031 Danke",
            "",
            "",
            "RE-2024-031",
            "Kanzlei Weiß & Partner",
            "DE75512108001245126199",
            "SOGEDEFFXXX",
            "2.975,00",
            "Umsatz gebucht",
        ),
        (
            "01.03.24",
            "01.03.24",
            "FOLGELASTSCHRIFT",
            "Beitrag Q1 Kammer",
            "DE33ZZZ00000012345",
            "IHK-77812",
            "NOTPROVIDED",
            "Industrie- und Handelskammer",
            "DE02500105170137075030",
            "INGDDEFFXXX",
            "-96,00",
            "Umsatz gebucht",
        ),
        (
            "04.03.24",
            "04.03.24",
            "KARTENZAHLUNG",
            "2024-03-02T14:12 Debitk.7 2027-12",
            "",
            "",
            "",
            "Baumarkt Öhringen",
            "DE88100900001234567892",
            "BEVODEBBXXX",
            "-213,47",
            "Umsatz gebucht",
        ),
        (
            "05.03.24",
            "05.03.24",
            "ONLINE-UEBERWEISUNG",
            "Miete März Büro 2.OG",
            "",
            "",
            "MIETE-2024-03",
            "Grundbesitz Rhein GmbH",
            "DE27100777770209299700",
            "NORSDE51XXX",
            "-1.150,00",
            "Umsatz vorgemerkt",
        ),
    ]
    lines = [";".join(f'"{h}"' for h in header)]
    for booked, value, kind, purpose, cid, mref, e2e, party, iban, bic, amount, info in rows:
        cells = [
            account,
            booked,
            value,
            kind,
            purpose,
            cid,
            mref,
            e2e,
            "",
            "",
            "",
            party,
            iban,
            bic,
            amount,
            "EUR",
            info,
        ]
        lines.append(";".join(f'"{c}"' for c in cells))
    write("sparkasse_camt.csv", lines, encoding="cp1252", newline="\r\n")


def ing_nl() -> None:
    header = (
        '"Datum";"Naam / Omschrijving";"Rekening";"Tegenrekening";"Code";"Af Bij";'
        '"Bedrag (EUR)";"Mutatiesoort";"Mededelingen";"Saldo na mutatie";"Tag"'
    )
    oldest_first = [
        (
            "20240301",
            "Gemeente Utrecht",
            "NL91INGB0002445588",
            "GT",
            "Af",
            "87,45",
            "Online bankieren",
            "Naam: Gemeente Utrecht Omschrijving: Aanslag 2024 Afvalstoffen "
            "IBAN: NL91INGB0002445588 Kenmerk: 4021887731",
        ),
        (
            "20240304",
            "Van der Berg Consultancy BV",
            "NL02ABNA0123456789",
            "OV",
            "Bij",
            "2.420,00",
            "Overschrijving",
            "Naam: Van der Berg Consultancy BV Omschrijving: "
            "Factuur 2024-009 IBAN: NL02ABNA0123456789",
        ),
        (
            "20240305",
            "Albert Heijn 1432 UTRECHT",
            "",
            "BA",
            "Af",
            "23,18",
            "Betaalautomaat",
            "Pasvolgnr: 004 05-03-2024 17:41 Transactie: 3H7L2K Term: 0TK2L3",
        ),
    ]
    signed = [
        ("-" if row[4] == "Af" else "") + row[5].replace(".", "").replace(",", ".")
        for row in oldest_first
    ]
    balances = running("1504.10", signed)
    lines = [header]
    for row, balance in reversed(list(zip(oldest_first, balances, strict=True))):
        date, name, counter, code, direction, amount, kind, memo = row
        cells = [
            date,
            name,
            "NL20INGB0001234567",
            counter,
            code,
            direction,
            amount,
            kind,
            memo,
            comma(balance).replace(".", ""),
            "",
        ]
        lines.append(";".join(f'"{c}"' for c in cells))
    write("ing_nl.csv", lines)


def rabobank() -> None:
    header = [
        "IBAN/BBAN",
        "Munt",
        "BIC",
        "Volgnr",
        "Datum",
        "Rentedatum",
        "Bedrag",
        "Saldo na trn",
        "Tegenrekening IBAN/BBAN",
        "Naam tegenpartij",
        "Naam uiteindelijke partij",
        "Naam initiërende partij",
        "BIC tegenpartij",
        "Code",
        "Batch ID",
        "Transactiereferentie",
        "Machtigingskenmerk",
        "Incassant ID",
        "Betalingskenmerk",
        "Omschrijving-1",
        "Omschrijving-2",
        "Omschrijving-3",
        "Reden retour",
        "Oorspr bedrag",
        "Oorspr munt",
        "Koers",
    ]
    rows = [
        (
            "000000000000004711",
            "2024-03-01",
            "2024-03-01",
            "+1815,00",
            "NL39RABO0300065264",
            "De Vries Installatietechniek",
            "RABONL2U",
            "cb",
            "",
            "Factuur 24-031",
        ),
        (
            "000000000000004712",
            "2024-03-04",
            "2024-03-04",
            "-312,40",
            "NL86INGB0002445588",
            "Belastingdienst",
            "INGBNL2A",
            "ei",
            "1234567890123456",
            "Omzetbelasting 4e kw",
        ),
        (
            "000000000000004713",
            "2024-03-06",
            "2024-03-05",
            "-18,95",
            "",
            "Kiosk Hoog Catharijne",
            "",
            "bc",
            "",
            "Betaalautomaat 05-03-2024 08:12",
        ),
    ]
    balances = running("250.00", [r[3].replace(",", ".") for r in rows])
    lines = [",".join(f'"{h}"' for h in header)]
    for (seq, date, value, amount, counter, name, bic, code, ref, memo), balance in zip(
        rows, balances, strict=True
    ):
        cells = [
            "NL11RABO0104955555",
            "EUR",
            "RABONL2U",
            seq,
            date,
            value,
            amount,
            ("+" if balance >= 0 else "") + f"{balance:.2f}".replace(".", ","),
            counter,
            name,
            "",
            "",
            bic,
            code,
            "",
            "",
            "",
            "",
            ref,
            memo,
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        lines.append(",".join(f'"{c}"' for c in cells))
    write("rabobank.csv", lines)


def n26() -> None:
    write(
        "n26.csv",
        [
            '"Booking Date","Value Date","Partner Name","Partner Iban",Type,"Payment Reference",'
            '"Account Name","Amount (EUR)","Original Amount","Original Currency","Exchange Rate"',
            '2024-03-01,2024-03-01,"Lena Fischer",DE89370400440532013000,Income,"Rechnung 17",'
            '"Main Account",640.00,,,',
            '2024-03-02,2024-03-01,"SPOTIFY AB",,"Debit Transfer","-","Main Account",-10.99,,,',
            '2024-03-04,2024-03-02,"EASYJET",,Presentment,,"Main Account",-98.37,-84.00,GBP,1.1711',
        ],
    )


def n26_legacy() -> None:
    write(
        "n26_legacy.csv",
        [
            '"Date","Payee","Account number","Transaction type","Payment reference","Category",'
            '"Amount (EUR)","Amount (Foreign Currency)","Type Foreign Currency","Exchange Rate"',
            '"2022-11-02","Tomasz Nowak","PL61109010140000071219812874","Incoming Transfer",'
            '"Faktura 11/2022","Income","850.0","","",""',
            '"2022-11-03","REWE Markt GmbH","","MasterCard Payment","","Food & Groceries",'
            '"-23.87","","",""',
            '"2022-11-07","Hetzner Online GmbH","DE92760700120750007700","Direct Debit",'
            '"Invoice R0012345678","Business","-42.5","","",""',
        ],
    )


def revolut() -> None:
    header = (
        "Type,Product,Started Date,Completed Date,Description,Amount,Fee,Currency,State,Balance"
    )
    completed = [
        (
            "TOPUP",
            "2024-02-01 08:00:11",
            "2024-02-01 08:00:12",
            "Top-Up by *4417",
            "500.00",
            "0.00",
        ),
        (
            "CARD_PAYMENT",
            "2024-02-02 12:31:40",
            "2024-02-03 04:10:02",
            "Pret A Manger",
            "-8.45",
            "0.00",
        ),
        (
            "EXCHANGE",
            "2024-02-05 17:02:55",
            "2024-02-05 17:02:55",
            "Exchanged to USD",
            "-200.00",
            "1.00",
        ),
        (
            "TRANSFER",
            "2024-02-07 09:45:00",
            "2024-02-07 09:45:01",
            "To Studio Nord ApS",
            "-120.00",
            "0.00",
        ),
    ]
    balances = running("35.20", [str(Decimal(a) - Decimal(f)) for _, _, _, _, a, f in completed])
    lines = [header]
    for (kind, started, done, desc, amount, fee), balance in zip(completed, balances, strict=True):
        lines.append(
            f"{kind},Current,{started},{done},{desc},{amount},{fee},EUR,COMPLETED,{balance:.2f}"
        )
        if kind == "CARD_PAYMENT":
            lines.append("CARD_PAYMENT,Current,2024-02-02 19:02:13,,Uber,-14.20,0.00,EUR,DECLINED,")
    lines.append("CARD_PAYMENT,Current,2024-02-08 21:14:09,,Amazon,-33.99,0.00,EUR,PENDING,")
    write("revolut.csv", lines)


def monzo() -> None:
    header = (
        "Transaction ID,Date,Time,Type,Name,Emoji,Category,Amount,Currency,Local amount,"
        "Local currency,Notes and #tags,Address,Receipt,Description,Category split,Money Out,"
        "Money In"
    )
    write(
        "monzo.csv",
        [
            header,
            "tx_0000AdBc12XyZ34aBcDeFg,01/03/2024,08:14:55,Card payment,Pret A Manger,🥪,"
            'Eating out,-4.25,GBP,-4.25,GBP,,"1 Old St, London",,PRET A MANGER LONDON GBR,,'
            "-4.25,",
            "tx_0000AdBd98QwE76rTyUiOp,01/03/2024,09:00:00,Faster payment,Priya Shah,,"
            "Transfers,250.00,GBP,250.00,GBP,March desk share,,,PRIYA SHAH DESK MAR,,,250.00",
            "tx_0000AdBe55AsD43fGhJkLz,04/03/2024,13:20:41,Card payment,Le Petit Zinc,🍷,"
            'Eating out,-36.80,GBP,-42.50,EUR,Client lunch #clients,"Rue Cler, Paris",,'
            "LE PETIT ZINC PARIS FRA,,-36.80,",
        ],
    )


def ubs_fr() -> None:
    header = (
        "Numéro de compte;Monnaie;Date de début;Date de fin;Description;Date de transaction;"
        "Date de comptabilisation;Date de valeur;Description 1;Description 2;Description 3;"
        "N° de transaction;Cours des devises du montant initial en montant du décompte;"
        "Sous-montant;Débit;Crédit;Solde"
    )
    account = "0240-00123456.01"
    rows = [
        # (trade, booked, value, d1, d2, d3, txn no, debit, credit, balance shown)
        (
            "01.03.2024",
            "01.03.2024",
            "01.03.2024",
            "Régie du Lac SA",
            "Loyer mars 2024",
            "Ordre permanent",
            "9930061TI0004115",
            "2'450.00",
            "",
            False,
        ),
        (
            "01.03.2024",
            "01.03.2024",
            "01.03.2024",
            "Coop Genève Cornavin",
            "Paiement carte de débit",
            "",
            "9930061TI0004116",
            "84.35",
            "",
            True,
        ),
        (
            "04.03.2024",
            "04.03.2024",
            "05.03.2024",
            "Atelier Dubois Sàrl",
            "Facture 2024-12",
            "Virement",
            "9930064TI0008811",
            "",
            "6'200.00",
            True,
        ),
        (
            "06.03.2024",
            "06.03.2024",
            "06.03.2024",
            "Swisscom (Suisse) SA",
            "eBill février",
            "",
            "9930066TI0001207",
            "129.90",
            "",
            True,
        ),
    ]
    signed = [f"-{r[7]}" if r[7] else r[8] for r in rows]
    balances = running("3104.60", [s.replace("'", "") for s in signed])
    lines = [header]
    for row, balance in zip(rows, balances, strict=True):
        trade, booked, value, d1, d2, d3, txn, debit, credit, shown = row
        solde = f"{balance:,.2f}".replace(",", "'") if shown else ""
        lines.append(
            ";".join(
                [
                    account,
                    "CHF",
                    "01.03.2024",
                    "31.03.2024",
                    "UBS Compte personnel",
                    trade,
                    booked,
                    value,
                    d1,
                    d2,
                    d3,
                    txn,
                    "",
                    "",
                    debit,
                    credit,
                    solde,
                ]
            )
        )
    write("ubs_fr.csv", lines, encoding="utf-8-sig", newline="\r\n")


def mint() -> None:
    header = (
        '"Date","Description","Original Description","Amount","Transaction Type","Category",'
        '"Account Name","Labels","Notes"'
    )
    rows = [
        (
            "3/01/2024",
            "Trader Joe's",
            "TRADER JOE S #552 QPS",
            "54.12",
            "debit",
            "Groceries",
            "Chase Freedom",
        ),
        (
            "2/29/2024",
            "Acme Payroll",
            "ACME CORP PAYROLL PPD ID: 1234567",
            "2850.00",
            "credit",
            "Paycheck",
            "Everyday Checking",
        ),
        (
            "2/28/2024",
            "Netflix",
            "NETFLIX.COM 866-579-7172 CA",
            "15.49",
            "debit",
            "Movies & DVDs",
            "Chase Freedom",
        ),
    ]
    lines = [header]
    for row in rows:
        lines.append(",".join(f'"{c}"' for c in (*row, "", "")))
    write("mint.csv", lines)
    # The same export with its header line cut off: refused, a header line must be added.
    write("mint_headerless.csv", lines[1:])


def payoneer() -> None:
    # Every date reads as day/month and as month/day: refused until a mapping names the format.
    write(
        "payoneer_ambiguous.csv",
        [
            "Transaction Date,Description,Amount,Currency,Status",
            "03/04/2024,Payment from Upwork Global Inc,1180.00,USD,Completed",
            "05/04/2024,Withdrawal to bank account ending 4417,-1000.00,USD,Completed",
            "06/04/2024,Annual account fee,-29.95,USD,Completed",
            "11/04/2024,Payment from Fiverr International,412.50,USD,Completed",
        ],
    )


def french() -> None:
    # A French bank's export: a preamble, ";" and Windows-1252, Débit/Crédit with spaces
    # between thousands and a decimal comma.
    lines = [
        "Compte courant professionnel n° 30004 00821 00012345678 45;",
        "Solde au 29/02/2024;4 210,17 €;",
        "",
        "Date opération;Date valeur;Libellé;Débit;Crédit",
        "01/03/2024;01/03/2024;PRLV SEPA URSSAF ILE DE FRANCE;1 482,00;",
        "04/03/2024;05/03/2024;VIR SEPA RECU /DE SARL LEFÈVRE ET FILS /MOTIF FACT 2024-07;"
        ";3 600,00",
        "13/03/2024;13/03/2024;CB CARREFOUR CITY  12/03;27,36;",
        "15/03/2024;15/03/2024;FRAIS TENUE DE COMPTE;8,50;",
    ]
    write("fr_banque.csv", lines, encoding="cp1252", newline="\r\n")


def spanish() -> None:
    # A Spanish bank's export: amounts with the currency in the cell, a running balance
    # (Saldo), UTF-8 with BOM.
    amounts = ["-45,20", "1.250,00", "-312,99", "-9,95"]
    balances = running(
        "823,40".replace(",", "."), [a.replace(".", "").replace(",", ".") for a in amounts]
    )
    rows = [
        ("02/04/2024", "02/04/2024", "Recibo Endesa Energía XXI S.L.U."),
        ("08/04/2024", "08/04/2024", "Transferencia recibida de Construcciones Peña S.L."),
        ("15/04/2024", "16/04/2024", "Compra tarjeta El Corte Inglés Castellana"),
        ("30/04/2024", "30/04/2024", "Comisión mantenimiento cuenta"),
    ]
    lines = ["Fecha operación;Fecha valor;Concepto;Importe;Saldo"]
    for (date, value, concept), amount, balance in zip(rows, amounts, balances, strict=True):
        lines.append(f"{date};{value};{concept};{amount} EUR;{comma(balance)} EUR")
    write("es_banco.csv", lines, encoding="utf-8-sig")


def italian() -> None:
    # An Italian bank's export: Dare (money out) / Avere (money in), no currency column.
    write(
        "it_banca.csv",
        [
            "Data contabile;Data valuta;Descrizione;Dare;Avere",
            "01/02/2024;01/02/2024;ADDEBITO SDD ENEL ENERGIA SPA FATT. 004412;148,30;",
            "05/02/2024;06/02/2024;BONIFICO A VOSTRO FAVORE DA ROSSI & BIANCHI SRL FT 12/2024;;"
            "2.196,00",
            "12/02/2024;12/02/2024;PAGAMENTO POS TRATTORIA DA NELLO 11/02;64,00;",
            "29/02/2024;29/02/2024;COMPETENZE DI CHIUSURA;3,12;",
        ],
    )


def german_direction() -> None:
    # A German cooperative bank's export: an unsigned Betrag (EUR) and Soll/Haben "S"/"H".
    write(
        "de_soll_haben.csv",
        [
            "Buchungstag;Valuta;Auftraggeber/Empfänger;Verwendungszweck;Betrag (EUR);S/H",
            "01.02.2024;01.02.2024;Finanzamt Köln-Altstadt;USt-VZ 12/2023 StNr 214/5678/0915;"
            "1.914,00;S",
            "02.02.2024;02.02.2024;Hoffmann Logistik GmbH;RE 2024-0044;4.760,00;H",
            "06.02.2024;05.02.2024;Deutsche Telekom AG;Kd-Nr 5511 Rechnung Januar;59,95;S",
        ],
        encoding="cp1252",
        newline="\r\n",
    )


def english_direction() -> None:
    # A UK building society's export: unsigned amounts, a Debit/Credit column, a balance.
    amounts = [("120.00", "D"), ("2400.00", "C"), ("35.50", "D")]
    balances = running("512.75", [("-" if d == "D" else "") + a for a, d in amounts])
    rows = [
        ("05/03/2024", "DD BRITISH GAS", "BG-778812"),
        ("15/03/2024", "BACS NORTHWIND LTD", "NW SALARY"),
        ("18/03/2024", "CARD WAITROSE 1123", ""),
    ]
    lines = ["Date,Description,Reference,Amount,Debit/Credit,Balance"]
    for (date, desc, ref), (amount, direction), balance in zip(
        rows, amounts, balances, strict=True
    ):
        lines.append(f"{date},{desc},{ref},{amount},{direction},{balance:.2f}")
    write("en_debit_credit.csv", lines)


def amount_styles() -> None:
    # Amounts as exports write them: parentheses, trailing minus, currency in the cell, a
    # Swiss apostrophe; one row whose amount names another currency than its column.
    write(
        "en_amount_styles.csv",
        [
            "Date,Description,Amount,Currency",
            '2024-05-02,Office rent,"(1,250.00)",GBP',
            "2024-05-03,Refund from supplier,+310.40,GBP",
            "2024-05-06,Card fee,4.99-,GBP",
            "2024-05-07,Client payment,GBP 2'400.00,GBP",
            "2024-05-08,Conference ticket,€ 89.00,GBP",
        ],
    )


def make_all() -> None:
    for make in (
        stripe,
        paypal,
        wise,
        xero,
        chase,
        bank_of_america,
        amex,
        barclays,
        deutsche_bank,
        sparkasse,
        ing_nl,
        rabobank,
        n26,
        n26_legacy,
        revolut,
        monzo,
        ubs_fr,
        mint,
        payoneer,
        french,
        spanish,
        italian,
        german_direction,
        english_direction,
        amount_styles,
    ):
        make()


if __name__ == "__main__":
    make_all()
