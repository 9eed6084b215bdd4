"""The dashboard in a real browser: Debian's chromium driven by Playwright, against a live server.

The server is ``analyze-errors serve`` (uvicorn) on 127.0.0.1, a free port, in a subprocess, on a
small SQLite demo database. Locally the tests skip when Playwright or ``/usr/bin/chromium`` is
missing; under CI (``CI`` set) they fail instead. Playwright never downloads a browser here.

``ERROR_ANALYTICS_SCREENSHOT=docs/dashboard.png`` makes the screenshot test write there
(``scripts/screenshot_dashboard.py`` does exactly that).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from error_analytics.demo import build_demo_database, insert_rows

from .builders import NOW, run
from .test_api_clusters import review_cli
from .test_api_serve import get_json, served

pytestmark = pytest.mark.browser

API = "/api/error-analytics"
PROBE = "XSSPROBE"
HOSTILE = f'<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> {PROBE} deploy hook failed'


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """A small demo database plus a few runs whose error text is hostile HTML."""
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    build_demo_database(path, runs=240, days=30, seed=12, now=NOW)
    engine = sa.create_engine(f"sqlite:///{path}")
    hostile = [
        run(f"x{index:07d}", "failed", 0.5 + index, current_phase="Ship", failure_reason=HOSTILE)
        for index in range(4)
    ]
    insert_rows(engine, "workflow_history", hostile)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def live_server(demo_db) -> Iterator[str]:
    """``analyze-errors serve`` in a subprocess; it reads the errors into clusters at startup."""
    with served("--db", str(demo_db)) as base:
        yield base


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.problems = problems
    yield page
    context.close()


def open_dashboard(page, base: str) -> None:
    page.goto(f"{base}/")
    page.wait_for_selector("body[data-overview='loaded']")
    page.wait_for_selector("#cluster-list li.cluster-row")


def test_dashboard_loads_and_charts_render(page, live_server):
    open_dashboard(page, live_server)
    assert page.locator("#summary-cards .card").count() == 6
    trend = get_json(f"{live_server}{API}/trends?days=30")
    path = page.locator("#trend-chart svg path.line").get_attribute("d")
    assert path and path.count("L") == len(trend["points"]) - 2  # the complete days
    partial = page.locator("#trend-chart svg path.line-partial").get_attribute("d")
    assert partial and partial.count("L") == 1  # dashed, on to today
    assert page.locator("#trend-chart svg circle.dot").count() == len(trend["points"])
    assert page.locator("#trend-chart svg circle.spike").count() == len(trend["spike_days"]) >= 1
    assert page.locator("#phase-bars .bar-row").count() >= 10
    assert page.locator("#category-bars .bar-row").count() >= 3
    assert page.locator("#cluster-list svg.sparkline polyline").count() >= 1
    assert page.problems == []


def test_selecting_a_spike_names_its_causes(page, live_server):
    open_dashboard(page, live_server)
    page.locator("#trend-chart circle.spike").first.click()
    detail = page.locator("#spike-detail")
    assert detail.is_visible()
    assert "runs failed" in detail.inner_text()


def test_hostile_error_text_is_shown_as_text(page, live_server):
    open_dashboard(page, live_server)
    page.fill("#filter-text", PROBE)
    row = page.locator("#cluster-list li.cluster-row", has_text=PROBE)
    row.first.wait_for()
    row.first.locator("a.name").click()
    example = page.locator("#cluster-detail pre", has_text="<script>window.__pwned=1</script>")
    example.first.wait_for()
    assert example.first.is_visible()
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#cluster-detail script").count() == 0
    assert page.problems == []


def test_a_review_made_in_the_page_reaches_the_api_and_the_cli(page, live_server, demo_db):
    from playwright.sync_api import expect  # the page's CSP forbids wait_for_function's eval

    open_dashboard(page, live_server)
    page.click("#settings summary")
    page.fill("#actor", "browser-reviewer")
    page.click("#settings-form button[type=submit]")
    row = page.locator("#cluster-list li.cluster-row[data-status='new']").first
    cluster_id = row.get_attribute("data-cluster-id")
    row.locator("a.name").click()
    page.wait_for_selector(f"body[data-cluster='{cluster_id}']")
    page.click("#action-accept")
    page.locator("#cluster-detail .history li[data-action='accept']").wait_for()
    page.fill("#rename-input", "Renamed in the browser")
    page.click("#action-rename")
    expect(page.locator("#cluster-name")).to_have_text("Renamed in the browser")

    over_http = get_json(f"{live_server}{API}/clusters/{cluster_id}")
    assert over_http["cluster"]["name"] == "Renamed in the browser"
    assert over_http["cluster"]["status"] == "reviewed"
    assert [(entry["action"], entry["actor"]) for entry in over_http["history"]] == [
        ("rename", "browser-reviewer"),
        ("accept", "browser-reviewer"),
    ]
    from_cli = review_cli(
        "clusters", "show", cluster_id, "--db", str(demo_db), "--json", "--no-refresh"
    )
    assert from_cli["cluster"]["name"] == "Renamed in the browser"
    assert from_cli["cluster"]["status"] == "reviewed"
    assert from_cli["history"] == over_http["history"]

    page.locator(
        "#cluster-detail .history li[data-action='rename'] button"
    ).click()  # undo the rename
    expect(page.locator("#cluster-name")).not_to_have_text("Renamed in the browser")
    assert (
        get_json(f"{live_server}{API}/clusters/{cluster_id}")["cluster"]["name"]
        != "Renamed in the browser"
    )
    assert page.problems == []


def test_one_header_popover_open_at_a_time(page, live_server):
    from playwright.sync_api import expect

    open_dashboard(page, live_server)
    downloads, settings = page.locator("#downloads"), page.locator("#settings")
    page.click("#downloads summary")
    expect(downloads).to_have_attribute("open", "")
    page.click("#settings summary")
    expect(settings).to_have_attribute("open", "")
    expect(downloads).not_to_have_attribute("open", "")
    assert page.locator("details.menu[open]").count() == 1
    page.click("#downloads summary")
    expect(settings).not_to_have_attribute("open", "")
    assert page.locator("details.menu[open]").count() == 1
    assert page.problems == []


def test_phone_layout_does_not_scroll_sideways(browser, live_server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        open_dashboard(page, live_server)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
        assert page.locator("#trend-chart svg").bounding_box()["width"] <= 390
    finally:
        context.close()


def test_dashboard_screenshot(page, live_server, tmp_path):
    target = Path(os.environ.get("ERROR_ANALYTICS_SCREENSHOT") or tmp_path / "dashboard.png")
    page.set_viewport_size({"width": 1280, "height": 1650})
    open_dashboard(page, live_server)
    page.locator(
        "#trend-chart circle.spike"
    ).first.click()  # the spike panel, as in the docs' workflow
    page.wait_for_timeout(300)
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
