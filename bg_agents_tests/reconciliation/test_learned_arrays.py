"""The matcher's fast array helpers give exactly what the slower, obvious ways give: a changed
order or grouping would change which pairs are compared, linked and suggested."""

from __future__ import annotations

import numpy as np
import pytest

from bg_agents.defs.reconciliation.matcher.assignment import _components, _linear_sum_assignment
from bg_agents.defs.reconciliation.matcher.evidence.order import descending, lexorder


@pytest.mark.parametrize("seed", range(20))
def test_lexorder_is_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 2_000))
    rows = rng.integers(0, 50, n)
    scores = rng.choice(np.array([0.0, -0.0, 1.5, 2.25, 3.0, -7.0, 1e-30], np.float32), n)
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
