"""The notification policy as data (``policy.toml``): per category its window, batch key, early
close and first-at-once, plus the nouns digest titles use.

Windows are fixed slots (``window_start`` = the instant floored to the window length, in UTC), not
sessions opened by a first event: an event's window is then a function of its own instant, fixed
when it is inserted, so any number of racing flushers agree on which digest it belongs to.
"""

from __future__ import annotations

import functools
import importlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bg_agents.defs.notifications.texts import language_of

POLICY_FILE = Path(__file__).with_name("policy.toml")
_FIELD = re.compile(r"\{([a-z_.]+)\}")
_GUARD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CategoryPolicy:
    name: str
    window: timedelta  # zero: each event alone, at once
    batch_key: str
    max_items: int
    first_at_once: bool
    nouns: dict[str, tuple[str, str]]
    # "module:function" called on a group's waiting events before they are sent; it returns the
    # keys of events no longer true (with why), which are withdrawn instead of sent.
    guard: str | None = None

    @property
    def batched(self) -> bool:
        return self.window > timedelta(0)

    def window_start(self, at: datetime) -> datetime:
        """The slot ``at`` falls in (``at`` itself for unbatched categories)."""
        if not self.batched:
            return at
        slots = (at - EPOCH) // self.window
        return EPOCH + slots * self.window

    def key_for(self, payload: dict[str, Any]) -> str:
        """The batch key of one event: the template with ``{category}``/``{payload.X}`` filled."""

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "category":
                return self.name
            value = payload.get(name.removeprefix("payload."), "")
            return str(value)

        return _FIELD.sub(fill, self.batch_key)[:200]

    def noun(self, locale: str, count: int) -> str:
        """'invoice paid' / 'invoices paid' in the locale's language (English when missing)."""
        one, many = self.nouns.get(language_of(locale)) or self.nouns.get(
            "en", (self.name, self.name)
        )
        return one if count == 1 else many

    def guard_function(self) -> Callable[..., dict[str, str]] | None:
        """The guard, imported on first use: the engine does not import its producers (the
        import-linter contracts forbid it), the policy names them."""
        return _import_guard(self.name, self.guard) if self.guard else None


@functools.cache
def _import_guard(category: str, path: str) -> Callable[..., dict[str, str]]:
    module, _, name = path.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValueError(
            f"policy category {category!r}: guard {path!r} cannot be imported"
        ) from None
    if not callable(function):
        raise ValueError(f"policy category {category!r}: guard {path!r} is not a function")
    return function  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Policy:
    categories: dict[str, CategoryPolicy]

    def of(self, category: str) -> CategoryPolicy:
        try:
            return self.categories[category]
        except KeyError:
            known = ", ".join(sorted(self.categories))
            raise ValueError(
                f"unknown notification category {category!r}; known: {known}"
            ) from None


def parse_policy(data: dict[str, Any]) -> Policy:
    """Validate the TOML's content; ValueError naming the category and key that is wrong."""
    defaults = data.get("defaults", {})
    categories: dict[str, CategoryPolicy] = {}
    for name, raw in (data.get("categories") or {}).items():
        merged = {**defaults, **raw}
        where = f"policy category {name!r}"
        minutes = merged.get("window_minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 1440:
            raise ValueError(f"{where}: window_minutes must be a whole number from 0 to 1440")
        max_items = merged.get("max_items", 50)
        if not isinstance(max_items, int) or isinstance(max_items, bool) or max_items < 1:
            raise ValueError(f"{where}: max_items must be a whole number of at least 1")
        batch_key = merged.get("batch_key", "{category}")
        unknown = [f for f in _FIELD.findall(batch_key) if f != "category" and not
                   f.startswith("payload.")]  # fmt: skip
        if not isinstance(batch_key, str) or not batch_key or unknown:
            raise ValueError(f"{where}: batch_key may use {{category}} and {{payload.NAME}} only")
        guard = merged.get("guard")
        if guard is not None and (not isinstance(guard, str) or not _GUARD.fullmatch(guard)):
            raise ValueError(f'{where}: guard must be "module:function", not {guard!r}')
        nouns = {
            lang: (pair[0], pair[1])
            for lang, pair in (merged.get("noun") or {}).items()
            if isinstance(pair, list) and len(pair) == 2
        }
        categories[name] = CategoryPolicy(
            name=name,
            window=timedelta(minutes=minutes),
            batch_key=batch_key,
            max_items=max_items,
            first_at_once=bool(merged.get("first_at_once", False)),
            nouns=nouns,
            guard=guard,
        )
    if not categories:
        raise ValueError("the notification policy names no category")
    return Policy(categories)


@functools.cache
def load_policy(path: Path = POLICY_FILE) -> Policy:
    with path.open("rb") as handle:
        return parse_policy(tomllib.load(handle))
