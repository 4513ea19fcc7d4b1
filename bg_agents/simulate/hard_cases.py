"""SIMULATED card expenses with their receipts: the matching hard cases and their ground truth.

A receipt's amount, date, name or currency differs from its bank row the way real ones do
(docs/architecture.md, the matcher's rules): rounding, VAT, a card fee, a foreign currency, a
booking a few days off, a bank label far from the vendor's name, two identical charges. Receipts
with no bank row at all (cash, a personal card) are decoys. Each pair goes to ``self.truth``.
"""

from __future__ import annotations

from bg_agents.simulate.base import Row, _Merchant, _TeamBase, _text
from bg_agents.simulate.catalogs import _DIGITS, _DOC_CASE_CUM


class _HardCases(_TeamBase):
    """One card expense with its receipt and hard case; receipts with no bank row."""

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

    def _decoy_receipts(self) -> None:
        """Receipts with no bank row (cash, a personal card): matching must leave them alone."""
        rng = self.rng
        for _ in range(round(len(self.docs) * 0.05)):
            m = rng.choices(self.merchants, cum_weights=self.merchant_cum)[0]
            self._doc(rng.randrange(self.n), m.vendor, m.slug, self._draw(m))
