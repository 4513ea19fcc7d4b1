"""SIMULATED world catalogs: regions, currencies, names, merchants and customer habits.

Built once at import and shared by every team (:mod:`~bg_agents.simulate.world`). The tables are
made up but shaped like real finance data; the hard cases they feed are described in
:mod:`~bg_agents.simulate.hard_cases` and :mod:`~bg_agents.simulate.invoices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from babel.numbers import get_currency_precision

# Malformed feed rows: about one in this many, the rate a real bank export shows now and then.
MALFORMED_EVERY = 2000
MALFORMED_AMOUNTS = ("12,34,5", "", "1.234.56", "N/A", "--19.90", "4O.00")
MALFORMED_CURRENCIES = ("US$", "ZZZ", "", "€", "EURO")


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
