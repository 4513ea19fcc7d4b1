"""SIMULATED world generator: teams, users, customers, invoices, receipts and a bank feed.

Everything here is made up, but shaped like real finance data so the background agents get
realistic work: recurring merchants with weekly seasonality, payroll and rent, invoices paid on
time, late, in parts, several at once or net of a processor fee, receipts whose amount, date, name
or currency differ from their bank row (docs/architecture.md, the matcher's rules), and a rare
malformed bank row for quarantine. ``ground_truth`` says which receipt or invoice truly belongs
to which bank row and which hard case it exercises, so matching can be scored.

Generation is pure and deterministic. Each team has its own RNG seeded from (seed, team index), so
team k is identical whether 3 or 3,000 teams are generated. Random draws are floats, but every
amount becomes integer minor units at once and then Decimal or text: no money is summed as a
float. E-mail addresses use the reserved ``.example`` domain, so a demo can never mail a person.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import Any

from babel.numbers import get_currency_precision

Row = dict[str, Any]

DOCUMENT_CASES = (
    "exact",
    "rounding",
    "vat",
    "fee",
    "fx",
    "date_offset",
    "name_variant",
    "duplicate",
)
INVOICE_CASES = ("exact", "late", "partial", "combined", "fee")

# Malformed feed rows: about one in this many, the rate a real bank export shows now and then.
MALFORMED_EVERY = 2000
MALFORMED_AMOUNTS = ("12,34,5", "", "1.234.56", "N/A", "--19.90", "4O.00")
MALFORMED_CURRENCIES = ("US$", "ZZZ", "", "€", "EURO")


@dataclass
class World:
    """A SIMULATED history: one list of insert-ready dicts per table, linked by natural keys.

    Bank, document and invoice-issue dates lie in ``start..end``; due dates may lie after ``end``
    (invoices not due yet). Every invoice is ``open`` (or ``void``): whether it was paid is for
    matching to find, and ``ground_truth`` holds the answer. ``allocated_amount`` is set where a
    payment and an invoice differ by design (``partial``: that payment's share; ``combined``: that
    invoice's share), else None. The two rows of a ``duplicate`` pair are interchangeable, so
    either assignment of their two receipts is right.
    """

    start: date
    end: date
    teams: list[Row] = field(default_factory=list)
    users: list[Row] = field(default_factory=list)
    customers: list[Row] = field(default_factory=list)
    invoices: list[Row] = field(default_factory=list)
    documents: list[Row] = field(default_factory=list)
    bank_feed: list[Row] = field(default_factory=list)
    ground_truth: list[Row] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Rows per database table, in the shape :func:`~.store.write_world` returns."""
        return {
            "teams": len(self.teams),
            "users": len(self.users),
            "customers": len(self.customers),
            "invoices": len(self.invoices),
            "documents": len(self.documents),
            "simulated_bank_feed": len(self.bank_feed),
            "sim_ground_truth": len(self.ground_truth),
        }


def generate_world(teams: int, weeks: int, seed: int, end: date) -> World:
    """Generate ``teams`` SIMULATED teams with ``weeks`` ISO weeks of history ending on ``end``."""
    if teams < 1 or weeks < 1:
        raise ValueError(f"teams and weeks must be at least 1, got teams={teams}, weeks={weeks}")
    if end.isoweekday() != 7:
        raise ValueError(
            f"end must be a Sunday (the last day of an ISO week), got {end} ({end:%A}); "
            "see bg_agents.lib.weeks.last_complete_week_end()"
        )
    cal = _Calendar.build(end, weeks)
    world = World(start=cal.days[0], end=end)
    for k in range(teams):
        _TeamSim(k, seed, cal).run(world)
    return world


# --- catalogs (built once at import) ----------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    zone: str
    currency: str
    locale: str
    country: str
    legal: tuple[str, ...]
    vat: tuple[float, ...]  # VAT / GST / sales-tax rates in use, all within 5-25 %
    names: str
    market: str
    rails: tuple[str, ...]  # how the bank labels an incoming transfer
    tax_payee: str
    payroll: str
    biweekly_payroll: bool
    invoice_prefix: str = "INV"


# The cycle covers DST zones, both hemispheres, half- and quarter-hour offsets and the extremes
# (UTC+14, UTC-11), because scheduling bugs hide exactly there.
# fmt: off
_REGIONS = (
    _Region("America/New_York", "USD", "en_US", "US", ("Inc.", "LLC"), (0.08875,), "en", "na",
            ("ACH CREDIT", "WIRE TRANSFER IN", "ACH DEPOSIT"), "IRS USATAXPYMT", "GUSTO PAYROLL",
            True),
    _Region("Europe/London", "GBP", "en_GB", "GB", ("Ltd", "LLP"), (0.20, 0.05), "en", "eu",
            ("FASTER PAYMENT", "BGC", "BANK GIRO CREDIT"), "HMRC VAT", "PAYROLL BACS", False),
    _Region("Europe/Berlin", "EUR", "de_DE", "DE", ("GmbH", "UG", "AG"), (0.19, 0.07), "de", "eu",
            ("SEPA-GUTSCHRIFT", "SEPA CREDIT TRANSFER"), "FINANZAMT", "GEHALT SEPA", False,
            "RE"),
    _Region("Asia/Kolkata", "INR", "en_IN", "IN", ("Pvt Ltd", "LLP"), (0.18, 0.12), "in", "apac",
            ("NEFT CR", "IMPS CR", "RTGS CR"), "GST PAYMENT", "SALARY NEFT", False),
    _Region("Asia/Kathmandu", "NPR", "ne_NP", "NP", ("Pvt. Ltd.",), (0.13,), "np", "apac",
            ("FUND TRANSFER", "CONNECTIPS"), "INLAND REVENUE", "SALARY TRANSFER", False),
    _Region("Australia/Lord_Howe", "AUD", "en_AU", "AU", ("Pty Ltd",), (0.10,), "en", "apac",
            ("DIRECT CREDIT", "OSKO PAYMENT"), "ATO", "PAYROLL XERO", True),
    _Region("Pacific/Chatham", "NZD", "en_NZ", "NZ", ("Ltd",), (0.15,), "en", "apac",
            ("DIRECT CREDIT", "AUTOMATIC PAYMENT"), "IRD", "PAYROLL IPAYROLL", True),
    _Region("America/St_Johns", "CAD", "en_CA", "CA", ("Inc.", "Ltd."), (0.15,), "en", "na",
            ("E-TRANSFER", "EFT DEPOSIT"), "CRA RECEIVER GENERAL", "WAGEPOINT PAYROLL", True),
    _Region("Pacific/Kiritimati", "AUD", "en_KI", "KI", ("Ltd",), (0.125,), "en", "apac",
            ("TRANSFER FROM",), "KIRIBATI TAX OFFICE", "SALARIES", True),
    _Region("Pacific/Pago_Pago", "USD", "en_AS", "AS", ("LLC", "Inc."), (0.05,), "en", "na",
            ("ACH CREDIT",), "AS TAX OFFICE", "ADP PAYROLL", True),
    _Region("America/Los_Angeles", "USD", "en_US", "US", ("Inc.", "LLC"), (0.095,), "en", "na",
            ("ACH CREDIT", "WIRE TRANSFER IN", "ACH DEPOSIT"), "IRS USATAXPYMT",
            "GUSTO PAYROLL", True),
    _Region("Asia/Tokyo", "JPY", "ja_JP", "JP", ("K.K.", "G.K."), (0.10, 0.08), "ja", "apac",
            ("FURIKOMI",), "NTA TAX PAYMENT", "KYUYO FURIKOMI", False),
    _Region("Australia/Adelaide", "AUD", "en_AU", "AU", ("Pty Ltd",), (0.10,), "en", "apac",
            ("DIRECT CREDIT", "OSKO PAYMENT"), "ATO", "PAYROLL XERO", True),
    _Region("America/Sao_Paulo", "BRL", "pt_BR", "BR", ("Ltda.", "S.A."), (0.18, 0.12), "pt",
            "latam", ("PIX RECEBIDO", "TED RECEBIDA"), "RECEITA FEDERAL DARF",
            "FOLHA PAGAMENTO", False, "NF"),
    _Region("Asia/Singapore", "SGD", "en_SG", "SG", ("Pte. Ltd.",), (0.09,), "sg", "apac",
            ("PAYNOW", "GIRO CREDIT", "FAST TRANSFER"), "IRAS GST", "SALARY GIRO", False),
    _Region("Europe/Paris", "EUR", "fr_FR", "FR", ("SAS", "SARL"), (0.20, 0.10), "fr", "eu",
            ("VIR SEPA RECU", "VIREMENT DE"), "DGFIP", "SALAIRES VIR", False, "FAC"),
    _Region("Asia/Tehran", "IRR", "fa_IR", "IR", ("Co.",), (0.10,), "fa", "mena",
            ("SATNA", "PAYA"), "INTA TAX", "SALARY PAYA", False),
    _Region("Africa/Lagos", "NGN", "en_NG", "NG", ("Ltd",), (0.075,), "ng", "africa",
            ("NIP TRANSFER", "NEFT CREDIT"), "FIRS", "SALARY NIP", False),
)

# Market rates (units per USD) for card FX, and local prices of a basket worth 1 USD in the US:
# the second keeps a coffee in Tokyo or Tehran plausible without pretending to be economics.
_FX_PER_USD = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "INR": 83.4, "NPR": 133.5, "AUD": 1.52, "NZD": 1.66,
    "CAD": 1.37, "JPY": 151.0, "BRL": 5.05, "SGD": 1.35, "IRR": 600000.0, "NGN": 1550.0,
}
_PRICE_LEVEL = {
    "USD": 1.0, "EUR": 0.95, "GBP": 0.82, "INR": 35.0, "NPR": 45.0, "AUD": 1.45, "NZD": 1.55,
    "CAD": 1.3, "JPY": 120.0, "BRL": 3.2, "SGD": 1.25, "IRR": 350000.0, "NGN": 800.0,
}
# Minor-unit digits from CLDR, the same data the app formats money with (JPY 0, IRR 0).
_DIGITS = {code: get_currency_precision(code) for code in _FX_PER_USD}
# Smallest price step in minor units: nobody charges 1,234,567 rials.
_STEP = {code: 1000 if code == "IRR" else 1 for code in _FX_PER_USD}

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (("Olivia", "James", "Amelia", "Noah", "Isla", "Jack", "Grace", "Liam", "Ruby", "Ethan",
            "Chloe", "Mason"),
           ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Walker", "Harris", "Clarke", "Lewis",
            "Young", "King", "Wright")),
    "de": (("Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix", "Lena", "Paul", "Hannah",
            "Jürgen"),
           ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Schäfer", "Hoffmann")),
    "fr": (("Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Théo", "Inès",
            "Gabriel"),
           ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
            "Leroy", "Moreau")),
    "in": (("Aarav", "Priya", "Vihaan", "Ananya", "Arjun", "Diya", "Rohan", "Isha", "Kabir",
            "Meera"),
           ("Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair", "Singh", "Mehta", "Rao", "Das")),
    "np": (("Aayush", "Sita", "Bikash", "Anjali", "Suman", "Pooja", "Nabin", "Sarita"),
           ("Shrestha", "Gurung", "Thapa", "Tamang", "Rai", "Adhikari", "Karki", "Magar")),
    "ja": (("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Yuto", "Sakura", "Kaito", "Mei"),
           ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura")),
    "pt": (("Miguel", "Alice", "Arthur", "Helena", "Heitor", "Laura", "Davi", "Valentina"),
           ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Lima")),
    "sg": (("Wei Ling", "Jun Jie", "Siti", "Arjun", "Mei Ling", "Hafiz", "Xin Yi", "Ravi"),
           ("Tan", "Lim", "Lee", "Ng", "Wong", "Rahman", "Goh", "Chua")),
    "fa": (("Ali", "Zahra", "Reza", "Fatemeh", "Mohammad", "Maryam", "Hossein", "Sara"),
           ("Ahmadi", "Hosseini", "Karimi", "Moradi", "Rezaei", "Jafari", "Rahimi", "Kazemi")),
    "ng": (("Chinedu", "Amaka", "Tunde", "Ngozi", "Emeka", "Funmi", "Ibrahim", "Zainab"),
           ("Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Bello", "Nwosu", "Abubakar")),
}

_TEAM_WORDS = (
    ("Acme", "Northwind", "Bluebird", "Summit", "Harbor", "Pioneer", "Cobalt", "Juniper",
     "Redwood", "Lumen", "Vertex", "Atlas", "Nimbus", "Orchid", "Granite", "Maple", "Falcon",
     "Sterling", "Evergreen", "Quartz", "Saffron", "Tidewater", "Kestrel", "Meridian"),
    ("Analytics", "Labs", "Design", "Logistics", "Consulting", "Studio", "Systems", "Foods",
     "Health", "Robotics", "Media", "Partners", "Works", "Software", "Energy", "Trading",
     "Ventures", "Digital", "Architects", "Engineering"),
)
_CUSTOMER_WORDS = (
    ("Apex", "Beacon", "Cedar", "Delta", "Ember", "Fjord", "Global", "Horizon", "Ivory", "Jade",
     "Keystone", "Lighthouse", "Monarch", "Nova", "Oakridge", "Prairie", "Quantum", "Riverside",
     "Silverline", "Trident", "Unity", "Vanguard", "Westfield", "Zenith"),
    ("Holdings", "Retail", "Group", "Manufacturing", "Clinic", "Hotels", "Realty", "Capital",
     "Motors", "Pharma", "Textiles", "Freight", "Markets", "Learning", "Brewing", "Outfitters"),
)


@dataclass(frozen=True)
class _Spec:
    """A merchant as printed on receipts (``vendor``) and by the bank (``descriptor``).

    ``alias`` is a bank label far from the vendor name (card processors, parent companies); a
    random code of ``code`` characters follows it, as real descriptors carry order ids.
    Amounts are medians in US-dollar purchasing power, per seat when ``per_seat``.
    """

    vendor: str
    descriptor: str
    alias: str | None
    code: int
    category: str
    usd: float
    sigma: float
    weight: float
    markets: str = "*"
    per_seat: bool = False


_S = _Spec
_CARD = (
    _S("Starbucks", "STARBUCKS STORE {n}", None, 0, "meals", 8, 0.4, 3),
    _S("Pret A Manger", "PRET A MANGER {n}", None, 0, "meals", 12, 0.35, 2, "eu na"),
    _S("Blue Bottle Coffee", "BLUE BOTTLE COFFEE", "SQ *BLUE BOTTLE ", 4, "meals", 9, 0.35, 1.5,
       "na apac"),
    _S("Sweetgreen", "SWEETGREEN {n}", "TST* SWGRN ", 4, "meals", 16, 0.3, 1.5, "na"),
    _S("DoorDash", "DOORDASH", "DD *DOORDASH ", 6, "meals", 32, 0.5, 1.5, "na apac"),
    _S("Deliveroo", "DELIVEROO", "ROO *", 8, "meals", 28, 0.5, 1.5, "eu mena"),
    _S("Uber Eats", "UBER EATS", "UBER *EATS ", 6, "meals", 30, 0.5, 2),
    _S("McDonald's", "MCDONALDS {n}", None, 0, "meals", 11, 0.4, 1),
    _S("Uber", "UBER TRIP", "UBER *TRIP ", 6, "travel", 22, 0.55, 3),
    _S("Lyft", "LYFT RIDE", "LYFT *RIDE ", 6, "travel", 20, 0.5, 1.5, "na"),
    _S("Delta Air Lines", "DELTA AIR LINES", "DL 006", 7, "travel", 420, 0.6, 0.5, "na latam"),
    _S("Lufthansa", "LUFTHANSA", "LH 220", 7, "travel", 380, 0.6, 0.5, "eu mena africa"),
    _S("Qantas", "QANTAS AIRWAYS", "QF 081", 7, "travel", 400, 0.6, 0.5, "apac"),
    _S("Marriott", "MARRIOTT HOTEL {n}", None, 0, "travel", 230, 0.45, 0.8),
    _S("Airbnb", "AIRBNB", "AIRBNB * HM", 8, "travel", 310, 0.55, 0.6),
    _S("Booking.com", "BOOKING.COM HOTEL", "BKG*HOTEL AT ", 6, "travel", 190, 0.5, 0.6),
    _S("Hertz", "HERTZ RENT A CAR {n}", None, 0, "travel", 160, 0.4, 0.4, "na eu apac"),
    _S("Shell", "SHELL {n}", None, 0, "travel", 55, 0.35, 1.2),
    _S("Amazon", "AMAZON.COM", "AMZN Mktp *", 5, "office_supplies", 45, 0.8, 2.5),
    _S("Staples", "STAPLES {n}", None, 0, "office_supplies", 38, 0.6, 1, "na"),
    _S("Office Depot", "OFFICE DEPOT {n}", "ODP*", 6, "office_supplies", 60, 0.6, 0.8, "na"),
    _S("Viking Direct", "VIKING DIRECT", None, 0, "office_supplies", 55, 0.6, 0.8, "eu"),
    _S("IKEA", "IKEA {n}", None, 0, "office_supplies", 140, 0.7, 0.5),
    _S("FedEx", "FEDEX {n}", None, 0, "office_supplies", 35, 0.6, 0.6),
    _S("Apple", "APPLE.COM/BILL", None, 0, "software", 15, 0.9, 1),
    _S("Canva", "CANVA", "CANVA* ", 8, "software", 13, 0.3, 0.5),
    _S("Udemy", "UDEMY", "PAYPAL *UDEMY ", 5, "software", 25, 0.5, 0.4),
    _S("Vistaprint", "VISTAPRINT", "VPR*", 8, "marketing", 80, 0.6, 0.4),
)
# Monthly card charges; sigma 0 means a fixed price, otherwise usage-based.
_SUBSCRIPTIONS = (
    _S("Slack Technologies", "SLACK TECHNOLOGIES", "SLACK T", 8, "software", 8.75, 0, 1,
       per_seat=True),
    _S("Notion Labs", "NOTION LABS INC", None, 0, "software", 10, 0, 1, per_seat=True),
    _S("GitHub", "GITHUB INC", None, 0, "software", 4, 0, 1, per_seat=True),
    _S("Figma", "FIGMA", None, 0, "software", 15, 0, 1, per_seat=True),
    _S("Zoom Video Communications", "ZOOM.US", None, 0, "software", 16, 0, 1),
    _S("Google Workspace", "GOOGLE WORKSPACE", "GOOGLE *GSUITE_", 6, "software", 7.2, 0, 1,
       per_seat=True),
    _S("Microsoft 365", "MICROSOFT 365", "MSFT *E0", 7, "software", 12.5, 0, 1, per_seat=True),
    _S("Adobe", "ADOBE CREATIVE CLOUD", "ADOBE *ACROPRO SUBS", 0, "software", 60, 0, 1),
    _S("Dropbox", "DROPBOX", "DROPBOX*", 6, "software", 15, 0, 1, per_seat=True),
    _S("1Password", "1PASSWORD", "AGILEBITS INC", 0, "software", 8, 0, 1, per_seat=True),
    _S("QuickBooks", "QUICKBOOKS ONLINE", "INTUIT *QBOOKS ONLINE", 0, "software", 35, 0, 1),
    _S("Amazon Web Services", "AMAZON WEB SERVICES", "AWS EMEA", 0, "cloud_hosting", 420, 0.35, 1),
    _S("Google Cloud", "GOOGLE CLOUD", "GOOGLE *CLOUD ", 6, "cloud_hosting", 260, 0.35, 1),
    _S("DigitalOcean", "DIGITALOCEAN.COM", None, 0, "cloud_hosting", 60, 0.25, 1),
    _S("Vercel", "VERCEL INC", None, 0, "cloud_hosting", 40, 0.3, 1),
    _S("Hetzner Online", "HETZNER ONLINE GMBH", None, 0, "cloud_hosting", 45, 0.2, 1, "eu"),
    _S("Google Ads", "GOOGLE ADS", "GOOGLE *ADS", 10, "marketing", 600, 0.5, 1),
    _S("Meta Platforms", "META PLATFORMS", "FACEBK *", 10, "marketing", 450, 0.5, 1),
    _S("LinkedIn", "LINKEDIN", "LNKD*ADS ", 8, "marketing", 380, 0.45, 1),
    _S("HubSpot", "HUBSPOT", None, 0, "marketing", 90, 0, 1),
    _S("Metro Power & Light", "METRO POWER LIGHT", None, 0, "utilities", 180, 0.2, 1),
    _S("FiberLink Internet", "FIBERLINK INTERNET", "FBL*", 8, "utilities", 75, 0, 1),
    _S("Vodafone", "VODAFONE", "VF DD ", 8, "utilities", 30, 0, 1, "eu apac africa mena",
       per_seat=True),
    _S("Verizon Wireless", "VERIZON WIRELESS", "VZWRLSS*MY VZ VB P", 0, "utilities", 35, 0, 1,
       "na latam", per_seat=True),
    _S("Hiscox", "HISCOX INSURANCE", None, 0, "insurance", 95, 0, 1),
)
# Neighbourhood businesses, named per team; small ones take cards through a terminal provider
# whose prefix and truncation make the bank label drift from the receipt.
_LOCAL = (
    ("Cafe {s}", "meals", 7.0, 0.35, 2.5),
    ("Trattoria {s}", "meals", 38.0, 0.4, 1.2),
    ("{s} Bakery", "meals", 9.0, 0.35, 1.5),
    ("{s} Print & Copy", "office_supplies", 30.0, 0.6, 0.4),
    ("{s} Hardware", "office_supplies", 45.0, 0.6, 0.4),
    ("{s} Taxi", "travel", 25.0, 0.5, 0.8),
)
# fmt: on
_TERMINALS = ("SQ *", "SUMUP *", "ZTL*", "TST* ", "IZ *")
_PROCESSORS = (("STRIPE", 0.029, 0.30), ("PAYPAL", 0.0349, 0.49), ("SQUARE", 0.026, 0.15))
_CARD_PREFIXES = ("", "POS ", "CARD PURCHASE ", "VISA DEBIT ", "DEBIT CARD ", "MC ")
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"

# Weekday weights of card spend (Mon..Sun): offices buy on weekdays.
_WEEKDAY_WEIGHT = (1.0, 1.05, 1.05, 1.1, 1.2, 0.45, 0.3)

# Receipt cases for card expenses, as cumulative probabilities; the rest of [0, 1) is "exact".
_DOC_CASE_P = {
    "date_offset": 0.13,
    "name_variant": 0.10,
    "vat": 0.07,
    "rounding": 0.05,
    "fee": 0.05,
    "fx": 0.07,
    "duplicate": 0.03,
}
_DOC_CASE_CUM = tuple(zip(_DOC_CASE_P, accumulate(_DOC_CASE_P.values()), strict=True))

# Customer payment habits: cumulative probabilities over invoice outcomes. Per customer, not per
# invoice, because the same customers are always late, always pay by card, always batch.
_OUTCOMES = ("exact", "late", "partial", "combined", "fee", "unpaid")
_HABITS = (
    (0.50, (0.80, 0.08, 0.02, 0.0, 0.04, 0.06)),  # punctual
    (0.20, (0.25, 0.55, 0.08, 0.0, 0.0, 0.12)),  # late payer
    (0.12, (0.0, 0.10, 0.0, 0.0, 0.80, 0.10)),  # pays by card or wire net of fees
    (0.10, (0.0, 0.05, 0.0, 0.85, 0.0, 0.10)),  # pays several invoices at once
    (0.08, (0.20, 0.0, 0.60, 0.0, 0.0, 0.20)),  # pays in instalments
)


def _ascii(text: str) -> str:
    """Bank labels are ASCII: strip accents, and spell umlauts the way German banks do."""
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = text.replace("Ä", "AE").replace("Ö", "OE").replace("Ü", "UE")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _text(minor: int, digits: int) -> str:
    """Integer minor units as the plain decimal string a bank sends ("-42.50", "-1200")."""
    if not digits:
        return str(minor)
    s = str(abs(minor)).rjust(digits + 1, "0")
    return f"{'-' if minor < 0 else ''}{s[:-digits]}.{s[-digits:]}"


def _dec(minor: int, digits: int) -> Decimal:
    return Decimal(minor).scaleb(-digits)


@dataclass(frozen=True)
class _Calendar:
    """Per-day facts of the history window, computed once and shared by every team."""

    days: tuple[date, ...]
    weekday: tuple[int, ...]
    iso: tuple[str, ...]
    compact: tuple[str, ...]
    years: tuple[int, ...]
    card_weight: tuple[float, ...]
    months: tuple[tuple[int, int], ...]

    @classmethod
    def build(cls, end: date, weeks: int) -> _Calendar:
        start = end - timedelta(days=7 * weeks - 1)
        days = tuple(start + timedelta(days=i) for i in range(7 * weeks))
        iso = tuple(d.isoformat() for d in days)
        months = tuple(dict.fromkeys((d.year, d.month) for d in days))

        def weight(d: date) -> float:
            # Offices go quiet between Christmas and New Year.
            holiday = (d.month == 12 and d.day >= 24) or (d.month == 1 and d.day == 1)
            return _WEEKDAY_WEIGHT[d.weekday()] * (0.3 if holiday else 1.0)

        return cls(
            days=days,
            weekday=tuple(d.weekday() for d in days),
            iso=iso,
            compact=tuple(s.replace("-", "") for s in iso),
            years=tuple(d.year for d in days),
            card_weight=tuple(weight(d) for d in days),
            months=months,
        )

    def index(self, year: int, month: int, day: int) -> int:
        return (date(year, month, day) - self.days[0]).days


class _Merchant:
    """A merchant as one team sees it: store number fixed, amount distribution in minor units."""

    __slots__ = (
        "vendor", "desc", "alias", "code", "category", "mu", "sigma", "slug", "cp", "alias_cp"
    )  # fmt: skip

    def __init__(
        self, spec: _Spec, store: int, unit: float, seats: int, prefix: str, counterparty: bool
    ) -> None:
        self.vendor = spec.vendor
        label = spec.descriptor.replace("{n}", str(store))
        self.desc = prefix + label
        self.alias = None if spec.alias is None else prefix + spec.alias
        self.code = spec.code
        self.category = spec.category
        self.mu = math.log(spec.usd * unit * (seats if spec.per_seat else 1))
        self.sigma = spec.sigma
        self.slug = "".join(ch for ch in spec.vendor.lower() if ch.isalnum()) or "receipt"
        self.cp = spec.descriptor.replace("{n}", "").strip() if counterparty else None
        # Under an alias the bank's counterparty is the alias too, not the clean name.
        self.alias_cp = spec.alias.strip(" *") if counterparty and spec.alias else None


class _Customer:
    __slots__ = ("external_id", "payers", "habit", "amount", "recurrence", "dom", "rate")

    def __init__(self, external_id: str, payers: tuple[str, ...], habit: tuple[float, ...]):
        self.external_id = external_id
        self.payers = payers
        self.habit = habit
        self.amount = 0
        self.recurrence: str | None = None
        self.dom = 1
        self.rate = 0.0


class _TeamSim:
    """Generates one SIMULATED team; all randomness comes from the team's own RNG."""

    def __init__(self, k: int, seed: int, cal: _Calendar) -> None:
        self.k = k
        self.rng = random.Random(f"bg-agents-sim:{seed}:{k}")
        self.cal = cal
        self.n = len(cal.days)
        self.region = _REGIONS[k % len(_REGIONS)]
        self.currency = self.region.currency
        self.digits = _DIGITS[self.currency]
        self.step = _STEP[self.currency]
        self.unit = _PRICE_LEVEL[self.currency] * 10**self.digits
        self.feed: list[Row] = []
        self.docs: list[Row] = []
        # (record kind, document row or invoice number, feed row, case, allocated amount)
        self.truth: list[tuple[str, Any, Row, str, Decimal | None]] = []

    # -- team, people, catalogs ----------------------------------------------------------------

    def run(self, world: World) -> None:
        rng = self.rng
        w1, w2 = rng.choice(_TEAM_WORDS[0]), rng.choice(_TEAM_WORDS[1])
        self.slug = f"t{self.k + 1:04d}-{w1.lower()}-{w2.lower()}"
        self.label = f"t{self.k + 1:04d}"
        # Team size drives volume; the mean of 1.0 keeps the average near 19 bank rows a week.
        self.scale = rng.uniform(0.45, 1.55)
        self.seats = max(1, round(self.scale * rng.uniform(3, 6)))
        self.receipt_rate = rng.uniform(0.45, 0.75)
        self.no_category = rng.uniform(0.0, 0.3)
        world.teams.append(
            {
                "slug": self.slug,
                "name": f"{w1} {w2} {rng.choice(self.region.legal)}",
                "time_zone": self.region.zone,
                "base_currency": self.currency,
                "locale": self.region.locale,
            }
        )
        self._users(world)
        self._catalog()
        self._card_spend()
        self._fixed_costs()
        self._other_income()
        self._decoy_receipts()
        self._customers_and_invoices(world)
        self._finish(world)

    def _users(self, world: World) -> None:
        rng = self.rng
        firsts, lasts = _NAMES[self.region.names]
        seen: set[str] = set()
        for i in range(rng.choices((1, 2, 3, 4, 5), (3, 3, 2, 1, 1))[0]):
            first, last = rng.choice(firsts), rng.choice(lasts)
            local = _ascii(f"{first}.{last}").lower().replace(" ", "")
            email = f"{local}@{self.slug}.example"
            if email in seen:
                email = f"{local}{i + 1}@{self.slug}.example"
            seen.add(email)
            # A third work elsewhere; the team's zone is their default, so None is common.
            zone = rng.choice(_REGIONS).zone if rng.random() < 0.35 else None
            world.users.append(
                {
                    "team_slug": self.slug,
                    "email": email,
                    "name": f"{first} {last}",
                    "time_zone": zone if zone != self.region.zone else None,
                    "notification_prefs": {
                        "in_app": True,
                        "email": rng.random() < 0.8,
                        "weekly_insights": rng.random() < 0.9,
                        "muted": ["transactions_synced"] if rng.random() < 0.2 else [],
                    },
                }
            )

    def _catalog(self) -> None:
        rng, region = self.rng, self.region
        prefix = rng.choice(_CARD_PREFIXES)
        if prefix in ("VISA DEBIT ", "MC "):
            prefix = f"{prefix}{rng.randrange(1000, 10000)} "
        self.card_prefix = prefix
        self.counterparty = rng.random() < 0.6  # whether this bank sends a counterparty at all

        def eligible(specs: tuple[_Spec, ...]) -> list[_Spec]:
            return [s for s in specs if s.markets == "*" or region.market in s.markets.split()]

        def merchant(spec: _Spec) -> _Merchant:
            store = rng.randrange(100, 9999)
            return _Merchant(spec, store, self.unit, self.seats, prefix, self.counterparty)

        card = eligible(_CARD)
        chosen = rng.sample(card, k=min(len(card), rng.randint(12, 20)))
        merchants = [merchant(s) for s in chosen]
        weights = [s.weight * rng.uniform(0.5, 1.5) for s in chosen]
        lasts = _NAMES[region.names][1]
        for template, category, usd, sigma, weight in rng.sample(_LOCAL, k=rng.randint(2, 4)):
            vendor = template.replace("{s}", rng.choice(lasts))
            label = _ascii(vendor).upper().replace("&", "AND")
            alias = rng.choice(_TERMINALS) + label[:12] if rng.random() < 0.6 else None
            spec = _Spec(vendor, label, alias, 0, category, usd, sigma, weight)
            merchants.append(merchant(spec))
            weights.append(weight * rng.uniform(0.5, 1.5))
        self.merchants = merchants
        self.merchant_cum = list(accumulate(weights))

        subs = eligible(_SUBSCRIPTIONS)
        by_cat: dict[str, list[_Spec]] = {}
        for s in subs:
            by_cat.setdefault(s.category, []).append(s)
        picks = {"software": (3, 7), "cloud_hosting": (1, 2), "marketing": (0, 2),
                 "utilities": (1, 3), "insurance": (0, 1)}  # fmt: skip
        self.subscriptions = []
        for cat, (lo, hi) in picks.items():
            pool = by_cat.get(cat, [])
            for spec in rng.sample(pool, k=min(len(pool), rng.randint(lo, hi))):
                self.subscriptions.append((merchant(spec), rng.randint(1, 28)))

        # Foreign currencies this team's cards meet abroad or on foreign SaaS bills.
        foreign = [c for c in ("USD", "EUR", "GBP", "JPY", "CAD") if c != self.currency]
        self.fx = foreign[:3]
        self.fx_cum = list(accumulate((5, 3, 1)[: len(self.fx)]))
        # Base minor units per foreign minor unit, at the mid-market rate.
        self.fx_factor = {
            c: _FX_PER_USD[self.currency] / _FX_PER_USD[c] * 10 ** (self.digits - _DIGITS[c])
            for c in self.fx
        }

    # -- feed, documents, truth ------------------------------------------------------------------

    def _row(
        self,
        di: int,
        minor: int,
        description: str,
        counterparty: str | None,
        category: str | None,
        reference: str | None = None,
    ) -> Row:
        if category is not None and self.rng.random() < self.no_category:
            category = None  # left for enrichment to fill, as many banks do
        row = {
            "team_slug": self.slug,
            "external_id": "",
            "value_date": self.cal.days[di],
            "amount": _text(minor, self.digits),
            "currency": self.currency,
            "base_amount": None,
            "description": description,
            "counterparty": counterparty,
            "reference": reference,
            "category": category,
        }
        self.feed.append(row)
        return row

    def _doc(
        self,
        di: int,
        vendor: str,
        slug: str,
        minor: int,
        currency: str | None = None,
        base_minor: int | None = None,
    ) -> Row:
        rng, cal = self.rng, self.cal
        if currency is None:
            currency, digits = self.currency, self.digits
            amount = _dec(minor, digits)
            base = amount
        else:
            digits = _DIGITS[currency]
            amount = _dec(minor, digits)
            base = None if base_minor is None else _dec(base_minor, self.digits)
        u = rng.random()
        if u < 0.35:
            file_name = f"{slug}_{cal.compact[di]}.pdf"
        elif u < 0.6:
            file_name = f"IMG_{rng.randrange(1000, 10000)}.jpg"
        elif u < 0.75:
            file_name = f"Receipt-{cal.iso[di]}.pdf"
        elif u < 0.9:
            file_name = f"scan_{rng.randrange(1, 10000):04d}.pdf"
        else:
            file_name = f"{slug}-invoice-{rng.randrange(10000, 100000)}.pdf"
        doc = {
            "team_slug": self.slug,
            "external_id": "",
            "kind": "receipt",
            "vendor": vendor,
            "amount": amount,
            "currency": currency,
            "base_amount": base,
            "document_date": cal.days[di],
            "file_name": file_name,
        }
        self.docs.append(doc)
        return doc

    def _code(self, n: int) -> str:
        return "".join(self.rng.choices(_ALNUM, k=n)) if n else ""

    def _on(self, year: int, month: int, day: int, business: bool = True) -> int:
        """Day index of a monthly event, moved to a business day; -1 outside the history."""
        di = self.cal.index(year, month, day)
        if not 0 <= di < self.n:
            return -1
        return self._bday(di) if business else di

    def _bday(self, di: int) -> int:
        """The first business day on or after ``di``, or -1 when that is past the history."""
        wd = self.cal.weekday
        while di < self.n and wd[di] >= 5:
            di += 1
        return di if di < self.n else -1

    def _draw(self, m: _Merchant) -> int:
        minor = int(math.exp(m.mu + m.sigma * self.rng.gauss(0.0, 1.0)))
        return max(self.step, minor - minor % self.step)

    # -- expenses ------------------------------------------------------------------------------

    def _card_spend(self) -> None:
        rng, weeks = self.rng, self.n // 7
        growth = rng.uniform(-0.006, 0.012)
        busy = set(rng.sample(range(weeks), k=min(weeks, rng.randint(0, 3))))
        week_mult = [(1 + growth) ** w * (1.7 if w in busy else 1.0) for w in range(weeks)]
        cw = self.cal.card_weight
        cum = list(accumulate(cw[i] * week_mult[i // 7] for i in range(self.n)))
        mean = 11.0 * self.scale * sum(week_mult)
        count = max(0, round(rng.gauss(mean, math.sqrt(mean))))
        days = sorted(rng.choices(range(self.n), cum_weights=cum, k=count))
        merchants = rng.choices(self.merchants, cum_weights=self.merchant_cum, k=count)
        card = self._card
        for di, m in zip(days, merchants, strict=True):
            card(di, m, self._draw(m))
        for m, dom in self.subscriptions:
            for year, month in self.cal.months:
                di = self._on(year, month, dom, business=False)
                if di >= 0:
                    card(di, m, self._draw(m))

    def _card(self, di: int, m: _Merchant, minor: int) -> None:
        """One card expense of ``minor`` units, with its receipt and hard case, if any."""
        rng = self.rng
        if rng.random() >= self.receipt_rate:
            if m.alias is not None and rng.random() < 0.3:
                self._row(di, -minor, m.alias + self._code(m.code), m.alias_cp, m.category)
            elif rng.random() < 0.02:
                self._unconverted(di, m, minor)
            else:
                self._row(di, -minor, m.desc, m.cp, m.category)
            return
        u = rng.random()
        case = "exact"
        for name, p in _DOC_CASE_CUM:
            if u < p:
                case = name
                break
        if case == "exact" or (case == "name_variant" and m.alias is None):
            row = self._row(di, -minor, m.desc, m.cp, m.category)
            doc = self._doc(di, m.vendor, m.slug, minor)
            case = "exact"
        elif case == "date_offset":
            row = self._row(di, -minor, m.desc, m.cp, m.category)
            off = rng.randint(1, 4)
            # Receipts mostly predate the booking (card rows post late), sometimes follow it.
            order = (-off, off) if rng.random() < 0.8 else (off, -off)
            rdi = next(di + d for d in (*order, -1, 1) if 0 <= di + d < self.n)
            doc = self._doc(rdi, m.vendor, m.slug, minor)
        elif case == "name_variant":
            assert m.alias is not None
            row = self._row(di, -minor, m.alias + self._code(m.code), m.alias_cp, m.category)
            doc = self._doc(di, m.vendor, m.slug, minor)
        elif case == "vat":
            rate = rng.choice(self.region.vat)
            row = self._row(di, -minor, m.desc, m.cp, m.category)
            doc = self._doc(di, m.vendor, m.slug, max(1, round(minor / (1 + rate))))
        elif case == "rounding":
            row = self._row(di, -minor, m.desc, m.cp, m.category)
            doc = self._doc(di, m.vendor, m.slug, minor + rng.choice((-1, 1)) if minor > 1 else 2)
        elif case == "fee":
            # Card surcharge or foreign-transaction fee: the bank takes a little more.
            pct = rng.choice((0.01, 0.015, 0.02, 0.03))
            fee = max(self.step, round(minor * pct) // self.step * self.step)
            row = self._row(di, -(minor + fee), m.desc, m.cp, m.category)
            doc = self._doc(di, m.vendor, m.slug, minor)
        elif case == "fx":
            row, doc = self._fx(di, m, minor)
        else:  # duplicate: two identical charges, each with its own receipt
            row = self._row(di, -minor, m.desc, m.cp, m.category)
            doc = self._doc(di, m.vendor, m.slug, minor)
            twin = self._row(di, -minor, m.desc, m.cp, m.category)
            twin_doc = self._doc(di, m.vendor, m.slug, minor)
            self.truth.append(("document", twin_doc, twin, case, None))
        self.truth.append(("document", doc, row, case, None))

    def _fx(self, di: int, m: _Merchant, minor: int) -> tuple[Row, Row]:
        """A purchase in a foreign currency, converted by the card at a marked-up rate."""
        rng = self.rng
        cur = rng.choices(self.fx, cum_weights=self.fx_cum)[0]
        fdig, factor = _DIGITS[cur], self.fx_factor[cur]
        foreign = max(1, round(minor / factor))
        mid = max(self.step, round(foreign * factor * (1 + rng.gauss(0.0, 0.004))))
        charged = round(mid * (1 + rng.choice((0.0, 0.01, 0.0175, 0.0275, 0.03))))
        text = _text(foreign, fdig)
        if rng.random() < 0.75:
            row = self._row(di, -charged, f"{m.desc} {cur} {text}", m.cp, m.category)
        else:  # a multi-currency account books the foreign amount and reports the base one
            row = self._row(di, -foreign, m.desc, m.cp, m.category)
            row["amount"] = _text(-foreign, fdig)
            row["currency"] = cur
        row["base_amount"] = _text(-charged, self.digits)
        return row, self._doc(di, m.vendor, m.slug, foreign, cur, mid)

    def _unconverted(self, di: int, m: _Merchant, minor: int) -> None:
        """A foreign-currency row the bank sends without a base amount (metrics must cope)."""
        cur = self.fx[0]
        foreign = max(1, round(minor / self.fx_factor[cur]))
        row = self._row(di, -foreign, m.desc, m.cp, m.category)
        row["amount"] = _text(-foreign, _DIGITS[cur])
        row["currency"] = cur

    def _fixed_costs(self) -> None:
        rng, cal, region = self.rng, self.cal, self.region
        lasts = _NAMES[region.names][1]
        landlord = f"{_ascii(rng.choice(lasts)).upper()} PROPERTIES"
        rent = self._nice(rng.uniform(2500, 9000) * self.scale)
        fortnight = self._nice(self.seats * rng.uniform(1200, 2200))
        payroll = fortnight if region.biweekly_payroll else 2 * fortnight
        for year, month in cal.months:
            if (di := self._on(year, month, 1)) >= 0:
                self._row(di, -rent, f"STANDING ORDER {landlord} RENT", landlord, "rent")
            if (di := self._on(year, month, 28)) >= 0:
                fee = self._nice(rng.uniform(8, 30), 1)
                self._row(di, -fee, "ACCOUNT MAINTENANCE FEE", None, "bank_fees")
            if not region.biweekly_payroll and (di := self._on(year, month, 25)) >= 0:
                self._payroll(di, payroll)
            if month in (1, 4, 7, 10) and (di := self._on(year, month, 20)) >= 0:
                # A quarter's tax bill, sized against a quarter's (six fortnights') payroll.
                tax = round(fortnight * 6 * rng.uniform(0.05, 0.12))
                tax = max(self.step, tax - tax % self.step)
                payee = region.tax_payee
                self._row(di, -tax, f"{payee} {self._code(8)}", payee, "taxes")
        if region.biweekly_payroll:
            # Every other Friday, from a team-specific phase.
            di = 4 + 7 * rng.randint(0, 1)
            while di < self.n:
                self._payroll(di, payroll)
                di += 14

    def _payroll(self, di: int, net: int) -> None:
        net = max(self.step, round(net * self.rng.uniform(0.97, 1.03)) // self.step * self.step)
        name = self.region.payroll
        self._row(di, -net, f"{name} {self._code(6)}", name.split()[0], "payroll")
        tax = max(self.step, round(net * 0.28) // self.step * self.step)
        self._row(di, -tax, f"{name} TAX {self._code(6)}", name.split()[0], "payroll")

    def _nice(self, usd: float, round_to: float = 10) -> int:
        """A round local amount (rent, salaries, invoice totals) in minor units."""
        major = usd * _PRICE_LEVEL[self.currency]
        unit = round_to * 10 ** max(0, round(math.log10(_PRICE_LEVEL[self.currency])))
        return max(1, round(major / unit)) * round(unit * 10**self.digits)

    # -- income --------------------------------------------------------------------------------

    def _other_income(self) -> None:
        rng = self.rng
        if rng.random() < 0.35:  # sells online: card payouts on business days
            proc = rng.choice(_PROCESSORS)[0]
            mu = math.log(rng.uniform(150, 1500) * self.scale * self.unit)
            per_week = rng.uniform(1.0, 3.0)
            for di in range(self.n):
                if self.cal.weekday[di] < 5 and rng.random() < per_week / 5:
                    minor = int(math.exp(mu + 0.5 * rng.gauss(0.0, 1.0)))
                    minor -= minor % self.step
                    self._row(di, minor, f"{proc} PAYOUT {self._code(10)}", proc, "income")
        if rng.random() < 0.5:
            for year, month in self.cal.months:
                if (di := self._on(year, month, 28, business=False)) >= 0:
                    minor = self._nice(rng.uniform(2, 40), 0.01)
                    self._row(di, minor, "INTEREST PAID", None, "income")
        # Refunds: positive rows with a merchant name and no receipt, a decoy for matching.
        for _ in range(round(self.n / 7 * 0.2 * self.scale)):
            m = rng.choices(self.merchants, cum_weights=self.merchant_cum)[0]
            di = rng.randrange(self.n)
            self._row(di, self._draw(m), f"REFUND {m.desc}", m.cp, m.category)

    def _decoy_receipts(self) -> None:
        """Receipts with no bank row (cash, a personal card): matching must leave them alone."""
        rng = self.rng
        for _ in range(round(len(self.docs) * 0.05)):
            m = rng.choices(self.merchants, cum_weights=self.merchant_cum)[0]
            self._doc(rng.randrange(self.n), m.vendor, m.slug, self._draw(m))

    def _customers_and_invoices(self, world: World) -> None:
        rng, region, cal = self.rng, self.region, self.cal
        customers: list[_Customer] = []
        habits_cum = list(accumulate(h[0] for h in _HABITS))
        for j in range(max(3, round(9 * self.scale * rng.uniform(0.8, 1.2)))):
            home = region if rng.random() < 0.75 else rng.choice(_REGIONS)
            habit = rng.choices(_HABITS, cum_weights=habits_cum)[0][1]
            external_id = f"CUS-{j + 1:04d}"
            if rng.random() < 0.15:  # a private client
                firsts, lasts = _NAMES[home.names]
                first, last = rng.choice(firsts), rng.choice(lasts)
                name = f"{first} {last}"
                up_first, up_last = _ascii(first).upper(), _ascii(last).upper()
                payers = (f"{up_first} {up_last}", f"{up_last} {up_first}",
                          f"{up_first[0]} {up_last}", f"MR/MS {up_first} {up_last}")  # fmt: skip
                company = None
                email = f"{_ascii(first + '.' + last).lower().replace(' ', '')}@mail.example"
            else:
                c1, c2 = rng.choice(_CUSTOMER_WORDS[0]), rng.choice(_CUSTOMER_WORDS[1])
                legal = rng.choice(home.legal)
                name = company = f"{c1} {c2} {legal}"
                up = _ascii(name).upper()
                core = f"{c1} {c2}".upper()
                proc = rng.choice(_PROCESSORS)[0]
                payers = (up, up, core, up[:18].rstrip(), up.replace(".", "").replace(",", ""),
                          f"{proc} *{core[:12]}")  # fmt: skip
                box = rng.choice(("billing", "ap", "accounts", "finance"))
                email = f"{box}@{c1.lower()}{c2.lower()}.example"
            customer = _Customer(external_id, payers, tuple(accumulate(habit)))
            customer.amount = self._nice(math.exp(rng.gauss(math.log(3500), 0.6)) * self.scale)
            if rng.random() < 0.35:
                customer.recurrence = "quarterly" if rng.random() < 0.1 else "monthly"
                customer.dom = rng.choice((1, 1, 1, 15, 28))
            else:
                customer.rate = rng.uniform(0.1, 0.45)  # invoices per week
            customers.append(customer)
            world.customers.append(
                {
                    "team_slug": self.slug,
                    "external_id": external_id,
                    "name": name,
                    "email": email,
                    "company": company,
                    "country": home.country,
                }
            )

        # Draft invoices first, then number them in issue order, as invoicing software does.
        drafts: list[tuple[int, int, int, int]] = []  # (issue day, customer, amount, net days)
        for ci, c in enumerate(customers):
            net = rng.choice((14, 30, 30))
            if c.recurrence is not None:
                for year, month in cal.months:
                    if c.recurrence == "quarterly" and month % 3 != 1:
                        continue
                    if (di := self._on(year, month, c.dom)) >= 0:
                        drafts.append((di, ci, c.amount, net))
            else:
                t = rng.uniform(0, 1 / c.rate)
                while (di := self._bday(int(t * 7))) >= 0:
                    usd = c.amount / _PRICE_LEVEL[self.currency] / 10**self.digits
                    varied = self._nice(usd * rng.lognormvariate(0, 0.35))
                    drafts.append((di, ci, varied, net))
                    t += max(1 / 7, rng.expovariate(c.rate))
        drafts.sort(key=lambda d: (d[0], d[1]))
        taxed = rng.random() < 0.7
        vat = region.vat[0]
        seq: dict[int, int] = {}
        pending: dict[int, list[tuple[str, int, int]]] = {}  # customer -> combined invoices
        group_size = rng.choice((2, 2, 3))
        for di, ci, net_amount, net_days in drafts:
            c = customers[ci]
            year = cal.years[di]
            seq[year] = seq.get(year, 0) + 1
            number = f"{region.invoice_prefix}-{year}-{seq[year]:04d}"
            amount = round(net_amount * (1 + vat)) // self.step * self.step if taxed else net_amount
            void = rng.random() < 0.02
            world.invoices.append(
                {
                    "team_slug": self.slug,
                    "customer_external_id": c.external_id,
                    "number": number,
                    "amount": _dec(amount, self.digits),
                    "currency": self.currency,
                    "issue_date": cal.days[di],
                    "due_date": cal.days[di] + timedelta(days=net_days),
                    "status": "void" if void else "open",
                    "recurrence": c.recurrence,
                }
            )
            if void:
                continue
            u = rng.random()
            outcome = next((o for o, p in zip(_OUTCOMES, c.habit, strict=True) if u < p), "unpaid")
            due = di + net_days
            if outcome == "exact":
                self._pay(self._bday(di + rng.randint(2, net_days)), amount, c, [number], "exact")
            elif outcome == "late":
                self._pay(self._bday(due + rng.randint(3, 45)), amount, c, [number], "late")
            elif outcome == "fee":
                self._pay_net_of_fee(self._bday(di + rng.randint(2, net_days)), amount, c, number)
            elif outcome == "partial":
                first = round(amount * rng.choice((0.3, 0.4, 0.5, 0.6))) // self.step * self.step
                pay1 = self._bday(di + rng.randint(3, net_days))
                self._pay(pay1, first, c, [number], "partial", first)
                if pay1 >= 0:
                    pay2 = self._bday(pay1 + rng.randint(10, 35))
                    self._pay(pay2, amount - first, c, [number], "partial", amount - first)
            elif outcome == "combined":
                group = pending.setdefault(ci, [])
                group.append((number, amount, di))
                if len(group) >= group_size:
                    self._pay_combined(group, c)
                    pending[ci] = []
        for ci, group in pending.items():
            # A lone leftover is simply paid on its own; several still pay together.
            if len(group) == 1:
                number, amount, di = group[0]
                self._pay(self._bday(di + rng.randint(5, 30)), amount, customers[ci], [number],
                          "exact")  # fmt: skip
            elif group:
                self._pay_combined(group, customers[ci])

    def _describe(self, c: _Customer, numbers: list[str]) -> tuple[str, str, str | None]:
        """Bank description, payer name and reference of an incoming transfer."""
        rng = self.rng
        payer = rng.choice(c.payers)
        rail = rng.choice(self.region.rails)
        reference = None
        if rng.random() < 0.55:
            u = rng.random()
            if u < 0.6:
                refs = " ".join(numbers)
            elif u < 0.85:
                refs = " ".join(n.replace("-", "") for n in numbers)
            else:
                refs = " ".join(n.lower() for n in numbers)
            description = f"{rail} {payer} {refs}"
            if rng.random() < 0.5:
                reference = refs
        else:
            description = f"{rail} {payer}"
            if rng.random() < 0.3:
                reference = f"E2E{self._code(12)}"
        return description, payer, reference

    def _pay(
        self,
        di: int,
        minor: int,
        c: _Customer,
        numbers: list[str],
        case: str,
        allocated: int | None = None,
    ) -> None:
        if di < 0 or minor <= 0:
            return  # paid after the history ends: still open today
        description, payer, reference = self._describe(c, numbers)
        row = self._row(di, minor, description, payer, "income", reference)
        share = None if allocated is None else _dec(allocated, self.digits)
        for number in numbers:
            self.truth.append(("invoice", number, row, case, share))

    def _pay_net_of_fee(self, di: int, minor: int, c: _Customer, number: str) -> None:
        if di < 0:
            return
        rng = self.rng
        proc, pct, fixed = rng.choice(_PROCESSORS)
        if rng.random() < 0.5:
            fee = round(minor * pct + fixed * self.unit)
        else:  # an intermediary bank's wire charge
            fee = round(rng.uniform(10, 35) * self.unit)
        fee = max(self.step, fee - fee % self.step)
        description, payer, reference = self._describe(c, [number])
        if rng.random() < 0.5:
            description, payer = f"{proc} TRANSFER {payer}", proc
        row = self._row(di, minor - fee, description, payer, "income", reference)
        self.truth.append(("invoice", number, row, "fee", None))

    def _pay_combined(self, group: list[tuple[str, int, int]], c: _Customer) -> None:
        di = self._bday(max(d for _, _, d in group) + self.rng.randint(5, 25))
        if di < 0:
            return
        numbers = [number for number, _, _ in group]
        description, payer, reference = self._describe(c, numbers)
        row = self._row(di, sum(a for _, a, _ in group), description, payer, "income", reference)
        for number, amount, _ in group:
            self.truth.append(("invoice", number, row, "combined", _dec(amount, self.digits)))

    # -- ids, malformed rows, output -----------------------------------------------------------

    def _finish(self, world: World) -> None:
        rng = self.rng
        feed = sorted(self.feed, key=lambda r: r["value_date"])
        # Team 0 always gets one, so even a tiny demo shows quarantine at work.
        n = len(feed)
        if self.k == 0 and n:
            first = rng.randrange(min(n, MALFORMED_EVERY))
        else:
            first = rng.randrange(MALFORMED_EVERY)
        for pos in reversed(range(first, n, MALFORMED_EVERY)):
            feed.insert(pos + 1, self._malformed(feed[pos]["value_date"]))
        for i, row in enumerate(feed):
            row["external_id"] = f"{self.label}-tx{i + 1:06d}"
        self.docs.sort(key=lambda d: d["document_date"])
        for i, doc in enumerate(self.docs):
            doc["external_id"] = f"{self.label}-rc{i + 1:06d}"
        world.bank_feed.extend(feed)
        world.documents.extend(self.docs)
        world.ground_truth.extend(
            {
                "team_slug": self.slug,
                "record_kind": kind,
                "record_external_id": record if kind == "invoice" else record["external_id"],
                "transaction_ref": row["external_id"],
                "case": case,
                "allocated_amount": allocated,
            }
            for kind, record, row, case, allocated in self.truth
        )

    def _malformed(self, day: date) -> Row:
        """A row garbled the way bank exports get: a mangled amount or an unknown currency."""
        rng = self.rng
        m = rng.choices(self.merchants, cum_weights=self.merchant_cum)[0]
        amount, currency = _text(-self._draw(m), self.digits), self.currency
        if rng.random() < 0.6:
            amount = rng.choice(MALFORMED_AMOUNTS)
        else:
            currency = rng.choice(MALFORMED_CURRENCIES)
        return {
            "team_slug": self.slug,
            "external_id": "",
            "value_date": day,
            "amount": amount,
            "currency": currency,
            "base_amount": None,
            "description": m.desc,
            "counterparty": m.cp,
            "reference": None,
            "category": m.category,
        }
