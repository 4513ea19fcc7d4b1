"""The matcher: records (receipts, invoices) in, pairs with decisions and explanations out.

Stages, each over what the previous left open:

1. one-to-one: candidates from blocking.py, scored by scoring.py, assigned per component by
   assignment.py. A pair is linked automatically only if its amounts agree within tolerance, the
   rules' own ``check_pair`` accepts it, nobody declined its names, and no other answer comes
   within ``tie_margin``. A tie goes to the tie breaker (the model) when one is given; its choice
   is re-checked against the rules. Everything else worth a look becomes a suggestion.
2. combined: a candidate that several records add up to exactly (one payment for three
   invoices), by a bounded subset-sum search. Exact and unique, with names or references agreeing
   for every record: auto; otherwise a suggestion.
3. partial: a record that several smaller candidates pay off (instalments). Always suggestions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from bg_agents.defs.reconciliation.matcher.config import DEFAULT_CONFIG, MatcherConfig
from bg_agents.defs.reconciliation.matcher.evidence.model import EvidenceModel
from bg_agents.defs.reconciliation.matcher.learned import match_learned
from bg_agents.defs.reconciliation.matcher.rules import Side
from bg_agents.defs.reconciliation.matcher.stages import Stages, scored_pairs
from bg_agents.defs.reconciliation.matcher.types import Feedback, MatchResult, TieBreaker

Progress = Callable[[str, int, int], None]


def _check_ids(sides: Sequence[Side], what: str) -> None:
    seen: set[str] = set()
    for side in sides:
        if side.id in seen:
            raise ValueError(f"{what} id {side.id!r} appears more than once")
        seen.add(side.id)


def match(
    records: Sequence[Side],
    candidates: Sequence[Side],
    config: MatcherConfig = DEFAULT_CONFIG,
    *,
    feedback: Feedback | None = None,
    tie_breaker: TieBreaker | None = None,
    progress: Progress | None = None,
    model: EvidenceModel | None = None,
    processes: int = 1,
) -> MatchResult:
    """Pairs with decisions; ``model`` (engine "learned" only) is a trained evidence model,
    learned from these records and candidates when not given. ``processes`` 2 lets the learned
    engine fork a child for its string work on large inputs (``bg-agents match``; never in a
    Dagster run, see bg_agents.lib.forked)."""
    _check_ids(records, "record")
    _check_ids(candidates, "candidate")
    if config.engine == "learned":
        return match_learned(records, candidates, config, model=model, feedback=feedback,
                             tie_breaker=tie_breaker, progress=progress,
                             processes=processes)  # fmt: skip
    stats: Counter[str] = Counter(records=len(records), candidates=len(candidates))
    report = progress or (lambda stage, done, total: None)
    scored, right_names = scored_pairs(records, candidates, config, feedback, report, stats)
    report("assigning", 0, len(scored))

    matcher = Stages(records, candidates, config, feedback, tie_breaker, stats)
    matcher.one_to_one(scored, right_names)
    matcher.combined(scored)
    matcher.partial(scored)
    result = MatchResult(matcher.pairs, stats)
    for decision, count in result.by_decision().items():
        stats[decision] = count
    linked = {p.left_id for p in matcher.pairs}
    stats["unmatched_records"] = len(records) - len(linked)
    report("done", len(records), len(records))
    return result
