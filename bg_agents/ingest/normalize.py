"""Validate raw provider rows into transaction rows; every rejected row keeps its reason."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bg_agents.domain.money import parse_amount, parse_currency
from bg_agents.ingest.raw import RawTransaction


@dataclass(frozen=True)
class TeamRef:
    id: int
    base_currency: str


@dataclass
class Normalized:
    transactions: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text[:limit] or None


def normalize(rows: Iterable[RawTransaction], teams: Mapping[str, TeamRef]) -> Normalized:
    """Split rows into insertable transactions and quarantine entries (with a reason each)."""
    out = Normalized()
    for raw in rows:
        try:
            out.transactions.append(_transaction(raw, teams))
        except ValueError as exc:
            out.quarantined.append(
                {
                    "source": raw.source,
                    "batch_ref": raw.batch_ref,
                    "row_ref": raw.row_ref,
                    "team_ref": _clip(raw.team_ref, 64),
                    "raw": raw.as_dict(),
                    "reason": str(exc),
                }
            )
    return out


def _transaction(raw: RawTransaction, teams: Mapping[str, TeamRef]) -> dict[str, Any]:
    team = teams.get(raw.team_ref)
    if team is None:
        raise ValueError(f"unknown team {raw.team_ref!r}")
    external_id = (raw.external_id or "").strip()
    if not external_id or len(external_id) > 128:
        raise ValueError(f"missing or over-long external id {raw.external_id!r}")
    try:
        booking_date = date.fromisoformat((raw.booking_date or "").strip())
    except ValueError:
        raise ValueError(f"bad booking date {raw.booking_date!r}") from None
    amount = parse_amount(raw.amount)
    currency = parse_currency(raw.currency)
    if raw.base_amount not in (None, ""):
        base_amount = parse_amount(raw.base_amount)
    elif currency == team.base_currency:
        base_amount = amount
    else:
        base_amount = None
    return {
        "team_id": team.id,
        "source": raw.source,
        "external_id": external_id,
        "booking_date": booking_date,
        "amount": amount,
        "currency": currency,
        "base_amount": base_amount,
        "description": (raw.description or "").strip(),
        "counterparty": _clip(raw.counterparty, 200),
        "reference": _clip(raw.reference, 200),
        "category": _clip(raw.category, 64),
    }
