"""The fixed category taxonomy every enriched transaction falls into (or none).

The simulator's bank already uses these names, so a category the bank gave and one the agent
inferred are counted together by weekly metrics, insights and reports. A category outside this
list is refused wherever it comes from (a rule, a person, the model).
"""

from __future__ import annotations

# name -> what belongs there (the model reads these descriptions; people read them in --help).
CATEGORIES: dict[str, str] = {
    "income": "money received: customer payments, payouts from payment processors, interest",
    "payroll": "salaries, wages and payroll providers",
    "rent": "office rent, co-working, leases",
    "taxes": "tax authorities: VAT/GST, income tax, social charges",
    "bank_fees": "bank and card fees, FX fees, account charges",
    "meals": "restaurants, cafes, bars, food delivery (eating out, not groceries)",
    "travel": "flights, trains, taxis and ride-hailing, hotels, car rental, fuel, parking",
    "office_supplies": (
        "stationery, small office purchases, marketplaces, printing, shipping, and supermarkets, "
        "groceries, pharmacies and hardware stores (the office's kitchen and small needs)"
    ),
    "software": "software subscriptions and app stores",
    "cloud_hosting": "cloud, hosting, domains and infrastructure",
    "marketing": "advertising, promotion, marketing tools",
    "utilities": "electricity, gas, water, internet, phone",
    "insurance": "business insurance premiums",
    "professional_services": "accountants, lawyers, consultants, contractors",
    "equipment": "computers, electronics, furniture and other durable purchases",
    "transfers": "moving money between own accounts, card top-ups, ATM withdrawals",
}

# Where a transaction's category came from. ``person``: someone set it on that transaction
# (never overwritten); ``learned``: a person's correction of the same merchant in the team;
# ``rule``: the curated merchant list or a keyword rule; ``model``: the language model above its
# confidence gate; ``none``: nothing knew (the row still records the merchant name).
SOURCES = ("person", "learned", "rule", "model", "none")


def check_category(name: str) -> str:
    """The category if it is in the taxonomy, else ValueError naming the allowed ones."""
    if name not in CATEGORIES:
        raise ValueError(f"unknown category {name!r}; one of: {', '.join(CATEGORIES)}")
    return name
