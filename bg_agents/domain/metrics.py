"""Weekly metrics, vectorized over all teams at once.

Input is one small frame from one SQL GROUP BY: a row per team and category with this week's and
last week's sums in exact integer money units. Everything here is whole-column pandas arithmetic,
so 10,000 teams cost about as much as ten.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGG_COLUMNS = [
    "team_id",
    "category",
    "income_units",
    "expense_units",
    "income_n",
    "expense_n",
    "unconverted_n",
    "prev_income_units",
    "prev_expense_units",
]
_SUMMED = AGG_COLUMNS[2:]


def change_pct(current: pd.Series, previous: pd.Series) -> pd.Series:
    """Percent change against |previous|; undefined (NaN) when previous is zero."""
    prev = previous.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = (current.astype("float64") - prev) / prev.abs() * 100.0
    return pct.where(prev != 0).round(2)


def weekly_team_metrics(agg: pd.DataFrame, teams: pd.DataFrame) -> pd.DataFrame:
    """One row per team (every team, even a silent one) with totals and change vs last week.

    ``teams`` has ``team_id`` and ``currency``; money columns come out as integer units.
    """
    sums = agg.groupby("team_id", sort=False)[_SUMMED].sum()
    sums = sums.reindex(pd.Index(teams["team_id"], name="team_id"), fill_value=0)
    sums = sums.astype("int64")
    out = pd.DataFrame(index=sums.index)
    out["currency"] = teams["currency"].to_numpy()
    out["revenue"] = sums["income_units"]
    out["expenses"] = sums["expense_units"]
    out["net"] = out["revenue"] - out["expenses"]
    out["income_count"] = sums["income_n"]
    out["expense_count"] = sums["expense_n"]
    out["unconverted_count"] = sums["unconverted_n"]
    out["transaction_count"] = sums["income_n"] + sums["expense_n"] + sums["unconverted_n"]
    out["prev_revenue"] = sums["prev_income_units"]
    out["prev_expenses"] = sums["prev_expense_units"]
    out["prev_net"] = out["prev_revenue"] - out["prev_expenses"]
    for name in ("revenue", "expenses", "net"):
        out[f"{name}_change_pct"] = change_pct(out[name], out[f"prev_{name}"])
    return out.reset_index()


def weekly_category_metrics(agg: pd.DataFrame) -> pd.DataFrame:
    """Expenses per team and category this week, with last week's figure and the change.

    A category appears when it had spending in either week, so a category that fell to zero
    still shows its -100 %.
    """
    spend = agg[(agg["expense_units"] > 0) | (agg["prev_expense_units"] > 0)]
    return pd.DataFrame(
        {
            "team_id": spend["team_id"].to_numpy(),
            "category": spend["category"].to_numpy(),
            "expenses": spend["expense_units"].to_numpy(),
            "transaction_count": spend["expense_n"].to_numpy(),
            "prev_expenses": spend["prev_expense_units"].to_numpy(),
            "change_pct": change_pct(
                spend["expense_units"], spend["prev_expense_units"]
            ).to_numpy(),
        }
    )
