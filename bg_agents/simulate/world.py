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

This module holds the data model, the entry point and the order of a team's steps; the steps live
beside it, one module per job: :mod:`.catalogs` (regions, merchants, habits), :mod:`.base` (the
calendar and the row/receipt primitives), :mod:`.people` (users and merchant catalogue),
:mod:`.transactions` (the bank feed), :mod:`.hard_cases` (receipts and their hard cases),
:mod:`.invoices` (customers, invoices, payments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bg_agents.simulate.base import Row, _Calendar
from bg_agents.simulate.catalogs import (
    _TEAM_WORDS,
    MALFORMED_AMOUNTS,
    MALFORMED_CURRENCIES,
    MALFORMED_EVERY,
)
from bg_agents.simulate.invoices import _Invoices
from bg_agents.simulate.people import _People
from bg_agents.simulate.transactions import _Transactions

__all__ = [
    "DOCUMENT_CASES",
    "INVOICE_CASES",
    "MALFORMED_AMOUNTS",
    "MALFORMED_CURRENCIES",
    "MALFORMED_EVERY",
    "Row",
    "World",
    "generate_world",
]

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


class _TeamSim(_People, _Transactions, _Invoices):
    """Generates one SIMULATED team; all randomness comes from the team's own RNG.

    The steps run in a fixed order (each draws from the same RNG), so a team is reproducible.
    """

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
        self._users(world.users)
        self._catalog()
        self._card_spend()
        self._fixed_costs()
        self._other_income()
        self._decoy_receipts()
        self._customers_and_invoices(world.customers, world.invoices)
        self._finish(world)

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
