"""What is over-represented in a cluster: its errors by phase, model and workflow template beside
all errors of the window, in ``clusters show``, the API's cluster detail, and after the state
migration that added the model and template to the recorded errors (schema version 2).

Every expected share is counted by hand from the rows the fixture writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from error_analytics import cli
from error_analytics.api import create_app
from error_analytics.config import Settings
from error_analytics.demo.schema import create_workflow_tables, insert_rows
from error_analytics.review.breakdown import NOT_RECORDED, tag_shares
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.state import SCHEMA_VERSION, ensure_schema, open_state_engine
from error_analytics.store.state.tables import event_assignments, schema_version

from . import test_cluster_window
from .builders import completed_runs, run
from .test_api_serve import get_json

API = "/api/error-analytics"
#: the live dashboard and a page on it (fixtures of ``test_cluster_window``)
dashboard = test_cluster_window.dashboard
dashboard_page = test_cluster_window.dashboard_page
BROWSER = "browserType.launch: Executable doesn't exist at /root/.cache/ms-playwright/chromium"
IMPORT = "ModuleNotFoundError: No module named 'requests'"
REFUSED = "ECONNREFUSED 127.0.0.1:9100 connect failed"


def test_shares_lift_and_support_counted_by_hand():
    shares = {
        share.value: share
        for share in tag_shares(
            "phase", {"Test": 10, "Build": 1}, {"Test": 12, "Build": 30, "Plan": 8}
        )
    }
    test = shares["Test"]
    assert (test.errors, test.percent, test.overall_errors, test.overall_percent) == (
        10,
        90.9,  # 10 of 11
        12,
        24.0,  # 12 of 50
    )
    assert test.lift == round((10 / 11) / (12 / 50), 2) and test.over_represented
    assert not shares["Build"].over_represented  # 9% here, 60% overall
    rare = tag_shares("model", {"opus": 2}, {"opus": 2, "sonnet": 98})[0]
    assert rare.lift == 50.0 and not rare.over_represented  # two errors are not enough support
    unrecorded = tag_shares("model", {None: 5}, {None: 5, "opus": 95})[0]
    assert unrecorded.value == NOT_RECORDED and not unrecorded.over_represented


def failures(prefix: str, count: int, message: str, phase: str, **columns) -> list[dict]:
    return [
        run(
            f"{prefix}{index:05d}",
            "failed",
            1 + index * 0.5,
            current_phase=phase,
            failure_reason=message,
            **columns,
        )
        for index in range(count)
    ]


@pytest.fixture
def database(db_url) -> str:
    """20 failed runs, one error each: the browser error 6 times (5 on opus with adw_test_iso,
    1 on sonnet with adw_sdlc_iso, all in Test); 7 import and 7 connection errors (sonnet,
    adw_sdlc_iso, in Build)."""
    engine = sa.create_engine(db_url)
    create_workflow_tables(engine, "spec")
    rows = (
        failures("br", 5, BROWSER, "Test", model_used="opus", workflow_template="adw_test_iso")
        + failures("bs", 1, BROWSER, "Test", model_used="sonnet", workflow_template="adw_sdlc_iso")
        + failures("im", 7, IMPORT, "Build", model_used="sonnet", workflow_template="adw_sdlc_iso")
        + failures("rf", 7, REFUSED, "Build", model_used="sonnet", workflow_template="adw_sdlc_iso")
        + completed_runs(5)
    )
    insert_rows(engine, "workflow_history", rows)
    engine.dispose()
    return db_url


def cli_text(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(argv))
    assert code == 0, out.getvalue()
    return out.getvalue()


def browser_cluster(items: list[dict]) -> str:
    (found,) = [item["id"] for item in items if "Executable doesn't exist" in item["template"]]
    return found


def flagged(detail: dict) -> dict[tuple[str, str], dict]:
    return {(share["tag"], share["value"]): share for share in detail["over_represented"]}


def check_browser_detail(detail: dict) -> None:
    assert detail["cluster"]["size"] == 6 and detail["total_errors_in_window"] == 20
    over = flagged(detail)
    assert set(over) == {
        ("phase", "Test"),  # 6 of 6 here, 6 of 20 overall
        ("model", "opus"),  # 5 of 6, 5 of 20
        ("workflow_template", "adw_test_iso"),  # 5 of 6, 5 of 20
    }
    opus = over[("model", "opus")]
    assert (opus["percent"], opus["overall_percent"], opus["lift"]) == (
        round(100 * 5 / 6, 1),
        25.0,
        round((5 / 6) / (5 / 20), 2),
    )
    assert [share["tag"] for share in detail["over_represented"]][0] == "phase"  # highest lift
    models = {
        share["value"]: share
        for breakdown in detail["breakdown"]
        if breakdown["tag"] == "model"
        for share in breakdown["values"]
    }
    assert (models["sonnet"]["errors"], models["sonnet"]["overall_errors"]) == (1, 15)
    assert not models["sonnet"]["over_represented"]


def test_clusters_show_and_the_api_show_what_is_over_represented(database):
    listed = json.loads(cli_text("--db", database, "clusters", "list", "--json"))
    cluster_id = browser_cluster(listed["items"])
    shown = json.loads(cli_text("--db", database, "clusters", "show", cluster_id, "--json"))
    check_browser_detail(shown)
    text = cli_text("--db", database, "clusters", "show", cluster_id, "--no-refresh")
    assert "over-represented (against all 20 errors in the last 30 days):" in text
    assert "model opus: 83% of these errors, 25% overall (3.3×)" in text
    assert "phase Test: 100% of these errors, 30% overall (3.3×)" in text
    with TestClient(create_app(Settings(db=database))) as client:
        detail = client.get(f"{API}/clusters/{cluster_id}", params={"days": 30})
        assert detail.status_code == 200, detail.text
        assert detail.json()["breakdown"] == shown["breakdown"]
        check_browser_detail(detail.json())


def test_a_version_1_state_is_migrated_and_refilled(database):
    """A state written before version 2 (no model or template on its recorded errors) is
    migrated in place, where the state lives by default (a file beside SQLite, a schema of its
    own on PostgreSQL); the old rows are kept without a model until the index is read again,
    which the first read does (version 4 starts its index of errors afresh)."""
    settings = Settings(db=database)
    target = settings.state_database_target()
    ErrorAnalyticsService.from_settings(settings).review.refresh(30)
    engine = open_state_engine(target)
    table = f'"{target.schema}".ea_event_assignments' if target.schema else "ea_event_assignments"
    with engine.begin() as connection:  # back to the version 1 shape, rows kept
        for column in ("workflow_template", "model"):
            connection.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        connection.execute(
            schema_version.update()
            .where(schema_version.c.component == "schema")
            .values(version="1")
        )
        recorded = connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()
    assert recorded == 20
    assert ensure_schema(engine) == SCHEMA_VERSION >= 2
    columns = sa.inspect(engine).get_columns(event_assignments.name, schema=target.schema)
    assert {"workflow_template", "model"} <= {column["name"] for column in columns}
    with engine.connect() as connection:
        version = connection.execute(
            sa.select(schema_version.c.version).where(schema_version.c.component == "schema")
        ).scalar()
        models = connection.execute(sa.select(event_assignments.c.model)).scalars().all()
    assert version == str(SCHEMA_VERSION) and len(models) == 20 and set(models) == {None}
    engine.dispose()

    migrated = ErrorAnalyticsService.from_settings(settings).review
    cluster_id = browser_cluster(
        [dataclasses.asdict(cluster) for cluster in migrated.list_clusters().items]
    )
    after = migrated.get_cluster(cluster_id)
    assert {(share.tag, share.value) for share in after.over_represented} == {
        ("phase", "Test"),
        ("model", "opus"),
        ("workflow_template", "adw_test_iso"),
    }


@pytest.mark.browser
def test_the_cluster_page_shows_what_is_over_represented(dashboard_page):
    from playwright.sync_api import expect

    base, page = dashboard_page
    page.goto(f"{base}/?days=30")
    page.wait_for_selector("body[data-clusters-days='30']")
    items = get_json(f"{base}{API}/clusters?days=30&limit=50")["items"]
    details = [get_json(f"{base}{API}/clusters/{item['id']}?days=30") for item in items]
    detail = next(detail for detail in details if detail["over_represented"])
    cluster_id = detail["cluster"]["id"]
    page.goto(f"{base}/?days=30#/clusters/{cluster_id}")
    page.wait_for_selector(f"body[data-cluster='{cluster_id}'][data-cluster-days='30']")

    panel = page.locator("#cluster-breakdown")
    flagged = panel.locator("ul.over-represented > li")
    expect(flagged).to_have_count(len(detail["over_represented"]))
    first = detail["over_represented"][0]
    expect(flagged.first).to_have_attribute("data-value", first["value"])
    expect(flagged.first).to_contain_text(
        f"{first['percent']:.0f}% of these errors, {first['overall_percent']:.0f}% overall"
    )
    expect(flagged.first.locator(".badge.lift")).to_have_text(f"{first['lift']:.1f}×")
    for breakdown in detail["breakdown"]:
        rows = panel.locator(f".tag-breakdown[data-tag='{breakdown['tag']}'] li")
        expect(rows).to_have_count(min(len(breakdown["values"]), 6))
        expect(rows.first.locator(".tag-value")).to_have_text(breakdown["values"][0]["value"])
    heading = page.locator("#cluster-detail h3", has_text="What is over-represented")
    expect(heading).to_contain_text(f"all {detail['total_errors_in_window']} errors")
    assert page.problems == []
