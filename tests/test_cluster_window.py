"""One window everywhere: a cluster's errors, runs, first and last seen follow ``days`` in the CLI
(``--cluster``, ``clusters list``, ``clusters show``), the API and the CSV export, while the
state remembers more (here: 90 days); all-time figures appear only under ``*_all_time`` names.

The database is written by hand, so every expected figure is counted from the rows below.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from error_analytics import cli
from error_analytics.api import create_app
from error_analytics.config import Settings
from error_analytics.demo import build_demo_database
from error_analytics.demo.schema import create_workflow_tables, insert_rows

from .builders import NOW, completed_runs, run
from .test_api_serve import get_json, served
from .test_browser import open_dashboard

API = "/api/error-analytics"
IMPORT = "ModuleNotFoundError: No module named 'requests'"
REFUSED = "ECONNREFUSED 127.0.0.1:9100 connect failed"
#: days ago of each failed run with the import error: three in the last 30 days, two before
IMPORT_DAYS_AGO = (2, 5, 12, 45, 60)
REFUSED_DAYS_AGO = (50,)  # only before the last 30 days


def stamp(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat(sep=" ", timespec="seconds")


@pytest.fixture
def database(db_url) -> str:
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "spec")
    rows = [
        run(f"imp{index:05d}", "failed", days_ago, current_phase="Build", failure_reason=IMPORT)
        for index, days_ago in enumerate(IMPORT_DAYS_AGO)
    ]
    rows += [
        run(f"ref{index:05d}", "failed", days_ago, current_phase="Test", failure_reason=REFUSED)
        for index, days_ago in enumerate(REFUSED_DAYS_AGO)
    ]
    insert_rows(engine, "workflow_history", rows + completed_runs(5))
    engine.dispose()
    return db_url


def main_json(*argv: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(argv))
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())


def by_template_word(items: list[dict], word: str) -> dict:
    found = [item for item in items if word in item["template"]]
    assert len(found) == 1, [item["template"] for item in items]
    return found[0]


def test_cli_list_show_and_cluster_view_count_the_window(database):
    main_json("--db", database, "clusters", "refresh", "--days", "90", "--json")
    wide = main_json("--db", database, "clusters", "list", "--days", "90", "--json")
    assert by_template_word(wide["items"], "ModuleNotFoundError")["size"] == len(IMPORT_DAYS_AGO)
    assert by_template_word(wide["items"], "ECONNREFUSED")["size"] == len(REFUSED_DAYS_AGO)

    recent = [days for days in IMPORT_DAYS_AGO if days < 30]
    page = main_json("--db", database, "clusters", "list", "--days", "30", "--json")
    assert page["days"] == 30
    assert all("ECONNREFUSED" not in item["template"] for item in page["items"])  # quiet: left out
    listed = by_template_word(page["items"], "ModuleNotFoundError")
    assert (listed["size"], listed["runs_affected"]) == (len(recent), len(recent))
    assert (listed["first_seen"], listed["last_seen"]) == (stamp(max(recent)), stamp(min(recent)))

    shown = main_json("--db", database, "clusters", "show", listed["id"], "--days", "30", "--json")
    assert shown["cluster"]["size"] == len(recent) and shown["days"] == 30
    assert sum(shown["phases"].values()) == len(recent)
    assert len(shown["run_ids"]) == len(recent)
    assert (shown["errors_all_time"], shown["runs_all_time"]) == (5, 5)
    assert shown["first_seen_all_time"] == stamp(max(IMPORT_DAYS_AGO))

    view = main_json("--db", database, "--cluster", "--days", "30", "--json")
    in_view = by_template_word(view["clusters"], "ModuleNotFoundError")
    assert (in_view["id"], in_view["size"], in_view["runs_affected"]) == (
        listed["id"],
        listed["size"],
        listed["runs_affected"],
    )


def test_the_api_and_the_csv_take_the_same_window(database):
    with TestClient(create_app(Settings(db=database))) as client:
        refreshed = client.post(f"{API}/clusters/refresh", params={"days": 90}, json={})
        assert refreshed.status_code == 200, refreshed.text

        def listing(**params) -> list[dict]:
            answer = client.get(f"{API}/clusters", params=params)
            assert answer.status_code == 200, answer.text
            return answer.json()["items"]

        recent = len([days for days in IMPORT_DAYS_AGO if days < 30])
        assert by_template_word(listing(days=90), "ModuleNotFoundError")["size"] == 5
        thirty = by_template_word(listing(days=30), "ModuleNotFoundError")
        assert thirty["size"] == recent
        assert listing() == listing(days=30)  # the default window is 30 days
        assert by_template_word(listing(days=7), "ModuleNotFoundError")["size"] == 2

        detail = client.get(f"{API}/clusters/{thirty['id']}", params={"days": 30}).json()
        assert detail["cluster"]["size"] == recent and detail["errors_all_time"] == 5
        accepted = client.post(
            f"{API}/clusters/{thirty['id']}/accept", params={"days": 7}, json={}
        ).json()
        assert accepted["cluster"]["size"] == 2 and accepted["days"] == 7
        assert client.get(f"{API}/clusters", params={"days": 0}).status_code == 422

        rows = list(csv.DictReader(io.StringIO(client.get(f"{API}/clusters.csv").text)))
        assert {row["id"]: int(row["size"]) for row in rows} == {thirty["id"]: recent}
        wide = client.get(f"{API}/clusters.csv", params={"days": 90}).text
        assert {int(row["size"]) for row in csv.DictReader(io.StringIO(wide))} == {5, 1}


def test_a_status_filter_lists_quiet_clusters_with_nothing_in_the_window(database):
    main_json("--db", database, "clusters", "refresh", "--days", "90", "--json")
    new = main_json(
        "--db", database, "clusters", "list", "--status", "new", "--days", "30", "--json"
    )
    quiet = by_template_word(new["items"], "ECONNREFUSED")
    assert (quiet["size"], quiet["runs_affected"], quiet["last_seen"]) == (0, 0, None)


# -- the dashboard: the Period applies to the cluster list and the cluster page ------------------


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory, browser) -> Iterator[tuple[str, Any]]:
    """(base URL of ``analyze-errors serve`` on a 30-day demo database, a chromium browser)."""
    path = tmp_path_factory.mktemp("window") / "demo.db"
    build_demo_database(path, runs=240, days=30, seed=12, now=NOW)
    with served("--db", str(path)) as base:
        yield base, browser


@pytest.fixture
def dashboard_page(dashboard):
    base, browser = dashboard
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.problems = problems
    yield base, page
    context.close()


def listed_rows(page) -> list[tuple[str, str]]:
    """(cluster id, "N errors · M runs") of each row of the list."""
    rows = page.locator("#cluster-list li.cluster-row")
    return [
        (
            rows.nth(index).get_attribute("data-cluster-id"),
            " · ".join(rows.nth(index).locator(".meta").inner_text().split(" · ")[:2]),
        )
        for index in range(rows.count())
    ]


def api_rows(base: str, days: int) -> list[tuple[str, str]]:
    page = get_json(f"{base}{API}/clusters?days={days}&limit=20")
    return [(c["id"], f"{c['size']} errors · {c['runs_affected']} runs") for c in page["items"]]


def fact(page, label: str):
    return page.locator("#cluster-detail dl.facts div", has=page.locator("dt", has_text=label))


@pytest.mark.browser
def test_the_period_applies_to_the_cluster_list_and_page(dashboard_page):
    from playwright.sync_api import expect

    base, page = dashboard_page
    open_dashboard(page, base)
    page.wait_for_selector("body[data-clusters-days='30']")
    assert listed_rows(page) == api_rows(base, 30)

    page.select_option("#days", "7")
    page.wait_for_selector("body[data-clusters-days='7']")
    week = api_rows(base, 7)
    assert listed_rows(page) == week and week != api_rows(base, 30)

    cluster_id = week[0][0]
    page.locator(f"#cluster-list li[data-cluster-id='{cluster_id}'] a.name").click()
    page.wait_for_selector(f"body[data-cluster='{cluster_id}'][data-cluster-days='7']")
    in_week = get_json(f"{base}{API}/clusters/{cluster_id}?days=7")
    expect(fact(page, "Errors, last 7 days").locator("dd")).to_have_text(
        str(in_week["cluster"]["size"])
    )
    page.select_option("#days", "30")
    page.wait_for_selector(f"body[data-cluster='{cluster_id}'][data-cluster-days='30']")
    in_month = get_json(f"{base}{API}/clusters/{cluster_id}?days=30")
    expect(fact(page, "Errors, last 30 days").locator("dd")).to_have_text(
        str(in_month["cluster"]["size"])
    )
    expect(fact(page, "All time").locator("dd")).to_contain_text(
        f"{in_month['errors_all_time']} errors"
    )
    assert page.problems == []


def test_the_cluster_text_and_markdown_say_errors_and_runs(database, tmp_path):
    """One word per number: the text view and the Markdown table say errors and runs, not size."""
    recent = len([days for days in IMPORT_DAYS_AGO if days < 30])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--db", database, "--cluster", "--days", "30"]) == 0
    text = out.getvalue()
    assert "Size:" not in text
    assert f"{recent} errors in {recent} runs" in text
    report = tmp_path / "report.md"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["--db", database, "--report", "--output", str(report)]) == 0
    assert "| Id | Name | Errors | Runs |" in report.read_text()
