"""Columns of one side (records or candidates) that blocking and comparisons read, built once.

Everything a comparison needs per row is turned into numpy arrays here, so comparing a million
pairs is array arithmetic rather than a Python loop: amounts as float cents (exact ``Decimal``
comes back only for the pairs that are shown), dates as day ordinals, names as ids of their
normalized forms, words and identifier tokens as sparse row x token matrices over one vocabulary
shared by both sides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import sparse

from bg_agents.defs.reconciliation.matcher.rules import Side, normalize_name

NAMES = 3  # normalized names compared per row (a bank row: counterparty, merchant, text)
PREFIX_BYTES = 32  # how much of the primary name the truncation check reads
MIN_WORD = 2
WORDS = 6  # words per name compared (the rarest first)
REFS = 4  # identifier tokens per row compared
WORD_PREFIX = 5  # letters of a longer word that blocking also searches by
NAME_KEY = 12  # letters of a name that blocking searches by (banks cut names short)
# A leading word is a bank's noise when it starts this share of names (at least this many) and
# no one word follows it in as many as NOISE_DOMINANCE of them ("redhaus" is always followed by
# "handel": a name; "trf" by anything: noise).
NOISE_SHARE = 0.002
NOISE_MIN_ROWS = 20
NOISE_DOMINANCE = 0.5
_DIGITS = re.compile(r"\d{5,}")
_SPACED = re.compile(r"\d+(?: \d+)+")
_HAS_DIGIT = re.compile(r"\d")
_TOKEN = re.compile(r"[^\s,;/|]+")  # as the rules' reference_tokens split a text
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_DROP_DIGITS = str.maketrans("", "", "0123456789")
_DROP_LETTERS = str.maketrans("", "", "abcdefghijklmnopqrstuvwxyz")


class Vocabulary:
    """Shared ids for what both sides hold: groups, currencies, names, words, identifiers."""

    def __init__(self) -> None:
        self.groups: dict[str, int] = {}
        self.currencies: dict[str, int] = {}
        self.names: dict[str, int] = {}
        self.name_keys: dict[str, int] = {}
        self.words: dict[str, int] = {}
        self.refs: dict[str, int] = {}


def _code(table: dict[str, int], key: str) -> int:
    return table.setdefault(key, len(table))


def _cents(value: object) -> float:
    return round(abs(float(value)) * 100, 2)  # type: ignore[arg-type]


@dataclass
class Features:
    sides: Sequence[Side]
    group: np.ndarray  # int codes
    currency: np.ndarray  # int codes
    cents: np.ndarray  # |amount| in cents
    base_cents: np.ndarray  # |base amount| in cents, NaN when unknown
    start: np.ndarray  # date ordinal
    end: np.ndarray  # date_until ordinal (== start for a dated row)
    name_ids: np.ndarray  # (n, NAMES) ids of normalized names; padding differs per side
    name_keys: np.ndarray  # (n, NAMES) ids of their first NAME_KEY characters (a cut name)
    names: list[tuple[str, ...]]  # the normalized names themselves
    prefix: np.ndarray  # (n, NAMES, PREFIX_BYTES) uint8: each name's first bytes
    prefix_len: np.ndarray  # (n, NAMES)
    name_words: np.ndarray  # (n, NAMES, WORDS) word ids of each name, the rarest first
    first_word: np.ndarray  # (n, NAMES) id of each name's first word (-1: none)
    words: sparse.csr_matrix  # (n, words) 1 where the row's names hold the word
    search: sparse.csr_matrix  # (n, words) the words and their WORD_PREFIX-letter prefixes
    refs: sparse.csr_matrix  # (n, refs) identifier tokens in names and reference
    own_refs: sparse.csr_matrix  # (n, refs) tokens of the row's own reference (invoice number)
    vocabulary: Vocabulary = field(default_factory=Vocabulary)  # shared with the other side
    # The same as padded id arrays (padding differs per side), for pairwise comparisons.
    ref_pad: np.ndarray | None = None  # (n, REFS)
    own_pad: np.ndarray | None = None  # (n, REFS)

    @property
    def n(self) -> int:
        return len(self.sides)


def _rows_matrix(rows: list[list[int]], width: int) -> sparse.csr_matrix:
    indptr = np.zeros(len(rows) + 1, np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.fromiter((t for r in rows for t in r), np.int64, int(indptr[-1]))
    data = np.ones(len(indices), np.float32)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width))
    matrix.sum_duplicates()  # a token twice in a row (two names share a word) counts once
    matrix.data[:] = 1
    return matrix


@lru_cache(maxsize=1 << 17)
def identifiers(text: str) -> frozenset[str]:
    """Identifier tokens of a text: the rules' reference tokens ("RE-2025-0042" ->
    "re20250042"), every run of 5+ digits, and digit groups split by spaces joined, so
    "RE 669432" and "re669432" share "669432", "INV 2026 18495" and "inv202618495" share
    "202618495", "INV-2026-28348" and "TRF/202628348" share "202628348" (four digits alone
    would make every year an identifier)."""
    if not _HAS_DIGIT.search(text):  # most party names: nothing to find
        return frozenset()
    found = set(_DIGITS.findall(text))
    found.update(d for d in (m.replace(" ", "") for m in _SPACED.findall(text)) if len(d) >= 5)
    for token in _TOKEN.findall(text.lower()):
        plain = _NOT_ALNUM.sub("", token)
        digits = len(plain) - len(plain.translate(_DROP_DIGITS))
        if digits >= 4:  # the rules' reference token, and its number alone
            found.add(plain)
            if digits >= 5:
                found.add(plain.translate(_DROP_LETTERS))
    return frozenset(found)


@dataclass(frozen=True)
class _Name:
    """What rows holding one comparable name share (names repeat: a party, a memo)."""

    id: int
    key: int
    first_word: int
    words: tuple[int, ...]
    search: tuple[int, ...]  # words and their prefixes
    prefix: bytes  # PREFIX_BYTES, zero-padded


class _Texts:
    """Names in their comparable form, with their ids, each worked out once.

    The comparable form is the normalized name without the leading words a bank puts before
    many different texts in this data ("ueberweisung", "trf", "gutschrift"): learned from the
    files, since every bank has its own. A word mostly followed by the same word ("redhaus" in
    "redhaus handel", "o" in "o klein") is part of a name and stays.
    """

    def __init__(self, vocab: Vocabulary, sides: Sequence[Sequence[Side]]) -> None:
        self.vocab = vocab
        self.infos: dict[str, _Name] = {}
        self.identifiers: dict[str, tuple[int, ...]] = {}
        rows = sum(len(side) for side in sides)
        occurrences = Counter(name for side in sides for row in side for name in row.names)
        normalized = {name: normalize_name(name).split() for name in occurrences if name}
        firsts: Counter[str] = Counter()
        follows: dict[str, Counter[str]] = {}
        for name, words in normalized.items():
            if len(words) > 1:
                firsts[words[0]] += occurrences[name]
                follows.setdefault(words[0], Counter())[words[1]] += occurrences[name]
        least = max(NOISE_MIN_ROWS, NOISE_SHARE * rows)
        noise = {
            w
            for w, n in firsts.items()
            if n >= least and follows[w].most_common(1)[0][1] < NOISE_DOMINANCE * n
        }
        self.comparable: dict[str, str] = {}
        for name, words in normalized.items():
            words = list(words)
            while len(words) > 1 and words[0] in noise:
                words.pop(0)
            self.comparable[name] = " ".join(words)

    def identifier_ids(self, text: str) -> tuple[int, ...]:
        found = self.identifiers.get(text)
        if found is None:
            refs = self.vocab.refs
            found = self.identifiers[text] = tuple(_code(refs, t) for t in identifiers(text))
        return found

    def info(self, name: str) -> _Name:
        found = self.infos.get(name)
        if found is None:
            vocab = self.vocab
            words = {w for w in name.split() if len(w) >= MIN_WORD}
            word_ids = tuple(_code(vocab.words, w) for w in words)
            # A word cut short by a bank ("agniesz") still shares its first letters.
            prefixes = {w[:WORD_PREFIX] + "~" for w in words if len(w) > WORD_PREFIX}
            found = self.infos[name] = _Name(
                id=_code(vocab.names, name),
                key=_code(vocab.name_keys, name[:NAME_KEY]),
                first_word=_code(vocab.words, name.split()[0]),
                words=word_ids,
                search=word_ids + tuple(_code(vocab.words, p) for p in prefixes),
                prefix=name.encode()[:PREFIX_BYTES].ljust(PREFIX_BYTES, b"\0"),
            )
        return found


_NO_NAME = _Name(-1, -1, -1, (), (), bytes(PREFIX_BYTES))


def _build(
    sides: Sequence[Side], vocab: Vocabulary, texts: _Texts, pad: int
) -> tuple[Features, list[list[list[int]]]]:
    """Features of ``sides`` and its token rows (matrices are made once the vocabulary is
    complete); ``pad`` fills missing name ids, different per side so padding never agrees."""
    n = len(sides)
    group = np.fromiter((_code(vocab.groups, s.group) for s in sides), np.int64, n)
    currency = np.fromiter((_code(vocab.currencies, s.currency) for s in sides), np.int64, n)
    cents = np.fromiter((_cents(s.amount) for s in sides), np.float64, n)
    base = np.fromiter(
        (np.nan if s.base_amount is None else _cents(s.base_amount) for s in sides), np.float64, n
    )
    start = np.fromiter((s.date.toordinal() for s in sides), np.int64, n)
    end = np.fromiter(((s.date_until or s.date).toordinal() for s in sides), np.int64, n)
    comparable = texts.comparable
    names: list[tuple[str, ...]] = []
    slots: list[_Name] = []  # NAMES per row
    word_rows: list[list[int]] = []
    name_word_rows: list[list[tuple[int, ...]]] = []
    search_rows: list[list[int]] = []
    ref_rows: list[list[int]] = []
    own_rows: list[list[int]] = []
    for side in sides:
        normalized = tuple(dict.fromkeys(x for x in (comparable.get(m) for m in side.names) if x))
        names.append(normalized)
        infos = [texts.info(name) for name in normalized]
        row_slots = infos[:NAMES]
        slots.extend(row_slots)
        slots.extend([_NO_NAME] * (NAMES - len(row_slots)))
        word_rows.append([w for x in infos for w in x.words])
        search_rows.append([w for x in infos for w in x.search])
        name_word_rows.append([x.words for x in row_slots])
        ref_rows.append([t for m in side.names if m for t in texts.identifier_ids(m)])
        if side.reference:
            own = texts.identifier_ids(side.reference)
            ref_rows[-1].extend(own)
            own_rows.append(list(own))
        else:
            own_rows.append([])

    def column(values: list[int]) -> np.ndarray:
        out = np.array(values, np.int64).reshape(n, NAMES)
        return np.where(out < 0, pad, out) if n else np.full((0, NAMES), pad, np.int64)

    prefix = np.frombuffer(b"".join(x.prefix for x in slots), np.uint8).reshape(
        n, NAMES, PREFIX_BYTES
    )
    prefix_len = (prefix != 0).sum(axis=2).astype(np.int64)
    empty = sparse.csr_matrix((n, 0), dtype=np.float32)
    features = Features(
        sides=sides,
        group=group,
        currency=currency,
        cents=cents,
        base_cents=base,
        start=start,
        end=end,
        name_ids=column([x.id for x in slots]),
        name_keys=column([x.key for x in slots]),
        names=names,
        prefix=prefix,
        prefix_len=prefix_len,
        name_words=np.zeros((n, NAMES, WORDS), np.int64),
        first_word=np.array([x.first_word for x in slots], np.int64).reshape(n, NAMES),
        words=empty,
        search=empty,
        refs=empty,
        own_refs=empty,
    )
    return features, [word_rows, search_rows, ref_rows, own_rows, name_word_rows]


def _padded(rows: Sequence[Sequence[int]], width: int, pad: int, rank: np.ndarray) -> np.ndarray:
    """Each row's ids, the rarest (lowest ``rank``) first, cut to ``width``, padded."""
    out = np.full((len(rows), width), pad, np.int64)
    for i, row in enumerate(rows):
        if row:
            kept = sorted(set(row), key=rank.__getitem__)[:width]
            out[i, : len(kept)] = kept
    return out


def build_pair(
    records: Sequence[Side], candidates: Sequence[Side]
) -> tuple[Features, Features, Vocabulary]:
    """Features of both sides over one vocabulary."""
    vocab = Vocabulary()
    texts = _Texts(vocab, (records, candidates))
    built = [_build(records, vocab, texts, pad=-1), _build(candidates, vocab, texts, pad=-2)]
    for features, (word_rows, search_rows, ref_rows, own_rows, _) in built:
        features.words = _rows_matrix(word_rows, len(vocab.words))
        features.search = _rows_matrix(search_rows, len(vocab.words))
        features.refs = _rows_matrix(ref_rows, len(vocab.refs))
        features.own_refs = _rows_matrix(own_rows, len(vocab.refs))
    # Rarity over both sides: when a row has more words than are compared, the rare ones count.
    word_df = sum(np.asarray((f.words > 0).sum(axis=0)).ravel() for f, _ in built)
    ref_df = sum(np.asarray((f.refs > 0).sum(axis=0)).ravel() for f, _ in built)
    for pad, (features, rows) in zip((-1, -2), built, strict=True):
        features.vocabulary = vocab
        _, _, ref_rows, own_rows, name_word_rows = rows
        features.name_words = np.stack(
            [_padded([r[k] if k < len(r) else () for r in name_word_rows], WORDS, pad, word_df)
             for k in range(NAMES)],
            axis=1,
        ) if features.n else np.zeros((0, NAMES, WORDS), np.int64)  # fmt: skip
        features.ref_pad = _padded(ref_rows, REFS, pad, ref_df)
        features.own_pad = _padded(own_rows, REFS, pad - 2, ref_df)
    return built[0][0], built[1][0], vocab
