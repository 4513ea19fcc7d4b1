"""Deterministic recognition of a bank line: merchant name and category by rules.

Order: the descriptor is normalized (merchants.py: processor prefixes, channel words, store
numbers, city tails, digits out); then the curated merchant list (the bank's counterparty first,
then the words after the processor prefix, then the whole line, so ``UBER *EATS`` finds Uber
Eats); then keyword rules; then what the processor or channel implies (a DoorDash order is a
meal, money in through PayPal or a transfer is income). A decisive keyword (ATM, cash
withdrawal) comes before the merchant list: cash drawn at a Tesco machine is not groceries.
``incoming`` decides direction-bound rules: income needs money in, rent and payroll money out.

Confidence scale (one place; merchant_list.toml repeats it for the people who edit the list):
0.95 a curated merchant that opens the descriptor or is the counterparty; 0.90 one found
further in; 0.85 a processor's or platform's own category; 0.80 money in through a payment
processor (a payout); a keyword its group's 0.70-0.85; 0.70 money in by transfer with nothing
better. Nothing below ``GATE``: category None,
confidence 0, and the model (or nobody) decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bg_agents.defs.enrichment.merchants import (
    KeywordRule,
    Merchant,
    Normalized,
    Vocabulary,
    find_phrase,
    longest_at,
    normalize,
    tokenize,
    vocabulary,
)

MERCHANT_FIRST = 0.95
MERCHANT_INSIDE = 0.90
PROCESSOR_PAYOUT = 0.80
INCOMING_TRANSFER = 0.70
GATE = 0.70
# Trades a keyword names (BOULANGERIE, HOTEL): on money in by transfer they name the payer's
# business, a customer, not what the money was for.
PAYER_TRADES = frozenset(
    {"meals", "travel", "office_supplies", "equipment", "software", "cloud_hosting", "marketing"}
)


@dataclass(frozen=True)
class Recognition:
    """What the rules make of one bank line.

    ``descriptor_key`` is the normalized descriptor (processor prefixes, store numbers, city
    tails and digits removed, lower case): the model is asked about it and its answer cached by
    it. ``merchant_key`` keys a team's corrections; ``merchant`` is the display name.
    ``category`` None: no rule knew (``confidence`` 0).
    """

    descriptor_key: str
    merchant: str | None
    merchant_key: str | None
    category: str | None
    confidence: float
    rule: str | None


def recognize(
    description: str, counterparty: str | None = None, incoming: bool = False
) -> Recognition:
    """The rules' reading of one line (``incoming``: money in). Cached by the raw line."""
    return _cached(description or "", counterparty or None, bool(incoming))


def recognize_uncached(
    description: str, counterparty: str | None = None, incoming: bool = False
) -> Recognition:
    """``recognize`` without the cache (the benchmark measures both)."""
    return _decide(description or "", counterparty or None, bool(incoming))


@lru_cache(maxsize=200_000)
def _cached(description: str, counterparty: str | None, incoming: bool) -> Recognition:
    return _decide(description, counterparty, incoming)


clear_cache = _cached.cache_clear


def _find_merchant(
    norm: Normalized, party: tuple[str, ...], vocab: Vocabulary
) -> tuple[Merchant, float] | None:
    if norm.person:  # a person's name may read like a shop (JOHN LEWIS): not a merchant
        return None
    if party:
        hit = find_phrase(vocab.merchants, party)
        if hit is not None:
            return hit[2], MERCHANT_FIRST
    if norm.channel is not None:  # a transfer: only a payee that begins with a merchant
        return (norm.merchant, MERCHANT_FIRST) if norm.merchant else None
    rest = tuple(t for t in norm.rest if t != "*")
    # After a delivery platform only the words after it can name the merchant (DD *DOORDASH
    # SWEETGREEN is Sweetgreen); after UBER * the whole line can (UBER *EATS is Uber Eats).
    names_merchant = norm.processor is not None and norm.processor.names_merchant
    if norm.processor is not None and not names_merchant and norm.tokens:
        # The platform's product opens the line (UBER *EATS): it, not a later HELP.UBER.COM.
        product = longest_at(vocab.merchants, norm.tokens, 0)
        if product is not None and product[0] > 1:
            return product[1], MERCHANT_FIRST
    places = (rest,) if names_merchant else (rest, norm.tokens)
    for tokens in places:
        hit = find_phrase(vocab.merchants, tokens)
        if hit is not None:
            return hit[2], MERCHANT_FIRST if hit[0] == 0 else MERCHANT_INSIDE
    return None


def _fits(rule: KeywordRule, incoming: bool, paid_in: bool) -> bool:
    if paid_in and rule.category in PAYER_TRADES:
        return False
    return rule.direction == "any" or (rule.direction == "in") == incoming


def _find_keyword(
    tokens: tuple[str, ...], vocab: Vocabulary, incoming: bool, paid_in: bool = False
) -> KeywordRule | None:
    """The most confident keyword rule that fits the direction (``paid_in``: money in by
    transfer, where a trade's word names the payer); ties go to the earliest word."""
    best: KeywordRule | None = None
    firsts = vocab.keywords.firsts
    for start, token in enumerate(tokens):
        rules: tuple[KeywordRule, ...] = vocab.stem_rules_of(token)
        if token in firsts:
            hit = longest_at(vocab.keywords, tokens, start)
            if hit is not None:
                rules = hit[1] + rules
        for rule in rules:
            if _fits(rule, incoming, paid_in) and (
                best is None or rule.confidence > best.confidence
            ):
                best = rule
    return best


def _says(tokens: tuple[str, ...], words: frozenset[str]) -> bool:
    return not words.isdisjoint(tokens)


def _display(words: tuple[str, ...]) -> str | None:
    return " ".join(w.capitalize() for w in words) or None


def _decide(description: str, counterparty: str | None, incoming: bool) -> Recognition:
    """A decisive keyword, else a curated merchant, else the most confident of the keyword,
    the processor's category and an incoming transfer; below the gate, nothing."""
    vocab = vocabulary()
    norm = normalize(description, counterparty)
    party = tokenize(counterparty) if counterparty else ()
    payee_key = " ".join(norm.payee) or None
    paid_in = incoming and norm.channel is not None
    keyword = _find_keyword(norm.tokens + party, vocab, incoming, paid_in)
    if keyword is not None and keyword.decisive:
        return Recognition(
            norm.key,
            _display(norm.payee),
            payee_key,
            keyword.category,
            keyword.confidence,
            f"keyword:{keyword.word}",
        )
    found = _find_merchant(norm, party, vocab)
    if found is not None:
        merchant, confidence = found
        category = merchant.category
        if incoming and merchant.incoming and not _says(norm.tokens, vocab.refund_words):
            category = merchant.incoming  # a payout; a refund books against the expense
        if category is None:  # named, never categorized by a rule (a convenience store)
            return Recognition(norm.key, merchant.name, merchant.key, None, 0.0, None)
        return Recognition(
            norm.key, merchant.name, merchant.key, category, confidence, f"merchant:{merchant.key}"
        )

    candidates: list[tuple[float, str, str]] = []
    if keyword is not None:
        candidates.append((keyword.confidence, keyword.category, f"keyword:{keyword.word}"))
    processor = norm.processor
    if processor is not None:
        if incoming and processor.incoming:
            rule = f"processor:{processor.key}"
            candidates.append((PROCESSOR_PAYOUT, processor.incoming, rule))
        elif processor.category:
            candidates.append(
                (processor.confidence, processor.category, f"processor:{processor.key}")
            )
    if norm.channel is not None and incoming and norm.payee:  # nobody named: own money too
        candidates.append((INCOMING_TRANSFER, "income", f"transfer:{norm.channel}"))
    if incoming and norm.person and not _says(norm.tokens, vocab.sale_words):
        # Money from a person with no invoice named may be the owner's own money or a loan as
        # much as a sale: "received" or a transfer alone does not make it income.
        candidates = [c for c in candidates if c[1] != "income"]

    # The bank's counterparty in its own spelling (umlauts kept); else the payee's words.
    from_party = counterparty and norm.payee and set(norm.payee) <= set(party)
    shown = " ".join(counterparty.split()) if from_party else None
    name = shown or _display(norm.payee) or (processor.name if processor else None)
    merchant_key = payee_key or (processor.key if processor else None)
    best = max(candidates, key=lambda c: c[0], default=None)
    if best is None or best[0] < GATE:
        return Recognition(norm.key, name, merchant_key, None, 0.0, None)
    return Recognition(norm.key, name, merchant_key, best[1], best[0], best[2])
