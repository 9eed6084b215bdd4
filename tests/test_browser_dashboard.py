"""The dashboard's review details in a real browser (Debian's chromium through Playwright).

Its own live server, on a demo database whose ``workflow_history`` has the host's ``github_url``
column, started with ``ERROR_ANALYTICS_RUN_URL_TEMPLATE`` set: runs become links, the trend
chart's spike markers and today's partial day, the status badges, the merge picker and the
phone layout. Skips (or fails under CI) like ``tests/test_browser.py``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from error_analytics.demo import build_demo_database, insert_rows

from .builders import NOW, run
from .test_api_serve import get_json, served
from .test_browser import API, open_dashboard

pytestmark = pytest.mark.browser

TEMPLATE = "https://ci.example.com/runs/{adw_id}"
LINK_PROBE = "LINKPROBE release upload refused: quota exhausted"
#: run id -> github_url of the runs failing with LINK_PROBE (None: the column is NULL)
RUN_TO_GITHUB_URL: dict[str, str | None] = {
    "l0000001": "https://github.com/o/r/issues/7",
    "l0000002": None,
    "l0000003": "javascript:alert(document.domain)",
}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def linked_db(tmp_path_factory) -> Path:
    """The small demo database, the host's ``github_url`` column, and three runs failing alike."""
    path = tmp_path_factory.mktemp("dashboard") / "demo.db"
    build_demo_database(path, runs=240, days=30, seed=12, now=NOW)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE workflow_history ADD COLUMN github_url TEXT"))
    rows = [
        run(run_id, "failed", 0.3 + index, current_phase="Ship", failure_reason=LINK_PROBE)
        for index, run_id in enumerate(RUN_TO_GITHUB_URL)
    ]
    insert_rows(engine, "workflow_history", rows)
    with engine.begin() as connection:
        for run_id, url in RUN_TO_GITHUB_URL.items():
            connection.execute(
                sa.text("UPDATE workflow_history SET github_url = :url WHERE adw_id = :run_id"),
                {"url": url, "run_id": run_id},
            )
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def live_server(linked_db) -> Iterator[str]:
    with served("--db", str(linked_db), env={"ERROR_ANALYTICS_RUN_URL_TEMPLATE": TEMPLATE}) as base:
        yield base


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.problems = problems
    yield opened
    context.close()


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def clusters(base: str, **params: str) -> list[dict[str, Any]]:
    query = "&".join(f"{name}={value}" for name, value in {"limit": "1000", **params}.items())
    return get_json(f"{base}{API}/clusters?{query}")["items"]


def dots(page) -> list[dict[str, Any]]:
    """The trend chart's points as drawn: index, centre, classes and tooltip."""
    return page.locator("#trend-chart svg circle.dot").evaluate_all(
        """nodes => nodes.map(node => ({
            index: Number(node.getAttribute("data-index")),
            cx: Number(node.getAttribute("cx")), cy: Number(node.getAttribute("cy")),
            classes: node.getAttribute("class").split(" "),
            title: node.querySelector("title").textContent,
        }))"""
    )


def test_spike_markers_sit_on_the_series_the_api_detects_spikes_on(page, live_server):
    """The API calls a day a spike by its failed runs; the chart draws that series, so a
    spike marker is the highest kind of point, never below a day that is not a spike."""
    trend = get_json(f"{live_server}{API}/trends?days=30")
    points = trend["points"]
    spike_indexes = [index for index, point in enumerate(points) if point["is_spike"]]
    assert spike_indexes, "the demo database has a spike day"
    open_dashboard(page, live_server)
    drawn = sorted(dots(page), key=lambda dot: dot["index"])
    assert [dot["index"] for dot in drawn] == list(range(len(points)))
    marked = [dot["index"] for dot in drawn if "spike" in dot["classes"]]
    assert marked == spike_indexes
    for index in spike_indexes:
        assert drawn[index]["title"].startswith(points[index]["date"])
    # drawn higher (smaller y) exactly when more runs failed: the failed-runs series
    for a in drawn:
        for b in drawn:
            if points[a["index"]]["failed"] > points[b["index"]]["failed"]:
                assert a["cy"] < b["cy"], (points[a["index"]], points[b["index"]])
    lowest_spike = max(drawn[index]["cy"] for index in spike_indexes)
    assert all(dot["cy"] > lowest_spike for dot in drawn if dot["index"] not in spike_indexes)


def test_todays_partial_day_is_marked_on_the_trend_chart(page, live_server):
    trend = get_json(f"{live_server}{API}/trends?days=30")
    open_dashboard(page, live_server)
    drawn = sorted(dots(page), key=lambda dot: dot["index"])
    today = drawn[-1]
    assert "partial" in today["classes"]
    assert today["title"].startswith(trend["points"][-1]["date"])
    assert "today (partial day)" in today["title"]
    assert all("partial" not in dot["classes"] for dot in drawn[:-1])
    chart = page.locator("#trend-chart svg")
    assert chart.locator("text.axis", has_text="today (partial)").count() == 1
    assert chart.locator("path.line-partial").count() == 1
    assert page.problems == []


def test_a_reviewed_cluster_shows_reviewed_and_not_new(page, live_server):
    """``is_new`` (first seen this week) and a review decision used to give NEW and REVIEWED."""
    fresh = next(
        cluster
        for cluster in clusters(live_server, status="new")
        if cluster["is_new"] and LINK_PROBE not in cluster["template"]
    )
    post_json(
        f"{live_server}{API}/clusters/{fresh['id']}/accept",
        {"actor": "badge-test", "expected_version": fresh["version"]},
    )
    open_dashboard(page, live_server)
    page.fill("#filter-text", fresh["id"])
    row = page.locator(f"#cluster-list li.cluster-row[data-cluster-id='{fresh['id']}']")
    row.wait_for()
    assert row.locator(".badge").all_text_contents() == ["reviewed"]
    row.locator("a.name").click()
    page.wait_for_selector(f"body[data-cluster='{fresh['id']}']")
    assert page.locator("#cluster-detail .detail-head .badge").all_text_contents() == ["reviewed"]
    assert page.problems == []


def test_merging_picks_clusters_by_name(page, live_server):
    from playwright.sync_api import expect

    candidates = [
        cluster
        for cluster in clusters(live_server, sort="size")
        if cluster["status"] != "merged" and LINK_PROBE not in cluster["template"]
    ]
    target, source = candidates[-1], candidates[-2]
    open_dashboard(page, live_server)
    page.goto(f"{live_server}/#/clusters/{target['id']}")
    page.wait_for_selector(f"body[data-cluster='{target['id']}']")
    page.fill("#merge-search", source["name"][:24])
    choice = page.locator(f"#merge-results [data-cluster-id='{source['id']}']")
    choice.click()
    expect(page.locator(f"#merge-chosen [data-cluster-id='{source['id']}']")).to_have_count(1)
    assert page.locator(f"#merge-results [data-cluster-id='{target['id']}']").count() == 0
    page.click("#action-merge")
    page.locator("#cluster-detail .history li[data-action='merge']").wait_for()
    merged = get_json(f"{live_server}{API}/clusters/{source['id']}")
    assert merged["cluster"]["status"] == "merged"
    assert merged["merged_into"] == target["id"]
    assert source["id"] in get_json(f"{live_server}{API}/clusters/{target['id']}")["merged_ids"]
    assert page.problems == []


def test_runs_link_to_their_url_and_nothing_else(page, live_server):
    linked = next(
        cluster for cluster in clusters(live_server, q="LINKPROBE") if cluster["status"] != "merged"
    )
    detail = get_json(f"{live_server}{API}/clusters/{linked['id']}")
    run_to_url = {entry["run_id"]: entry["url"] for entry in detail["runs"]}
    assert run_to_url == {
        "l0000001": "https://github.com/o/r/issues/7",
        "l0000002": "https://ci.example.com/runs/l0000002",
        "l0000003": "https://ci.example.com/runs/l0000003",
    }
    open_dashboard(page, live_server)
    page.goto(f"{live_server}/#/clusters/{linked['id']}")
    page.wait_for_selector(f"body[data-cluster='{linked['id']}']")
    runs = page.locator("#cluster-detail ul.runs")
    for run_id, url in run_to_url.items():
        link = runs.locator(f"a[href='{url}']")
        assert link.inner_text() == run_id
        assert link.get_attribute("rel") == "noopener noreferrer"
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.problems == []


def test_on_a_phone_the_cluster_list_is_within_three_screens(browser, live_server):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    try:
        open_dashboard(phone, live_server)
        top = phone.evaluate(
            "document.getElementById('cluster-list').getBoundingClientRect().top + window.scrollY"
        )
        assert top <= 3 * PHONE["height"], top
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1
    finally:
        context.close()


def test_a_fix_time_is_shown_only_where_there_is_one(page, live_server):
    """Cluster and needs-review items have no fix time: no empty "Estimated fix time:" line."""
    shown = get_json(f"{live_server}{API}/recommendations?days=30")[:6]
    assert any(not item["estimated_fix_time"] for item in shown), "fixture lacks such an item"
    open_dashboard(page, live_server)
    items = page.locator("#recommendations > li")
    items.first.wait_for()
    for index, item in enumerate(shown):
        text = items.nth(index).inner_text()
        assert item["issue"] in text
        assert ("Estimated fix time:" in text) == bool(item["estimated_fix_time"]), text
    assert page.problems == []


def test_a_merge_suggestion_opens_the_merge_flow_preselected(page, live_server):
    """The cluster page lists "Similar clusters — merge?"; a suggestion's button puts that
    cluster in the merge picker, and Merge folds it into the cluster shown."""
    from playwright.sync_api import expect

    target, suggestion = next(
        (cluster, detail["similar"][0])
        for cluster in clusters(live_server, sort="size")
        if cluster["status"] != "merged" and LINK_PROBE not in cluster["template"]
        for detail in [get_json(f"{live_server}{API}/clusters/{cluster['id']}")]
        if detail["similar"]
    )
    open_dashboard(page, live_server)
    page.goto(f"{live_server}/#/clusters/{target['id']}")
    page.wait_for_selector(f"body[data-cluster='{target['id']}']")
    expect(page.locator("#cluster-detail h3", has_text="Similar clusters — merge?")).to_have_count(
        1
    )
    item = page.locator(f"#similar-clusters li[data-cluster-id='{suggestion['id']}']")
    expect(item).to_contain_text(f"{round(suggestion['similarity'] * 100)}% similar")
    expect(item.locator("a")).to_have_text(suggestion["name"])
    expect(page.locator("#action-merge")).to_be_disabled()
    item.locator("button.suggest-merge").click()
    expect(page.locator(f"#merge-chosen [data-cluster-id='{suggestion['id']}']")).to_have_count(1)
    expect(page.locator("#action-merge")).to_be_enabled()
    page.click("#action-merge")
    page.locator("#cluster-detail .history li[data-action='merge']").wait_for()
    merged = get_json(f"{live_server}{API}/clusters/{suggestion['id']}")
    assert merged["cluster"]["status"] == "merged" and merged["merged_into"] == target["id"]
    assert page.problems == []
