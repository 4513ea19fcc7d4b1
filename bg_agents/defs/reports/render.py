"""Lay a month's figures out as an A4 PDF: reportlab platypus, charts in reportlab's own graphics.

Charts are drawn with reportlab's graphics (vector, in the same embedded font) rather than
matplotlib: a matplotlib figure would reach the PDF as a bitmap or through an extra converter,
and its output embeds its own fonts and timestamps; reportlab's drawings are crisp at any zoom
and come out byte for byte the same.

Words come from ``texts`` in the locale's language (German, French, Spanish, else English);
numbers, dates and month names from ``text.Style`` for the full locale.

Byte-stable: the same figures, locale, name and version give the same bytes. reportlab runs in
invariant mode (no random document ID, fixed internal timestamps) and the document's creation
date is set to the figures' generation instant.

The last page prints the totals once more in a fixed ASCII form (``verify.totals_line``), so
``verify.read_report`` reads them back from the extracted text in every locale, whatever digits,
separators and writing direction the tables use; and the content SHA-256 (``figures_digest``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from bg_agents.defs.reports.figures import (
    MonthFigures,
    PeriodTotals,
    add_months,
    canonical_json,
    figures_digest,
)
from bg_agents.defs.reports.text import BOLD, REGULAR, Style, register_fonts, visual
from bg_agents.defs.reports.texts import Texts
from bg_agents.defs.reports.verify import DIGEST_PREFIX, totals_line

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
INK = colors.HexColor("#1F2A33")
MUTED = colors.HexColor("#6B7780")
RULE = colors.HexColor("#D5DBDF")
BAND = colors.HexColor("#F3F5F6")
CASH_IN = colors.HexColor("#2F6B5E")
CASH_OUT = colors.HexColor("#B5654A")
TOP_CATEGORIES = 10  # the chart's bars; the table lists every category
# Named in the note on the last page, so a reader can recompute the content hash.
_CANONICAL_JSON = f"{canonical_json.__module__}.{canonical_json.__name__}"


def render_pdf(figures: MonthFigures, *, locale: str, team_name: str, version: int) -> bytes:
    """The month-end report as PDF bytes (see the module doc for what makes them stable)."""
    register_fonts()
    style = Style.of(locale, figures.currency, figures.time_zone)
    texts = Texts.of(style.locale.language)
    parts = _Parts(figures, style, texts, team_name, version)
    buffer = io.BytesIO()
    month = style.month(figures.month)
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 6 * mm,
        title=texts("doc_title", month=f"{figures.month:%Y-%m}", team=team_name),
        author="bg-agents",
        subject=f"{figures.team_slug} {figures.month:%Y-%m} v{version}",
        keywords=[totals_line(figures), f"{DIGEST_PREFIX}={figures_digest(figures)}"],
        creator="bg-agents month-end reports",
        invariant=1,
        # Pages start in the report's font: reportlab's default (Helvetica) would otherwise be
        # listed on every page as a font the PDF does not embed.
        initialFontName=REGULAR,
        lang=locale.replace("_", "-"),
    )
    created = figures.generated_at.strftime("D:%Y%m%d%H%M%S+00'00'")

    def on_page(canvas: Canvas, _doc: SimpleDocTemplate) -> None:
        canvas.setDateFormatter(lambda *_: created)
        canvas.saveState()
        canvas.setFont(REGULAR, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawString(MARGIN, MARGIN - 2 * mm, f"{visual(team_name)} · {month}")
        canvas.drawRightString(
            A4[0] - MARGIN, MARGIN - 2 * mm, f"v{version} · {canvas.getPageNumber()}"
        )
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, MARGIN + 1.5 * mm, A4[0] - MARGIN, MARGIN + 1.5 * mm)
        canvas.restoreState()

    doc.build(parts.story(), onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _paragraph_style(name: str, size: float, **kw: object) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=kw.pop("font", REGULAR), fontSize=size, leading=size * 1.3, **kw
    )


TITLE = _paragraph_style("title", 22, font=BOLD, textColor=INK, spaceAfter=2 * mm)
KICKER = _paragraph_style("kicker", 9, textColor=MUTED, spaceAfter=1 * mm)
TEAM = _paragraph_style("team", 13, textColor=INK, spaceAfter=1 * mm)
H2 = _paragraph_style("h2", 12, font=BOLD, textColor=INK, spaceBefore=6 * mm, spaceAfter=2 * mm)
BODY = _paragraph_style("body", 9, textColor=INK)
NOTE = _paragraph_style("note", 7.5, textColor=MUTED)
CELL = _paragraph_style("cell", 8.5, textColor=INK)
NUMBER = _paragraph_style("number", 8.5, textColor=INK, alignment=TA_RIGHT)
MACHINE = _paragraph_style("machine", 6, textColor=MUTED)
EMPTY = _paragraph_style("empty", 16, font=BOLD, textColor=INK, spaceBefore=20 * mm)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text), style)


class _Parts:
    """The report's flowables, section by section."""

    def __init__(
        self, figures: MonthFigures, style: Style, texts: Texts, team_name: str, version: int
    ) -> None:
        self.f = figures
        self.s = style
        self.t = texts
        self.team_name = team_name
        self.version = version

    def story(self) -> list[Flowable]:
        story = self.title()
        if self.f.is_empty:
            story.append(_p(self.t("empty_title", month=self.s.month(self.f.month)), EMPTY))
            story.append(_p(self.t("empty_body")))
            return story + self.closing()
        return (
            story
            + self.summary()
            + self.categories()
            + self.weeks()
            + self.receivables()
            + self.reconciliation()
            + self.agents()
            + self.closing()
        )

    def title(self) -> list[Flowable]:
        f, s, t = self.f, self.s, self.t
        currency = f.currency
        if s.currency_sign != f.currency:
            currency += f" ({s.currency_sign})"
        return [
            _p(t("kicker"), KICKER),
            _p(s.month(f.month), TITLE),
            _p(visual(self.team_name), TEAM),
            _p(
                t("amounts", currency=currency, zone=f.time_zone, cutoff=s.instant(f.cutoff)),
                NOTE,
            ),
            Spacer(1, 2 * mm),
        ]

    # -- sections --------------------------------------------------------------------------

    def summary(self) -> list[Flowable]:
        f, s, t = self.f, self.s, self.t
        periods: list[PeriodTotals | None] = [f.current, f.previous_month, f.previous_year]
        header = [
            "",
            s.month(f.month),
            s.month(f.previous_month.month if f.previous_month else add_months(f.month, -1)),
            t("change"),
            s.month(f.previous_year.month if f.previous_year else add_months(f.month, -12)),
            t("change"),
        ]
        rows = [header]
        for key in ("revenue", "expenses", "net"):
            now = getattr(f.current, key)
            row = [t(key)]
            for k, period in enumerate(periods):
                value = None if period is None else getattr(period, key)
                row.append(s.money(value) if value is not None else t("no_data"))
                if k:
                    row.append(self._change(now, value))
            rows.append([row[0], row[1], row[2], row[3], row[4], row[5]])
        counts = [t("transactions")]
        for k, period in enumerate(periods):
            counts.append(s.count(period.transactions) if period else t("no_data"))
            if k:
                counts.append("")
        rows.append(counts)
        # Money columns wide enough for a bold net in the millions on one line; changes narrow.
        money, change = 34 * mm, 22 * mm
        label = WIDTH - 3 * money - 2 * change
        widths = [label, money, money, change, money, change]
        out: list[Flowable] = [_p(t("summary"), H2), _table(rows, widths, bold_rows=(3,))]
        if f.current.unconverted:
            count = s.count(f.current.unconverted)
            out.append(_p(t("unconverted", currency=f.currency, count=count), NOTE))
        return out

    def _change(self, now: Decimal, before: Decimal | None) -> str:
        if before is None or before == 0:
            return "–"
        return self.s.percent((now - before) / abs(before))

    def categories(self) -> list[Flowable]:
        f, s, t = self.f, self.s, self.t
        if not f.categories:
            return [_p(t("categories"), H2), _p(t("no_expenses"))]
        total = f.current.expenses or Decimal(1)
        rows = [[t("category"), t("transactions"), t("amount"), t("share")]]
        rows += [
            [
                visual(c.category),
                s.count(c.transactions),
                s.money(c.amount),
                s.percent(c.amount / total),
            ]
            for c in f.categories
        ]
        widths = [WIDTH * 0.4, WIDTH * 0.18, WIDTH * 0.24, WIDTH * 0.18]
        top = f.categories[:TOP_CATEGORIES]
        chart = _horizontal_bars(
            [visual(c.category) for c in top], [float(c.amount) for c in top], s
        )
        return [_p(t("categories"), H2), chart, Spacer(1, 3 * mm), _table(rows, widths)]

    def weeks(self) -> list[Flowable]:
        f, s, t = self.f, self.s, self.t
        rows = [[t("week"), t("days"), t("cash_in"), t("cash_out"), t("balance")]]
        for w in f.weeks:
            days = f"{s.day(w.first_day)} – {s.day(w.last_day)}"
            rows.append(
                [
                    w.iso_week,
                    days,
                    s.money(w.cash_in),
                    s.money(w.cash_out),
                    s.money(w.cash_in - w.cash_out),
                ]
            )
        widths = [WIDTH * 0.13, WIDTH * 0.36, WIDTH * 0.17, WIDTH * 0.17, WIDTH * 0.17]
        chart = _week_bars(f, s, t)
        return [
            KeepTogether([_p(t("weeks"), H2), chart]),
            Spacer(1, 3 * mm),
            _table(rows, widths),
        ]

    def receivables(self) -> list[Flowable]:
        f, s, t = self.f, self.s, self.t
        r, live = f.receivables, f.live
        rows = [
            ["", t("invoices"), t("invoiced_amount")],
            [t("owed"), s.count(r.open_count), s.money(r.open_amount)],
            [t("overdue"), s.count(r.overdue_count), s.money(r.overdue_amount)],
        ]
        rows += [
            ["\u00a0" * 3 + t("past_due", days=b.label), s.count(b.count), s.money(b.amount)]
            for b in r.ageing
        ]
        widths = [WIDTH * 0.5, WIDTH * 0.2, WIDTH * 0.3]
        out: list[Flowable] = [_p(t("receivables"), H2), _table(rows, widths, bold_rows=(1,))]
        notes = [t("receivables_note")]
        if live.part_paid_count:
            notes.append(
                t(
                    "part_paid",
                    instant=s.instant(live.as_of),
                    amount=s.money(live.part_paid_amount),
                    count=s.count(live.part_paid_count),
                )
            )
        if r.other_currency:
            notes.append(t("other_currency", count=s.count(r.other_currency)))
        out += [_p(" ".join(notes), NOTE)]
        return [KeepTogether(out)]

    def reconciliation(self) -> list[Flowable]:
        r, live, s, t = self.f.reconciliation, self.f.live, self.s, self.t
        rows = [
            [t("linked"), s.count(r.automatic_links)],
            [t("confirmed"), s.count(r.confirmed)],
            [t("declined"), s.count(r.declined)],
        ]
        table = _table(rows, [WIDTH * 0.7, WIDTH * 0.3], header=False)
        out: list[Flowable] = [_p(t("reconciliation"), H2), table, Spacer(1, 3 * mm)]
        waiting = t("waiting", instant=s.instant(live.as_of))
        out.append(
            _table(
                [[waiting, ""], [t("open_suggestions"), s.count(live.open_suggestions)]],
                [WIDTH * 0.7, WIDTH * 0.3],
            )
        )
        if live.unmatched:
            ages = [b.label for b in live.unmatched[0].by_age]
            head = [
                t("unmatched"),
                t("records"),
                t("oldest"),
                *[t("age_days", days=a) for a in ages],
            ]
            rows = [head] + [
                [
                    t.kind(u.kind),
                    s.count(u.count),
                    s.count(u.oldest_days),
                    *[s.count(b.count) for b in u.by_age],
                ]
                for u in live.unmatched
            ]
            widths = [WIDTH * 0.22, WIDTH * 0.13, WIDTH * 0.17] + [WIDTH * 0.12] * len(ages)
            out += [Spacer(1, 3 * mm), _table(rows, widths)]
        else:
            out.append(_p(t("no_waiting"), NOTE))
        out.append(_p(t("reconciliation_note", instant=s.instant(live.as_of)), NOTE))
        return [KeepTogether(out)]

    def agents(self) -> list[Flowable]:
        a, s, t = self.f.agents, self.s, self.t
        if a.cost_usd is None:
            cost = t("unknown")
        else:
            cost = s.money_in(a.cost_usd, "USD")
            if a.calls_without_cost:
                cost = t("cost_plus_unknown", cost=cost)
        rows = [
            [t("model_calls"), s.count(a.model_calls)],
            [t("model_cost"), cost],
            [t("links"), s.count(a.automatic_links)],
            [t("insights"), s.count(a.insights_delivered)],
            [t("reminders"), s.count(a.reminders_sent)],
        ]
        out: list[Flowable] = [
            _p(t("agents"), H2),
            _table(rows, [WIDTH * 0.7, WIDTH * 0.3], header=False),
        ]
        if a.calls_without_cost:
            out.append(_p(t("no_price", count=s.count(a.calls_without_cost)), NOTE))
        return [KeepTogether(out)]

    def closing(self) -> list[Flowable]:
        f, s, t = self.f, self.s, self.t
        digest = figures_digest(f)
        rows = [
            [t("cutoff"), f"{s.instant(f.cutoff)} ({f.time_zone}) = {f.cutoff:%Y-%m-%dT%H:%MZ}"],
            [t("generated"), f"{s.instant(f.generated_at)} = {f.generated_at:%Y-%m-%dT%H:%M:%SZ}"],
            [t("version"), s.count(self.version)],
            [t("content_sha"), digest],
        ]
        return [
            KeepTogether(
                [
                    _p(t("about"), H2),
                    _table(rows, [WIDTH * 0.22, WIDTH * 0.78], header=False),
                    Spacer(1, 2 * mm),
                    _p(t("about_note", function=_CANONICAL_JSON), NOTE),
                    Spacer(1, 2 * mm),
                    _p(totals_line(f), MACHINE),
                    _p(f"{DIGEST_PREFIX}={digest}", MACHINE),
                ]
            )
        ]


def _table(
    rows: list[list[str]],
    widths: list[float],
    *,
    header: bool = True,
    bold_rows: tuple[int, ...] = (),
) -> Table:
    """A sober table: text left, numbers right, a light band on the header, hairlines."""
    cells = [
        [
            _p(text, BODY if c == 0 else NUMBER)
            if not (header and r == 0)
            else Paragraph(f"<font name='{BOLD}'>{escape(text)}</font>", CELL if c == 0 else NUMBER)
            for c, text in enumerate(row)
        ]
        for r, row in enumerate(rows)
    ]
    for r in bold_rows:
        cells[r] = [
            Paragraph(f"<font name='{BOLD}'>{escape(t)}</font>", BODY if c == 0 else NUMBER)
            for c, t in enumerate(rows[r])
        ]
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),  # the cells' default, else Helvetica
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), BAND))
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    table.setStyle(TableStyle(commands))
    return table


def _axis_labels(style: Style) -> Callable[[float], str]:
    return lambda value: style.count(int(round(value)))


def _drawing(height: float) -> Drawing:
    drawing = Drawing(WIDTH, height)
    # Its renderer's initial font, else Helvetica: a font the PDF would name but not embed.
    drawing.initialFontName = REGULAR
    return drawing


def _category_labels(chart: Any) -> None:
    chart.categoryAxis.labels.fontName = REGULAR
    chart.categoryAxis.labels.fontSize = 7.5


def _money_axis(chart: Any, style: Style) -> None:
    """The value axis both charts share: from 0, amounts in the team's format, a light grid."""
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = REGULAR
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.labelTextFormat = _axis_labels(style)
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = BAND


def _horizontal_bars(labels: list[str], values: list[float], style: Style) -> Drawing:
    height = 14 * len(labels) + 30
    drawing = _drawing(height)
    chart = HorizontalBarChart()
    chart.x, chart.y = 110, 18
    chart.width, chart.height = WIDTH - 130, height - 26
    chart.data = [list(reversed(values))]
    chart.categoryAxis.categoryNames = list(reversed(labels))
    _category_labels(chart)
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.strokeColor = RULE
    _money_axis(chart, style)
    chart.bars[0].fillColor = CASH_OUT
    chart.bars[0].strokeColor = None
    chart.barWidth = 8
    chart.groupSpacing = 4
    drawing.add(chart)
    return drawing


def _week_bars(figures: MonthFigures, style: Style, texts: Texts) -> Drawing:
    height = 150
    drawing = _drawing(height)
    chart = VerticalBarChart()
    chart.x, chart.y = 50, 22
    chart.width, chart.height = WIDTH - 60, height - 45
    chart.data = [
        [float(w.cash_in) for w in figures.weeks],
        [float(w.cash_out) for w in figures.weeks],
    ]
    chart.categoryAxis.categoryNames = [w.iso_week[5:] for w in figures.weeks]
    _category_labels(chart)
    chart.categoryAxis.strokeColor = RULE
    _money_axis(chart, style)
    for k, color in enumerate((CASH_IN, CASH_OUT)):
        chart.bars[k].fillColor = color
        chart.bars[k].strokeColor = None
    chart.groupSpacing = 10
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 50, height - 6
    legend.fontName = REGULAR
    legend.fontSize = 7.5
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.dx = legend.dy = 7
    legend.deltax = 70
    legend.colorNamePairs = [(CASH_IN, texts("cash_in")), (CASH_OUT, texts("cash_out"))]
    drawing.add(legend)
    return drawing
