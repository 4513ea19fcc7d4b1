"""Weekly metrics, vectorized over all teams at once.

Input is a small pre-aggregated frame (one row per team, week and category, from one SQL GROUP
BY); everything here is whole-column pandas arithmetic on exact integer money units, so 10,000
teams cost about as much as ten.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGG_COLUMNS = [
    "team_id",
    "is_current",
    "category",
    "income_units",
    "expense_units",
    "income_n",
    "expense_n",
    "unconverted_n",
]


def change_pct(current: pd.Series, previous: pd.Series) -> pd.Series:
    """Percent change against |previous|; undefined (NaN) when previous is zero."""
    prev = previous.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (current.astype("float64") - prev) / prev.abs() * 100.0
    return pct.where(prev != 0).round(2)


def _period(frame: pd.DataFrame, keys: list[str], current: int, index: pd.Index) -> pd.DataFrame:
    """Sum ``frame`` by ``keys`` for one period (1 = this week, 0 = the week before)."""
    part = frame[frame["is_current"] == current]
    sums = part.groupby(keys, sort=False)[_SUMMED].sum()
    return sums.reindex(index, fill_value=0).astype("int64")


_SUMMED = ["income_units", "expense_units", "income_n", "expense_n", "unconverted_n"]


def weekly_team_metrics(agg: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """One row per team (every team, even a silent one) with totals and change vs last week.

    ``teams`` has ``team_id`` and ``currency``; money columns come out as integer units.
    """
    index = pd.Index(teams["team_id"], name="team_id")
    cur = _period(agg, ["team_id"], 1, index)
    prev = _period(agg, ["team_id"], 0, index)
    out = pd.DataFrame(index=index)
    out["currency"] = teams["currency"].to_numpy()
    out["revenue"] = cur["income_units"]
    out["expenses"] = cur["expense_units"]
    out["net"] = out["revenue"] - out["expenses"]
    out["income_count"] = cur["income_n"]
    out["expense_count"] = cur["expense_n"]
    out["unconverted_count"] = cur["unconverted_n"]
    out["transaction_count"] = cur["income_n"] + cur["expense_n"] + cur["unconverted_n"]
    out["prev_revenue"] = prev["income_units"]
    out["prev_expenses"] = prev["expense_units"]
    out["prev_net"] = out["prev_revenue"] - out["prev_expenses"]
    for name in ("revenue", "expenses", "net"):
        out[f"{name}_change_pct"] = change_pct(out[name], out[f"prev_{name}"])
    return out.reset_index()


def weekly_category_metrics(agg: pd.DataFrame) -> pd.DataFrame:
    """Expenses per team and category this week, with last week's figure and the change.

    A category appears when it had spending in either week, so a category that fell to zero
    still shows its -100 %.
    """
    spend = agg[agg["expense_n"] > 0]
    index = pd.MultiIndex.from_frame(
        spend[["team_id", "category"]].drop_duplicates(), names=["team_id", "category"]
    )
    cur = _period(spend, ["team_id", "category"], 1, index)
    prev = _period(spend, ["team_id", "category"], 0, index)
    out = pd.DataFrame(index=index)
    out["expenses"] = cur["expense_units"]
    out["transaction_count"] = cur["expense_n"]
    out["prev_expenses"] = prev["expense_units"]
    out["change_pct"] = change_pct(out["expenses"], out["prev_expenses"])
    return out.reset_index()
