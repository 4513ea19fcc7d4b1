"""A SIMULATED team's people and the merchants it buys from.

The team's users (names from its region, ``.example`` e-mail addresses so a demo can never mail a
person, notification preferences) and its catalogue: which card merchants, neighbourhood shops and
monthly subscriptions it uses, how its bank prefixes card rows, which foreign currencies it meets.
"""

from __future__ import annotations

from itertools import accumulate

from bg_agents.simulate.base import Row, _ascii, _Merchant, _TeamBase
from bg_agents.simulate.catalogs import (
    _CARD,
    _CARD_PREFIXES,
    _DIGITS,
    _FX_PER_USD,
    _LOCAL,
    _NAMES,
    _REGIONS,
    _SUBSCRIPTIONS,
    _TERMINALS,
    _Spec,
)


class _People(_TeamBase):
    """The team's users and merchant catalogue."""

    def _users(self, users: list[Row]) -> None:
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
            users.append(
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
