"""Column types that behave the same on SQLite and PostgreSQL.

``Money`` is exact on both: NUMERIC(19, 4) on PostgreSQL, and on SQLite (which has no decimal type
and would store REAL) an integer count of 1/10000 units. Python always sees ``Decimal``.

Because the SQLite form is a scaled integer, an SQL expression over money is only right if it
keeps the ``Money`` type, so that its result is converted back from units: ``sum(amount - paid)``
typed as a plain integer reads 10,000 times too large on SQLite and right on PostgreSQL. So
``Money`` arithmetic keeps the type (money +/- money, money x or / a number, -money), money x money
is refused, ``sum``/``min``/``max``/``avg``/``abs``/``coalesce``/``case`` over money stay money,
and an aggregate whose argument carries money but whose result type is not ``Money`` fails to
compile on both databases (:class:`UntypedMoneyAggregate`) instead of returning units on one.
:func:`money_units` is the one deliberate way to see the stored integers (exact aggregation).

``UTCDateTime`` stores instants in UTC and always returns timezone-aware values; SQLite would
otherwise hand back naive datetimes (time is explicit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import functions, operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import GenericFunction
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


_ADDITIVE = (operators.add, operators.sub)
_SCALING = (operators.mul, operators.truediv, operators.floordiv)


class Money(TypeDecorator[Decimal]):
    impl = sa.BigInteger
    cache_ok = True

    class Comparator(TypeDecorator.Comparator[Decimal]):
        """Arithmetic that keeps money money (the impl's Integer rules would drop the type)."""

        def _adapt_expression(self, op: Any, other_comparator: Any) -> tuple[Any, Any]:
            other = other_comparator.type
            money = isinstance(other, Money)
            if op in _ADDITIVE and money:
                return op, self.type
            if op in _SCALING and not money and isinstance(other, (sa.Integer, sa.Numeric)):
                return op, self.type
            if op is operators.truediv and money:
                return op, sa.Numeric(asdecimal=True)  # a ratio of two amounts
            if op is operators.neg:
                return op, self.type
            raise TypeError(
                f"money {op.__name__} {other!r} has no money result; "
                "add or subtract money, multiply or divide it by a plain number"
            )

    comparator_factory = Comparator

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        """A factor (``amount * 2``) is a number, not 2.0000 money (20000 units on SQLite)."""
        if op in _SCALING or op is operators.mod:
            return sa.Integer() if isinstance(value, int) else sa.Numeric()
        return self

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
        if isinstance(value, float):  # avg() or a division: nearest unit, not truncated
            return from_units(int(Decimal(value).to_integral_value()))
        return from_units(value)


class MoneyUnits(sa.BigInteger):
    """Money deliberately read as its exact integer count of 1/10000 units."""

    cache_ok = True


def money_units(column: Any, dialect_name: str) -> ColumnElement[int]:
    """SQL expression giving a Money column as exact integer 1/10000 units, for aggregation.

    NUMERIC on PostgreSQL (a stored amount may exceed BIGINT there), INTEGER on SQLite.
    """
    if dialect_name == "postgresql":
        return sa.type_coerce(sa.type_coerce(column, sa.Numeric) * UNITS_PER_MAJOR, MoneyUnits)
    return sa.type_coerce(column, MoneyUnits)


# Sums of units are taken in two parts, ``units = high * SPLIT + low`` (|low| < SPLIT), so that
# neither part's SUM can overflow SQLite's 64-bit integers, however large one team's amounts are.
SPLIT = 10**9
# What a computed amount may reach to be stored on both databases: |x| < 900 trillion, i.e.
# 9e18 units (SQLite's INTEGER ends at 9.22e18 units, PostgreSQL's NUMERIC(19, 4) at 1e19).
MAX_STORED_UNITS = 9 * 10**18
_MAX_HIGH = MAX_STORED_UNITS // SPLIT


def split_units(units: Any, dialect_name: str) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """(high, low) parts of an integer units expression: ``units = high * SPLIT + low``.

    PostgreSQL sums NUMERIC without overflow, so there everything is ``low`` (no per-row
    division to pay for); SQLite truncates toward zero, keeping ``|low| < SPLIT``.
    """
    if dialect_name == "postgresql":
        return sa.literal(0, MoneyUnits), sa.type_coerce(units, MoneyUnits)
    return sa.type_coerce(units // SPLIT, MoneyUnits), sa.type_coerce(units % SPLIT, MoneyUnits)


def joined_units(
    high: Any, low: Any, dialect_name: str
) -> tuple[ColumnElement[bool], ColumnElement[Any]]:
    """(fits, amount) for summed parts: whether ``high * SPLIT + low`` is storable, and that
    amount in Money's storage form. The amount must only be evaluated where ``fits`` holds."""
    if dialect_name == "postgresql":
        units = sa.type_coerce(high, sa.Numeric) * SPLIT + low
        return sa.func.abs(units) < MAX_STORED_UNITS, units / sa.literal(
            UNITS_PER_MAJOR, sa.Numeric
        )
    carried = (high + low // SPLIT, low % SPLIT)  # |low| < SPLIT, so high alone decides
    units = carried[0] * SPLIT + carried[1]
    fits = sa.case(
        (sa.func.abs(carried[0]) > _MAX_HIGH, sa.false()),
        else_=sa.func.abs(units) < MAX_STORED_UNITS,
    )
    return fits, units


def _money_if_money(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args and isinstance(getattr(args[0], "type", None), Money):
        kwargs.setdefault("type_", Money())


class avg(GenericFunction[Any]):  # noqa: N801 - SQL function names are lower case
    """``avg`` of money is money (SQLAlchemy leaves it untyped)."""

    inherit_cache = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _money_if_money(args, kwargs)
        super().__init__(*args, **kwargs)


class abs(GenericFunction[Any]):  # noqa: N801, A001
    """``abs`` of money is money (SQLAlchemy leaves it untyped)."""

    inherit_cache = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _money_if_money(args, kwargs)
        super().__init__(*args, **kwargs)


class total(GenericFunction[Any]):  # noqa: N801
    """SQLite's float ``total`` of money is money, read back to the nearest unit."""

    inherit_cache = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _money_if_money(args, kwargs)
        super().__init__(*args, **kwargs)


class UntypedMoneyAggregate(CompileError):
    """An aggregate over money whose result would not be read back as money."""


def _carries_money(element: Any) -> bool:
    """Whether money values flow into ``element``'s result (conditions and units excluded)."""
    element_type = getattr(element, "type", None)
    if isinstance(element_type, Money):
        return True
    if isinstance(element_type, (sa.Boolean, MoneyUnits)):
        return False
    return any(_carries_money(child) for child in element.get_children())


@compiles(functions.sum)
@compiles(functions.min)
@compiles(functions.max)
@compiles(avg)
@compiles(total)
def _typed_money_aggregate(element: Any, compiler: Any, **kw: Any) -> str:
    if not isinstance(element.type, Money) and _carries_money(element.clause_expr):
        raise UntypedMoneyAggregate(
            f"{element.name}() over money must be typed Money (or use money_units()): "
            "an untyped result is raw 1/10000 units on SQLite"
        )
    return compiler.visit_function(element, **kw)


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
