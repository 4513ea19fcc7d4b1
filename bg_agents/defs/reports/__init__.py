"""Month-end reports: one PDF per team and local month, with the books' figures for that month.

Plain modules (no Dagster yet): ``figures`` reads a month's figures from the database,
``render`` lays them out as a byte-stable PDF, ``verify`` reads a written PDF back (pages and the
totals it prints) so a check can compare them with the database.
"""

from bg_agents.defs.reports.figures import MonthFigures, figures_digest, month_figures
from bg_agents.defs.reports.verify import ReportReading, read_report

__all__ = [
    "MonthFigures",
    "ReportReading",
    "figures_digest",
    "month_figures",
    "read_report",
]
