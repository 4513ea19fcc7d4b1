"""The matcher's fast array helpers give exactly what the slower, obvious ways give: a changed
order or grouping would change which pairs are compared, linked and suggested."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bg_agents.defs.reconciliation.matcher.assignment import _components, _linear_sum_assignment
from bg_agents.defs.reconciliation.matcher.evidence.comparisons import COMPARISONS
from bg_agents.defs.reconciliation.matcher.evidence.explain import Explanations, describe
from bg_agents.defs.reconciliation.matcher.evidence.order import descending, group_rank, lexorder


@pytest.mark.parametrize("seed", range(20))
def test_lexorder_is_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 2_000))
    rows = rng.integers(0, 50, n)
    scores = rng.choice(np.array([0.0, -0.0, 1.5, 2.25, -0.5, -7.0, 1e-30], np.float32), n)
    lags = rng.integers(-5, 60, n)
    expected = np.lexsort((lags, -scores, rows))
    assert lexorder([rows, descending(scores), lags]).tolist() == expected.tolist()


def test_lexorder_of_keys_too_wide_to_pack() -> None:
    rng = np.random.default_rng(1)
    wide = rng.integers(0, 2**40, 5_000)
    other = rng.integers(0, 2**40, 5_000)
    small = rng.integers(0, 3, 5_000)
    expected = np.lexsort((small, other, wide % 7))
    assert lexorder([wide % 7, other, small]).tolist() == expected.tolist()


def _components_by_search(edges: list[tuple[int, int, float]]) -> list[list[int]]:
    """Components by breadth-first search over edges, in the order of their first edge."""
    seen: set[int] = set()
    out = []
    for start in range(len(edges)):
        if start in seen:
            continue
        group, todo, nodes = [], [start], set()
        while todo:
            k = todo.pop()
            if k in seen:
                continue
            seen.add(k)
            group.append(k)
            nodes |= {("l", edges[k][0]), ("r", edges[k][1])}
            todo += [o for o in range(len(edges)) if o not in seen
                     and (("l", edges[o][0]) in nodes or ("r", edges[o][1]) in nodes)]  # fmt: skip
        out.append(sorted(group))
    return out


@pytest.mark.parametrize("seed", range(10))
def test_components_match_a_graph_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    edges = [(int(rng.integers(0, 40)), int(rng.integers(0, 40)), 1.0) for _ in range(60)]
    assert [sorted(c) for c in _components(edges)] == _components_by_search(edges)


def test_a_long_chain_is_one_component() -> None:
    # record k pays candidates k and k + 1: every pair is linked through its neighbours
    edges = [(k, k + d, 1.0) for k in range(5_000) for d in (0, 1)]
    assert len(_components(edges)) == 1


def test_assignment_solver_solves() -> None:
    rows, cols = _linear_sum_assignment()(np.array([[4.0, 1.0], [2.0, 8.0]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]


def test_group_rank_counts_within_each_key() -> None:
    keys = np.array([3, 3, 3, 5, 8, 8])
    assert group_rank(keys).tolist() == [0, 1, 2, 0, 0, 1]
    rng = np.random.default_rng(4)
    keys = np.sort(rng.integers(0, 30, 1_000))
    assert group_rank(keys).tolist() == (np.arange(1_000) - np.searchsorted(keys, keys)).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_explanations_read_as_describe(seed: int) -> None:
    """The words prepared for many pairs at once are describe's, to the character: rounding
    (0.35 -> 0.3, Python's decimal rounding, not 0.4), term-frequency counts, the order of
    equally strong parts, comparisons without evidence left out."""
    rng = np.random.default_rng(seed)
    n, k = 300, len(COMPARISONS)
    gamma = np.array([rng.integers(-1, len(c.levels), n) for c in COMPARISONS]).T.astype(np.int8)
    weights = rng.choice(np.array([0.35, -0.35, 0.05, -0.04, 2.25, 8.0, -4.0, 1.0]), (n, k))
    weights += rng.choice([0.0, 0.0, rng.normal()], (n, k))
    tf = np.where(rng.random((n, k)) < 0.3, rng.choice([0.5 / 400, 2.5 / 400, 0.01], (n, k)),
                  np.nan)  # fmt: skip
    texts = Explanations(gamma, weights, tf, 400)
    for row in range(n):
        amount = "same amount (60.00 EUR)" if row % 3 else None
        when = "paid within the invoice's period (issue to due date)" if row % 5 == 0 else None
        p = float(rng.random())
        expected = describe(gamma[row].tolist(), weights[row].tolist(), tf[row].tolist(), 400,
                            amount, p, date_text=when)  # fmt: skip
        assert texts.text(row, amount, p, date_text=when) == expected


def test_shared_token_blocking_keeps_its_best_few_when_scored_in_blocks(monkeypatch) -> None:
    """Records that share memo words with many bank rows get at most ``token_top`` of them,
    the rarest-sharing first, whether all records are scored at once or in blocks."""
    from datetime import date, timedelta
    from decimal import Decimal

    from bg_agents.defs.reconciliation.matcher.evidence import candidates
    from bg_agents.defs.reconciliation.matcher.evidence.features import build_pair
    from bg_agents.defs.reconciliation.matcher.rules import Side

    rng = np.random.default_rng(3)
    words = [f"word{k:03d}" for k in range(60)]
    day = date(2026, 3, 1)

    def side(prefix: str, k: int) -> Side:
        memo = " ".join(rng.choice(words, 4, replace=False).tolist())
        return Side(f"{prefix}{k}", day + timedelta(days=int(rng.integers(0, 20))),
                    Decimal(int(rng.integers(100, 9_999))) / 100, "EUR", memo)  # fmt: skip

    left, right, _ = build_pair([side("L", k) for k in range(300)],
                                [side("R", k) for k in range(300)])  # fmt: skip
    blocking = candidates.Blocking()
    rec, cand = candidates.shared_tokens(left, right, blocking)
    assert len(rec) and np.bincount(rec).max() == blocking.token_top
    monkeypatch.setattr(candidates, "TOKEN_BLOCK", 7)
    in_blocks = candidates.shared_tokens(left, right, blocking)
    assert in_blocks[0].tolist() == rec.tolist() and in_blocks[1].tolist() == cand.tolist()


def _identifiers_the_slow_way(text: str) -> frozenset[str]:
    """identifiers() as its docstring defines it: each rule a regex over the whole text."""
    import re

    found = set(re.findall(r"\d{5,}", text))
    spaced = (m.replace(" ", "") for m in re.findall(r"(?<!\d)\d+(?: \d+)+", text))
    found.update(d for d in spaced if len(d) >= 5)
    for token in re.findall(r"[^\s,;/|]+", text.lower()):
        plain = re.sub(r"[^a-z0-9]+", "", token)
        digits = sum(ch.isdigit() for ch in plain)
        if digits >= 4:
            found.add(plain)
            if digits >= 5:
                found.add(re.sub(r"[a-z]", "", plain))
    return frozenset(found)


@pytest.mark.parametrize("seed", range(10))
def test_identifiers_are_those_of_the_slow_way(seed: int) -> None:
    """The one-pass identifier finder (plain-digit tokens need no further regex) finds what
    every rule applied to the whole text finds: bank memos, digit groups split by spaces,
    separators, letters glued to numbers, and digits that are not ASCII."""
    from bg_agents.defs.reconciliation.matcher.evidence.features import identifiers

    rng = np.random.default_rng(seed)
    pieces = ["RE", "re", "INV", "2026", "18495", "669432", "0042", "123", "12", "7", "Ü", "ß",
              "İ", "١٢٣٤٥", "٣٤", "²", "-", "/", ",", ";", "|", ".", " ", " ", " ", "  ", "\t",
              "TRF", "SEPA CT", "a1b2c3d4", "x99999y", "Order 80", "08.05.2026"]  # fmt: skip
    texts = ["", "no digits here", "RE 669432", "INV 2026 18495", "INV-2026-28348 TRF/202628348",
             "12 345 6789", "12  345", "1234 5"]  # fmt: skip
    for _ in range(400):
        texts.append("".join(rng.choice(pieces, int(rng.integers(1, 12))).tolist()))
    for text in texts:
        assert identifiers(text) == _identifiers_the_slow_way(text), text


def _references_of_every_pair(left, right, rec, cand, ref_share):
    """Reference levels computed on every pair, as the matcher did before it skipped pairs
    where a side holds no identifier."""
    lr, rr, own = left.ref_pad[rec], right.ref_pad[cand], left.own_pad[rec]
    equal = (lr[:, :, None] == rr[:, None, :]).any(axis=2)
    shared = equal.any(axis=1)
    quoted = (own[:, :, None] == rr[:, None, :]).any(axis=(1, 2))
    both = (lr[:, 0] >= 0) & (rr[:, 0] >= 0)
    level = np.full(len(rec), -1, np.int8)
    level[both] = 2
    level[shared] = 1
    level[quoted] = 0
    held = ref_share[np.clip(lr, 0, len(ref_share) - 1)]
    rarest = np.where(equal, held, np.inf).min(axis=1)
    return level, np.where(shared & ~quoted, rarest, np.nan)


@pytest.mark.parametrize("seed", range(3))
def test_reference_levels_skip_only_pairs_without_identifiers(seed: int) -> None:
    from datetime import date
    from decimal import Decimal

    from bg_agents.defs.reconciliation.matcher.evidence import comparisons
    from bg_agents.defs.reconciliation.matcher.evidence.features import build_pair
    from bg_agents.defs.reconciliation.matcher.rules import Side

    rng = np.random.default_rng(seed)
    numbers = [f"{k:06d}" for k in rng.integers(0, 10**6, 40)]

    def side(prefix: str, k: int) -> Side:
        quoted = " ".join(rng.choice(numbers, int(rng.integers(0, 3))).tolist())
        reference = f"INV-{rng.choice(numbers)}" if prefix == "L" and rng.random() < 0.4 else None
        return Side(f"{prefix}{k}", date(2026, 3, 1), Decimal("10.00"), "EUR",
                    f"payment {quoted}".strip(), reference=reference)  # fmt: skip

    left, right, _ = build_pair([side("L", k) for k in range(200)],
                                [side("R", k) for k in range(200)])  # fmt: skip
    rec, cand = rng.integers(0, 200, 5_000), rng.integers(0, 200, 5_000)
    ref_share = np.asarray((right.refs > 0).sum(axis=0)).ravel() / right.n
    level, share = comparisons._references(left, right, rec, cand, ref_share)
    expected_level, expected_share = _references_of_every_pair(left, right, rec, cand, ref_share)
    assert set(level.tolist()) == {-1, 0, 1, 2}  # every level occurs: the check means something
    assert level.tolist() == expected_level.tolist()
    assert np.array_equal(share, expected_share, equal_nan=True)


@pytest.mark.parametrize("seed", range(3))
def test_name_levels_per_distinct_pair_of_names_are_those_of_every_pair(seed: int) -> None:
    """Name levels worked out once per distinct pair of names (any pair holding the two names
    stands for the others) equal the levels worked out on every pair."""
    from datetime import date
    from decimal import Decimal

    from bg_agents.defs.reconciliation.matcher.evidence import comparisons
    from bg_agents.defs.reconciliation.matcher.evidence.features import build_pair
    from bg_agents.defs.reconciliation.matcher.rules import Side

    rng = np.random.default_rng(seed)
    words = ["fiberlink", "fbl", "hetzner", "online", "redhaus", "handel", "gmbh", "anna",
             "annabelle", "agnieszka", "agniesz", "payment", "rent", "march"]  # fmt: skip

    def side(prefix: str, k: int) -> Side:
        name = " ".join(rng.choice(words, int(rng.integers(1, 4))).tolist())
        alias = " ".join(rng.choice(words, int(rng.integers(1, 3))).tolist())
        return Side(f"{prefix}{k}", date(2026, 3, 1), Decimal("10.00"), "EUR", name,
                    aliases=(alias,) if rng.random() < 0.5 else ())  # fmt: skip

    left, right, _ = build_pair([side("L", k) for k in range(150)],
                                [side("R", k) for k in range(150)])  # fmt: skip
    rec, cand = rng.integers(0, 150, 4_000), rng.integers(0, 150, 4_000)
    vocabulary = comparisons.Words(list(left.vocabulary.words))
    rare = np.asarray((right.words > 0).sum(axis=0)).ravel() <= 3
    for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
        levels = comparisons._slot_levels(left, right, rec, cand, a, b, rare, vocabulary)
        every = comparisons._name_pair(left, right, rec, cand, a, b, rare, vocabulary)
        assert len(set(levels.tolist())) > 3  # several levels occur: the check means something
        assert levels.tolist() == every.tolist()


def test_two_processes_give_the_one_process_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Normalizing names and finding identifiers on two cores changes nothing: the same
    features, ids and pairs (with explanations) as one process, on the SIMULATED labelled set."""
    from bg_agents.defs.reconciliation.matcher import match
    from bg_agents.defs.reconciliation.matcher.config import profile
    from bg_agents.defs.reconciliation.matcher.evidence.candidates import TOKENS, candidate_pairs
    from bg_agents.defs.reconciliation.matcher.evidence.features import build_pair
    from bg_agents.lib import forked
    from bg_agents.simulate.match_evaluation import labelled_set

    if not forked.can_fork():
        pytest.skip("fork is used on Linux only")
    data = labelled_set(2, 8)
    one = match(data.records, data.candidates, profile("learned"))
    left_one, right_one, vocab_one = build_pair(data.records, data.candidates)
    monkeypatch.setattr(forked, "MIN_ITEMS", 10)  # the set is small: fork anyway
    fallbacks = forked.fallbacks
    forks: list[int] = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    two = match(data.records, data.candidates, profile("learned"), processes=2)
    left_two, right_two, vocab_two = build_pair(data.records, data.candidates, processes=2)
    assert forks and forked.fallbacks == fallbacks  # split, and every child delivered
    assert two.pairs == one.pairs and len(one.pairs) > 100
    assert vocab_two.words == vocab_one.words and vocab_two.refs == vocab_one.refs
    for a, b in ((left_one, left_two), (right_one, right_two)):
        assert np.array_equal(a.name_words, b.name_words) and np.array_equal(a.ref_pad, b.ref_pad)
        assert (a.refs != b.refs).nnz == 0 and a.names == b.names
    blocking = profile("learned").blocking
    found_one = candidate_pairs(left_one, right_one, blocking)
    found_two = candidate_pairs(left_one, right_one, blocking, processes=2)
    assert all(np.array_equal(x, y) for x, y in zip(found_one, found_two, strict=True))
    assert np.bitwise_and(found_one[2], TOKENS).any()  # the child's rule found pairs
