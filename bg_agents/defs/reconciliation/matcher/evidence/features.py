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

from bg_agents.defs.reconciliation.matcher.rules import Side, normalize_name, reference_tokens

NAMES = 3  # normalized names compared per row (a bank row: counterparty, merchant, text)
PREFIX_BYTES = 32  # how much of the primary name the truncation check reads
MIN_WORD = 2
WORDS = 8  # words per row compared (the rarest first)
REFS = 4  # identifier tokens per row compared
WORD_PREFIX = 5  # letters of a longer word that blocking also searches by
NAME_KEY = 12  # letters of a name that blocking searches by (banks cut names short)
# A leading word is a bank's noise when it starts this share of names (at least this many) and
# is followed by many different words.
NOISE_SHARE = 0.002
NOISE_MIN_ROWS = 20
NOISE_VARIETY = 0.2
_DIGITS = re.compile(r"\d{5,}")
_SPACED = re.compile(r"\d+(?: \d+)+")


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
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width))


@lru_cache(maxsize=1 << 17)
def identifiers(text: str) -> frozenset[str]:
    """Identifier tokens of a text: the rules' reference tokens ("RE-2025-0042" ->
    "re20250042"), every run of 5+ digits, and digit groups split by spaces joined, so
    "RE 669432" and "re669432" share "669432", "INV 2026 18495" and "inv202618495" share
    "202618495", "INV-2026-28348" and "TRF/202628348" share "202628348" (four digits alone
    would make every year an identifier)."""
    spaced = {m.replace(" ", "") for m in _SPACED.findall(text)}
    tokens = reference_tokens(text)
    digits = {"".join(filter(str.isdigit, t)) for t in tokens}  # "inv202628348" -> its number
    return tokens | frozenset(_DIGITS.findall(text)) | {d for d in spaced | digits if len(d) >= 5}


class _Texts:
    """Per distinct name: its comparable form and token ids (names repeat: a party, a memo).

    The comparable form is the normalized name without the leading words a bank puts before
    many different texts in this data ("ueberweisung", "trf", "gutschrift"): learned from the
    files, since every bank has its own. A word that always precedes the same continuation
    ("redhaus" in "redhaus handel") is part of a name and stays.
    """

    def __init__(self, vocab: Vocabulary, sides: Sequence[Sequence[Side]]) -> None:
        self.vocab = vocab
        self.normalized: dict[str, str] = {}
        self.tokens: dict[str, tuple[list[int], list[int], int]] = {}
        firsts: Counter[str] = Counter()
        follows: dict[str, set[str]] = {}
        rows = 0
        for side in sides:
            for row in side:
                rows += 1
                for name in row.names:
                    words = normalize_name(name).split() if name else []
                    if len(words) > 1:
                        firsts[words[0]] += 1
                        follows.setdefault(words[0], set()).add(words[1])
        least = max(NOISE_MIN_ROWS, NOISE_SHARE * rows)
        self.noise = frozenset(
            w for w, n in firsts.items()
            if n >= least and len(follows[w]) >= NOISE_VARIETY * n
        )  # fmt: skip

    def normalize(self, name: str) -> str:
        found = self.normalized.get(name)
        if found is None:
            words = normalize_name(name).split()
            while len(words) > 1 and words[0] in self.noise:
                words.pop(0)
            found = self.normalized[name] = " ".join(words)
        return found

    def of(self, normalized: str) -> tuple[list[int], list[int], int]:
        """(word ids, search ids: words and their prefixes, id of the name's key)."""
        found = self.tokens.get(normalized)
        if found is None:
            vocab = self.vocab
            words = {w for w in normalized.split() if len(w) >= MIN_WORD}
            word_ids = [_code(vocab.words, w) for w in words]
            # A word cut short by a bank ("agniesz") still shares its first letters.
            prefixes = {w[:WORD_PREFIX] + "~" for w in words if len(w) > WORD_PREFIX}
            search = word_ids + [_code(vocab.words, p) for p in prefixes]
            key = _code(vocab.name_keys, normalized[:NAME_KEY])
            found = self.tokens[normalized] = (word_ids, search, key)
        return found


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
    name_ids = np.full((n, NAMES), pad, np.int64)
    name_keys = np.full((n, NAMES), pad, np.int64)
    first_word = np.full((n, NAMES), -1, np.int64)
    prefix = np.zeros((n, NAMES, PREFIX_BYTES), np.uint8)
    prefix_len = np.zeros((n, NAMES), np.int64)
    names: list[tuple[str, ...]] = []
    word_rows: list[list[int]] = []
    name_word_rows: list[list[list[int]]] = []
    search_rows: list[list[int]] = []
    ref_rows: list[list[int]] = []
    own_rows: list[list[int]] = []
    for i, side in enumerate(sides):
        normalized = tuple(dict.fromkeys(x for x in map(texts.normalize, side.names) if x))
        names.append(normalized)
        words: set[int] = set()
        search: set[int] = set()
        for k, name in enumerate(normalized):
            word_ids, search_ids, key = texts.of(name)
            words.update(word_ids)
            search.update(search_ids)
            if k < NAMES:
                name_ids[i, k] = _code(vocab.names, name)
                name_keys[i, k] = key
                first_word[i, k] = _code(vocab.words, name.split()[0])
                raw = name.encode()[:PREFIX_BYTES]
                prefix[i, k, : len(raw)] = np.frombuffer(raw, np.uint8)
                prefix_len[i, k] = len(raw)
        word_rows.append(sorted(words))
        name_word_rows.append([texts.of(name)[0] for name in normalized[:NAMES]])
        search_rows.append(sorted(search))
        tokens = frozenset().union(*(identifiers(t) for t in (*side.names, side.reference) if t))
        ref_rows.append(sorted(_code(vocab.refs, t) for t in tokens))
        own = identifiers(side.reference) if side.reference else frozenset()
        own_rows.append(sorted(_code(vocab.refs, t) for t in own))
    empty = sparse.csr_matrix((n, 0), dtype=np.float32)
    features = Features(
        sides=sides,
        group=group,
        currency=currency,
        cents=cents,
        base_cents=base,
        start=start,
        end=end,
        name_ids=name_ids,
        name_keys=name_keys,
        names=names,
        prefix=prefix,
        prefix_len=prefix_len,
        name_words=np.zeros((n, NAMES, WORDS), np.int64),
        first_word=first_word,
        words=empty,
        search=empty,
        refs=empty,
        own_refs=empty,
    )
    return features, [word_rows, search_rows, ref_rows, own_rows, name_word_rows]


def _padded(rows: list[list[int]], width: int, pad: int, rank: np.ndarray) -> np.ndarray:
    """Each row's ids, the rarest (lowest ``rank``) first, cut to ``width``, padded."""
    out = np.full((len(rows), width), pad, np.int64)
    for i, row in enumerate(rows):
        if row:
            kept = sorted(row, key=rank.__getitem__)[:width]
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
            [_padded([r[k] if k < len(r) else [] for r in name_word_rows], WORDS, pad, word_df)
             for k in range(NAMES)],
            axis=1,
        ) if features.n else np.zeros((0, NAMES, WORDS), np.int64)  # fmt: skip
        features.ref_pad = _padded(ref_rows, REFS, pad, ref_df)
        features.own_pad = _padded(own_rows, REFS, pad - 2, ref_df)
    return built[0][0], built[1][0], vocab
