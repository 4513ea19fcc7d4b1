"""Column types that behave the same on SQLite and PostgreSQL.

``Money`` is exact on both: NUMERIC(19, 4) on PostgreSQL, and on SQLite (which has no decimal type
and would store REAL) an integer count of 1/10000 units. Python always sees ``Decimal``. SQL that
aggregates money goes through :func:`money_units`, which yields exact integers on either database,
so sums never pick up float error (ARCHITECTURE.md §7: Decimal money, never floats).

``UTCDateTime`` stores instants in UTC and always returns timezone-aware values; SQLite would
otherwise hand back naive datetimes (principle 5: time is explicit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

MONEY_SCALE = 4
UNITS_PER_MAJOR = 10**MONEY_SCALE
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


def to_units(value: Decimal) -> int:
    """Exact integer count of 1/10000 units; refuses amounts with finer precision."""
    units = value * UNITS_PER_MAJOR
    if units != units.to_integral_value():
        raise ValueError(f"amount {value} has more than {MONEY_SCALE} decimal places")
    return int(units)


def from_units(units: int) -> Decimal:
    return (Decimal(int(units)) / UNITS_PER_MAJOR).quantize(_QUANTUM)


class Money(TypeDecorator[Decimal]):
    impl = sa.BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(sa.Numeric(19, MONEY_SCALE, asdecimal=True))
        return dialect.type_descriptor(sa.BigInteger())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        dec = value if isinstance(value, Decimal) else Decimal(str(value))
        if not dec.is_finite():
            raise ValueError(f"amount must be finite, got {value!r}")
        units = to_units(dec)
        return from_units(units) if dialect.name == "postgresql" else units

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return Decimal(value).quantize(_QUANTUM)
        return from_units(value)


def money_units(column: Any, dialect_name: str) -> ColumnElement[int]:
    """SQL expression giving a Money column as exact integer 1/10000 units, for aggregation."""
    if dialect_name == "postgresql":
        return sa.cast(column * UNITS_PER_MAJOR, sa.BigInteger)
    return sa.type_coerce(column, sa.BigInteger)


class UTCDateTime(TypeDecorator[datetime]):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware instants only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
