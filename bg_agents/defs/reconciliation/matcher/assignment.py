"""Global one-to-one assignment, per connected component of candidate pairs.

Greedy "each record takes its best candidate" fails exactly where finance data is hardest: two
identical coffees on the same day both take the first bank row. Solving the assignment per
connected component (records and candidates joined by a scored pair) maximizes the total score,
so every record gets a distinct candidate; components are small, so this stays near-linear.

The *margin* of an assigned pair is how much the component's best total drops when that pair is
forbidden. Forbidding a pair also forbids the record's candidates that are indistinguishable
from the chosen one (same amount, date and name): swapping two identical bank rows is not a
different answer. A margin below the tie threshold means another answer is about as good: a tie.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

MISSING = 1e6  # cost of a pair that was never scored: never chosen while an alternative exists
MAX_EXACT = 60  # larger components get greedy assignment with a local margin


@dataclass(frozen=True)
class Assigned:
    left: int
    right: int
    score: float
    margin: float


@cache
def _linear_sum_assignment() -> Callable:
    """scipy's assignment solver, loaded from its compiled module alone: importing
    ``scipy.optimize`` pulls in most of scipy (0.3 s, a tenth of a small ``bg-agents match``)
    for this one function. Should scipy move it, the ordinary import still serves."""
    try:
        spec = importlib.util.find_spec("scipy")
        folder = os.path.join(spec.submodule_search_locations[0], "optimize")  # type: ignore[union-attr]
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_lsap" + suffix)
            if os.path.exists(path):
                loader = importlib.machinery.ExtensionFileLoader("scipy.optimize._lsap", path)
                found = importlib.util.spec_from_file_location(loader.name, path, loader=loader)
                module = importlib.util.module_from_spec(found)  # type: ignore[arg-type]
                loader.exec_module(module)
                return module.linear_sum_assignment
    except (ImportError, OSError, AttributeError, TypeError):
        pass
    from scipy.optimize import linear_sum_assignment

    return linear_sum_assignment


def _labels(left: np.ndarray, right: np.ndarray, nodes: int) -> np.ndarray:
    """A component label per node of the graph with edges (left[k], right[k]): each node hooks
    onto the smallest label among its neighbours' roots, then paths are halved, until every edge
    joins one label (a few rounds: components are small)."""
    parent = np.arange(nodes)
    while True:
        a, b = parent[left], parent[right]
        if (a == b).all():
            return parent
        np.minimum.at(parent, np.maximum(a, b), np.minimum(a, b))
        while True:
            grand = parent[parent]
            if (grand == parent).all():
                break
            parent = grand


def _components(edges: Sequence[tuple[int, int, float]]) -> list[list[int]]:
    """Edge indexes grouped by connected component of the record-candidate graph, in the order
    of each component's first edge."""
    if not edges:
        return []
    left = np.fromiter((e[0] for e in edges), np.int64, len(edges))
    right = np.fromiter((e[1] for e in edges), np.int64, len(edges))
    n_left = int(left.max()) + 1
    nodes = n_left + int(right.max()) + 1
    label = _labels(left, right + n_left, nodes)[left]
    # Edges grouped by label (a stable sort keeps each group's edges in order), the groups
    # ordered by their first edge.
    order = np.argsort(label, kind="stable")
    starts = np.flatnonzero(np.diff(label[order], prepend=-1))
    ends = np.append(starts[1:], len(order)).tolist()
    flat = order.tolist()
    groups = [flat[a:b] for a, b in zip(starts.tolist(), ends, strict=True)]
    groups.sort(key=lambda g: g[0])
    return groups


def _solve(
    lefts: list[int], rights: list[int], scores: dict[tuple[int, int], float], banned: set
) -> tuple[float, list[tuple[int, int]]]:
    cost = np.full((len(lefts), len(rights)), MISSING)
    for a, i in enumerate(lefts):
        for b, j in enumerate(rights):
            s = scores.get((i, j))
            if s is not None and (i, j) not in banned:
                cost[a, b] = -s
    rows, cols = _linear_sum_assignment()(cost)
    chosen = [
        (lefts[a], rights[b]) for a, b in zip(rows, cols, strict=True) if cost[a, b] < MISSING
    ]
    return sum(scores[p] for p in chosen), chosen


def assign(
    edges: Sequence[tuple[int, int, float]], signature: dict[int, Hashable]
) -> list[Assigned]:
    """Best one-to-one pairs with their margins. ``signature`` tells identical candidates apart."""
    out: list[Assigned] = []
    for component in _components(edges):
        if len(component) == 1:
            i, j, s = edges[component[0]]
            out.append(Assigned(i, j, s, s))
            continue
        scores = {(edges[k][0], edges[k][1]): edges[k][2] for k in component}
        lefts = sorted({i for i, _ in scores})
        rights = sorted({j for _, j in scores})
        if len(lefts) == 1 or len(rights) == 1:
            out.append(_star(scores, signature, one_record=len(lefts) == 1))
            continue
        if len(lefts) + len(rights) > MAX_EXACT:
            out.extend(_greedy(scores, signature))
            continue
        total, chosen = _solve(lefts, rights, scores, set())
        for i, j in chosen:
            twins = {r for r in rights if signature[r] == signature[j]}
            banned = {(i, r) for r in twins}
            without, _ = _solve(lefts, rights, scores, banned)
            out.append(Assigned(i, j, scores[(i, j)], round(total - without, 6)))
    return out


def _star(
    scores: dict[tuple[int, int], float], signature: dict[int, Hashable], one_record: bool
) -> Assigned:
    """One record with several candidates (or one candidate with several records): the best
    pair wins, and its margin is the gap to the runner-up (identical candidates aside)."""
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    (i, j), best = ranked[0]
    if one_record:
        rivals = [s for (_, r), s in ranked[1:] if signature[r] != signature[j]]
    else:
        rivals = [s for _, s in ranked[1:]]
    return Assigned(i, j, best, round(best - max(rivals, default=0.0), 6))


def _greedy(scores: dict[tuple[int, int], float], signature: dict[int, Hashable]) -> list[Assigned]:
    """Highest score first; then each pair's margin against what is still free.

    The margin is taken after the pass, against the candidates and records left unassigned:
    a rival that got its own better partner is no rival.
    """
    by_left: dict[int, list[tuple[float, int]]] = defaultdict(list)
    by_right: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (i, j), s in scores.items():
        by_left[i].append((s, j))
        by_right[j].append((s, i))
    used_l: set[int] = set()
    used_r: set[int] = set()
    chosen = []
    for (i, j), s in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
        if i in used_l or j in used_r:
            continue
        used_l.add(i)
        used_r.add(j)
        chosen.append((i, j, s))
    out = []
    for i, j, s in chosen:
        free_r = [t for t, r in by_left[i] if r not in used_r and signature[r] != signature[j]]
        free_l = [t for t, other in by_right[j] if other not in used_l]
        out.append(Assigned(i, j, s, round(s - max(free_r + free_l, default=0.0), 6)))
    return out
