"""The learned matcher's model: trained on every team's data and people's decisions, stored.

Scheduled matching reads the stored model and never fits one inside a run: a model learned from
a run's own teams and days would make the answer depend on how partitions are grouped into runs.
Training loads each team's problem exactly as reconciliation does (receipts against money going
out, invoices against money coming in, one matcher group per team and direction, so all teams
fit in one call), then lets people's decisions move it: confirmed pairs are matches, declined
ones count as labels. A model is stored under the sha256 of its canonical JSON, so training again
on unchanged data stores nothing new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bg_agents.defs.reconciliation.matcher import MatcherConfig, Side, profile
from bg_agents.defs.reconciliation.matcher.evidence.model import EvidenceModel
from bg_agents.defs.reconciliation.matcher.learned import comparisons_of, fit_model
from bg_agents.defs.reconciliation.service import decided_pairs, load_team
from bg_agents.lib import clock as app_clock
from bg_agents.lib.db.models import (
    MatchModel,
    Team,
)
from bg_agents.lib.db.upsert import insert_missing

# What scheduled matching (record_matches) and a person's review reconcile with; until a model
# is stored, the seed's rules decide instead.
MATCHING_PROFILE = "learned"
FALLBACK_PROFILE = "seed"


def _sides(session: Session) -> tuple[list[Side], list[Side]]:
    """Every team's records and bank rows, in team and id order (the same data, the same fit)."""
    records: list[Side] = []
    candidates: list[Side] = []
    for team in session.scalars(sa.select(Team).order_by(Team.id)):
        scope = load_team(session, team)
        records += scope.records
        candidates += scope.candidates
    return records, candidates


def _decisions(session: Session) -> tuple[list[tuple[Side, Side]], np.ndarray]:
    """People's decisions as (record, bank row) pairs, in id order, and which were confirmed."""
    decided = decided_pairs(session)
    pairs = [(record, side) for _, record, side in decided]
    return pairs, np.array([status == "confirmed" for status, _, _ in decided], bool)


def train(engine: Engine) -> EvidenceModel:
    """Fit on all teams' records and bank rows, then relearn from people's decisions."""
    config = profile(MATCHING_PROFILE)
    with Session(engine) as session:
        records, candidates = _sides(session)
        decided, is_match = _decisions(session)
    model = fit_model(records, candidates, config)
    if decided:
        model = model.relearn(comparisons_of(decided, config), is_match)
    counts = {"records": len(records), "candidates": len(candidates), "labels": len(decided)}
    return EvidenceModel(model.m, model.u, model.match_share, {**model.trained_on, **counts})


def canonical(model: EvidenceModel) -> str:
    """The parameters as JSON with sorted keys and no spaces: what the digest is taken of."""
    return json.dumps(model.as_dict(), sort_keys=True, separators=(",", ":"))


def digest_of(model: EvidenceModel) -> str:
    return hashlib.sha256(canonical(model).encode()).hexdigest()


@dataclass(frozen=True)
class Saved:
    digest: str
    new: bool  # False: a model with these very parameters was stored before


def save(
    engine: Engine, model: EvidenceModel, clock: Callable[[], datetime] = app_clock.now
) -> Saved:
    """Store the model unless its digest is stored already.

    Trained again to parameters stored earlier (a decision undone) while another model came in
    between, the earlier row becomes the latest again: matching must use what training says now.
    """
    parameters = canonical(model)
    digest = digest_of(model)
    trained = model.trained_on
    row = {
        "digest": digest,
        "parameters": parameters,
        "trained_at": clock(),
        "pairs": int(trained.get("pairs", 0)),
        "records": int(trained.get("records", 0)),
        "labels": int(trained.get("labels", 0)),
    }
    with Session(engine) as session, session.begin():
        new = insert_missing(session, MatchModel, [row], ("digest",)) == 1
        current = _latest_row(session)
        if not new and current is not None and current.digest != digest:
            session.execute(
                sa.update(MatchModel)
                .where(MatchModel.digest == digest)
                .values(trained_at=row["trained_at"])
            )
    return Saved(digest, new)


def _latest_row(session: Session) -> MatchModel | None:
    return session.scalars(
        sa.select(MatchModel).order_by(MatchModel.trained_at.desc(), MatchModel.id.desc()).limit(1)
    ).one_or_none()


@dataclass(frozen=True)
class StoredModel:
    digest: str
    trained_at: datetime
    model: EvidenceModel


def latest_stored(engine: Engine) -> StoredModel | None:
    """The most recently trained model with its digest, or None before the first training."""
    with Session(engine) as session:
        row = _latest_row(session)
        if row is None:
            return None
        parameters = json.loads(row.parameters)
        return StoredModel(row.digest, row.trained_at, EvidenceModel.from_dict(parameters))


def latest(engine: Engine) -> EvidenceModel | None:
    stored = latest_stored(engine)
    return stored.model if stored else None


@dataclass(frozen=True)
class Matching:
    """What a reconciliation matches with: a profile's config and, if learned, the stored model."""

    profile: str  # the profile actually used
    config: MatcherConfig
    model: EvidenceModel | None = None
    digest: str | None = None
    fallback: str | None = None  # why the profile asked for is not the one used


def matching_for(engine: Engine, name: str = MATCHING_PROFILE) -> Matching:
    """The profile ``name`` (ValueError if unknown), with the stored model for the learned
    engine; before any model is stored, the seed's rules, saying so."""
    config = profile(name)
    if config.engine != "learned":
        return Matching(name, config)
    stored = latest_stored(engine)
    if stored is None:
        reason = (
            f"no match model is stored yet (materialize match_model): profile {name!r} "
            f"falls back to {FALLBACK_PROFILE!r}"
        )
        return Matching(FALLBACK_PROFILE, profile(FALLBACK_PROFILE), fallback=reason)
    return Matching(name, config, stored.model, stored.digest)
