"""The pure core of the weekly insights agent: facts, ranking, sentences, fallback.

The model never computes or compares numbers. Everything here is worked out
in code first: each :class:`Fact` carries its figures and a pre-written sentence that states the
tricky comparisons correctly (a smaller loss *narrowed*, a week after a zero is "no spending the
week before", a change within ±2 % is "about the same"), with numbers formatted for the team's
locale and currency by babel. The model only picks and rephrases; :func:`validate` then checks
every number it wrote against the facts at the precision it displayed, bans puffery and echoed
instructions (validation.py), and :func:`fallback_text` (the pre-written sentences of the most
newsworthy facts) is used when the model's text fails twice, so a team always gets a correct
summary.

The sentences are English; only numbers, currencies and dates follow the team's locale.
Counterparty and category names are user data: they are cleaned (no markup, links, controls or
instruction-like text) before they reach a sentence or the prompt.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from babel import Locale
from babel.dates import format_date
from babel.numbers import (
    NumberPattern,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)

from bg_agents.lib.content_guard import content_problems
from bg_agents.lib.locales import resolve_locale

Unit = Literal["money", "pct", "count"]
Number = Decimal | int | float

FLAT_PCT = Decimal(2)  # |change| <= 2 %: "about the same as"
BIG_PCT = Decimal(20)  # |change| >= 20 %: the most newsworthy
MOVER_SHARE = Decimal("0.05")  # a mover's change must be >= 5 % of the week's total spending
MAX_MOVERS = 3
MAX_LARGEST = 3
BASELINE_WEEKS = 4
MIN_BULLETS, MAX_BULLETS = 3, 5
MAX_WORDS = 200  # the whole text must stay under this
MAX_PLACES = 6  # more decimals than any figure has: never a match (and keeps quantize in range)
NAME_LIMIT = 40  # characters of a counterparty or category name shown to users and the model

# Newsworthiness tiers; within a tier the size of the change adds less than 1.
TIER_BIG = 5  # |change| >= 20 %, a change from or to zero, a profit turning into a loss
TIER_OVERDUE = 4
TIER_TOP_CATEGORY = 3
TIER_OTHER = 2  # moderate changes, largest transactions, receivables
TIER_FLAT = 1  # within ±2 %, all zeros, nothing overdue, transaction counts

# Instructions smuggled in through user data (counterparty names, descriptions) and echoed back.
INJECTION_PATTERNS = (
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}?\b(?:instructions?|prompts?|rules)\b",
    r"\bsystem prompt\b",
    r"\byou are now\b",
    r"\bnew instructions?\b",
    r"\bas an ai\b",
    r"<\|?/?(?:system|im_start|im_end|assistant|user)\b",
    r"\[/?inst\]",
)
INJECTION = re.compile("|".join(INJECTION_PATTERNS), re.IGNORECASE)
_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)

_NAME_DROP = re.compile(r"[^\w\s&.,'’/-]")
_PLACE = Decimal("0.0001")


@dataclass(frozen=True)
class WeekFigures:
    """One team's totals for one ISO week (Monday start), in the base currency."""

    week_start: date
    revenue: Decimal
    expenses: Decimal
    net: Decimal
    transactions: int


@dataclass(frozen=True)
class CategoryFigures:
    """One category's spending; ``change_pct`` is informative, sentences recompute it exactly."""

    category: str
    expenses: Decimal
    previous: Decimal
    change_pct: float | None


@dataclass(frozen=True)
class LargeTransaction:
    booking_date: date
    amount: Decimal  # negative: money out
    counterparty: str  # user data: untrusted


@dataclass(frozen=True)
class InsightInputs:
    team_name: str
    currency: str
    locale: str
    week: WeekFigures
    previous: WeekFigures
    baseline: list[WeekFigures]  # up to 4 weeks before ``previous``
    categories: list[CategoryFigures]
    largest: list[LargeTransaction]
    overdue_amount: Decimal
    overdue_count: int
    receivables: Decimal
    receivables_count: int


@dataclass(frozen=True)
class Figure:
    """A number a fact rests on, with the exact text its sentence shows (if it shows it)."""

    name: str
    value: Number
    unit: Unit
    display: str


@dataclass(frozen=True)
class Fact:
    key: str
    value: Number
    unit: Unit
    sentence: str
    score: float
    figures: tuple[Figure, ...] = ()
    subject: str = ""  # the category or counterparty the fact is about, if any


@dataclass(frozen=True)
class Facts:
    """All facts of one team's week, in build order, plus what the validator needs to know."""

    team_name: str
    currency: str
    locale: str
    week_start: date
    items: tuple[Fact, ...]
    names: frozenset[str]  # cleaned user-data names that may appear in text (digits and all)
    dates: frozenset[date]  # dates text may mention

    def __iter__(self) -> Iterator[Fact]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: str) -> Fact:
        for fact in self.items:
            if fact.key == key:
                return fact
        raise KeyError(key)

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    def ranked(self) -> list[Fact]:
        """Most newsworthy first; equal scores keep build order, so ties are deterministic."""
        return sorted(self.items, key=lambda f: -f.score)

    def figures(self, unit: Unit | None = None) -> list[Figure]:
        return [g for f in self.items for g in f.figures if unit is None or g.unit == unit]

    def allowed_numbers(self, unit: Unit | None = None) -> set[Decimal]:
        """Every number text may show: absolute values, rounded the ways a writer would.

        Money to whole units, one decimal and cents; percentages to 0, 1 and 2 decimals; counts
        as they are. Both half-up and half-even rounding, since either is a fair display.
        """
        allowed: set[Decimal] = set()
        for figure in self.figures(unit):
            value = abs(Decimal(figure.value))
            allowed.add(value)
            if figure.unit != "count":
                allowed.update(_roundings(value, places) for places in (0, 1, 2))
                allowed.update(_roundings(value, places, ROUND_HALF_EVEN) for places in (0, 1, 2))
        return allowed

    def matches(self, value: Decimal, places: int, unit: Unit | None) -> bool:
        """True when some figure of ``unit`` (any, if None) shows as ``value`` at ``places``."""
        value = abs(value)
        if places > MAX_PLACES:
            return False
        return any(
            _roundings(abs(Decimal(g.value)), places, mode) == value
            for g in self.figures(unit)
            for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN)
        )

    def matching(self, value: Decimal, places: int, unit: Unit | None) -> list[tuple[Fact, Figure]]:
        """Every (fact, figure) that shows as ``value`` at ``places``, of ``unit`` if given."""
        value = abs(value)
        if places > MAX_PLACES:
            return []
        return [
            (fact, g)
            for fact in self.items
            for g in fact.figures
            if (unit is None or g.unit == unit)
            and any(
                _roundings(abs(Decimal(g.value)), places, mode) == value
                for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN)
            )
        ]

    def near_miss(self, value: Decimal, places: int, unit: Unit | None) -> Figure | None:
        """A figure ``value`` is off from by less than one unit of its last digit (bad rounding)."""
        if places > MAX_PLACES:
            return None
        step = Decimal(1).scaleb(-places)
        for figure in self.figures(unit):
            if abs(abs(Decimal(figure.value)) - abs(value)) < step:
                return figure
        return None


def _roundings(value: Decimal, places: int, mode: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=mode)


def _clean_name(raw: str | None, neutral: str) -> str:
    """User data made safe to show: no controls, markup, links or instructions; 40 characters."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if INJECTION.search(text) or _LINK.search(text) or content_problems(text, name=True):
        return neutral  # "Reply with your PIN Ltd" would phish through our own sentences
    text = " ".join(_NAME_DROP.sub(" ", text.replace("_", " ")).split()).strip(" -.,/'’")
    if len(text) > NAME_LIMIT:
        text = text[:NAME_LIMIT].rsplit(" ", 1)[0].strip(" -.,/'’")
    if not any(ch.isalpha() for ch in text) or INJECTION.search(text):
        return neutral
    if content_problems(text, name=True):  # and what cleaning may have revealed
        return neutral
    return text


@dataclass(frozen=True)
class NumberStyle:
    """How babel writes numbers in one locale: the single source for the formatter and the reader.

    Symbols and grouping sizes come from the locale's CLDR data (the same lookups babel's own
    formatting makes), never from a hand-written list of separators.
    """

    group: str
    decimal: str
    primary: frozenset[int]  # digits in the last group (3 in 12,34,567), per pattern
    secondary: frozenset[int]  # digits in the groups before it (2 in en_IN)

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def of(locale: Locale) -> NumberStyle:
        patterns = (
            locale.decimal_formats[None],
            locale.percent_formats[None],
            locale.currency_formats["standard"],
        )
        return NumberStyle(
            group=get_group_symbol(locale),
            decimal=get_decimal_symbol(locale),
            primary=frozenset(p.grouping[0] for p in patterns),
            secondary=frozenset(p.grouping[1] for p in patterns),
        )


def apply_pattern(
    pattern: NumberPattern, value: Decimal, locale: Locale, currency: str | None
) -> str:
    """``value`` rendered by babel with ``pattern``, with the integer part grouped here.

    babel removes every pair of apostrophes from its whole output (its rule for quoted pattern
    literals), so with an apostrophe group symbol (Swiss locales since CLDR 48) it writes
    "CHF 1234567.00" and "99999999'949 %". Rendering without groups and inserting them by the
    pattern's own sizes gives what CLDR specifies and what the reader expects.
    """
    bare = pattern.apply(value, locale, currency=currency, group_separator=False)
    digits = re.search(r"\d+", bare)
    if digits is None:
        return bare
    whole, size, groups = digits.group(), pattern.grouping[0], []
    while len(whole) > size:
        groups.insert(0, whole[-size:])
        whole, size = whole[:-size], pattern.grouping[1]
    grouped = get_group_symbol(locale).join([whole, *groups])
    return bare[: digits.start()] + grouped + bare[digits.end() :]


class _Formatter:
    """Locale- and currency-aware display of the numbers sentences use."""

    def __init__(self, locale: Locale, currency: str) -> None:
        self.locale = locale
        self.currency = currency
        self.digits = get_currency_precision(currency)
        self.currency_pattern = locale.currency_formats["standard"]
        self.pct_whole = locale.percent_formats[None]
        pattern = self.pct_whole.pattern.split(";")[0]
        last_zero = pattern.rfind("0")
        self.pct_one = parse_pattern(pattern[: last_zero + 1] + ".0" + pattern[last_zero + 1 :])

    def money(self, value: Decimal) -> str:
        shown = _roundings(abs(value), self.digits)
        return apply_pattern(self.currency_pattern, shown, self.locale, self.currency)

    def pct(self, value: Decimal) -> str:
        """Whole percents from 10 % up, one decimal below ("up 3.4 %")."""
        magnitude = abs(value)
        if magnitude >= 10:
            return apply_pattern(self.pct_whole, _roundings(magnitude, 0) / 100, self.locale, None)
        return apply_pattern(self.pct_one, _roundings(magnitude, 1) / 100, self.locale, None)

    def count(self, value: int) -> str:
        return apply_pattern(self.locale.decimal_formats[None], Decimal(value), self.locale, None)

    def day(self, value: date) -> str:
        return format_date(value, "medium", locale=self.locale)


# From this change on (elevenfold and more), a sentence gives the amounts without a percentage:
# "up 7.273 %" is 7,273 % in German but reads as 7 % in an English sentence, and a change this
# size says more as the two amounts anyway. Not a figure either, so a model's text may not use it.
SAID_AS_AMOUNTS_PCT = Decimal(1000)


def _said_as_pct(pct: Decimal | None) -> bool:
    return pct is not None and abs(pct) < SAID_AS_AMOUNTS_PCT


def _change_pct(current: Decimal, previous: Decimal) -> Decimal | None:
    """Change against |previous|, as weekly_metrics stores it; None when previous was zero."""
    if previous == 0:
        return None
    return ((current - previous) * 100 / abs(previous)).quantize(_PLACE, ROUND_HALF_UP)


def _change_score(current: Decimal, previous: Decimal, pct: Decimal | None) -> float:
    if current == previous == 0:
        return TIER_FLAT
    if pct is None:  # from zero: new activity
        return TIER_BIG + 0.5
    size = abs(pct)
    if size >= BIG_PCT:
        return TIER_BIG + float(min(size, Decimal(999))) / 1000
    if size <= FLAT_PCT:
        return TIER_FLAT
    return TIER_OTHER + float(size) / 1000


def _is_flat(pct: Decimal | None) -> bool:
    return pct is not None and abs(pct) <= FLAT_PCT


class _Builder:
    def __init__(self, inputs: InsightInputs) -> None:
        self.inputs = inputs
        self.locale = resolve_locale(inputs.locale)
        self.currency = (inputs.currency or "").strip().upper()
        self.fmt = _Formatter(self.locale, self.currency)
        self.facts: list[Fact] = []
        self.names: set[str] = set()

    def money(self, name: str, value: Decimal) -> Figure:
        return Figure(name, value, "money", self.fmt.money(value))

    def pct(self, name: str, value: Decimal) -> Figure:
        return Figure(name, value, "pct", self.fmt.pct(value))

    def count(self, name: str, value: int) -> Figure:
        return Figure(name, value, "count", self.fmt.count(value))

    def add(
        self, key: str, sentence: str, score: float, *figures: Figure, subject: str = ""
    ) -> None:
        head = figures[0]
        self.facts.append(Fact(key, head.value, head.unit, sentence, score, figures, subject))

    def comparison(
        self, current: Decimal, previous: Decimal, pct: Decimal | None, nothing: str
    ) -> str:
        """The tail after "X was €A": how it compares with the week before."""
        if previous == 0:
            return f", with {nothing} the week before."
        if _is_flat(pct):
            return f", about the same as {self.fmt.money(previous)} the week before."
        direction = "up" if current > previous else "down"
        assert pct is not None
        if not _said_as_pct(pct):
            return f", {direction} from {self.fmt.money(previous)} the week before."
        return f", {direction} {self.fmt.pct(pct)} from {self.fmt.money(previous)} the week before."

    def change_figures(
        self, current: Decimal, previous: Decimal, pct: Decimal | None
    ) -> list[Figure]:
        figures = [self.money("previous", previous), self.money("change", current - previous)]
        if _said_as_pct(pct):
            figures.append(self.pct("change_pct", pct))
        return figures

    def baseline(self, attribute: str) -> tuple[str, list[Figure]]:
        """A sentence on the average of up to four weeks before the previous one."""
        weeks = sorted(self.inputs.baseline, key=lambda w: w.week_start)[-BASELINE_WEEKS:]
        if not weeks:
            return "", []
        total = sum((Decimal(getattr(w, attribute)) for w in weeks), Decimal(0))
        average = (total / len(weeks)).quantize(_PLACE, ROUND_HALF_UP)
        shown = self.fmt.money(average)
        if attribute == "net":
            result = f"a {'profit' if average > 0 else 'loss'} of {shown}"
            if len(weeks) == 1:
                what = "broke even" if average == 0 else f"was {result}"
                text = f" The week before that, the net result {what}."
            else:
                what = "broke even on average" if average == 0 else f"averaged {result} a week"
                text = f" Over the {len(weeks)} weeks before that, the net result {what}."
        else:
            noun = "revenue" if attribute == "revenue" else "expenses"
            text = f" The week before that, {noun} came to {shown}."
            if len(weeks) > 1:
                text = f" Over the {len(weeks)} weeks before that, {noun} averaged {shown} a week."
        return text, [
            self.money("baseline_average", average),
            self.count("baseline_weeks", len(weeks)),
        ]

    def amounts(self, key: str, lead: str, nothing: str) -> None:
        """Revenue or expenses: never negative, so up/down/flat/from-zero cover every case."""
        week, previous = self.inputs.week, self.inputs.previous
        cur, prev = Decimal(getattr(week, key)), Decimal(getattr(previous, key))
        pct = _change_pct(cur, prev)
        if cur == 0 and prev == 0:
            sentence = f"There was no {nothing} this week or the week before."
        elif cur == 0:
            before = self.fmt.money(prev)
            sentence = f"There was no {nothing} this week, down from {before} the week before."
        else:
            sentence = f"{lead} {self.fmt.money(cur)}" + self.comparison(
                cur, prev, pct, f"no {nothing}"
            )
        extra, baseline = self.baseline(key)
        figures = [self.money("this_week", cur), *self.change_figures(cur, prev, pct), *baseline]
        self.add(key, sentence + extra, _change_score(cur, prev, pct), *figures)

    def net(self) -> None:
        """Profit or loss: the wording follows the signs, so a smaller loss reads as narrowed."""
        cur, prev = Decimal(self.inputs.week.net), Decimal(self.inputs.previous.net)
        pct = _change_pct(cur, prev)
        now, before = self.fmt.money(cur), self.fmt.money(prev)
        if cur > 0 and prev > 0:
            sentence = f"Net profit was {now}" + self.comparison(cur, prev, pct, "")
        elif cur < 0 and prev < 0:
            if _is_flat(pct):
                sentence = f"The net loss was {now}, about the same as {before} the week before."
            elif abs(cur) < abs(prev):
                sentence = f"The net loss narrowed from {before} to {now}."
            else:
                sentence = f"The net loss widened from {before} to {now}."
        else:
            earlier = "breaking even"
            if prev != 0:
                earlier = f"a net {'profit' if prev > 0 else 'loss'} of {before}"
            if cur == 0:
                sentence = f"The week broke even, after {earlier} the week before."
                if prev == 0:
                    sentence = "The week broke even, as did the week before."
            else:
                outcome = "profit" if cur > 0 else "loss"
                sentence = (
                    f"The week closed with a net {outcome} of {now}, "
                    f"after {earlier} the week before."
                )
        figures = [self.money("this_week", cur), self.money("previous", prev)]
        figures.append(self.money("change", cur - prev))
        if cur > 0 and prev > 0 and _said_as_pct(pct):  # a loss's percent change misleads
            figures.append(self.pct("change_pct", pct))
        extra, baseline = self.baseline("net")
        self.add("net", sentence + extra, _change_score(cur, prev, pct), *figures, *baseline)

    def overdue(self) -> None:
        count, amount = self.inputs.overdue_count, Decimal(self.inputs.overdue_amount)
        if count <= 0:
            sentence, score = "No invoices are overdue.", TIER_FLAT
        else:
            noun = "invoice totalling {} is" if count == 1 else "invoices totalling {} are"
            sentence = f"{self.fmt.count(count)} {noun.format(self.fmt.money(amount))} overdue."
            score = TIER_OVERDUE
        self.add(
            "overdue", sentence, score, self.money("amount", amount), self.count("count", count)
        )

    def receivables(self) -> None:
        count, amount = self.inputs.receivables_count, Decimal(self.inputs.receivables)
        if count <= 0:
            sentence, score = "There are no unpaid invoices.", TIER_FLAT
        else:
            noun = "unpaid invoice" if count == 1 else "unpaid invoices"
            sentence = (
                f"Receivables stand at {self.fmt.money(amount)} across "
                f"{self.fmt.count(count)} {noun}."
            )
            score = TIER_OTHER
        self.add(
            "receivables", sentence, score, self.money("amount", amount), self.count("count", count)
        )

    def transactions(self) -> None:
        cur, prev = self.inputs.week.transactions, self.inputs.previous.transactions

        def n(value: int) -> str:
            return f"{self.fmt.count(value)} transaction{'' if value == 1 else 's'}"

        were = "was" if cur == 1 else "were"
        if cur == 0 and prev == 0:
            sentence = "There were no transactions this week or the week before."
        elif cur == 0:
            sentence = (
                f"There were no transactions this week, compared with {n(prev)} the week before."
            )
        elif prev == 0:
            sentence = f"There {were} {n(cur)} this week and none the week before."
        else:
            sentence = f"There {were} {n(cur)} this week, compared with {n(prev)} the week before."
        self.add(
            "transactions",
            sentence,
            TIER_FLAT,
            self.count("this_week", cur),
            self.count("previous", prev),
        )

    def categories(self) -> None:
        """The top spending category, then the biggest movers (>= 20 % and a meaningful amount)."""
        rows = []
        for c in self.inputs.categories:
            label = _clean_name(c.category, "an unnamed category")
            self.names.add(label)
            cur, prev = Decimal(c.expenses), Decimal(c.previous)
            rows.append((label, cur, prev, _change_pct(cur, prev)))
        spending = [r for r in rows if r[1] > 0]
        top = min(spending, key=lambda r: (-r[1], r[0])) if spending else None
        if top is not None:
            label, cur, prev, pct = top
            score = _change_score(cur, prev, pct)
            score = score if score >= TIER_BIG else TIER_TOP_CATEGORY
            sentence = f"The largest spending category was {label} at {self.fmt.money(cur)}"
            sentence += self.comparison(cur, prev, pct, "no spending on it")
            figures = [self.money("this_week", cur), *self.change_figures(cur, prev, pct)]
            self.add("top_category", sentence, score, *figures, subject=label)

        week, previous = self.inputs.week, self.inputs.previous
        scale = max(
            Decimal(week.expenses),
            Decimal(previous.expenses),
            sum((r[1] for r in rows), Decimal(0)),
            sum((r[2] for r in rows), Decimal(0)),
        )
        floor = scale * MOVER_SHARE
        movers = [
            r
            for r in rows
            if r is not top
            and abs(r[1] - r[2]) > 0
            and abs(r[1] - r[2]) >= floor
            and (r[3] is None or abs(r[3]) >= BIG_PCT)
        ]
        movers.sort(key=lambda r: (-abs(r[1] - r[2]), r[0]))
        for i, (label, cur, prev, pct) in enumerate(movers[:MAX_MOVERS], start=1):
            if cur == 0:
                sentence = (
                    f"There was no spending on {label} this week, down from "
                    f"{self.fmt.money(prev)} the week before."
                )
            else:
                sentence = f"Spending on {label} was {self.fmt.money(cur)}"
                sentence += self.comparison(cur, prev, pct, "no spending on it")
            figures = [self.money("this_week", cur), *self.change_figures(cur, prev, pct)]
            self.add(f"mover.{i}", sentence, _change_score(cur, prev, pct), *figures, subject=label)

    def largest(self) -> None:
        rows = sorted(
            self.inputs.largest,
            key=lambda t: (-abs(Decimal(t.amount)), t.booking_date, t.counterparty or ""),
        )
        for i, t in enumerate(rows[:MAX_LARGEST], start=1):
            name = _clean_name(t.counterparty, "an unnamed counterparty")
            self.names.add(name)
            amount = Decimal(t.amount)
            shown, day = self.fmt.money(amount), self.fmt.day(t.booking_date)
            what = (
                f"{shown} received from {name}" if amount > 0 else f"a payment of {shown} to {name}"
            )
            lead = "The largest transaction was" if i == 1 else "Another large transaction was"
            self.add(
                f"largest.{i}",
                f"{lead} {what} on {day}.",
                TIER_OTHER,
                self.money("amount", amount),
                subject=name,
            )

    def build(self) -> Facts:
        self.amounts("revenue", "Revenue was", "revenue")
        self.amounts("expenses", "Expenses were", "spending")
        self.net()
        self.overdue()
        self.categories()
        self.largest()
        self.receivables()
        self.transactions()
        week, previous = self.inputs.week.week_start, self.inputs.previous.week_start
        dates = {d + timedelta(days=i) for d in (week, previous) for i in range(7)}
        dates.update(t.booking_date for t in self.inputs.largest)
        team = _clean_name(self.inputs.team_name, "your team")
        return Facts(
            team_name=team,
            currency=self.currency,
            locale=str(self.locale),
            week_start=week,
            items=tuple(self.facts),
            names=frozenset(self.names | {team}),
            dates=frozenset(dates),
        )


def build_facts(inputs: InsightInputs) -> Facts:
    """Every fact of the week, with its figures, pre-written sentence and newsworthiness score."""
    return _Builder(inputs).build()


def facts_payload(facts: Facts) -> dict[str, Any]:
    """The facts as the prompt shows them: most newsworthy first, values as exact strings."""

    def plain(figure: Figure) -> str:
        if figure.unit == "count":
            return str(figure.value)
        places = 2 if figure.unit == "pct" else get_currency_precision(facts.currency)
        return str(_roundings(Decimal(figure.value), places))

    return {
        "team": facts.team_name,
        "currency": facts.currency,
        "locale": facts.locale,
        "week_start": facts.week_start.isoformat(),
        "week_end": facts.week_end.isoformat(),
        "facts": [
            {
                "key": f.key,
                "unit": f.unit,
                "value": plain(f.figures[0]),
                "sentence": f.sentence,
                "score": round(f.score, 3),
                "figures": [
                    {"name": g.name, "unit": g.unit, "value": plain(g), "display": g.display}
                    for g in f.figures
                ],
            }
            for f in facts.ranked()
        ],
    }


def fallback_text(facts: Facts, limit: int = MAX_BULLETS) -> str:
    """The pre-written sentences of the most newsworthy facts, 3 to 5 bullets, always valid."""
    return bullets_within_budget([fact.sentence for fact in facts.ranked()], limit)


def bullets_within_budget(sentences: Sequence[str], limit: int = MAX_BULLETS) -> str:
    """Bullets from ``sentences`` (most newsworthy first): 3 to ``limit``, under the word budget.

    The deterministic fallback and the offline (SIMULATED) insights agent both write this way.
    """
    limit = max(MIN_BULLETS, min(MAX_BULLETS, limit))
    bullets = [f"- {sentence}" for sentence in sentences[:limit]]
    while len(bullets) > MIN_BULLETS and word_count("\n".join(bullets)) >= MAX_WORDS:
        bullets.pop()
    return "\n".join(bullets)


def word_count(text: str) -> int:
    return sum(1 for word in text.split() if any(ch.isalnum() for ch in word))


def clean_name(raw: str | None, neutral: str) -> str:
    """User data (a category, a counterparty) made safe to show in any text a team reads."""
    return _clean_name(raw, neutral)


__all__ = [
    "BIG_PCT",
    "FLAT_PCT",
    "INJECTION_PATTERNS",
    "CategoryFigures",
    "Fact",
    "Facts",
    "Figure",
    "InsightInputs",
    "LargeTransaction",
    "WeekFigures",
    "build_facts",
    "clean_name",
    "facts_payload",
    "fallback_text",
]
