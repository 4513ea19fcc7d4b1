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
from typing import Any

import numpy as np
from scipy import sparse

from bg_agents.defs.reconciliation.matcher.evidence.order import group_rank, lexorder
from bg_agents.defs.reconciliation.matcher.rules import Side, normalize_name
from bg_agents.lib.forked import halves

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
_HAS_DIGIT = re.compile(r"\d")
# The next two start only where a run starts (of digits; of a token's characters): the same
# matches as without the look-behind, but no retry from every letter of a long memo word,
# which was most of the time spent finding identifiers.
_SPACED = re.compile(r"(?<!\d)\d+(?: \d+)+")
# A token holding a digit, split as the rules' reference_tokens split a text.
_DIGIT_TOKEN = re.compile(r"(?<![^\s,;/|])[^\s,;/|]*\d[^\s,;/|]*")
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


def identifiers(text: str) -> frozenset[str]:
    """Identifier tokens of a text: the rules' reference tokens ("RE-2025-0042" ->
    "re20250042"), every run of 5+ digits, and digit groups split by spaces joined, so
    "RE 669432" and "re669432" share "669432", "INV 2026 18495" and "inv202618495" share
    "202618495", "INV-2026-28348" and "TRF/202628348" share "202628348" (four digits alone
    would make every year an identifier)."""
    if not _HAS_DIGIT.search(text):  # most party names: nothing to find
        return frozenset()
    # Every identifier lies in a token holding a digit: the text is scanned once for those, and
    # a token of plain digits (most of them) is its own identifier, with no more regex.
    tokens = _DIGIT_TOKEN.findall(text.lower())
    found: set[str] = set()
    if len(tokens) > 1:  # digit groups split by spaces are two tokens at least
        found.update(d for d in (m.replace(" ", "") for m in _SPACED.findall(text)) if len(d) >= 5)
    for token in tokens:
        if token.isascii() and token.isdigit():
            if len(token) >= 4:
                found.add(token)
            continue
        found.update(_DIGITS.findall(token))
        plain = _NOT_ALNUM.sub("", token)
        digits = len(plain) - len(plain.translate(_DROP_DIGITS))
        if digits >= 4:  # the rules' reference token, and its number alone
            found.add(plain)
            if digits >= 5:
                found.add(plain.translate(_DROP_LETTERS))
    return frozenset(found)


def _words(name: str) -> list[str]:
    return normalize_name(name).split()


class _Texts:
    """Every distinct name and text of both sides, worked out once (names repeat: a party, a
    memo), as rows of tables the sides' arrays are gathered from.

    The comparable form of a name is the normalized name without the leading words a bank puts
    before many different texts in this data ("ueberweisung", "trf", "gutschrift"): learned from
    the files, since every bank has its own. A word mostly followed by the same word ("redhaus"
    in "redhaus handel", "o" in "o klein") is part of a name and stays.
    """

    def __init__(
        self, vocab: Vocabulary, sides: Sequence[Sequence[Side]], processes: int = 1
    ) -> None:
        self.vocab = vocab
        rows = sum(len(side) for side in sides)
        occurrences = Counter(name for side in sides for row in side for name in row.names)
        # The string work on each distinct name and text (most of the features' time) is split
        # over ``processes`` (2 at most: see bg_agents.lib.forked) when there is much of it.
        distinct = [name for name in occurrences if name]
        normalized = dict(zip(distinct, halves(_words, distinct, processes), strict=True))
        references = (row.reference for side in sides for row in side if row.reference)
        texts = list(dict.fromkeys([*distinct, *references]))  # a reference may be a name too
        self.identifiers = dict(zip(texts, halves(identifiers, texts, processes), strict=True))
        # Plain dicts (a Counter's += costs three calls; this runs once per distinct name).
        firsts: dict[str, int] = {}
        follows: dict[str, dict[str, int]] = {}
        for name, words in normalized.items():
            if len(words) > 1:
                first, count = words[0], occurrences[name]
                firsts[first] = firsts.get(first, 0) + count
                after = follows.setdefault(first, {})
                after[words[1]] = after.get(words[1], 0) + count
        least = max(NOISE_MIN_ROWS, NOISE_SHARE * rows)
        noise = {
            w
            for w, n in firsts.items()
            if n >= least and max(follows[w].values()) < NOISE_DOMINANCE * n
        }
        self.comparable: dict[str, str] = {}
        for name, words in normalized.items():
            while len(words) > 1 and words[0] in noise:
                words = words[1:]
            self.comparable[name] = " ".join(words)
        # Distinct comparable names, by index: what the rows holding one share.
        self.name_index: dict[str, int] = {}
        self.name_ids: list[int] = []
        self.keys: list[int] = []
        self.first_words: list[int] = []
        self.prefixes: list[bytes] = []
        self.word_rows: list[tuple[int, ...]] = []
        self.search_rows: list[tuple[int, ...]] = []
        # Distinct texts (names as given, references), by index: their identifier ids.
        self.text_index: dict[str, int] = {}
        self.text_refs: list[tuple[int, ...]] = []

    def name(self, name: str) -> int:
        found = self.name_index.get(name)
        if found is None:
            vocab = self.vocab
            table = vocab.words  # ids in order of first use (``_code``, written out)
            found = self.name_index[name] = len(self.name_ids)
            split = name.split()
            # Sorted: ids never depend on a set's order (which Python's hashing varies per run).
            words = sorted({w for w in split if len(w) >= MIN_WORD})
            word_ids = tuple([table.setdefault(w, len(table)) for w in words])
            # A word cut short by a bank ("agniesz") still shares its first letters.
            prefixes = sorted({w[:WORD_PREFIX] + "~" for w in words if len(w) > WORD_PREFIX})
            self.name_ids.append(_code(vocab.names, name))
            self.keys.append(_code(vocab.name_keys, name[:NAME_KEY]))
            self.first_words.append(table.setdefault(split[0], len(table)))
            self.prefixes.append(name.encode()[:PREFIX_BYTES].ljust(PREFIX_BYTES, b"\0"))
            self.word_rows.append(word_ids)
            self.search_rows.append(
                word_ids + tuple([table.setdefault(p, len(table)) for p in prefixes])
            )
        return found

    def text(self, text: str) -> int:
        found = self.text_index.get(text)
        if found is None:
            found = self.text_index[text] = len(self.text_refs)
            refs = self.vocab.refs
            tokens = self.identifiers.get(text)
            if tokens is None:  # a text neither given as a name nor a reference
                tokens = identifiers(text)
            self.text_refs.append(tuple([refs.setdefault(t, len(refs)) for t in sorted(tokens)]))
        return found


@dataclass
class _Rows:
    """One side's rows as indexes into its distinct name lists, and those into the distinct
    names and texts."""

    lists: sparse.csr_matrix  # (n, distinct lists) 1 at each row's name list
    names: list[tuple[str, ...]]  # each row's comparable names, in order, each once
    slots: np.ndarray  # (n, NAMES) distinct-name index per slot, -1 when empty
    list_names: list[list[int]]  # each distinct list's distinct-name indexes
    list_texts: list[list[int]]  # each distinct list's text indexes (the names as given)
    own: tuple[list[int], list[int]]  # (row, text index) of each row's own reference

    def by_row(self, per_list: sparse.csr_matrix) -> sparse.csr_matrix:
        """A table over the distinct lists, spread to the rows holding them."""
        return self.lists @ per_list


def _rows(sides: Sequence[Side], texts: _Texts) -> _Rows:
    """Each row's names and texts as indexes (registered in row order, so ids never depend on
    anything but the rows' order). Rows repeat their names (a party, a memo: 20,000 rows of the
    simulated set hold 2,822 distinct name lists): each distinct list is worked out once."""
    comparable, name_of, text_of = texts.comparable, texts.name, texts.text
    seen: dict[tuple[str, ...], int] = {}
    lists: list[int] = []
    list_names: list[list[int]] = []
    list_texts: list[list[int]] = []
    list_comparable: list[tuple[str, ...]] = []
    own_rows: list[int] = []
    own_texts: list[int] = []
    for i, side in enumerate(sides):
        given = (side.name, *side.aliases)  # Side.names, without the property's call
        k = seen.get(given)
        if k is None:
            k = seen[given] = len(list_names)
            names = tuple(dict.fromkeys(x for x in map(comparable.get, given) if x))
            list_comparable.append(names)
            list_names.append([name_of(name) for name in names])
            list_texts.append([text_of(text) for text in given if text])
        lists.append(k)
        if side.reference:
            own_rows.append(i)
            own_texts.append(text_of(side.reference))
    pad = [-1] * NAMES
    slots = np.array([(ids + pad)[:NAMES] for ids in list_names], np.int64).reshape(-1, NAMES)
    n = len(lists)
    return _Rows(
        lists=sparse.csr_matrix(
            (np.ones(n, np.float32), np.array(lists, np.int64), np.arange(n + 1)),
            shape=(n, len(list_names)),
        ),
        names=[list_comparable[k] for k in lists],
        slots=slots[lists] if lists else np.empty((0, NAMES), np.int64),
        list_names=list_names,
        list_texts=list_texts,
        own=(own_rows, own_texts),
    )


def _matrix(rows: Sequence[Sequence[int]], width: int) -> sparse.csr_matrix:
    """0/1 matrix with a row per entry of ``rows`` holding its ids (duplicates count once)."""
    indptr = np.zeros(len(rows) + 1, np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.fromiter((t for r in rows for t in r), np.int64, int(indptr[-1]))
    return _binary(
        sparse.csr_matrix(
            (np.ones(len(indices), np.float32), indices, indptr), shape=(len(rows), width)
        )
    )


def _incidence(pairs: tuple[list[int], list[int]], shape: tuple[int, int]) -> sparse.csr_matrix:
    rows, cols = pairs
    data = np.ones(len(rows), np.float32)
    return sparse.csr_matrix((data, (np.array(rows, np.int64), np.array(cols, np.int64))),
                             shape=shape)  # fmt: skip


def _binary(matrix: sparse.spmatrix) -> sparse.csr_matrix:
    matrix = sparse.csr_matrix(matrix)
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def _rarest(matrix: sparse.csr_matrix, df: np.ndarray, width: int, pad: int) -> np.ndarray:
    """Each row's column ids, the rarest (lowest ``df``) first, cut to ``width``, padded."""
    out = np.full((matrix.shape[0], width), pad, np.int64)
    coo = matrix.tocoo()
    row, col = coo.row.astype(np.int64), coo.col.astype(np.int64)
    order = lexorder([row, df[col], col])
    row, col = row[order], col[order]
    rank = group_rank(row)
    keep = rank < width
    out[row[keep], rank[keep]] = col[keep]
    return out


def _cents(amounts: list[Any]) -> np.ndarray:
    """|amount| in cents, rounded to hundredths of a cent (money is stored with four places);
    NaN (no base amount) stays NaN. numpy converts each ``Decimal`` as float() does, without a
    Python call per row."""
    return np.round(np.abs(np.array(amounts, np.float64)) * 100, 2)


def _numbers(sides: Sequence[Side], vocab: Vocabulary) -> dict[str, np.ndarray]:
    """The numeric columns. (``_code`` written out: a call per row and column was most of the
    time here.)"""
    groups, currencies = vocab.groups, vocab.currencies
    days: dict[Any, int] = {}  # a file holds a few hundred distinct dates
    start = [days.get(s.date) or days.setdefault(s.date, s.date.toordinal()) for s in sides]
    return {
        "group": np.array([groups.setdefault(s.group, len(groups)) for s in sides], np.int64),
        "currency": np.array(
            [currencies.setdefault(s.currency, len(currencies)) for s in sides], np.int64
        ),
        "cents": _cents([s.amount for s in sides]),
        "base_cents": _cents([np.nan if (b := s.base_amount) is None else b for s in sides]),
        "start": np.array(start, np.int64),
        "end": np.array(
            [
                d if (u := s.date_until) is None else u.toordinal()
                for s, d in zip(sides, start, strict=True)
            ],
            np.int64,
        ),  # fmt: skip
    }


def build_pair(
    records: Sequence[Side], candidates: Sequence[Side], processes: int = 1
) -> tuple[Features, Features, Vocabulary]:
    """Features of both sides over one vocabulary.

    Python touches each row once (to list its names and texts) and each distinct name or text
    once; the rest is gathering from the distinct tables and sparse products.
    """
    vocab = Vocabulary()
    texts = _Texts(vocab, (records, candidates), processes)
    both = [(records, _rows(records, texts), -1), (candidates, _rows(candidates, texts), -2)]
    n_names, n_texts = len(texts.name_ids), len(texts.text_refs)
    name_words = _matrix(texts.word_rows, len(vocab.words))
    name_search = _matrix(texts.search_rows, len(vocab.words))
    text_refs = _matrix(texts.text_refs, len(vocab.refs))
    prefixes = np.frombuffer(b"".join(texts.prefixes), np.uint8).reshape(n_names, PREFIX_BYTES)
    tables = {
        "name_ids": np.array(texts.name_ids, np.int64),
        "keys": np.array(texts.keys, np.int64),
        "first_words": np.array(texts.first_words, np.int64),
    }
    built = []
    for sides, rows, pad in both:
        n = len(sides)
        pick_names = rows.by_row(_matrix(rows.list_names, n_names))
        filled = rows.slots >= 0
        at = np.maximum(rows.slots, 0)

        def column(values: np.ndarray, empty: int, at=at, filled=filled) -> np.ndarray:
            return np.where(filled, values[at], empty) if len(values) else np.full(at.shape, empty)

        list_refs = _matrix(rows.list_texts, n_texts) @ text_refs
        own_texts = _incidence(rows.own, (n, n_texts))
        prefix = np.where(filled[:, :, None], prefixes[at], 0) if n_names else np.zeros(
            (n, NAMES, PREFIX_BYTES)
        )  # fmt: skip
        prefix = prefix.astype(np.uint8)
        built.append(
            Features(
                sides=sides,
                **_numbers(sides, vocab),
                name_ids=column(tables["name_ids"], pad),
                name_keys=column(tables["keys"], pad),
                names=rows.names,
                prefix=prefix,
                prefix_len=(prefix != 0).sum(axis=2).astype(np.int64),
                name_words=np.zeros((n, NAMES, WORDS), np.int64),  # once rarity is known
                first_word=column(tables["first_words"], -1),
                words=_binary(pick_names @ name_words),
                search=_binary(pick_names @ name_search),
                refs=_binary(rows.by_row(list_refs) + own_texts @ text_refs),
                own_refs=_binary(own_texts @ text_refs),
                vocabulary=vocab,
            )
        )
    # Rarity over both sides: when a name has more words than are compared, the rare ones count.
    word_df = sum(np.asarray((f.words > 0).sum(axis=0)).ravel() for f in built)
    ref_df = sum(np.asarray((f.refs > 0).sum(axis=0)).ravel() for f in built)
    for features, (_, rows, pad) in zip(built, both, strict=True):
        filled = rows.slots >= 0
        rarest_words = _rarest(name_words, word_df, WORDS, pad)[np.maximum(rows.slots, 0)]
        features.name_words = np.where(filled[:, :, None], rarest_words, pad)
        features.ref_pad = _rarest(features.refs, ref_df, REFS, pad)
        features.own_pad = _rarest(features.own_refs, ref_df, REFS, pad - 2)
    return built[0], built[1], vocab
