"""What a CSV export's columns mean: header names in six languages and named export profiles.

Both are data in this folder, not code: ``aliases.toml`` holds the header names any export may use
(English, German, French, Spanish, Italian, Dutch); every other ``<name>.toml`` describes one
export a bank, card issuer, payment provider or accounting tool writes, so adding an export is
adding a file. ``resolve`` matches a header row against them: a user's mapping first, then the
profile whose ``signature`` the header holds (the most specific wins), else the aliases.

A profile's keys (``name``, ``title``, ``signature`` and ``columns`` are required):

- ``signature``: headers (as written; compared as ``norm_header`` folds them) that identify it.
- ``[columns]``: field = header, or a list: the first present is the column; for text fields the
  others present are read, in order, when a row leaves the first empty (see ``TEXT_FIELDS``).
- ``date_order`` ("dmy"/"mdy") for numeric dates, ``decimal`` ("."/","): else settled by the file.
- ``sign``: "signed" (positive = money in) or "inverted" (positive = money out, card exports).
- ``[direction] out/in``: the words of its direction column (default: the aliases' words).
- ``booked``: status values that mean booked; other rows are held back with a reason.
- ``summary_rows``: first-cell words of lines that summarize, not record ("Kontostand").
- ``default_currency``: the currency of an export that never states one.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bg_agents.lib.money import known_currencies
from bg_agents.lib.tabular.columns import fold_header, norm_header

HERE = Path(__file__).parent
# The fields a CSV column can fill, in the order the aliases claim columns.
FIELDS = (
    "date",
    "value_date",
    "amount",
    "debit",
    "credit",
    "direction",
    "fee",
    "balance",
    "description",
    "counterparty",
    "counterparty_iban",
    "currency",
    "external_id",
    "reference",
    "category",
    "base_amount",
    "status",
    "account",
)
# Fields read from the next listed column when a row leaves the first one empty.
TEXT_FIELDS = frozenset(
    {"description", "counterparty", "counterparty_iban", "reference", "external_id", "category"}
)
MONEY_FIELDS = ("amount", "debit", "credit")
_PROFILE_KEYS = frozenset(
    {
        "name",
        "title",
        "signature",
        "columns",
        "date_order",
        "decimal",
        "sign",
        "direction",
        "booked",
        "summary_rows",
        "default_currency",
    }
)
# "Betrag (EUR)", "Umsatz in EUR", "Amount USD": the column's currency, after the name.
_CURRENCY_SUFFIX = re.compile(
    r"(?P<name>.*?\S)(?:\s*[(\[]\s*(?P<code>[A-Z]{3})\s*[)\]]|\s+(?:in\s+)?(?P<bare>[A-Z]{3}))"
)


def header_key(cell: str) -> tuple[str, str | None]:
    """A header as compared, and the currency it names ("Betrag (EUR)" -> "betrag", "EUR");
    only an ISO 4217 code counts ("TRANS AMT" is no amount in "AMT")."""
    text = cell.strip()
    m = _CURRENCY_SUFFIX.fullmatch(text)
    if m and (code := m["code"] or m["bare"]) in known_currencies():
        return norm_header(m["name"]), code
    return norm_header(text), None


def _key(header: str) -> str:
    return header_key(header)[0]


def _words(values: Any, where: str) -> frozenset[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"{where} must be a list of words")
    return frozenset(v.strip().casefold() for v in values)


@dataclass(frozen=True)
class Profile:
    """One export's layout: how to recognize it and which column holds which field."""

    name: str
    title: str
    signature: frozenset[str]
    # field -> headers in order of preference, each as written (folded) and as compared
    columns: Mapping[str, tuple[tuple[str, str], ...]]
    date_order: str | None = None
    decimal: str | None = None
    sign: int = 1
    money_out: frozenset[str] | None = None
    money_in: frozenset[str] | None = None
    booked: frozenset[str] | None = None
    summary_rows: frozenset[str] = frozenset()
    default_currency: str | None = None


def parse_profile(data: dict[str, Any], source: str) -> Profile:
    """A profile file's TOML -> ``Profile``; ValueError naming the file for anything unknown."""
    unknown = sorted(set(data) - _PROFILE_KEYS)
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {', '.join(unknown)}")
    columns: dict[str, tuple[tuple[str, str], ...]] = {}
    for name, headers in data["columns"].items():
        if name not in FIELDS:
            raise ValueError(f"{source}: unknown field {name!r}")
        headers = [headers] if isinstance(headers, str) else headers
        columns[name] = tuple((fold_header(h), _key(h)) for h in headers)
    if "date" not in columns or not columns.keys() & set(MONEY_FIELDS):
        raise ValueError(f"{source}: columns must name the date and an amount (or debit/credit)")
    if data.get("date_order", "dmy") not in ("dmy", "mdy"):
        raise ValueError(f"{source}: date_order must be dmy or mdy")
    if data.get("decimal", ".") not in (".", ","):
        raise ValueError(f'{source}: decimal must be "." or ","')
    if data.get("sign", "signed") not in ("signed", "inverted"):
        raise ValueError(f"{source}: sign must be signed or inverted")
    direction = data.get("direction")
    booked = data.get("booked")
    if (direction is not None) != ("direction" in columns) or (booked is None) != (
        "status" not in columns
    ):
        raise ValueError(f"{source}: [direction] and booked go with a direction/status column")
    return Profile(
        name=data["name"],
        title=data["title"],
        signature=frozenset(_key(h) for h in data["signature"]),
        columns=columns,
        date_order=data.get("date_order"),
        decimal=data.get("decimal"),
        sign=-1 if data.get("sign") == "inverted" else 1,
        money_out=_words(direction["out"], f"{source} direction.out") if direction else None,
        money_in=_words(direction["in"], f"{source} direction.in") if direction else None,
        booked=_words(booked, f"{source} booked") if booked is not None else None,
        summary_rows=_words(data.get("summary_rows", []) or ["-"], f"{source} summary_rows")
        - {"-"},
        default_currency=data.get("default_currency"),
    )


@dataclass(frozen=True)
class Aliases:
    fields: Mapping[str, tuple[str, ...]]  # field -> header keys, in order of preference
    money_out: frozenset[str]
    money_in: frozenset[str]


@cache
def aliases() -> Aliases:
    data = tomllib.loads((HERE / "aliases.toml").read_text(encoding="utf-8"))
    unknown = sorted(set(data["fields"]) - set(FIELDS))
    if unknown:
        raise ValueError(f"aliases.toml: unknown field(s) {', '.join(unknown)}")
    fields = {
        name: tuple(dict.fromkeys(_key(h) for h in data["fields"][name]))
        for name in FIELDS
        if name in data["fields"]
    }
    direction = data["direction"]
    return Aliases(
        fields,
        _words(direction["out"], "aliases.toml direction.out"),
        _words(direction["in"], "aliases.toml direction.in"),
    )


@cache
def profiles() -> tuple[Profile, ...]:
    """Every profile in this folder, most specific signature first."""
    found = []
    for path in sorted(HERE.glob("*.toml")):
        if path.name == "aliases.toml":
            continue
        found.append(parse_profile(tomllib.loads(path.read_text(encoding="utf-8")), path.name))
    names = [p.name for p in found]
    if len(set(names)) != len(names):
        raise ValueError("two profiles share a name")
    return tuple(sorted(found, key=lambda p: -len(p.signature)))


@dataclass
class Columns:
    """A header row's meaning: field -> cell index, where else a text field may be read, the
    profile that recognized it (None: the aliases) and the currency its amount header names."""

    index: dict[str, int] = field(default_factory=dict)
    more: dict[str, tuple[int, ...]] = field(default_factory=dict)
    profile: Profile | None = None
    currency: str | None = None

    @property
    def complete(self) -> bool:
        return "date" in self.index and any(f in self.index for f in MONEY_FIELDS)


def resolve(cells: list[str], explicit: Mapping[str, str]) -> Columns:
    """What each cell of a header row holds: ``explicit`` (a user's mapping, field -> header)
    first, then the profile the row matches, else the aliases, for the fields left."""
    keyed = [header_key(c) for c in cells]
    keys = [k for k, _ in keyed]
    out = Columns()
    for name, header in explicit.items():
        wanted = header.strip()
        index = next((i for i, c in enumerate(cells) if c == wanted), None)
        if index is None:
            key = norm_header(wanted)
            index = next((i for i, c in enumerate(cells) if norm_header(c) == key), None)
        if index is None:
            index = next((i for i, k in enumerate(keys) if k == _key(wanted)), None)
        if index is not None:
            out.index[name] = index
    skip = set(explicit)
    if "amount" in explicit:
        skip |= {"debit", "credit"}
    if explicit.keys() & {"debit", "credit"}:
        skip |= {"amount", "direction"}
    present = set(keys)
    profile = next((p for p in profiles() if p.signature <= present), None)
    if profile is not None:
        out.profile = profile
        # A header as written first: N26 has "Amount (EUR)" and "Amount (Foreign Currency)".
        folded = [fold_header(c) for c in cells]
        for name, wanted in profile.columns.items():
            if name in skip or (name in ("debit", "credit") and "amount" in out.index):
                continue
            found = [
                folded.index(f) if f in folded else keys.index(k)
                for f, k in wanted
                if f in folded or k in present
            ]
            if found:
                out.index[name] = found[0]
                if len(found) > 1 and name in TEXT_FIELDS:
                    out.more[name] = tuple(found[1:])
    else:
        taken = set(out.index.values())
        for name, wanted in aliases().fields.items():
            if name in skip or (name in ("debit", "credit") and "amount" in out.index):
                continue
            for key in wanted:
                index = next((i for i, k in enumerate(keys) if k == key and i not in taken), None)
                if index is not None:
                    out.index[name] = index
                    taken.add(index)
                    break
    if "amount" in out.index:
        out.currency = keyed[out.index["amount"]][1]
    elif "debit" in out.index or "credit" in out.index:
        codes = {keyed[out.index[f]][1] for f in ("debit", "credit") if f in out.index}
        out.currency = codes.pop() if len(codes) == 1 else None
    return out
