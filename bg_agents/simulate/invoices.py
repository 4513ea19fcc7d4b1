"""A SIMULATED team's customers, their invoices and how each invoice gets paid.

Invoices are paid on time, late, in parts, several at once or net of a processor fee, following
each customer's habit; the incoming transfer names the payer as banks print it and sometimes the
invoice numbers. ``self.truth`` records which bank row pays which invoice, and with what share.

A recurring customer's first invoice in the history is its series' template (``recurrence``
set); the later ones are the template's occurrences (``template_number``, which the store turns
into ``template_id``). Both carry ``period_start``, the series' scheduled date (the customer's day
of month), which the issue date may pass when that day was a weekend. Some series have a
SIMULATED end (a count or a date) that the history does not reach past.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from itertools import accumulate

from bg_agents.simulate.base import Row, _ascii, _Customer, _dec, _TeamBase
from bg_agents.simulate.catalogs import (
    _CUSTOMER_WORDS,
    _HABITS,
    _NAMES,
    _OUTCOMES,
    _PRICE_LEVEL,
    _PROCESSORS,
    _REGIONS,
    _Region,
)

# (issue day, customer, amount, net days, scheduled date of a recurring invoice)
_Draft = tuple[int, int, int, int, date | None]


class _Invoices(_TeamBase):
    """The team's customers, invoices and customer payments."""

    def _customers_and_invoices(self, customer_rows: list[Row], invoice_rows: list[Row]) -> None:
        customers = self._customers(customer_rows)
        drafts = self._draft_invoices(customers)
        self._issue_invoices(customers, drafts, invoice_rows)

    def _customers(self, customer_rows: list[Row]) -> list[_Customer]:
        """The team's customers, each with a home region, a payment habit and a rhythm."""
        rng, region = self.rng, self.region
        customers: list[_Customer] = []
        habits_cum = list(accumulate(h[0] for h in _HABITS))
        for j in range(max(3, round(9 * self.scale * rng.uniform(0.8, 1.2)))):
            home = region if rng.random() < 0.75 else rng.choice(_REGIONS)
            habit = rng.choices(_HABITS, cum_weights=habits_cum)[0][1]
            external_id = f"CUS-{j + 1:04d}"
            name, company, email, payers = self._customer_identity(home)
            customer = _Customer(external_id, payers, tuple(accumulate(habit)))
            customer.amount = self._nice(math.exp(rng.gauss(math.log(3500), 0.6)) * self.scale)
            if rng.random() < 0.35:
                customer.recurrence = "quarterly" if rng.random() < 0.1 else "monthly"
                customer.dom = rng.choice((1, 1, 1, 15, 28))
            else:
                customer.rate = rng.uniform(0.1, 0.45)  # invoices per week
            customers.append(customer)
            customer_rows.append(
                {
                    "team_slug": self.slug,
                    "external_id": external_id,
                    "name": name,
                    "email": email,
                    "company": company,
                    "country": home.country,
                }
            )
        return customers

    def _customer_identity(self, home: _Region) -> tuple[str, str | None, str, tuple[str, ...]]:
        """Name, company, e-mail and the payer names a bank may print, of a customer of ``home``."""
        rng = self.rng
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
        return name, company, email, payers

    def _draft_invoices(self, customers: list[_Customer]) -> list[_Draft]:
        """Every invoice as (issue day, customer, amount, net days, scheduled date), in issue
        order; the scheduled date (before a move to a business day) is None unless recurring."""
        rng, cal = self.rng, self.cal
        # Draft invoices first, then number them in issue order, as invoicing software does.
        drafts: list[_Draft] = []
        for ci, c in enumerate(customers):
            net = rng.choice((14, 30, 30))
            if c.recurrence is not None:
                for year, month in cal.months:
                    if c.recurrence == "quarterly" and month % 3 != 1:
                        continue
                    if (di := self._on(year, month, c.dom)) >= 0:
                        drafts.append((di, ci, c.amount, net, date(year, month, c.dom)))
            else:
                t = rng.uniform(0, 1 / c.rate)
                while (di := self._bday(int(t * 7))) >= 0:
                    usd = c.amount / _PRICE_LEVEL[self.currency] / 10**self.digits
                    varied = self._nice(usd * rng.lognormvariate(0, 0.35))
                    drafts.append((di, ci, varied, net, None))
                    t += max(1 / 7, rng.expovariate(c.rate))
        drafts.sort(key=lambda d: (d[0], d[1]))
        return drafts

    def _issue_invoices(
        self,
        customers: list[_Customer],
        drafts: list[_Draft],
        invoice_rows: list[Row],
    ) -> None:
        """Number, tax and issue the drafts, then pay each as its customer's habit says."""
        rng, region, cal = self.rng, self.region, self.cal
        taxed = rng.random() < 0.7
        vat = region.vat[0]
        seq: dict[int, int] = {}
        pending: dict[int, list[tuple[str, int, int]]] = {}  # customer -> combined invoices
        group_size = rng.choice((2, 2, 3))
        series = self._series_ends(customers, drafts)
        templates: dict[int, str] = {}  # customer -> its series' template number
        for di, ci, net_amount, net_days, scheduled in drafts:
            c = customers[ci]
            year = cal.years[di]
            seq[year] = seq.get(year, 0) + 1
            number = f"{region.invoice_prefix}-{year}-{seq[year]:04d}"
            amount = round(net_amount * (1 + vat)) // self.step * self.step if taxed else net_amount
            void = rng.random() < 0.02
            template = templates.setdefault(ci, number) if scheduled else None
            end, count = series.get(ci, (None, None)) if template == number else (None, None)
            invoice_rows.append(
                {
                    "team_slug": self.slug,
                    "customer_external_id": c.external_id,
                    "number": number,
                    "amount": _dec(amount, self.digits),
                    "currency": self.currency,
                    "issue_date": cal.days[di],
                    "due_date": cal.days[di] + timedelta(days=net_days),
                    "status": "void" if void else "open",
                    "recurrence": c.recurrence if template == number else None,
                    "recurrence_end": end,
                    "recurrence_count": count,
                    "template_number": template if template != number else None,
                    "period_start": scheduled,
                }
            )
            if void:
                continue
            u = rng.random()
            outcome = next((o for o, p in zip(_OUTCOMES, c.habit, strict=True) if u < p), "unpaid")
            if outcome == "combined":
                group = pending.setdefault(ci, [])
                group.append((number, amount, di))
                if len(group) >= group_size:
                    self._pay_combined(group, c)
                    pending[ci] = []
            else:
                self._settle(outcome, di, net_days, amount, c, number)
        self._pay_leftovers(pending, customers)

    def _series_ends(
        self, customers: list[_Customer], drafts: list[_Draft]
    ) -> dict[int, tuple[date | None, int | None]]:
        """A SIMULATED (end date, count) for some recurring customers' series, never before its
        last invoice in the history. Drawn from the customer's own RNG, not the team's, so every
        other draw (and so the rest of the world) stays as it was without them."""
        scheduled: dict[int, list[date]] = {}
        for _, ci, _, _, day in drafts:
            if day is not None:
                scheduled.setdefault(ci, []).append(day)
        ends: dict[int, tuple[date | None, int | None]] = {}
        for ci, days in scheduled.items():
            rng = random.Random(f"{self.slug}:{customers[ci].external_id}:series-end")
            u = rng.random()
            if u < 0.2:  # a contract of a number of invoices, some already complete
                ends[ci] = (None, len(days) + rng.choice((0, 1, 2, 3)))
            elif u < 0.4:  # a contract until a date
                ends[ci] = (days[-1] + timedelta(days=rng.randint(0, 150)), None)
        return ends

    def _settle(
        self, outcome: str, di: int, net_days: int, amount: int, c: _Customer, number: str
    ) -> None:
        """Pay one invoice issued on ``di`` as ``outcome`` says (``unpaid``: never)."""
        rng = self.rng
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

    def _pay_leftovers(
        self, pending: dict[int, list[tuple[str, int, int]]], customers: list[_Customer]
    ) -> None:
        """Combined invoices still waiting for their group when the history ends."""
        rng = self.rng
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
