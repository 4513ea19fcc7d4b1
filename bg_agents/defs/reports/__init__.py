"""Month-end reports: one PDF per team and local month, with the books' figures for that month.

Plain modules (no Dagster yet): ``figures`` reads a month's figures from the database,
``render`` lays them out as a byte-stable PDF, ``verify`` reads a written PDF back (pages and the
totals it prints) so a check can compare them with the database, ``service`` publishes a month
(a new version only when the figures changed, never a rewrite, the team told).
"""

from bg_agents.defs.reports.figures import MonthFigures, figures_digest, month_figures
from bg_agents.defs.reports.render import render_pdf
from bg_agents.defs.reports.service import Published, publish_month
from bg_agents.defs.reports.verify import ReportReading, read_report

__all__ = [
    "MonthFigures",
    "Published",
    "ReportReading",
    "figures_digest",
    "month_figures",
    "publish_month",
    "read_report",
    "render_pdf",
]
