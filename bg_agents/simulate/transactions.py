"""A SIMULATED team's bank feed: card spend, fixed costs, other income and malformed rows.

Recurring merchants with weekly seasonality, monthly subscriptions, rent, payroll and taxes,
processor payouts, interest and refunds (a decoy for matching), and a rare malformed row for
quarantine. Card expenses and their receipts are :mod:`~bg_agents.simulate.hard_cases`.
"""

from __future__ import annotations

import math
from datetime import date
from itertools import accumulate

from bg_agents.simulate.base import Row, _ascii, _text
from bg_agents.simulate.catalogs import (
    _NAMES,
    _PROCESSORS,
    MALFORMED_AMOUNTS,
    MALFORMED_CURRENCIES,
)
from bg_agents.simulate.hard_cases import _HardCases


class _Transactions(_HardCases):
    """The team's bank rows other than customer payments."""

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
