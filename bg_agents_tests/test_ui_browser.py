"""The Dagster UI as the data team uses it, in a real browser (Debian's Chromium, headless).

One ``dagster-webserver`` + ``dagster-daemon`` pair on PostgreSQL serves the file
(``bg_agents_tests/processes.py``), over a small SIMULATED world (two teams, one week) whose
week is materialized in the test process against the pair's instance, as ``bg-agents demo``
does: the week's days ingested and matched, the match model trained, the week measured and its
insights written by the offline backend. The browser then checks what a person relies on:

- the asset graph shows every asset and every group of the definitions;
- a ``weekly_insights`` partition shows the insight text stored for its team;
- a ``record_matches`` partition shows the explanation of a stored match;
- an asset check's result (``facts_match_data``) is on its asset's Checks tab;
- a sensor toggled off and on in the UI is stopped and running again (read back through GraphQL);
- a materialization launched with an asset's Materialize button runs and succeeds.

Playwright drives the system browser (``/usr/bin/chromium``): nothing is downloaded at run time;
the machine's setup installs Chromium (.ci/run does). Without it, or without PostgreSQL, the file
skips with the reason, and fails instead under ``BG_AGENTS_REQUIRE_POSTGRES=1`` (CI).

Screenshots of every step go to ``$BG_AGENTS_TEST_ARTIFACTS/ui-screenshots`` (else a temporary
folder; the path is printed). With ``BG_AGENTS_UPDATE_SCREENSHOTS=1`` the README's screenshots in
``docs/images/`` are rewritten from the same steps. Test-only overrides of
``deploy/dagster.yaml``: the run queue is read every second. The file takes about a minute.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bg_agents.definitions import defs
from bg_agents.defs._shared.resources import LLM, AppDatabase
from bg_agents.defs.reconciliation.assets import stored_pairs_by_day
from bg_agents.inprocess import materialize
from bg_agents.lib.db.engine import get_engine
from bg_agents.lib.db.models import Insight, Team
from bg_agents.lib.delivery_slots import slot_for
from bg_agents.lib.weeks import last_complete_week
from bg_agents.simulate.store import write_world
from bg_agents.simulate.world import generate_world
from bg_agents_tests.processes import ROOT, DagsterProcesses, dagster_processes, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 800}
SENSOR = "freshness_sensor"  # the one sensor left running: it starts no runs
SETUP_TAGS = {"bg_agents/launched_by": "test_ui_browser"}
README_SHOTS = {  # step screenshot -> the README's image
    "asset-graph": "ui-asset-graph.png",
    "insight-partition": "ui-insight-partition.png",
    "match-explanation": "ui-match-explanation.png",
}
UI_TIMEOUT_MS = 30_000  # a page's first load on a busy 2-core machine
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass
class World:
    week: date
    insight_partition: str  # "slot|week", Dagster's multi-partition key
    insight_text: str
    match_day: date
    match_explanation: str


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("BG_AGENTS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and BG_AGENTS_REQUIRE_POSTGRES=1 forbids skipping")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = os.environ.get("BG_AGENTS_TEST_ARTIFACTS")
    folder = Path(base) / "ui-screenshots" if base else tmp_path_factory.mktemp("ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"UI screenshots: {folder}")
    return folder


def _before_the_daemon(dagster: DagsterProcesses) -> None:
    """Leave one sensor running and the schedule off: the runs they would start cost a 2-core
    machine CPU the UI's own run needs, and none is asserted here."""
    graphql = dagster.graphql
    for name, status in graphql.sensors().items():
        if status == "RUNNING" and name != SENSOR:
            graphql.stop_sensor(name)
    graphql.stop_schedule("hourly_ingest_schedule")
    assert {n for n, s in graphql.sensors().items() if s == "RUNNING"} == {SENSOR}


def _materialize_the_week(dagster: DagsterProcesses, week: date) -> None:
    """What ``bg-agents demo`` runs for one week, in this process against the pair's instance."""
    days = [(week + timedelta(days=i)).isoformat() for i in range(7)]
    engine = get_engine(dagster.app_db_url)
    with engine.connect() as conn:
        zones = conn.scalars(sa.select(Team.time_zone).distinct()).all()
    with dagster.instance() as instance:
        common = {
            "instance": instance,
            "app_db": AppDatabase(url=dagster.app_db_url),
            "llm_resource": LLM(backend="offline"),
            "tags": SETUP_TAGS,
        }
        ingest = ["transactions", "unmatched_records"]
        materialize(ingest, job="daily_ingest_job", partition_range=(days[0], days[-1]), **common)
        materialize(["match_model"], job="match_model_job", **common)
        materialize(["record_matches"], partition_range=(days[0], days[-1]), **common)
        materialize(["weekly_metrics"], partition_key=week.isoformat(), **common)
        for slot in sorted({slot_for(week, zone) for zone in zones}):
            key = dg.MultiPartitionKey({"slot": slot, "week": week.isoformat()})
            materialize(["weekly_insights"], partition_key=key, **common)


@pytest.fixture(scope="module")
def dagster(
    postgres_admin_url: str, chromium: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterProcesses]:
    week = last_complete_week(datetime.now(UTC).date())

    def seed(url: str) -> None:
        world = generate_world(teams=2, weeks=1, seed=5, end=week + timedelta(days=6))
        write_world(get_engine(url), world)

    # The pair's partitions begin at the seeded week (as after `bg-agents demo`), so the UI shows
    # that week filled rather than hundreds of empty partitions before it.
    env = {"BG_AGENTS_HISTORY_START": week.isoformat()}
    overrides = {"run_queue": {"dequeue_interval_seconds": 1}}
    with dagster_processes(
        postgres_admin_url,
        tmp_path_factory.mktemp("ui_browser"),
        env=env,
        instance_overrides=overrides,
        prepare_app_db=seed,
        before_daemon=_before_the_daemon,
    ) as processes:
        with processes.logs_on_failure():
            _materialize_the_week(processes, week)
            # The welcome dialog a first visit shows would cover the pages (the UI's own call).
            assert processes.graphql.query("mutation { setNuxSeen }")["setNuxSeen"]
        yield processes


@pytest.fixture(scope="module")
def world(dagster: DagsterProcesses) -> World:
    """What the UI should show, read from the application database the runs wrote."""
    engine = get_engine(dagster.app_db_url)
    with engine.connect() as conn:
        insight = conn.execute(
            sa.select(Insight.week_start, Insight.content, Team.time_zone)
            .join(Team, Team.id == Insight.team_id)
            .order_by(Insight.id)
            .limit(1)
        ).one()
    week = insight.week_start
    days = stored_pairs_by_day(engine, week, week + timedelta(days=6))
    match_day = next(day for day, pairs in days.items() if pairs.samples)
    return World(
        week=week,
        insight_partition=f"{slot_for(week, insight.time_zone)}|{week.isoformat()}",
        insight_text=insight.content,
        match_day=match_day,
        match_explanation=days[match_day].samples[0][-1],
    )


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, dagster: DagsterProcesses) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, base_url=dagster.url)
    context.set_default_timeout(UI_TIMEOUT_MS)
    new_page = context.new_page()
    with dagster.logs_on_failure():
        yield new_page
    context.close()


def shot(page: Page, folder: Path, name: str) -> None:
    """Save the viewport as a test artifact, and as the README's image when asked to."""
    path = folder / f"{name}.png"
    page.screenshot(path=path, animations="disabled")  # a dialog fully faded in
    if name in README_SHOTS and os.environ.get("BG_AGENTS_UPDATE_SCREENSHOTS") == "1":
        assert path.stat().st_size < 250_000, f"{name}: keep the README's images small"
        shutil.copyfile(path, ROOT / "docs" / "images" / README_SHOTS[name])


def _groups_and_assets() -> tuple[set[str], set[str]]:
    graph = defs.resolve_asset_graph()
    nodes = [graph.get(key) for key in graph.get_all_asset_keys()]
    return {n.group_name for n in nodes}, {n.key.to_user_string() for n in nodes}


def _names(shown: str, asset: str) -> bool:
    """Whether a node's text names the asset: in full, or cut in the middle with an ellipsis."""
    if shown == asset:
        return True
    head, sep, tail = shown.partition("\u2026")
    return (
        bool(sep)
        and len(head) >= 3
        and len(tail) >= 3
        and asset.startswith(head)
        and asset.endswith(tail)
    )


def test_the_asset_graph_shows_every_asset_and_group(page: Page, screenshots: Path) -> None:
    groups, assets = _groups_and_assets()
    # The graph's own stored view settings, as a person who chose them once has them: every
    # group expanded (the UI opens them collapsed) and laid out top to bottom, so the whole
    # graph fits the window.
    expanded = {"expanded": ",".join(f"global@global:{g}" for g in sorted(groups))}
    page.add_init_script(
        "localStorage.setItem('asset-graph-open-graph-nodes-global-__GLOBAL__', "
        f"{json.dumps(json.dumps(expanded))});"
        "localStorage.setItem('asset-graph-direction', '\"vertical\"');"
        "localStorage.setItem('dagster-nav-collapsed', 'true');"
    )
    page.goto("/asset-groups")
    graph = page.locator("svg foreignObject")
    expect(graph.get_by_text("transactions", exact=True).last).to_be_visible()
    # Zoomed out to fit, the graph draws a long name cut in the middle ("transa…_enrichment").
    missing = sorted(assets)
    for _ in range(30):
        texts = [line.strip() for t in graph.all_text_contents() for line in (t or "").split("\n")]
        missing = [a for a in sorted(assets) if not any(_names(t, a) for t in texts)]
        if not missing:
            break
        page.wait_for_timeout(1000)
    assert missing == [], f"not in the graph: {missing}"
    for group in sorted(groups):  # a group's box is headed by its name
        expect(graph.locator(f'[data-tooltip="{group}"]')).to_be_visible()
    page.wait_for_load_state("networkidle")  # the nodes' materialization states drawn
    shot(page, screenshots, "asset-graph")


def test_an_insight_partition_shows_the_stored_insight(
    page: Page, screenshots: Path, world: World
) -> None:
    partition = quote(world.insight_partition, safe="")  # a slot's "+" is not a space
    page.goto(f"/assets/weekly_insights?view=partitions&partition={partition}")
    title = page.get_by_text(world.insight_partition, exact=True).filter(visible=True)
    expect(title.first).to_be_visible()
    expect(page.get_by_text("sample_insight", exact=True)).to_be_visible()
    # The metadata renders the text as Markdown: each of its bullets is shown as written.
    bullets = [line.removeprefix("- ").strip() for line in world.insight_text.splitlines()]
    assert len(bullets) >= 3 and all(bullets), world.insight_text
    for bullet in bullets:
        expect(page.get_by_text(bullet, exact=True)).to_be_visible()
    page.get_by_text(bullets[-1], exact=True).scroll_into_view_if_needed()  # all of it in view
    shot(page, screenshots, "insight-partition")


def test_a_record_matches_partition_shows_a_match_explanation(
    page: Page, screenshots: Path, world: World
) -> None:
    page.goto(f"/assets/record_matches?view=partitions&partition={world.match_day.isoformat()}")
    # A table this long is behind a link in the metadata row; it opens in a dialog.
    row = page.get_by_role("row", name=re.compile(r"^explanations\b"))
    row.get_by_text("[Show Markdown]").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(world.match_explanation, exact=True).first).to_be_visible()
    shot(page, screenshots, "match-explanation")


def test_an_asset_checks_result_is_on_the_checks_tab(page: Page, screenshots: Path) -> None:
    page.goto("/assets/weekly_insights?view=checks")
    page.get_by_text("facts_match_data", exact=True).first.click()  # its details on the right
    expect(page.get_by_text(re.compile(r"^Every figure in the facts stored"))).to_be_visible()
    # Its latest evaluation: the outcome and what the check said about it.
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    differing = re.compile(r"^0 of \d+ insights have facts that differ from the data$")
    expect(page.get_by_text(differing)).to_be_visible()
    shot(page, screenshots, "asset-check")


def test_a_sensor_is_toggled_off_and_on(
    page: Page, screenshots: Path, dagster: DagsterProcesses
) -> None:
    graphql = dagster.graphql
    assert graphql.instigator(SENSOR)["status"] == "RUNNING"
    page.goto(f"/locations/__repository__@bg_agents/sensors/{SENSOR}")
    switch = page.get_by_role("checkbox")
    toggle = page.locator("label").filter(has=switch)  # what is drawn (the input is hidden)
    expect(switch).to_be_checked()
    toggle.click()
    expect(switch).not_to_be_checked()
    wait_for(lambda: graphql.instigator(SENSOR)["status"] == "STOPPED", 10, "the sensor stopped")
    shot(page, screenshots, "sensor-off")
    toggle.click()
    expect(switch).to_be_checked()
    wait_for(lambda: graphql.instigator(SENSOR)["status"] == "RUNNING", 10, "the sensor running")
    shot(page, screenshots, "sensor-on")


def test_a_materialization_launched_from_the_ui_succeeds(
    page: Page, screenshots: Path, dagster: DagsterProcesses
) -> None:
    graphql = dagster.graphql
    before = {r["runId"] for r in graphql.runs(limit=100)}
    page.goto("/assets/match_model")
    page.get_by_role("button").filter(has_text=re.compile(r"^Materialize$")).click()
    (run_id,) = wait_for(
        lambda: {r["runId"] for r in graphql.runs(limit=100)} - before, 30, "the UI's run"
    )
    page.goto(f"/runs/{run_id}")
    # The run page follows the run live: queued, started, then its outcome.
    outcome = page.get_by_text("Success", exact=True).or_(page.get_by_text("Failure", exact=True))
    expect(outcome.first).to_be_visible(timeout=180_000)
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    shot(page, screenshots, "ui-run")
    run = graphql.run(run_id)
    assert run["status"] == "SUCCESS"
    assert run["jobName"] == "__ASSET_JOB"
    assert "bg_agents/launched_by" not in run["tags"]  # the button's run, not the setup's
    with dagster.instance() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("match_model"))
    assert event is not None and event.run_id == run_id
