"""The PDF a team files: byte-stable, in the team's language (German, French, Spanish, else
English), every character drawn by the embedded font in every locale (Swiss German, Japanese,
Egyptian Arabic digits, right-to-left team names), an empty month on one clear page, and totals
that read back to the figures."""

from __future__ import annotations

import io
import string
from dataclasses import replace
from decimal import Decimal

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from bg_agents.defs.reports import MonthFigures, figures_digest, month_figures, read_report
from bg_agents.defs.reports.render import render_pdf
from bg_agents.defs.reports.text import BOLD, REGULAR, drawable, font_path
from bg_agents.defs.reports.texts import TEXTS
from bg_agents.lib.db import migrate
from bg_agents.lib.db.engine import get_engine
from bg_agents_tests.reports.month_data import MONTH, NOW, add_team, seed_month


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MonthFigures]:
    """The seeded month and an empty one (rendering needs no database: SQLite is enough)."""
    engine = get_engine(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'app.db'}")
    migrate.upgrade(engine)
    team, _ = seed_month(engine)
    quiet = add_team(engine, "quiet")
    with engine.connect() as conn:
        return {
            "month": month_figures(conn, team, MONTH, NOW),
            "empty": month_figures(conn, quiet, MONTH, NOW),
        }


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _fonts(pdf: bytes) -> set[str]:
    """Base names of every font the pages use; each must be embedded (FontFile2)."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            assert "/FontFile2" in descendant["/FontDescriptor"], font["/BaseFont"]
            names.add(str(font["/BaseFont"]).split("+")[-1])
    return names


def test_rendering_is_byte_stable(figures: dict[str, MonthFigures]) -> None:
    f = figures["month"]
    first = render_pdf(f, locale="de_CH", team_name="Müller & Söhne AG", version=1)
    assert render_pdf(f, locale="de_CH", team_name="Müller & Söhne AG", version=1) == first
    assert render_pdf(f, locale="de_CH", team_name="Müller & Söhne AG", version=2) != first
    # Creation date: the generation instant, not the moment of rendering.
    assert PdfReader(io.BytesIO(first)).metadata.creation_date == NOW


NAMES = {
    "de_CH": "Müller & Söhne AG",
    "ja_JP": "Yamada Shoji KK",
    "ar_EG": "شركة النور للتجارة",
    "he_IL": 'אור בע"מ',
}


@pytest.mark.parametrize("locale", ["de_CH", "ja_JP", "ar_EG", "he_IL", "fr_FR", "es_ES", "en_IN"])
def test_every_character_is_in_the_embedded_font(
    figures: dict[str, MonthFigures], locale: str
) -> None:
    name = NAMES.get(locale, "Café Ölçü ₹ ₪ ₩ ¥ €")
    # The team's own currency where the locale has one with a sign ("￥" is not in the font).
    currency = {"ja_JP": "JPY", "ar_EG": "EGP", "he_IL": "ILS", "en_IN": "INR"}.get(locale, "USD")
    f = replace(figures["month"], currency=currency)
    pdf = render_pdf(f, locale=locale, team_name=name, version=1)
    assert _fonts(pdf) == {"DejaVuSans", "DejaVuSans-Bold"}
    cmap = TTFont(str(font_path(REGULAR))).getBestCmap()
    bold = TTFont(str(font_path(BOLD))).getBestCmap()
    text = _text(pdf)
    missing = {
        ch for ch in text if not ch.isspace() and (ord(ch) not in cmap or ord(ch) not in bold)
    }
    assert not missing, f"{locale}: no glyph for {sorted(missing)}"


ENGLISH_HEADINGS = [
    "MONTH-END REPORT",
    "Summary",
    "Revenue",
    "Expenses by category",
    "Cash in and out per week",
    "Receivables",
    "Reconciliation",
    "Agents' activity",
    "About this report",
]
HEADINGS = {
    "de_CH": [
        "MONATSABSCHLUSS",
        "Übersicht",
        "Einnahmen",
        "Ausgaben nach Kategorie",
        "Ein- und Auszahlungen pro Woche",
        "Forderungen",
        "davon überfällig",
        "Abgleich",
        "Aktivität der Agenten",
        "Über diesen Bericht",
    ],
    "fr_FR": ["RAPPORT DE CLÔTURE MENSUELLE", "Synthèse", "Recettes", "Créances", "Rapprochement"],
    "es_ES": ["INFORME DE CIERRE MENSUAL", "Resumen", "Ingresos", "Cuentas por cobrar"],
}


@pytest.mark.parametrize("locale", sorted(HEADINGS))
def test_the_report_speaks_the_teams_language(
    figures: dict[str, MonthFigures], locale: str
) -> None:
    """The locale's language picks the words (de_CH -> German); the machine-read totals line
    stays as it is, so the report still reads back."""
    pdf = render_pdf(figures["month"], locale=locale, team_name="Müller & Söhne AG", version=1)
    text = _text(pdf)
    assert [h for h in HEADINGS[locale] if h not in text] == []
    assert [h for h in ENGLISH_HEADINGS if h in text] == []
    assert read_report(pdf).revenue == Decimal("3545.10")


def test_other_languages_get_english_words_with_their_own_formats(
    figures: dict[str, MonthFigures],
) -> None:
    english = _text(render_pdf(figures["month"], locale="en_US", team_name="x", version=1))
    japanese = _text(render_pdf(figures["month"], locale="ja_JP", team_name="x", version=1))
    for text in (english, japanese):
        assert [h for h in ENGLISH_HEADINGS if h not in text] == []
    assert "March 2026" in english and "2026/03" in japanese and "March" not in japanese


def test_an_empty_month_says_so_in_the_teams_language(figures: dict[str, MonthFigures]) -> None:
    pdf = render_pdf(figures["empty"], locale="de_CH", team_name="Still AG", version=1)
    assert "Keine Buchungen im März 2026." in _text(pdf)
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Monatsabschluss 2026-03: Still AG"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_language_has_every_text_with_the_same_placeholders_and_drawable_glyphs() -> None:
    """A text missing in one language would fail only when its section is printed; a
    placeholder spelled differently would raise or leave a figure out; a character outside
    the font would print as a box (some texts, like the empty month's, show up rarely)."""
    for language, texts in TEXTS.items():
        assert texts.keys() == TEXTS["en"].keys(), language
        for key, text in texts.items():
            assert _fields(text) == _fields(TEXTS["en"][key]), (language, key)
            assert drawable(text), (language, key, text)


def test_locale_numbers_are_written_the_locales_way(figures: dict[str, MonthFigures]) -> None:
    f = figures["month"]  # revenue 3545.10 USD
    assert "$ 3'545.10" in _text(render_pdf(f, locale="de_CH", team_name="x", version=1))
    arabic = _text(render_pdf(f, locale="ar_EG", team_name="x", version=1))
    assert "٣٬٥٤٥٫١٠" in arabic  # Arabic-Indic digits and separators
    assert "3,545.10" in _text(render_pdf(f, locale="ja_JP", team_name="x", version=1))


def test_right_to_left_names_are_drawn_in_visual_order_with_joined_letters(
    figures: dict[str, MonthFigures],
) -> None:
    """pypdf reads a right-to-left run drawn in visual order back in reading order; a name
    drawn in reading order (no reordering) would come back reversed, unjoined letters as the
    bare letters."""
    arabic = _text(render_pdf(figures["month"], locale="ar_EG", team_name="نور", version=1))
    # "نور" joined: noon initial, waw final, reh isolated (drawn reh, waw, noon).
    assert "\ufee7\ufeee\ufead" in arabic
    assert "نور" not in arabic and "\ufead\ufeee\ufee7" not in arabic
    hebrew = _text(render_pdf(figures["month"], locale="he_IL", team_name="אור שמש", version=1))
    assert "אור שמש" in hebrew and "שמש רוא" not in hebrew


def test_an_empty_month_is_one_clear_page(figures: dict[str, MonthFigures]) -> None:
    f = figures["empty"]
    assert f.is_empty
    pdf = render_pdf(f, locale="en_US", team_name="Quiet Ltd", version=1)
    reading = read_report(pdf)
    assert reading.pages == 1
    assert "No transactions in March 2026." in _text(pdf)
    assert (reading.revenue, reading.expenses, reading.net) == (0, 0, 0)


@pytest.mark.parametrize("locale", ["de_CH", "ar_EG", "ja_JP"])
def test_the_printed_totals_read_back(figures: dict[str, MonthFigures], locale: str) -> None:
    f = figures["month"]
    reading = read_report(render_pdf(f, locale=locale, team_name="شركة النور", version=3))
    assert reading.pages >= 2
    assert (reading.month, reading.currency) == ("2026-03", "USD")
    assert (reading.revenue, reading.expenses, reading.net) == (
        Decimal("3545.10"),
        Decimal("520.51"),
        Decimal("3024.59"),
    )
    assert reading.content_sha256 == figures_digest(f)


def test_a_pdf_without_the_totals_line_is_not_read_as_a_report() -> None:
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 100, "revenue=1 expenses=2 net=3")
    canvas.save()
    with pytest.raises(ValueError, match="no readable totals"):
        read_report(buffer.getvalue())
