"""SIMULATED bank transfers seen from both ends: data to measure a matcher it was not tuned on.

    python benchmarks/transfers_data.py --out /tmp/transfers [--n 45000] [--seed 7]

Written without reading the matcher's code: the traits below are the measured traits of a real
held-out set, not of the matcher's own test data. Each transfer yields one row in ``left.csv``
(the sending account's statement) and one in ``right.csv`` (the receiving account's statement);
``truth.csv`` pairs them one to one. What makes the pairs hard, as in the held-out set:

- the two banks render the remittance text differently (case, prefixes such as "SEPA CT",
  reference numbers reformatted) and cut it at their own fixed width, often mid-word; one side
  may lose words, the reference, or the whole memo;
- hidden fees and FX: the receiver gets less (mostly exact or 0.5-3 % less, a tail to ~13 %),
  and an FX pair carries each side's own currency only;
- the receiver books 1-21 days later (median 2) on business days only (~150 distinct dates);
- heavy repetition: a 60.00 membership fee paid ~1,400 times, one memo text up to 48 times,
  monthly salaries and rents between the same parties, round amounts, Zipf-like payees.

``counterparty`` is the payee as each bank names it (the same party on both sides, abbreviated
or reordered differently), so a matcher can use it, as it can in the held-out set.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

CENT = Decimal("0.01")
COLUMNS = ("id", "date", "amount", "currency", "memo", "counterparty")

# The window: ~7 months of business days. Sending dates stop early enough that arrivals (up to
# three weeks later) bring the set to about 150 distinct dates.
FIRST_DAY = date(2026, 3, 2)
LAST_SEND_DAY = date(2026, 9, 4)
HOLIDAYS = {date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1)}  # TARGET2 closing days

# Calendar-day lag from sending to booking, before rolling to the next business day (which
# lengthens some lags: the held-out set has median 2, max 21).
LAG_DAYS = (1, 2, 3, 4, 5, 6, 7, 9, 11, 14, 17, 21)
LAG_WEIGHTS = (0.52, 0.20, 0.07, 0.04, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02, 0.01, 0.01)

# How the receiver's amount relates to the sender's: (kind, probability).
AMOUNT_KINDS = (("exact", 0.32), ("tiny_fee", 0.04), ("fee", 0.44), ("tail", 0.12), ("fx", 0.08))
# Currency pairs whose rates lie within ~13 % of 1, so FX pairs stay inside the observed spread.
FX_RATES = {("EUR", "USD"): 1.08, ("EUR", "CHF"): 0.95, ("USD", "EUR"): 0.926,
            ("USD", "CHF"): 0.885, ("CHF", "EUR"): 1.05, ("CHF", "USD"): 1.13}  # fmt: skip
MAX_RELATIVE_GAP = 0.13


@dataclass(frozen=True)
class BankStyle:
    """How one (SIMULATED) bank renders remittance text and the payee's name."""

    case: str  # "keep" | "upper" | "lower"
    prefix: str
    width: int | None  # the remittance field is cut here, mid-word or not
    reference: str  # "keep" | "nodash" | "spaces" | "digits"
    name: str  # "full" | "upper" | "abbrev" | "surname_first"
    name_width: int | None


BANKS = (
    BankStyle("keep", "", None, "keep", "full", None),
    BankStyle("upper", "SEPA CT ", 35, "spaces", "upper", 27),
    BankStyle("lower", "trf ", 27, "nodash", "abbrev", None),
    BankStyle("upper", "TRF/", 30, "digits", "surname_first", 22),
    BankStyle("keep", "Überweisung ", 18, "keep", "abbrev", 20),
    BankStyle("keep", "SEPA-Gutschrift ", 22, "nodash", "full", 24),
)
BANK_WEIGHTS = (0.26, 0.22, 0.16, 0.14, 0.12, 0.10)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Anna Lena Marie Sophie Julia Laura Sarah Lisa Katharina Hannah Emma Mia Clara Paula Nina Eva "
    "Jonas Lukas Leon Felix Paul Maximilian David Tobias Jan Simon Florian Moritz Niklas Tim Finn "
    "Oliver James Thomas Peter Michael Robert Daniel Claire Olivia Grace Chloe Lucy Hugo Pierre "
    "Luca Marco Giulia Sofia Mateo Lucia Jakub Piotr Ewa Agnieszka Lars Ingrid Sven Astrid Yusuf"
)
SURNAMES = _words(
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
    "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
    "Schmitt Werner Krause Meier Lehmann Köhler Herrmann König Walter Huber Kaiser Fuchs Peters "
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Evans Thomas Roberts Dubois Martin "
    "Bernard Moreau Laurent Rossi Russo Ferrari Bianchi Romano Kowalski Nowak Wiśniewski Jansen "
    "Dekker Vos Bakker Visser Andersson Johansson Nielsen Hansen Yilmaz Kaya Demir Novak"
)
NAME_STEMS = _words(
    "Nord Süd West Ost Alpen Rhein Elb Main Donau Blau Grün Silber Gold Stern Sonnen Berg Tal "
    "Wald Fluss Meer Stadt Land Kraft Licht Stahl Holz Stein Glas Blue Red Green Bright Clear "
    "North Pacific Atlantic Summit Harbor River Oak Pine Maple Cedar Iron Nova Vita Terra Aqua "
    "Alpha Omega Delta Sigma Prime Apex Vertex Orbit Quantum Pixel Vector Matrix Helix Axis"
)
NAME_TAILS = ("", "", "", "wind", "feld", "haus", "werk", "tech", "line", "point", "wave", "soft")
SECTORS = _words(
    "Logistik Consulting Bau Elektro Immobilien Hausverwaltung Versicherung Software Systems "
    "Solutions Trading Handel Marketing Medien Druck Reinigung Catering Energie Solar Transport "
    "Spedition Steuerberatung Rechtsanwälte Architekten Dental Pharma Labor Maschinenbau Metall "
    "Services Partners Studio Design Textil Möbel Garten Sanitär Heizung Autohaus Reisen Hotel"
)
LEGAL_FORMS = (("GmbH", 0.38), ("GmbH & Co. KG", 0.08), ("AG", 0.06), ("Ltd", 0.14),
               ("Limited", 0.04), ("SARL", 0.05), ("B.V.", 0.05), ("Inc.", 0.05), ("e.K.", 0.04),
               ("", 0.11))  # fmt: skip
LEGAL_SHORT = {"GmbH & Co. KG": "GmbH+Co KG", "Limited": "Ltd", "Ltd": "Ltd.", "e.K.": "eK"}
CLUBS = ("Sportverein Grün-Weiß 1912 e.V.", "Fitnessstudio Vitalpark GmbH",
         "Tennisclub Rot-Blau e.V.", "Yoga Loft Studio", "Musikschule Allegro e.V.")  # fmt: skip
INVOICE_TEXTS = (
    "Rechnung vom {d}", "Invoice {m} services", "Lieferung {d}", "Beratung {m} 2026",
    "Wartungsvertrag Q{q}", "Kd-Nr {k}", "Order {k}", "Consulting fees {m}", "Material {k}",
    "Abschlag {m}", "Honorar {d}", "Lizenz 2026 Kd {k}", "Reparatur {k}", "",
)  # fmt: skip
GENERIC_TEXTS = (
    "Reisekosten {p}", "Refund order {k}", "Darlehen Rate {r} {p}", "Anzahlung {k}",
    "Kaution Whg {r}", "Rückzahlung {p}", "Geschenk {p}", "Auslage {m} {p}", "Umbuchung {k}",
    "Transfer {k}", "Spende {k}", "Schadensfall {k}", "Provision {m} {k}", "Nebenkosten {y} {k}",
    "Bonus {m} {p}", "Split dinner {p}", "Tickets {k}", "Kfz-Steuer {k}", "Prämie Vertrag {k}",
)  # fmt: skip
MONTHS = _words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec")
MONATE = _words(
    "Januar Februar März April Mai Juni Juli August September Oktober November Dezember"
)
STREETS = ("Hauptstr", "Lindenallee", "Bahnhofstr", "Gartenweg", "Schillerstr", "Ringstr",
           "Kirchplatz", "Am Markt", "Bergstr", "Rosenweg")  # fmt: skip


@dataclass
class Transfer:
    """One true pair before each bank renders it."""

    send_day: date
    amount: Decimal
    currency: str
    memo: str
    reference: str  # the reference number inside ``memo`` ("" when none)
    payee: str
    person: bool
    payer_bank: int
    payee_bank: int
    kind: str | None = None  # amount relation; None: drawn from AMOUNT_KINDS


class _Generator:
    """Draws the transfers; one instance per (n, seed) so the whole set is reproducible."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.days = _business_days(FIRST_DAY, LAST_SEND_DAY)
        self.invoice_seq = 100

    # -- parties -------------------------------------------------------------------------
    def person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}"

    def company(self) -> str:
        r = self.rng
        stem = r.choice(NAME_STEMS) + r.choice(NAME_TAILS)
        if r.random() < 0.25:
            stem = (
                f"{r.choice(SURNAMES)} & {r.choice(('Partner', 'Söhne', 'Co', r.choice(SURNAMES)))}"
            )
        forms, weights = zip(*LEGAL_FORMS, strict=True)
        form = r.choices(forms, weights)[0]
        return " ".join(part for part in (stem, r.choice(SECTORS), form) if part)

    def bank(self) -> int:
        return self.rng.choices(range(len(BANKS)), BANK_WEIGHTS)[0]

    # -- amounts and dates ---------------------------------------------------------------
    def lognormal_amount(self, median: float, sigma: float, round_share: float) -> Decimal:
        value = float(np.clip(self.np.lognormal(np.log(median), sigma), 1.0, 250_000.0))
        if self.rng.random() < round_share:
            step = 5 if value < 100 else 10 if value < 500 else 50 if value < 2000 else 100
            value = max(step, round(value / step) * step)
        return Decimal(f"{value:.2f}")

    def day_near(self, year: int, month: int, day_of_month: int, jitter: int) -> date | None:
        """The business day on or after the given day (+0..jitter days), inside the window."""
        if month > 12:
            return None
        wanted = date(year, month, min(day_of_month, 28)) + timedelta(self.rng.randint(0, jitter))
        for day in self.days:
            if day >= wanted:
                return day
        return None

    def currency(self) -> str:
        return self.rng.choices(("EUR", "USD", "CHF", "GBP"), (0.88, 0.06, 0.03, 0.03))[0]

    # -- references -------------------------------------------------------------------------
    def reference(self) -> str:
        r = self.rng
        self.invoice_seq += r.randint(1, 3)
        style = r.random()
        if style < 0.40:
            return f"INV-2026-{self.invoice_seq:05d}"
        if style < 0.70:
            return f"RE {r.randint(100000, 999999)}"
        if style < 0.85:
            return f"Rechnung Nr. {r.randint(10000, 99999)}"
        return f"{r.randint(1000, 9999)}/2026"

    def fill(self, template: str, day: date) -> str:
        r = self.rng
        return template.format(
            d=day.strftime("%d.%m.%Y"), m=MONTHS[day.month - 1], q=(day.month - 1) // 3 + 1,
            k=r.randint(10000, 9999999), p=self.person(), r=r.randint(1, 24), y=day.year,
        )  # fmt: skip

    # -- the groups of transfers ------------------------------------------------------------
    def memberships(self, count: int) -> list[Transfer]:
        """The one dominant amount: a 60.00 fee paid by many members to a few clubs."""
        r = self.rng
        clubs = [(name, self.bank()) for name in CLUBS]
        same_text = round(52 * self.n / 45_000)  # one club's members all write the same text
        out = []
        for i in range(count):
            club, club_bank = clubs[0] if i < same_text else r.choice(clubs)
            if i < same_text:
                memo = "Mitgliedsbeitrag 2026"
            else:
                memo = r.choice(("Mitgliedsbeitrag {k} {p}", "Beitrag Mitglied Nr {k}",
                                 "Membership fee {p} {m}", "Beitrag {m} 2026 {p}"))  # fmt: skip
            day = r.choice(self.days[: len(self.days) // 2] if r.random() < 0.6 else self.days)
            out.append(Transfer(day, Decimal("60.00"), "EUR", self.fill(memo, day), "", club,
                                False, self.bank(), club_bank))  # fmt: skip
        return out

    def salaries(self, count: int) -> list[Transfer]:
        """Monthly pay: the same employer, employee and (mostly) amount every month."""
        r = self.rng
        months = sorted({(d.year, d.month) for d in self.days})[:-1]  # last month is partial
        out: list[Transfer] = []
        while len(out) < count:
            employee, employer_bank = self.person(), self.bank()
            pay = self.lognormal_amount(2900, 0.35, 0.0)
            staff_no, pay_day = r.randint(1000, 99999), r.choice((25, 27, 28))
            for year, month in months:
                day = self.day_near(year, month, pay_day, 2)
                if day is None or len(out) >= count:
                    continue
                if r.random() < 0.15:  # overtime, bonus, a raise
                    pay = (pay * Decimal(str(1 + r.uniform(-0.05, 0.12)))).quantize(CENT)
                memo = r.choice((f"Gehalt {MONATE[month - 1]} {year} PNr {staff_no}",
                                 f"Salary {month:02d}/{year} EMP{staff_no}",
                                 f"Lohn/Gehalt {month:02d}.{year} {staff_no}"))  # fmt: skip
                kind = r.choice(("exact", "exact", None))  # payroll mostly arrives in full
                out.append(Transfer(day, pay, "EUR", memo, "", employee, True, employer_bank,
                                    self.bank(), kind=kind))  # fmt: skip
        return out

    def rents(self, count: int) -> list[Transfer]:
        """Standing orders: the same text and amount from one tenant every month."""
        r = self.rng
        months = sorted({(d.year, d.month) for d in self.days})
        landlords = [(self.company() if r.random() < 0.6 else self.person(), self.bank())
                     for _ in range(max(3, count // 60))]  # fmt: skip
        out: list[Transfer] = []
        while len(out) < count:
            landlord, landlord_bank = r.choice(landlords)
            tenant_bank = self.bank()
            rent = self.lognormal_amount(850, 0.35, 0.6)
            memo = f"Miete {r.choice(STREETS)} {r.randint(1, 80)} Whg {r.randint(1, 12)}"
            if r.random() < 0.04:  # a few tenants write only the word
                memo = r.choice(("Miete", "Miete + NK", "rent"))
            for year, month in months:
                day = self.day_near(year, month, 1, 3)
                if day is None or len(out) >= count:
                    continue
                out.append(Transfer(day, rent, "EUR", memo, "", landlord, False, tenant_bank,
                                    landlord_bank))  # fmt: skip
        return out

    def invoices_and_others(self, count: int) -> list[Transfer]:
        """The rest: Zipf-like payees, invoice references, lognormal and round amounts."""
        r = self.rng
        payees = [(self.company(), False) if r.random() < 0.7 else (self.person(), True)
                  for _ in range(max(50, count // 8))]  # fmt: skip
        payee_banks = [self.bank() for _ in payees]
        ranks = np.minimum(self.np.zipf(1.35, size=count), len(payees)) - 1
        out = []
        for rank in ranks:
            payee, person = payees[rank]
            day = r.choice(self.days)
            if not person and r.random() < 0.75:
                reference = self.reference()
                text = self.fill(r.choice(INVOICE_TEXTS), day)
                memo = f"{reference} {text}" if r.random() < 0.7 else f"{text} {reference}"
                amount = self.lognormal_amount(420, 1.3, 0.2)
            else:
                reference = ""
                memo = self.fill(r.choice(GENERIC_TEXTS), day)
                amount = self.lognormal_amount(120, 1.2, 0.45)
            out.append(Transfer(day, amount, self.currency(), memo.strip(), reference, payee,
                                person, self.bank(), payee_banks[rank]))  # fmt: skip
        return out

    # -- the receiving side -----------------------------------------------------------------
    def arrival(self, sent: date) -> date:
        lag = self.rng.choices(LAG_DAYS, LAG_WEIGHTS)[0]
        day = sent + timedelta(lag)
        while day.weekday() >= 5 or day in HOLIDAYS:
            day += timedelta(1)
        while (day - sent).days > 21 or day.weekday() >= 5 or day in HOLIDAYS:
            day -= timedelta(1)
        return day

    def received(self, t: Transfer) -> tuple[Decimal, str]:
        """The receiver's amount and currency: fees make it smaller, FX changes the unit."""
        r = self.rng
        kinds, weights = zip(*AMOUNT_KINDS, strict=True)
        kind = t.kind or r.choices(kinds, weights)[0]
        targets = [c for (a, c) in FX_RATES if a == t.currency]
        if kind == "fx" and targets:
            target = r.choice(targets)
            rate = FX_RATES[(t.currency, target)] * (1 + r.uniform(-0.015, 0.015))
            ratio = rate * (1 - r.uniform(0.0, 0.015))
            ratio = min(max(ratio, 1 - MAX_RELATIVE_GAP), 1 / (1 - MAX_RELATIVE_GAP))
            return (t.amount * Decimal(f"{ratio:.6f}")).quantize(CENT), target
        if kind == "fx":  # no near-1 partner currency (GBP): an ordinary fee instead
            kind = "fee"
        gap = {
            "exact": 0.0,
            "tiny_fee": r.uniform(0.0005, 0.005),
            "fee": r.uniform(0.005, 0.03),
            "tail": min(0.03 + r.expovariate(1 / 0.025), MAX_RELATIVE_GAP),
        }[kind]
        return (t.amount * Decimal(f"{1 - gap:.6f}")).quantize(CENT), t.currency


# -- rendering one side ---------------------------------------------------------------------
def _business_days(first: date, last: date) -> list[date]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5 and day not in HOLIDAYS:
            days.append(day)
        day += timedelta(1)
    return days


def _reformat_reference(reference: str, style: str) -> str:
    if style == "nodash":
        return reference.replace("-", "").replace(" ", "").replace("Nr.", "Nr")
    if style == "spaces":
        return reference.replace("-", " ").replace("/", " ")
    if style == "digits":
        return "".join(ch for ch in reference if ch.isdigit() or ch == " ").strip()
    return reference


def _transliterate(text: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "AE"), ("Ö", "OE"), ("Ü", "UE"),
                 ("ß", "ss"), ("ś", "s")):  # fmt: skip
        text = text.replace(a, b)
    return text


def _cased(text: str, case: str) -> str:
    if case == "upper":
        return _transliterate(text).upper()
    return text.lower() if case == "lower" else text


def render_memo(
    memo: str, reference: str, style: BankStyle, damage: str, rng: random.Random
) -> str:
    """The memo as one bank shows it. ``damage``: "", "drop_words", "drop_ref" or "empty"."""
    if damage == "empty":
        return ""
    if reference and damage == "drop_ref":
        memo = memo.replace(reference, " ")
    elif reference:
        memo = memo.replace(reference, _reformat_reference(reference, style.reference))
    words = memo.split()
    if damage == "drop_words" and len(words) > 2:
        for _ in range(rng.randint(1, min(2, len(words) - 2))):
            words.pop(rng.randrange(1, len(words)))
    text = _cased(" ".join(words), style.case)
    if style.width is not None:
        text = text[: style.width].rstrip()
    # A bank prints its prefix only before some remittance text.
    return f"{_cased(style.prefix, style.case)}{text}".strip() if text else ""


def render_name(name: str, person: bool, style: BankStyle) -> str:
    """The payee as one bank names it: abbreviated legal forms, initials, surname first."""
    if style.name == "abbrev":
        if person:
            first, _, last = name.partition(" ")
            name = f"{first[0]}. {last}"
        else:
            for long, short in LEGAL_SHORT.items():
                if name.endswith(" " + long):
                    name = name[: -len(long)] + short
                    break
            name = " ".join(w[:6] + "." if len(w) > 9 else w for w in name.split())
    elif style.name == "surname_first" and person:
        first, _, last = name.partition(" ")
        name = f"{last}, {first[0]}."
    elif style.name == "surname_first":
        name = _transliterate(name).upper().replace(" & CO. KG", "")
    if style.name in ("upper", "surname_first"):
        name = _transliterate(name).upper()
    if style.name_width is not None:
        name = name[: style.name_width].rstrip()
    return name


def _damages(rng: random.Random) -> tuple[str, str]:
    """Which side (if any) loses part of its memo; the held-out set has it on one side only."""
    damage = rng.choices(("", "drop_words", "drop_ref", "empty"), (0.70, 0.13, 0.10, 0.07))[0]
    return (damage, "") if rng.random() < 0.4 else ("", damage)


def generate(n: int = 45_000, seed: int = 7) -> tuple[list[dict], list[dict], list[dict]]:
    """``(left_rows, right_rows, truth)``: rows with id, date, amount (Decimal), currency, memo,
    counterparty; truth rows with left_id, right_id. Each side is shuffled, ids opaque."""
    g = _Generator(n, seed)
    transfers = g.memberships(round(n * 1150 / 45_000))
    transfers += g.salaries(round(n * 0.04))
    transfers += g.rents(round(n * 0.03))
    transfers += g.invoices_and_others(n - len(transfers))
    rng = g.rng
    left, right = [], []
    for t in transfers:
        amount_r, currency_r = g.received(t)
        damage_l, damage_r = _damages(rng)
        payer_style, payee_style = BANKS[t.payer_bank], BANKS[t.payee_bank]
        name_l = render_name(t.payee, t.person, payer_style)
        name_r = render_name(t.payee, t.person, payee_style)
        if rng.random() < 0.04:  # one bank shows no name (card scheme, collection account)
            name_l, name_r = (name_l, "") if rng.random() < 0.5 else ("", name_r)
        left.append({"date": t.send_day, "amount": t.amount, "currency": t.currency,
                     "memo": render_memo(t.memo, t.reference, payer_style, damage_l, rng),
                     "counterparty": name_l})  # fmt: skip
        right.append({"date": g.arrival(t.send_day), "amount": amount_r, "currency": currency_r,
                      "memo": render_memo(t.memo, t.reference, payee_style, damage_r, rng),
                      "counterparty": name_r})  # fmt: skip
    order_l = list(range(len(left)))
    order_r = list(range(len(right)))
    rng.shuffle(order_l)
    rng.shuffle(order_r)
    left_rows = [{"id": f"L{pos:06d}", **left[i]} for pos, i in enumerate(order_l)]
    right_rows = [{"id": f"R{pos:06d}", **right[i]} for pos, i in enumerate(order_r)]
    left_id = {i: left_rows[pos]["id"] for pos, i in enumerate(order_l)}
    right_id = {i: right_rows[pos]["id"] for pos, i in enumerate(order_r)}
    truth = [{"left_id": left_id[i], "right_id": right_id[i]} for i in range(len(transfers))]
    truth.sort(key=lambda row: row["left_id"])
    return left_rows, right_rows, truth


def trait_summary(left: list[dict], right: list[dict], truth: list[dict]) -> dict[str, float]:
    """The traits the held-out set was measured on, computed the same way here."""
    by_l = {row["id"]: row for row in left}
    by_r = {row["id"]: row for row in right}
    exact = near_and_soon = fx = 0
    lags, gaps = [], []
    for pair in truth:
        a, b = by_l[pair["left_id"]], by_r[pair["right_id"]]
        lag = (b["date"] - a["date"]).days
        gap = abs(a["amount"] - b["amount"]) / max(a["amount"], b["amount"])
        lags.append(lag)
        gaps.append(float(gap))
        exact += a["amount"] == b["amount"] and a["currency"] == b["currency"]
        near_and_soon += gap <= Decimal("0.005") and lag <= 5
        fx += a["currency"] != b["currency"]
    total = len(truth)

    def top(rows: list[dict], key: str) -> int:
        counts = Counter(row[key] for row in rows if row[key] != "")
        return counts.most_common(1)[0][1]

    return {
        "pairs": total,
        "exact_amount_share": exact / total,
        "within_0.5pct_and_5_days_share": near_and_soon / total,
        "within_0.5pct_share": sum(g <= 0.005 for g in gaps) / total,
        "within_3pct_share": sum(g <= 0.03 for g in gaps) / total,
        "lag_at_most_5_days_share": sum(lag <= 5 for lag in lags) / total,
        "max_relative_gap": max(gaps),
        "fx_pair_share": fx / total,
        "lag_median_days": statistics.median(lags),
        "lag_min_days": min(lags),
        "lag_max_days": max(lags),
        "distinct_dates": len({row["date"] for row in left} | {row["date"] for row in right}),
        "top_amount_count_left": top(left, "amount"),
        "top_amount_count_right": top(right, "amount"),
        "top_memo_count_left": top(left, "memo"),
        "top_memo_count_right": top(right, "memo"),
        "empty_memo_share": sum(row["memo"] == "" for row in left + right) / (2 * total),
        "round_amount_share_left": sum(row["amount"] % 5 == 0 for row in left) / total,
    }


def write_csv(path: Path, rows: list[dict], columns: tuple[str, ...]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            out = dict(row)
            if "amount" in out:
                out["amount"] = f"{out['amount']:.2f}"
                out["date"] = out["date"].isoformat()
            writer.writerow(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the three CSVs")
    parser.add_argument("--n", type=int, default=45_000, help="number of transfers")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    left, right, truth = generate(args.n, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "left.csv", left, COLUMNS)
    write_csv(args.out / "right.csv", right, COLUMNS)
    write_csv(args.out / "truth.csv", truth, ("left_id", "right_id"))
    for key, value in trait_summary(left, right, truth).items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{key:32} {shown}")
    print(f"wrote {len(left)} + {len(right)} rows and {len(truth)} true pairs to {args.out}")


if __name__ == "__main__":
    sys.exit(main())
