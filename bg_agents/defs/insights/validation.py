"""Checking a text against the facts: every number the model (or the analyst) wrote must be a
figure of the facts at the precision shown, in the team's locale; each bullet must report the fact
it names with that fact's direction; puffery, echoed instructions and links are refused.

Numbers are read back with the same CLDR symbols and grouping the formatter writes them with
(``facts.NumberStyle``), so what the fallback writes always validates.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import get_currency_symbol, parse_pattern

from bg_agents.defs.insights.facts import (
    INJECTION,
    MAX_BULLETS,
    MAX_WORDS,
    MIN_BULLETS,
    Fact,
    Facts,
    Figure,
    NumberStyle,
    Unit,
    apply_pattern,
    resolve_locale,
    word_count,
)
from bg_agents.lib.content_guard import content_problems
from bg_agents.lib.money import known_currencies

# Words that judge instead of report. Matched as whole words, case-insensitively; "outstanding"
# is allowed before invoice/balance/amount words, where it is the accounting term for "unpaid".
PUFFERY = (
    "solid", "solidly", "strong", "stronger", "strongest", "strongly", "significant",
    "significantly", "impressive", "impressively", "robust", "remarkable", "remarkably",
    "healthy", "healthier", "excellent", "outstanding", "notable", "notably", "substantial",
    "substantially", "dramatic", "dramatically", "skyrocket", "skyrocketed", "skyrocketing",
    "skyrockets", "plummet", "plummeted", "plummeting", "plummets", "soar", "soared", "soaring",
    "surge", "surged", "surging", "stellar", "exceptional", "exceptionally", "amazing",
    "fantastic", "incredible", "incredibly", "tremendous", "massive", "huge", "whopping",
    "staggering", "spectacular", "booming", "thriving", "great job", "well done",
    "congratulations", "kudos", "keep it up", "keep up the good work",
)  # fmt: skip
# Loose multiples misstate changes (a smaller loss is not "halved net"); the facts give percents.
LOOSE_MULTIPLES = ("doubled", "tripled", "quadrupled", "halved")
_PUFFERY = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(
        r"outstanding(?!\s+(?:invoices?|balances?|amounts?|receivables?|payments?|bills?))"
        if w == "outstanding"
        else re.escape(w).replace(r"\ ", r"\s+")
        for w in sorted(PUFFERY, key=len, reverse=True)
    )
    + r")(?![\w-])",
    re.IGNORECASE,
)
_LOOSE = re.compile(r"\b(?:" + "|".join(LOOSE_MULTIPLES) + r")\b", re.IGNORECASE)
_SPACES = " \u00a0\u202f\u2009\u2007"
_APOSTROPHES = "'’"
_BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069"))
_BULLET = re.compile(r"^\s*(?:[-•]|\d{1,2}[.)])\s+")
_NUMBERING = re.compile(r"^(\s*(?:[-•]\s+)?)\d{1,2}[.)]\s+", re.MULTILINE)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_ABBREVIATION = re.compile(
    r"[ \u00a0]?(?:k|K|m|M|mn|bn|B|Mio|Mrd|Tsd|thousand|million|billion|trillion|lakhs?|"
    r"crores?)(?![^\W\d_])"
)
_PERCENT_AFTER = re.compile(r"[ \u00a0\u202f]?(?:%|percent\b|per cent\b|prozent\b)", re.I)
_DATE_FORMATS = ("full", "long", "medium", "short")
_DATE_SKELETONS = ("MMMMEEEEd", "MMMEd", "MMMMd", "MMMd")


class _NumberReader:
    """Reads the numbers in a text the way a reader in ``locale`` would, and checks them.

    The locale's own convention (symbols and group sizes) is the :class:`NumberStyle` the
    formatter writes with; the other common conventions are read too, only to say precisely
    that a number is written the wrong way.
    """

    OTHER_CONVENTIONS = ((",", "."), (".", ","), (" ", ","), ("'", "."))

    def __init__(self, facts: Facts, locale: Locale, any_convention: bool = False) -> None:
        self.facts = facts
        self.locale = locale
        self.any_convention = any_convention  # analyst answers: any unambiguous convention
        # What problems() last read: the text, every number token, and those that are figures
        # (token, position, the facts and figures it shows).
        self.read = ""
        self.tokens = self.at = 0
        self.figures: list[tuple[str, int, list[tuple[Fact, Figure]]]] = []
        style = NumberStyle.of(locale)
        self.group = self._norm(style.group)
        self.decimal = self._norm(style.decimal)
        self.last = {n for n in style.primary if n < 10} | {3}  # 1000: a pattern never groups
        self.middle = {n for n in style.secondary if n < 10} | {3}
        marks = {style.group, style.decimal, *".,", *_APOSTROPHES} - set(_SPACES)
        sep = "[" + "".join(re.escape(ch) for ch in sorted(marks)) + "]"
        if self.group == " " or any_convention:
            ahead = "|".join(rf"\d{{{n}}}" for n in sorted(self.middle | self.last))
            sep = rf"(?:{sep}|[{_SPACES}](?=(?:{ahead})(?!\d)))"
        self.pattern = re.compile(rf"(?<![A-Za-z])\d+(?:{sep}\d+)*")
        own = {
            get_currency_symbol(facts.currency, locale),
            get_currency_symbol(facts.currency, "en"),
            facts.currency,
        }
        self.own = {s.strip(_SPACES) for s in own} - {""}
        self.own_signs = {ch for s in own for ch in s if unicodedata.category(ch) == "Sc"}
        # A symbol or code written straight before the digits ("CHF1,234", "EUR2.792"): apart,
        # so the digits read as a number and the symbol as its currency.
        words = sorted(self.own | known_currencies(), key=len, reverse=True)
        self.attached = re.compile(
            r"(?<![^\W\d_])(" + "|".join(re.escape(w) for w in words) + r")(?=\d)"
        )
        self.conventions = [(self.group, self.decimal)] + [
            c for c in self.OTHER_CONVENTIONS if c != (self.group, self.decimal)
        ]

    @staticmethod
    def _norm(text: str) -> str:
        for ch in _SPACES:
            text = text.replace(ch, " ")
        for ch in _APOSTROPHES:
            text = text.replace(ch, "'")
        return text

    def parse(self, token: str, group: str, decimal: str) -> tuple[Decimal, int] | None:
        """The value and decimal places of ``token`` under one convention, or None if malformed.

        Groups follow the locale's sizes for its own convention (12,34,567 in en_IN) and are
        always allowed in threes."""
        if token.count(decimal) > 1:
            return None
        whole, _, fraction = token.partition(decimal)
        if decimal in token and not fraction.isdigit():
            return None
        groups = whole.split(group)
        if not all(g.isdigit() for g in groups):
            return None
        local = (group, decimal) == (self.group, self.decimal)
        last, middle = (self.last, self.middle) if local else ({3}, {3})
        if len(groups) > 1 and not (
            1 <= len(groups[0]) <= max(middle)
            and all(len(g) in middle for g in groups[1:-1])
            and len(groups[-1]) in last
        ):
            return None
        return Decimal("".join(groups) + ("." + fraction if fraction else "")), len(fraction)

    def currency_marker(self, before: str, after: str) -> str | None:
        """The currency sign, symbol or ISO code written right next to a number, if any."""
        left = before.rstrip(_SPACES + "-−+")
        right = after[1:] if after[:1] in _SPACES else after
        for symbol in self.own:
            if left.endswith(symbol) or right.startswith(symbol):
                return symbol
        if left and unicodedata.category(left[-1]) == "Sc":
            return left[-1]
        code = re.search(r"(?<![A-Za-z])([A-Z]{3})$", left)
        if code and code.group(1) in known_currencies():
            return code.group(1)
        if right and unicodedata.category(right[0]) == "Sc":
            return right[0]
        code = re.match(r"([A-Z]{3})(?![A-Za-z])", right)
        if code and code.group(1) in known_currencies():
            return code.group(1)
        return None

    def problems(self, text: str) -> list[str]:
        """What is wrong with the numbers of ``text``; the numbers read correctly are left in
        :attr:`figures` with the facts they belong to."""
        found: list[str] = []
        self.figures, self.tokens, self.at = [], 0, 0
        text = self.read = self.attached.sub(r"\1 ", text)
        for match in self.pattern.finditer(text):
            token, start, end = match.group(), match.start(), match.end()
            self.tokens += 1
            self.at = start
            after = text[end : end + 12]
            abbreviation = _ABBREVIATION.match(after)
            if abbreviation:
                written = token + abbreviation.group()
                found.append(
                    f"the abbreviated number {written.strip()} is not allowed; "
                    "write the full figure"
                )
                continue
            if after[:1].isascii() and after[:1].islower():
                continue  # an ordinal or a multiplier ("4th", "3x"), not a figure
            before = text[max(0, start - 8) : start]
            unit: Unit | None = None
            marker = self.currency_marker(before, after)
            if marker is not None:
                if marker in self.own or marker in self.own_signs:
                    unit = "money"
                else:
                    found.append(
                        f"the amount {marker}{token} is in another currency; "
                        f"all amounts are in {self.facts.currency}"
                    )
                    continue
            if _PERCENT_AFTER.match(after) or before.rstrip(_SPACES).endswith("%"):
                unit = "pct"
            problem = self.check(token, unit)
            if problem:
                found.append(problem)
        return found

    def check(self, token: str, unit: Unit | None) -> str | None:
        normalized = self._norm(token)
        parsed = [self.parse(normalized, g, d) for g, d in self.conventions]
        local = parsed[0]
        for reading in parsed if self.any_convention else parsed[:1]:
            if reading is not None and self.facts.matches(reading[0], reading[1], unit):
                matched = self.facts.matching(reading[0], reading[1], unit)
                self.figures.append((token, self.at, matched))
                return None
        for alternative in parsed[1:]:
            if alternative is not None and self.facts.matches(*alternative, unit):
                whole = self.locale.decimal_formats[None].pattern.split(";")[0].split(".")[0]
                pattern = whole + ("." + "0" * alternative[1] if alternative[1] else "")
                proper = apply_pattern(parse_pattern(pattern), alternative[0], self.locale, None)
                return f"the number {token} is not written the {self.locale} way; write {proper}"
        reading = local or next((p for p in parsed if p is not None), None)
        if reading is not None:
            close = self.facts.near_miss(reading[0], reading[1], unit)
            if close is not None:
                return f"the number {token} is rounded wrongly; the fact is {close.display}"
        return f"the number {token} is not in the facts"


@functools.lru_cache(maxsize=4096)
def _date_strings(day: date, locale: str) -> frozenset[str]:
    """``day`` as ISO and as the team's locale writes it, plus English forms (the text is
    English, so "Mar 4" is natural for any team). Cached: babel's date patterns are slow."""
    texts = {day.isoformat()}
    for loc in (locale, "en_US", "en_GB"):
        texts.update(format_date(day, f, locale=loc) for f in _DATE_FORMATS)
        texts.update(format_skeleton(s, day, locale=loc) for s in _DATE_SKELETONS)
    return frozenset(t.translate(_BIDI) for t in texts)


@functools.lru_cache(maxsize=256)
def _date_pattern(dates: frozenset[date], locale: str) -> re.Pattern[str]:
    """The dates text may mention, in any of their written forms; longest first, so "Mar 1"
    never eats the start of "Mar 14, 2026"."""
    shown = {text for day in dates for text in _date_strings(day, locale)}
    options = "|".join(re.escape(t) for t in sorted(shown, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{options})(?!\d)")


# What a bullet must be about: each fact's metric, in the words a writer would use for it.
_METRIC_WORDS = {
    "revenue": r"revenues?|income|sales|turnover|takings|earnings|earned|inflows?|received",
    "expenses": r"expenses?|expenditures?|spending|spend|spent|costs?|outgoings|outflows?",
    "net": r"net|profits?|loss(?:es)?|result|broke\s+even|break(?:ing)?\s+even|margin",
    "overdue": r"overdue|late|past\s+due|unpaid|outstanding",  # not "invoices": 12 of them
    "receivables": r"receivables?|unpaid|outstanding|owed|open",  # may be open, 3 overdue
    # A category is named by its name or the word "category", never by "spending" or "costs":
    # those name the week's expenses, and "Expenses were €222.56" with a category's figure lies.
    "top_category": r"categor(?:y|ies)",
    "mover": r"categor(?:y|ies)",
    "largest": r"transactions?|payments?|paid|received|receipts?|transfers?|largest|biggest",
    "transactions": r"transactions?|bookings?",
}
# A bullet naming one of these metrics with these words reports that metric: a money figure in
# it must be the metric's own, or belong to a fact whose name (a category, a counterparty) the
# bullet writes out ("Spending on meals was €83.83").
_HEADLINE_WORDS = {
    "revenue": r"revenues?|income|sales|turnover|takings|earnings",
    "expenses": r"expenses?|expenditures?|spending|spend|spent|costs?|outgoings",
    "net": r"net|profits?|loss(?:es)?",
    "overdue": r"overdue|past\s+due",
    "receivables": r"receivables?",
}


_UP = (
    r"up|rose|rise[sn]?|rising|increase[sd]?|increasing|grew|grow[ns]?|growing|growth|higher|"
    r"jump(?:ed|s)?|climb(?:ed|s)?|gain(?:ed|s)?|soar(?:ed|s)?|surge[sd]?|doubled|tripled"
)


_DOWN = (
    r"down|fell|fall(?:s|en|ing)?|drop(?:ped|s)?|decrease[sd]?|decreasing|declin(?:e|ed|es|ing)|"
    r"lower|shr[iau]nk|collaps(?:e|ed|es)|slump(?:ed|s)?|tumbl(?:e|ed)|plunge[sd]?|sank|"
    r"reduc(?:e|ed|tion)|halved|contract(?:ed|ion)"
)


_DIRECTION = re.compile(
    rf"\b(?:(?P<up>{_UP})|(?P<down>{_DOWN})|(?P<narrow>narrow(?:ed|s)?)|"
    rf"(?P<widen>widen(?:ed|s)?))\b",
    re.IGNORECASE,
)


_CLAUSE = re.compile(r";|,\s|\(|\)|\s(?:while|whereas|but|and|although|though)\s", re.I)


_TREND_FIGURES = ("this_week", "previous", "change", "change_pct")


def _names_fact(fact: Fact, line: str) -> bool:
    words = _METRIC_WORDS[fact.key.split(".")[0]]
    if re.search(rf"(?<!\w)(?:{words})(?!\w)", line, re.IGNORECASE):
        return True
    return _names_subject(fact, line)


def _names_subject(fact: Fact, line: str) -> bool:
    """The bullet writes out the fact's category or counterparty ("office_supplies" too)."""

    def plain(text: str) -> str:
        return " ".join(re.sub(r"[_\-/]", " ", text).casefold().split())

    return bool(fact.subject) and plain(fact.subject) in plain(line)


def _headlines(line: str) -> set[str]:
    """The headline metrics (revenue, expenses, net, overdue, receivables) a bullet names."""
    return {
        key
        for key, words in _HEADLINE_WORDS.items()
        if re.search(rf"(?<!\w)(?:{words})(?!\w)", line, re.IGNORECASE)
    }


def _trend(fact: Fact) -> int:
    """+1 if the fact's figure went up from the week before, -1 if down, 0 if unknown/same."""
    values = {g.name: Decimal(g.value) for g in fact.figures}
    if "this_week" not in values or "previous" not in values:
        return 0
    change = values["this_week"] - values["previous"]
    return (change > 0) - (change < 0)


def _said_direction(clause: str, fact: Fact) -> tuple[int, str]:
    """The direction a clause states for ``fact`` (+1, -1, or 0 when it states none or both).

    For the net result, "the loss grew" means net went down and "the loss narrowed" up."""
    loss = fact.key == "net" and re.search(r"\bloss", clause, re.IGNORECASE) is not None
    seen: dict[int, str] = {}
    for m in _DIRECTION.finditer(clause):
        if m.group("up") or m.group("down"):
            sign = 1 if m.group("up") else -1
            seen.setdefault(-sign if loss else sign, m.group())
        elif loss:
            seen.setdefault(1 if m.group("narrow") else -1, m.group())
    if len(seen) != 1:
        return 0, ""
    return next(iter(seen.items()))


def _claim_problems(line: str, reader: _NumberReader, facts: Facts) -> list[str]:
    """A bullet must report a fact that exists: its figure, its metric and its direction.

    Every number must belong to a fact the bullet names ("revenue collapsed by 310 %" with the
    310 % of expenses is refused); a money figure in a bullet that names a headline metric
    ("Expenses were €222.56") must be that metric's, or belong to a category or counterparty the
    bullet names; a stated direction must be the fact's, and a bullet without
    a figure must be about a fact that shows none either ("No invoices are overdue.")."""
    named = [fact for fact in facts if _names_fact(fact, line)]
    short = _BULLET.sub("", line).strip()[:60]
    if not reader.figures:
        if reader.tokens or any(not any(g.display in f.sentence for g in f.figures) for f in named):
            return []
        return [
            f"the bullet {short!r} reports no figure from the facts; give each bullet one "
            "fact with its figure"
        ]
    problems = []
    headlines = _headlines(line)
    clauses = [(m.start(), m.end()) for m in _CLAUSE.finditer(reader.read)]
    for token, at, pairs in reader.figures:
        bound = [(f, g) for f, g in pairs if f in named]
        money = [(f, g) for f, g in bound if g.unit == "money"]
        if (
            bound
            and headlines
            and money
            and not any(f.key in headlines or _names_subject(f, line) for f, _ in money)
            and not any(g.unit != "money" for _, g in bound)
        ):
            bound = []  # "Expenses were €222.56" with the figure of a category it never names
        if not bound:
            owner = pairs[0][0].sentence if pairs else ""
            problems.append(
                f"the number {token} is not a figure of what the bullet {short!r} is about; "
                f"it belongs to: {owner}"
            )
            continue
        start = max((end for begin, end in clauses if end <= at), default=0)
        stop = min((begin for begin, end in clauses if begin >= at), default=len(reader.read))
        clause = reader.read[start:stop]
        verdicts = []
        for fact, figure in bound:
            said, word = _said_direction(clause, fact)
            trend = _trend(fact) if figure.name in _TREND_FIGURES else 0
            verdicts.append((said == 0 or trend == 0 or said == trend, word, fact, trend))
        if not any(ok for ok, *_ in verdicts):
            _, word, fact, trend = verdicts[0]
            problems.append(
                f"the bullet says {word!r} but the figure went {'up' if trend > 0 else 'down'}: "
                f"{fact.sentence}"
            )
    return problems


def validate(text: str, facts: Facts, locale: str | None = None) -> list[str]:
    """Problems with a generated summary, worded so the model can fix them; empty means valid."""
    problems: list[str] = []
    loc = resolve_locale(locale or facts.locale)
    text = (text or "").translate(_BIDI).replace("\r\n", "\n")
    lines = [line for line in text.split("\n") if line.strip()]
    bullets = [line for line in lines if _BULLET.match(line)]
    for line in lines:
        if not _BULLET.match(line):
            problems.append(
                f"the line {line.strip()[:40]!r} is not a bullet point; start every line with '- '"
            )
    if not MIN_BULLETS <= len(bullets) <= MAX_BULLETS:
        problems.append(f"{len(bullets)} bullet points; write {MIN_BULLETS} to {MAX_BULLETS}")
    words = word_count(text)
    if words >= MAX_WORDS:
        problems.append(f"{words} words; keep it under {MAX_WORDS}")
    for match in INJECTION.finditer(text):
        problems.append(
            f"the text repeats an instruction ({match.group()!r}); describe only the figures"
        )

    # Names are user data: their digits and words are not figures or judgements.
    work = text
    for name in sorted(facts.names, key=len, reverse=True):
        work = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", work, flags=re.IGNORECASE)
    problems.extend(content_problems(work))  # names were checked when they were cleaned
    for word in dict.fromkeys(m.group().lower() for m in _PUFFERY.finditer(work)):
        problems.append(f"the word {word!r} is puffery; state the figures plainly")
    for word in dict.fromkeys(m.group().lower() for m in _LOOSE.finditer(work)):
        problems.append(f"{word!r} restates a change loosely; use the percentage from the facts")

    work = _date_pattern(facts.dates, str(loc)).sub(" ", work)
    for match in _ISO_DATE.finditer(work):
        problems.append(
            f"the date {match.group()} is outside the reported week "
            f"({facts.week_start.isoformat()} to {facts.week_end.isoformat()})"
        )
    work = _ISO_DATE.sub(" ", work)
    work = _NUMBERING.sub(r"\1", work)
    reader = _NumberReader(facts, loc)
    for line, shown in zip(text.split("\n"), work.split("\n"), strict=True):
        problems.extend(reader.problems(shown))
        if _BULLET.match(line):
            problems.extend(_claim_problems(line, reader, facts))
    return list(dict.fromkeys(problems))


def check_numbers(text: str, facts: Facts, locale: str | None = None) -> list[str]:
    """Problems with the numbers of a free-form answer (the analyst's): each must be a figure of
    ``facts`` (or a date among its dates), written in any unambiguous convention."""
    loc = resolve_locale(locale or facts.locale)
    work = (text or "").translate(_BIDI)
    for name in sorted(facts.names, key=len, reverse=True):
        work = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", " ", work, flags=re.IGNORECASE)
    if facts.dates:
        work = _date_pattern(facts.dates, str(loc)).sub(" ", work)
    problems = [
        f"the date {m.group()} is not in the tool results" for m in _ISO_DATE.finditer(work)
    ]
    work = _ISO_DATE.sub(" ", work)
    problems.extend(_NumberReader(facts, loc, any_convention=True).problems(work))
    return list(dict.fromkeys(problems))


__all__ = ["LOOSE_MULTIPLES", "PUFFERY", "check_numbers", "validate"]
