"""What the matcher returns, and the feedback people give it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NamedTuple

from bg_agents.defs.reconciliation.matcher.rules import Side, normalize_name

Decision = Literal["auto", "suggest"]


class Pair(NamedTuple):
    """One proposed pairing of a record (left) with a candidate (right).

    ``relation`` names how the amounts relate: ``amount`` (equal within tolerance), ``vat``,
    ``fee`` (net of a fee), ``surcharge``, ``fx`` (through base amounts, with a mark-up),
    ``partial`` (one of several payments), ``combined`` (one of several records one candidate
    settles). ``matched_amount`` is the part of the record this candidate settles, when that is
    not simply the whole record. ``decided_by`` is ``rules`` (the rule matcher), ``evidence``
    (the learned matcher's probability) or ``model`` (a tie the model broke, under the guard).

    A named tuple: immutable like a frozen dataclass, and made in a fifth of its time (a match
    makes one per pair shown: 0.7 against 1.7 us).
    """

    left_id: str
    right_id: str
    score: float
    decision: Decision
    relation: str
    explanation: str
    matched_amount: Decimal | None = None
    decided_by: str = "rules"


@dataclass
class MatchResult:
    pairs: list[Pair]
    stats: Counter[str] = field(default_factory=Counter)

    def by_decision(self) -> Counter[str]:
        return Counter(p.decision for p in self.pairs)


# Given a record and its tied candidates (with scores), return the chosen candidate's id, or None
# to leave the choice to a person. The matcher re-checks the rules on whatever comes back.
TieBreaker = Callable[[Side, list[tuple[Side, float]]], str | None]


class Feedback:
    """What people decided earlier: confirmed pairs teach aliases, declined pairs are refused.

    A confirmed pair teaches that the candidate's name (a bank label such as "AMZN MKTP") is an
    alias of the record's party ("Amazon"), so the next such pair scores as agreeing names. A
    declined pair is never proposed again, and a pair with the same two names is marked down
    (``declined_penalty``) and never auto-linked: a person said those two parties differ.
    """

    declined_penalty = 0.15

    def __init__(self) -> None:
        self.aliases: dict[str, set[str]] = {}
        self.declined_ids: set[tuple[str, str]] = set()
        self.declined_names: set[tuple[str, str]] = set()

    @classmethod
    def of(
        cls,
        confirmed: Iterable[tuple[Side, Side]] = (),
        declined: Iterable[tuple[Side, Side]] = (),
    ) -> Feedback:
        feedback = cls()
        for record, candidate in confirmed:
            feedback.confirm(record, candidate)
        for record, candidate in declined:
            feedback.decline(record, candidate)
        return feedback

    def confirm(self, record: Side, candidate: Side) -> None:
        party = normalize_name(record.name)
        for name in candidate.names:
            label = normalize_name(name)
            if party and label and label != party:
                self.aliases.setdefault(label, set()).add(party)

    def decline(self, record: Side, candidate: Side) -> None:
        self.declined_ids.add((record.id, candidate.id))
        self.declined_names.add((normalize_name(record.name), normalize_name(candidate.name)))

    def known_alias(self, record: Side, candidate: Side) -> str | None:
        """The candidate name a person confirmed for this record's party, if any."""
        party = normalize_name(record.name)
        for name in candidate.names:
            if party in self.aliases.get(normalize_name(name), ()):
                return name
        return None

    def is_declined(self, record: Side, candidate: Side) -> bool:
        return (record.id, candidate.id) in self.declined_ids

    def resembles_declined(self, record: Side, candidate: Side) -> bool:
        names = (normalize_name(record.name), normalize_name(candidate.name))
        return names in self.declined_names
