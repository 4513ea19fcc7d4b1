"""The language model for the bank lines no rule knew: a merchant and a category per descriptor.

Only normalized descriptor keys are sent (never amounts, people's names or team data), many per
call, so an answer belongs to no team and is cached for all in ``descriptor_categories``. The
model proposes, code disposes: every answer is checked against the descriptors asked, the taxonomy
and the confidence gate, and a proposed merchant name against what a display name may contain.
"Unknown", below-gate and refused answers are cached with no category, so they are not asked
again; a batch that cannot be read, a descriptor left unanswered and a model that is down are not
cached (a later run asks again). The offline backend is not asked at all: rules alone decide.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bg_agents.defs.enrichment.taxonomy import CATEGORIES
from bg_agents.lib.agents import messages as msg
from bg_agents.lib.agents.backends import ChatBackend, LLMUnavailable
from bg_agents.lib.agents.ledger import Ledger
from bg_agents.lib.agents.prompting import data_block, load_prompt
from bg_agents.lib.content_guard import content_problems
from bg_agents.lib.db.models import DescriptorCategory
from bg_agents.lib.db.upsert import insert_missing

AGENT = "enrichment"
PROMPT = "categorize"
UNKNOWN = "unknown"  # the model's honest "I do not know"; stored as no category
MAX_MERCHANT_CHARS = 60
MAX_KEY_CHARS = 200  # descriptor_categories.descriptor_key; a longer key is never asked
MODEL_NAME_CHARS = 100  # descriptor_categories.model
REQUEST_TIMEOUT = 60.0  # one batch's HTTP attempt
RUN_SECONDS = 600.0  # all batches of one call together: past it, the rest waits for a later run
READ_CHUNK = 500  # keys per IN (...) when reading the cache

# A display name holds letters, digits and a little punctuation: no markup, no "http:", no "@".
_NAME_CHARS = re.compile(r"[\w &'’.,/+()!-]+")
# Text addressed to a model rather than naming a shop.
_DIRECTED = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b|\binstructions?\b|\bprompts?\b|\byou are\b"
    r"|\bas an ai\b|\bassistant\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ModelAnswer:
    """What is stored for one descriptor (see the module docstring)."""

    descriptor_key: str
    merchant: str | None  # a display name the model proposed, validated; None if refused
    category: str | None  # in taxonomy.CATEGORIES and above the gate, else None
    confidence: float
    cached: bool  # True when read from descriptor_categories (no call)
    model: str | None = None  # which model gave the answer (as stored)


@dataclass
class ModelStats:
    """One run's model use. ``refused``: answers thrown away (outside the taxonomy, an invalid
    confidence, below the gate, a descriptor answered twice or not at all, an unreadable batch);
    ``merchants_dropped``: merchant names refused while the category stayed. ``offline``: the
    backend is the offline one, so nothing was asked; ``unavailable``: why the model stopped
    being asked (the descriptors not asked have no answer)."""

    calls: int = 0
    cache_hits: int = 0
    asked: int = 0
    refused: int = 0
    merchants_dropped: int = 0
    offline: bool = False
    unavailable: str | None = None


@dataclass(frozen=True)
class Judged:
    """The code's verdict on the model's answer for one descriptor asked."""

    merchant: str | None
    category: str | None
    confidence: float
    refused: bool
    merchant_dropped: bool = False
    store: bool = True  # False: no single answer came back; a later run asks again


NO_ANSWER = Judged(None, None, 0.0, refused=True, store=False)
BROKEN = Judged(None, None, 0.0, refused=True)  # an answer, but not one we can use


def response_format() -> dict[str, Any]:
    """The JSON schema the model answers in (the root must be an object for strict mode)."""
    item = {
        "type": "object",
        "properties": {
            "descriptor": {"type": "string"},
            "merchant": {"type": ["string", "null"]},
            "category": {"type": "string", "enum": [*CATEGORIES, UNKNOWN]},
            "confidence": {"type": "number"},
        },
        "required": ["descriptor", "merchant", "category", "confidence"],
        "additionalProperties": False,
    }
    schema = {
        "type": "object",
        "properties": {"answers": {"type": "array", "items": item}},
        "required": ["answers"],
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "descriptor_categories", "strict": True, "schema": schema},
    }


def instructions() -> str:
    """The system prompt, the taxonomy listed with the descriptions people read."""
    taxonomy = "\n".join(f"- {name}: {about}" for name, about in CATEGORIES.items())
    return load_prompt(__package__, PROMPT, taxonomy=taxonomy)


def merchant_name(value: object) -> tuple[str | None, bool]:
    """The proposed display name if a team may see it, and whether one was dropped."""
    if value is None:
        return None, False
    if not isinstance(value, str):
        return None, True
    name = " ".join(value.split())
    if not name:
        return None, False
    if (
        len(name) > MAX_MERCHANT_CHARS
        or not _NAME_CHARS.fullmatch(name)
        or _DIRECTED.search(name)
        or content_problems(name, quote=False, name=True)
    ):
        return None, True
    return name, False


def _confidence(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0.0 <= number <= 1.0 else None


def judge_item(item: dict[str, Any], gate: float) -> Judged:
    """One answer, checked: the taxonomy, a confidence in [0, 1], the gate, the merchant."""
    confidence = _confidence(item.get("confidence"))
    category = item.get("category")
    if confidence is None or not isinstance(category, str):
        return BROKEN
    if category != UNKNOWN and category not in CATEGORIES:
        return BROKEN
    merchant, dropped = merchant_name(item.get("merchant"))
    if category == UNKNOWN:
        return Judged(merchant, None, confidence, refused=False, merchant_dropped=dropped)
    if confidence < gate:  # the name may still be right; the category is not sure enough
        return Judged(merchant, None, confidence, refused=True, merchant_dropped=dropped)
    return Judged(merchant, category, confidence, refused=False, merchant_dropped=dropped)


def judge_batch(content: str | None, asked: Sequence[str], gate: float) -> dict[str, Judged]:
    """A verdict for every descriptor asked. An unreadable answer or the wrong shape refuses the
    whole batch; answers about descriptors not asked are ignored; a descriptor answered twice or
    not at all gets no answer."""
    try:
        data = json.loads(content or "")
    except (ValueError, RecursionError):
        return dict.fromkeys(asked, NO_ANSWER)
    items = data.get("answers") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return dict.fromkeys(asked, NO_ANSWER)
    wanted = set(asked)
    by_key: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        key = item.get("descriptor") if isinstance(item, dict) else None
        if isinstance(key, str) and key in wanted:
            by_key.setdefault(key, []).append(item)
    return {
        key: judge_item(by_key[key][0], gate) if len(by_key.get(key, ())) == 1 else NO_ANSWER
        for key in asked
    }


def _stored(engine: Engine, keys: Sequence[str], *, cached: bool) -> dict[str, ModelAnswer]:
    table = DescriptorCategory.__table__
    found: dict[str, ModelAnswer] = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), READ_CHUNK):
            chunk = keys[start : start + READ_CHUNK]
            rows = conn.execute(
                sa.select(table.c.descriptor_key, table.c.merchant, table.c.category,
                          table.c.confidence, table.c.model)
                .where(table.c.descriptor_key.in_(chunk))
            )  # fmt: skip
            for key, merchant, category, confidence, model in rows:
                found[key] = ModelAnswer(key, merchant, category, confidence, cached, model)
    return found


def _user_prompt(batch: Sequence[str]) -> str:
    return f"Categorize these {len(batch)} descriptors.\n" + data_block("descriptors", list(batch))


def categorize_descriptors(
    engine: Engine,
    descriptor_keys: Sequence[str],
    backend: ChatBackend,
    *,
    run_id: str | None = None,
    partition_key: str | None = None,
    batch_size: int = 40,
    gate: float = 0.7,
) -> tuple[dict[str, ModelAnswer], ModelStats]:
    """The stored answer for each descriptor key: from the cache, else asked ``batch_size`` per
    call and stored insert-if-absent (a racing run's answer wins, and is what is returned).

    A key with no answer (offline backend, model unavailable, an unreadable batch, a key that is
    empty or longer than the table's column) is absent from the result. Calls land in the ledger
    as agent ``enrichment`` with no team: what is sent belongs to none.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    if not 0.0 <= gate <= 1.0:
        raise ValueError(f"gate must be within [0, 1], not {gate}")
    stats = ModelStats()
    keys = list(dict.fromkeys(k for k in descriptor_keys if k and len(k) <= MAX_KEY_CHARS))
    answers = _stored(engine, keys, cached=True)
    stats.cache_hits = len(answers)
    todo = [k for k in keys if k not in answers]
    if not todo:
        return answers, stats
    if backend.name == "offline":
        stats.offline = True
        return answers, stats
    ledger = Ledger(engine, AGENT, run_id=run_id, partition_key=partition_key)
    system = msg.system(instructions())
    schema = response_format()
    deadline = time.monotonic() + RUN_SECONDS
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        stats.calls += 1
        stats.asked += len(batch)
        try:
            turn = backend.complete(
                [system, msg.user(_user_prompt(batch))],
                [],
                agent=AGENT,
                timeout=REQUEST_TIMEOUT,
                response_format=schema,
                record=ledger,
                deadline=deadline,
            )
        except LLMUnavailable as exc:
            stats.unavailable = str(exc)
            break
        verdicts = judge_batch(turn.content, batch, gate)
        stats.refused += sum(v.refused for v in verdicts.values())
        stats.merchants_dropped += sum(v.merchant_dropped for v in verdicts.values())
        model = (turn.model or backend.model)[:MODEL_NAME_CHARS]
        rows = [
            {
                "descriptor_key": key,
                "merchant": v.merchant,
                "category": v.category,
                "confidence": v.confidence,
                "model": model,
            }
            for key, v in verdicts.items()
            if v.store
        ]
        if rows:
            with engine.begin() as conn:
                insert_missing(conn, DescriptorCategory, rows, ["descriptor_key"])
            answers.update(_stored(engine, [r["descriptor_key"] for r in rows], cached=False))
    return answers, stats
