"""A bank line's descriptor made comparable: folded, tokenized, stripped of everything but the name.

Banks wrap a merchant's name in noise that differs per store and per day: processor prefixes
(``SQ *``, ``PAYPAL *``), channel words (``KARTENZAHLUNG``, ``CB``, ``POS``), card masks, dates,
store numbers, reference numbers, amounts and city/state/country tails. ``normalize`` removes them
so that one merchant at two stores gives one ``key``, and so that the key can leave the team (the
model is asked about it and its answer is cached across teams by it) without amounts, long digit
runs or a person's name.

Personal names, the choice made: a transfer's payee (``SEPA CT JOHN SMITH``) is never part of the
key. For a transfer the key is the channel (``sepa transfer``) plus only words the rules know
(keywords such as ``miete``, a curated merchant, a company name that carries a legal form such as
``GMBH``): an unknown word there is more likely a name than a shop. Outside transfers, a payee
that looks like a person (a known first name or title, no business word, not a curated
merchant) is replaced by the processor's name (``SQ *MARIA SCHULZ`` -> square) or, on a plain
line, by what the line is (``POS KLAUS MEIER`` -> payment, ``LASTSCHRIFT THOMAS MUELLER`` ->
direct debit). A counterparty the bank names that is not plainly a business (a legal form, a
processor or curated merchant, a keyword such as ``STADTWERKE``) counts as a person: its words
leave the key.
The name still reaches ``payee`` (the team's own data: its corrections key on it).

The vocabulary (processors, channels, noise words, places, first names) lives in
``merchant_list.toml`` beside the curated merchants and keyword rules; this module compiles it
once into dictionaries keyed by token, so a descriptor costs a handful of dictionary lookups.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

# The longest token sequence any alias, keyword or prefix spans (checked when loading).
MAX_PHRASE = 5
# A key longer than this is remittance prose, not a merchant's name: the rest is cut.
MAX_KEY_WORDS = 8

_EXTRA_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d"})
# Japanese bank lines are half-width katakana without small kana or the long-vowel mark
# (スターバックス prints as ｽﾀ-ﾊﾞﾂｸｽ): small kana become full size, the mark a word break.
_KANA_FOLD = str.maketrans(
    {**dict(zip("ァィゥェォッャュョヮ", "アイウエオツヤユヨワ", strict=True)), "ー": " "}
)
# Apostrophes join ("MCDONALD'S" -> mcdonalds); an ampersand joins its neighbours ("AT&T" ->
# att, "M&S" -> ms) and, between spaces, vanishes ("JOE & THE JUICE" -> joe the juice).
_APOSTROPHES = "'’`´"
_AMPERSAND = re.compile(r"\s&\s|&")
# A web address keeps its name and a "com" marker (dropped from keys as noise):
# help.uber.com -> uber com, amzn.co.uk/bill -> amzn com, hotels.com -> hotels com.
_URL = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?(?:[a-z0-9-]+\.)*?([a-z0-9-]+)\."
    r"(?:co\.uk|com\.au|co\.nz|co\.jp|com\.br|co\.in|com\.sg|com|net|org|io|co|de|fr|nl|es|it"
    r"|uk|eu|au|nz|jp|in|br|sg|se|dk|no|fi|ch|at|be|ie|pl|app|ai|dev|me|tv|us|ca)"
    r"(?![a-z0-9])(?:/\S*)?"
)
# A word glued to a store or reference number ("STARBUCKS#1234" is split by '#'; "ADS1234",
# "STORE01234" are not): split so the word can still be recognized.
# Dotted abbreviations join: "B.V." -> bv, "S.P.A." -> spa, "N.Y." -> ny (legal forms, states).
_DOTTED = re.compile(r"(?<![\w.])((?:[^\W\d_]\.){1,3}[^\W\d_])\.?(?![\w])")
_GLUED_NUMBER = re.compile(r"([^\W\d_]{2,})(\d{3,})")
_TOKEN = re.compile(r"[^\W_]+|\*")
_FIELD_GAP = re.compile(r"\s{2,}")
# A gap beside a processor's star is padding, not a column ("UBER   *EATS" is UBER *EATS).
_STAR_GAP = re.compile(r"\s{2,}(?=\*)|(?<=\*)\s{2,}")
_DROP, _BESIDE_NUMBER, _KNOWN, _STEM = 1, 2, 4, 8


@dataclass(frozen=True)
class Merchant:
    """One curated merchant: display name, stable key and category (``incoming``: when money
    comes in, e.g. a payment processor's payout is income, its fee is not). ``category`` None:
    named but never categorized by a rule (a convenience store sells lunch and pens alike)."""

    name: str
    key: str
    category: str | None
    incoming: str | None


@dataclass(frozen=True)
class KeywordRule:
    """Words that decide a category (``direction``: ``in`` only when money came in, ``out``
    only when it went out, ``any``; ``decisive``: over a curated merchant too)."""

    category: str
    confidence: float
    direction: str
    word: str
    decisive: bool = False


@dataclass(frozen=True)
class Processor:
    """A prefix a payment processor or platform puts before the merchant's name.

    ``category``: what the line is when nothing after the prefix is known (a DoorDash order is a
    meal whoever cooked it); ``incoming``: the category of money in through it (a payout);
    ``names_merchant``: the words after it name the merchant, not the platform's product."""

    name: str
    key: str
    category: str | None
    confidence: float
    incoming: str | None
    names_merchant: bool = False


@dataclass(frozen=True)
class Vocabulary:
    """The compiled ``merchant_list.toml``: phrase tables keyed by a tuple of tokens."""

    merchants: Phrases  # -> Merchant
    keywords: Phrases  # -> tuple[KeywordRule, ...]
    stems: re.Pattern[str] | None
    stem_rules: dict[str, tuple[KeywordRule, ...]]
    processors: Phrases  # -> Processor
    channels: Phrases  # -> str, the channel's name
    prefixes: Phrases  # -> True
    channel_fillers: frozenset[str]
    noise: frozenset[str]
    store_words: frozenset[str]
    reference_words: frozenset[str]
    months: frozenset[str]
    currencies: frozenset[str]
    places: frozenset[tuple[str, ...]]
    codes: frozenset[str]
    refund_words: frozenset[str]
    sale_words: frozenset[str]
    legal_forms: frozenset[str]
    titles: frozenset[str]
    first_names: frozenset[str]
    known_words: frozenset[str]
    direct_debits: Phrases  # -> True
    # Processors' and curated merchants' keys: a counterparty spelled so is a business.
    business_names: frozenset[str]
    # token -> its _DROP/_BESIDE_NUMBER/_KNOWN bits, filled as tokens are first seen: bank
    # lines repeat their words, so each word is classified once per process, not once per line.
    token_bits: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    token_stems: dict[str, tuple[KeywordRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def bits(self, token: str) -> int:
        """What ``token`` is to the cleaner (computed once per distinct token)."""
        found = self.token_bits.get(token)
        if found is not None:
            return found
        bits = 0
        if (
            token == "*"
            or not token.isalpha()
            or (len(token) > 1 and not token.strip("x"))
            or token in self.noise
            or token in self.currencies
            or token in self.reference_words
            or (len(token) == 1 and token.isascii())
        ):
            bits |= _DROP
        if token in self.store_words or token in self.months:
            bits |= _BESIDE_NUMBER
        if token in self.known_words:
            bits |= _KNOWN
        if self.stems is not None and token.isalpha():
            rules = tuple(
                rule
                for match in self.stems.finditer(token)
                for rule in self.stem_rules[match.group(0)]
            )
            if rules:
                bits |= _KNOWN | _STEM
                self.token_stems[token] = rules
        if len(self.token_bits) > 500_000:  # a stream of random references: start over
            self.token_bits.clear()
            self.token_stems.clear()
        self.token_bits[token] = bits
        return bits

    def stem_rules_of(self, token: str) -> tuple[KeywordRule, ...]:
        """The keyword rules whose stem ``token`` holds (``haftpflichtversicherung``)."""
        return self.token_stems.get(token, ()) if self.bits(token) & _STEM else ()

    def is_known(self, token: str) -> bool:
        """A keyword's word or a word holding a keyword stem (``büromiete``)."""
        return bool(self.bits(token) & _KNOWN)


@dataclass(frozen=True)
class Normalized:
    """A descriptor taken apart.

    ``tokens``: every word after folding, in order, processors and channels included (for
    merchant aliases such as ``uber eats`` or ``o2``). ``rest``: the words after the leading
    processor, channel and noise words. ``key``: the normalized descriptor that may leave the
    team. ``payee``: the name part (a shop, a company or a person) for display and corrections.
    ``processor``/``channel``: what was stripped from the front; ``person``: the payee looks like
    a person, so it is not in ``key``; ``merchant``: for a transfer, the curated merchant paid.
    """

    tokens: tuple[str, ...]
    rest: tuple[str, ...]
    key: str
    payee: tuple[str, ...]
    processor: Processor | None
    channel: str | None
    person: bool
    merchant: Merchant | None = None


def fold(text: str) -> str:
    """Lower case, accents and width folded (``Gebühr`` -> gebuhr, ``ＡＭＡＺＯＮ`` -> amazon)."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text).translate(_EXTRA_FOLD).translate(_KANA_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> tuple[str, ...]:
    """The words of ``text`` as the rules compare them (also used on the list's own aliases)."""
    text = fold(text)
    for mark in _APOSTROPHES:
        if mark in text:
            text = text.replace(mark, "")
    if "&" in text:
        text = _AMPERSAND.sub(lambda m: " " if len(m.group(0)) > 1 else "", text)
    if "." in text:
        text = _DOTTED.sub(lambda m: m.group(1).replace(".", ""), text)
        text = _URL.sub(r" \1 com ", text)
    tokens = _TOKEN.findall(text)
    if all(t.isalpha() or t.isdigit() for t in tokens):
        return tuple(tokens)
    out: list[str] = []
    for token in tokens:
        glued = None if token.isalpha() else _GLUED_NUMBER.fullmatch(token)
        if glued is None:
            out.append(token)
        else:
            out.extend(glued.groups())
    return tuple(out)


def _has_digit(token: str) -> bool:
    # Tokens are letters and digits only, so "not all letters" means "holds a digit".
    return not token.isalpha()


def _is_mask(token: str) -> bool:
    return len(token) > 1 and not token.strip("x")


class Phrases(dict[tuple[str, ...], Any]):
    """A phrase table that also knows, per first word, its longest phrase: most words begin
    no phrase, and one lookup settles them."""

    def __init__(self, items: dict[tuple[str, ...], Any]) -> None:
        super().__init__(items)
        self.firsts: dict[str, int] = {}
        for phrase in items:
            self.firsts[phrase[0]] = max(self.firsts.get(phrase[0], 0), len(phrase))


def longest_at(table: Phrases, tokens: tuple[str, ...], start: int) -> tuple[int, Any] | None:
    """The longest phrase of ``table`` beginning at ``tokens[start]``: (length, value)."""
    limit = table.firsts.get(tokens[start])
    if limit is None:
        return None
    end = min(start + limit, len(tokens))
    get = table.get
    while end > start:
        value = get(tokens[start:end])
        if value is not None:
            return end - start, value
        end -= 1
    return None


def find_phrase(table: Phrases, tokens: tuple[str, ...]) -> tuple[int, int, Any] | None:
    """The first (then longest) phrase of ``table`` in ``tokens``: (position, length, value)."""
    firsts = table.firsts
    for start, token in enumerate(tokens):
        if token in firsts:
            hit = longest_at(table, tokens, start)
            if hit is not None:
                return start, hit[0], hit[1]
    return None


def _strip_front(
    tokens: tuple[str, ...], vocab: Vocabulary
) -> tuple[tuple[str, ...], Processor | None, str | None]:
    """Leading masks, numbers, dates, channel words and processor prefixes removed, repeatedly
    (``CARD 1234 SQ *BLUE BOTTLE`` -> blue bottle, processor Square)."""
    processor: Processor | None = None
    channel: str | None = None
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        if processor is None and channel is None:
            hit = longest_at(vocab.processors, tokens, i)
            if hit is not None:
                processor = hit[1]
                i += hit[0]
                continue
        if token == "*" or _has_digit(token) or _is_mask(token):
            i += 1
            continue
        if channel is None:
            hit = longest_at(vocab.channels, tokens, i)
            if hit is not None:
                channel = hit[1]
                i += hit[0]
                continue
        hit = longest_at(vocab.prefixes, tokens, i)
        if hit is not None:
            i += hit[0]
            continue
        if channel is not None and token in vocab.channel_fillers:
            i += 1
            continue
        if token in vocab.months and i + 1 < n and _has_digit(tokens[i + 1]):
            i += 1
            continue
        break
    return tokens[i:], processor, channel


def _beside_number(tokens: tuple[str, ...], i: int, vocab: Vocabulary) -> bool:
    """Whether a store word or month at ``i`` touches a number, through other such words
    (``MARKT FIL. 4455``, ``STORE #12``)."""
    for step in (1, -1):
        j = i + step
        while 0 <= j < len(tokens):
            token = tokens[j]
            if not token.isalpha():
                if token != "*":
                    return True
            elif not vocab.bits(token) & _BESIDE_NUMBER:
                break
            j += step
    return False


def _clean(tokens: tuple[str, ...], vocab: Vocabulary) -> list[str]:
    """Numbers, masks, noise, reference words, currencies and store words or months beside a
    number (``STORE 01234``, ``12 MAR``) removed; single letters too (what numbers leave)."""
    kept: list[str] = []
    bits_of = vocab.bits
    for i, token in enumerate(tokens):
        if not token.isalpha():  # numbers, references, "*": never kept (nor cached)
            continue
        bits = bits_of(token)
        if bits & _DROP:
            continue
        if bits & _BESIDE_NUMBER and _beside_number(tokens, i, vocab):
            continue
        kept.append(token)
    return kept


def _strip_tail(tokens: list[str], vocab: Vocabulary) -> list[str]:
    """Trailing state/country codes and known cities removed (``... OAKLAND CA``)."""
    while len(tokens) > 1:
        if tokens[-1] in vocab.codes:
            tokens.pop()
            continue
        for length in (3, 2, 1):
            if len(tokens) > length and tuple(tokens[-length:]) in vocab.places:
                del tokens[-length:]
                break
        else:
            break
    return tokens


def _drop_spaced_place(description: str, vocab: Vocabulary) -> str:
    """Fixed-width card lines give the city its own column: ``JOES DINER     SMALLVILLE  KS``.
    When the last column is (or ends with) a state/country code, it goes, and so does the city
    column before a code-only one, so towns no list knows leave the key too."""
    if "  " not in description:
        return description
    if "*" in description:
        description = _STAR_GAP.sub(" ", description)
    fields = _FIELD_GAP.split(description.strip())
    if len(fields) < 2:
        return description
    last = fold(fields[-1]).split()
    if not last or last[-1] not in vocab.codes:
        return description
    drop = 2 if len(last) == 1 and len(fields) >= 3 else 1
    kept = fields[:-drop]
    if not any(ch.isalpha() for field in kept for ch in field):
        return description
    return " ".join(kept)


def looks_personal(
    tokens: tuple[str, ...] | list[str], vocab: Vocabulary, transfer: bool = False
) -> bool:
    """A payee that reads like a person: a title (``MR``, ``FRAU``) or a known first name among
    its first two words (or glued in front: ``JOHNSMITH``), one to four words, none of them a
    keyword or a legal form (``MARIAS TAQUERIA`` and ``JOHN LEWIS LTD`` are businesses)."""
    if not tokens or len(tokens) > 4:
        return False
    if any(t in vocab.legal_forms or vocab.is_known(t) for t in tokens):
        return False
    # A curated merchant is a business; in a transfer, only one the payee begins with whose
    # name does not begin with a given name (TIM HORTONS paid by card is the chain; a transfer
    # to Tim Hortons, or to Anna Shell, is to a person).
    if transfer:
        if _payee_merchant(list(tokens), vocab) is not None:
            return False
    elif find_phrase(vocab.merchants, tuple(tokens)) is not None:
        return False
    if tokens[0] in vocab.titles:
        return True
    if len(tokens) == 1:
        word = tokens[0]
        return word in vocab.first_names or any(
            word[:size] in vocab.first_names for size in range(4, len(word) - 2)
        )
    return tokens[0] in vocab.first_names or tokens[1] in vocab.first_names


def business_merchant(tokens: tuple[str, ...], vocab: Vocabulary) -> tuple[int, int, Any] | None:
    """A curated merchant among ``tokens`` whose name does not begin with a given name: in a
    transfer, JOHN LEWIS the shop and John Lewis the person read alike, so the person wins."""
    hit = find_phrase(vocab.merchants, tokens)
    if hit is None or tokens[hit[0]] in vocab.first_names:
        return None
    return hit


def _company(tokens: list[str], vocab: Vocabulary) -> list[str]:
    """The words up to and including a legal form (``acme gmbh``), or none."""
    for i, token in enumerate(tokens[:6]):
        if i > 0 and token in vocab.legal_forms:
            return tokens[: i + 1]
    return []


def _until_known(words: list[str], vocab: Vocabulary) -> list[str]:
    """A transfer's payee: the words before the first keyword (``JOHN SMITH MIETE`` -> john
    smith), at most four."""
    named: list[str] = []
    for word in words[:4]:
        if vocab.is_known(word):
            break
        named.append(word)
    return named


def _without_names(words: list[str], opener: str | None, vocab: Vocabulary) -> list[str]:
    """A name inside a line (``INVOICE 12 JANE DOE``) leaves the key: a given name or a title
    with the word that follows it. A name that opens the line is the shop (``PAUL SMITH``,
    ``TIM HORTONS``), and a curated merchant's words stay."""
    hit = find_phrase(vocab.merchants, tuple(words))
    kept = range(hit[0], hit[0] + hit[1]) if hit else range(0)
    out: list[str] = []
    skip = 0
    for i, word in enumerate(words):
        if skip:
            skip -= 1
            continue
        opens = i == 0 and word == opener
        if not opens and i not in kept and (word in vocab.first_names or word in vocab.titles):
            skip = 2 if word in vocab.titles else 1
            continue
        out.append(word)
    return out


def _payee_merchant(words: list[str], vocab: Vocabulary) -> tuple[int, Merchant] | None:
    """The curated merchant a transfer pays, when the payee's words begin with it (``PIX
    ENVIADO IFOOD``): found later (``ANNA SHELL``) it is more likely a surname."""
    hit = business_merchant(tuple(words), vocab)
    if hit is None or hit[0] != 0:
        return None
    return hit[1], hit[2]


def _transfer_key(
    channel: str,
    words: list[str],
    party: list[str],
    shop: tuple[int, Merchant] | None,
    vocab: Vocabulary,
) -> str:
    """A transfer's key: the channel and only words the rules know (a company with a legal form,
    the curated merchant paid, keywords): whatever else is there may be a person's name."""
    company = _company(words, vocab) or _company(party, vocab)
    safe = [channel, *company]
    if shop is not None:
        safe.extend(words[: shop[0]])
    safe.extend(w for w in words if vocab.is_known(w) and w not in safe)
    return " ".join(dict.fromkeys(safe))


def normalize(description: str, counterparty: str | None = None) -> Normalized:
    """The descriptor taken apart (the module docstring says what may leave the team)."""
    vocab = vocabulary()
    raw = tokenize(description)
    tokens = tuple(t for t in raw if t != "*")
    unspaced = _drop_spaced_place(description, vocab)
    spaced = raw if unspaced is description else tokenize(unspaced)
    rest, processor, channel = _strip_front(spaced, vocab)
    words = _clean(rest, vocab)
    party = _clean(tokenize(counterparty), vocab) if counterparty else []
    # The bank's counterparty is an account holder's name: private unless it is plainly a
    # business (a legal form, a curated merchant, a keyword such as STADTWERKE); a private
    # one's words leave the key.
    party_public = bool(party) and bool(
        _company(party, vocab)
        or " ".join(party) in vocab.business_names
        or business_merchant(tuple(party), vocab)
        or any(vocab.is_known(t) for t in party)
    )
    party_person = bool(party) and not party_public
    if party_person:
        words = [w for w in words if w not in party]
    if channel is not None:
        named = _company(words, vocab) or _until_known(words, vocab)
        person = party_person or (
            not _company(words, vocab) and looks_personal(named, vocab, transfer=True)
        )
        shop = None if person else _payee_merchant(words, vocab)
        key = _transfer_key(channel, words, party, shop, vocab)
        payee = tuple(party or named)
        merchant = shop[1] if shop else None
        return Normalized(tokens, rest, key, payee, processor, channel, person, merchant)
    words = _strip_tail(words, vocab)
    # Words that read as a person's name (JOHN SMITH, POS KLAUS MEIER, SQ *MARIA SCHULZ) never
    # key the line: a shop named after someone is curated (TIM HORTONS, JOHN LEWIS, PAUL SMITH).
    # (A curated merchant anywhere in the line settles it: LI ME is Lime, its tail cut.)
    person = looks_personal(words, vocab) and find_phrase(vocab.merchants, tokens) is None
    opener = next((t for t in rest if t.isalpha()), None)
    key = "" if person else " ".join(_without_names(words, opener, vocab)[:MAX_KEY_WORDS])
    if not key and party and not party_person:
        key = " ".join(_strip_tail(list(party), vocab))
    if not key and processor is not None:
        key = processor.key
    if not key and person:  # what the line is, not whom it pays
        lead = spaced[: len(spaced) - len(rest)]
        key = "direct debit" if find_phrase(vocab.direct_debits, lead) else "payment"
    payee = tuple(party or words)
    return Normalized(tokens, rest, key, payee, processor, None, person or party_person)


# --- the vocabulary file ----------------------------------------------------------------------


def _phrases(raw: list[str], where: str) -> list[tuple[str, ...]]:
    out = []
    for text in raw:
        phrase = tokenize(text)
        if (
            not phrase
            or len(phrase) > MAX_PHRASE
            or not any(c.isalpha() for t in phrase for c in t)
        ):
            raise ValueError(f"merchant_list.toml {where}: {text!r} is empty, too long or a number")
        out.append(phrase)
    return out


def _words(raw: list[str]) -> frozenset[str]:
    return frozenset(token for text in raw for token in tokenize(text))


def parse_vocabulary(data: dict[str, Any], categories: dict[str, str]) -> Vocabulary:
    """``merchant_list.toml`` compiled; an unknown category, a duplicate alias or an empty
    phrase is a ValueError naming it (the file is data, and a typo must not load silently)."""

    def category(name: str | None, where: str) -> str | None:
        if name is not None and name not in categories:
            raise ValueError(f"merchant_list.toml {where}: unknown category {name!r}")
        return name

    incoming = data.get("incoming", {})
    merchants: dict[tuple[str, ...], Merchant] = {}
    for cat, table in data["merchants"].items():
        # [merchants.none]: merchants a rule names but leaves uncategorized.
        cat = None if cat == "none" else category(cat, f"[merchants.{cat}]")
        for name, entry in table.items():
            # "Name" = [aliases] or, when the name alone is ambiguous (SAS is also a French
            # legal form), "Name" = { aliases = [...], name_is_alias = false }.
            aliases = entry if isinstance(entry, list) else entry["aliases"]
            if isinstance(entry, dict) and not entry.get("name_is_alias", True):
                named = list(aliases)
            else:
                named = [name, *aliases]
            key = " ".join(tokenize(name))
            merchant = Merchant(name, key, cat, category(incoming.get(name), f"[incoming] {name}"))
            phrases = _phrases(named, name)
            phrases += [("".join(p),) for p in phrases if len(p) > 1]  # BLUEBOTTLE, WHOLEFOODS
            for phrase in phrases:
                other = merchants.get(phrase)
                if other is not None and other.name != name:
                    raise ValueError(f"alias {' '.join(phrase)!r} of {name} and {other.name}")
                merchants[phrase] = merchant
    unknown = set(incoming) - {m.name for m in merchants.values()}
    if unknown:
        raise ValueError(f"merchant_list.toml [incoming] names no merchant: {sorted(unknown)}")

    keywords: dict[tuple[str, ...], list[KeywordRule]] = {}
    stem_rules: dict[str, list[KeywordRule]] = {}
    for group in data["keywords"]:
        cat = group["category"]
        category(cat, "[[keywords]]")
        direction = group.get("direction", "any")
        if direction not in ("in", "out", "any"):
            raise ValueError(f"merchant_list.toml [[keywords]] {cat}: direction {direction!r}")
        conf = float(group["confidence"])
        decisive = bool(group.get("decisive", False))
        for phrase in _phrases(group.get("words", []), f"[[keywords]] {cat}"):
            rule = KeywordRule(cat, conf, direction, " ".join(phrase), decisive)
            keywords.setdefault(phrase, []).append(rule)
        for stem in group.get("stems", []):
            stem = fold(stem)
            rule = KeywordRule(cat, conf, direction, stem, decisive)
            stem_rules.setdefault(stem, []).append(rule)
    stems = (
        re.compile("|".join(re.escape(s) for s in sorted(stem_rules, key=len, reverse=True)))
        if stem_rules
        else None
    )

    processors: dict[tuple[str, ...], Processor] = {}
    for entry in data["processors"]:
        proc = Processor(
            entry["name"],
            " ".join(tokenize(entry["name"])),
            category(entry.get("category"), entry["name"]),
            float(entry.get("confidence", 0.0)),
            category(entry.get("incoming"), entry["name"]),
            bool(entry.get("names_merchant", False)),
        )
        for phrase in _phrases(entry["prefixes"], entry["name"]):
            processors[phrase] = proc

    channels = {
        phrase: name
        for name, raw in data["channels"].items()
        for phrase in _phrases(raw, f"[channels] {name}")
    }
    words = data["words"]
    known = {
        token for phrase in keywords for token in phrase if len(token) >= 3 or len(phrase) == 1
    }
    return Vocabulary(
        merchants=Phrases(merchants),
        keywords=Phrases({k: tuple(v) for k, v in keywords.items()}),
        stems=stems,
        stem_rules={k: tuple(v) for k, v in stem_rules.items()},
        processors=Phrases(processors),
        channels=Phrases(channels),
        prefixes=Phrases(dict.fromkeys(_phrases(words["prefixes"], "prefixes"), True)),
        channel_fillers=_words(words["channel_fillers"]),
        noise=_words(words["noise"]),
        store_words=_words(words["store"]),
        reference_words=_words(words["reference"]),
        months=_words(words["months"]),
        currencies=_words(words["currencies"]),
        places=frozenset(_phrases(words["places"], "places")),
        codes=_words(words["codes"]),
        refund_words=_words(words.get("refunds", [])),
        sale_words=_words(words.get("sales", [])),
        legal_forms=_words(words["legal_forms"]),
        titles=_words(words["titles"]),
        first_names=_words(words["first_names"]),
        known_words=frozenset(known),
        direct_debits=Phrases(
            dict.fromkeys(_phrases(words.get("direct_debit", []), "direct_debit"), True)
        ),
        business_names=frozenset(
            {p.key for p in processors.values()} | {m.key for m in merchants.values()}
        ),
    )


@cache
def vocabulary() -> Vocabulary:
    """The packaged ``merchant_list.toml``, compiled once per process."""
    from bg_agents.defs.enrichment.taxonomy import CATEGORIES

    text = resources.files(__package__).joinpath("merchant_list.toml").read_text(encoding="utf-8")
    return parse_vocabulary(tomllib.loads(text), CATEGORIES)
