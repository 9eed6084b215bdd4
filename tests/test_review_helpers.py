"""Shared set-up for the review and state tests: a demo database, a movable clock, services.

No tests here; the other ``test_review_*`` / ``test_state_*`` modules import from it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa

from error_analytics.config import DatabaseTarget
from error_analytics.demo import add_days_of_runs, build_demo_database
from error_analytics.demo.schema import create_workflow_tables, insert_rows
from error_analytics.review import ClusterReviewService
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.state import STATE_TABLES, open_state_engine
from error_analytics.store.workflow_reader import WorkflowReader

NOW = datetime(2026, 1, 31, 12, 0, 0)
ANALYSED_TABLES = ("workflow_history", "task_logs", "hook_events")


@dataclasses.dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def demo(url: str, *, runs: int = 150, days: int = 30, layout: str = "spec") -> None:
    build_demo_database(url, runs=runs, days=days, now=NOW, layout=layout)


#: The scenario's failures: (message, [days before NOW of each occurrence]).
BASE_FAILURES: tuple[tuple[str, list[float]], ...] = (
    ("ModuleNotFoundError: No module named 'requests'", [1, 3, 5, 8]),
    ("ModuleNotFoundError: No module named 'yaml'", [2, 9]),
    ("Error: connect ECONNREFUSED 127.0.0.1:5432", [1, 4, 6, 12, 20]),
    ("GitHub API rate limit exceeded. Retry after 300 seconds.", [2, 7, 11, 15]),
    ("gh: API rate limit exceeded for user ID 8324673. (HTTP 403)", [3, 10, 18]),
    ("Phase failed after 3 attempts", [4, 9, 14, 21, 25]),
    ("pytest execution timed out after 5 minutes", [5, 13, 19]),
    (
        "browserType.launch: Executable doesn't exist at /root/.cache/ms-playwright/chromium-1140/chrome",
        [1, 2, 3, 6],
    ),
    ("Worker alpha crashed", [2, 5]),
    ("Worker beta crashed", [3, 8]),
    ("Worker gamma crashed", [4, 12]),
    ("Worker delta crashed", [6]),
)
#: The week after NOW: known patterns again, and one brand-new failure.
WEEK_FAILURES: tuple[tuple[str, list[float]], ...] = (
    ("ModuleNotFoundError: No module named 'numpy'", [-1, -2]),
    ("Phase failed after 5 attempts", [-3]),
    ("gh: API rate limit exceeded for user ID 1234. (HTTP 403)", [-2, -4]),
    ("Worker alpha crashed", [-5]),
    ("Error: listen EADDRINUSE: address already in use :::3000", [-1, -3, -6]),
)
NEW_FAILURE = "EADDRINUSE"


def workflow_row(adw_id: str, status: str, days_ago: float, **columns) -> dict:
    """A spec-layout workflow_history row created ``days_ago`` days before :data:`NOW`."""
    created = NOW - timedelta(days=days_ago)
    return {
        "adw_id": adw_id,
        "issue_number": 1,
        "workflow_template": "adw_sdlc_complete_iso",
        "model_used": "sonnet",
        "status": status,
        "start_time": created,
        "created_at": created,
        "current_phase": columns.pop("current_phase", "Build"),
        **columns,
    }


def _insert_failures(url: str, failures, prefix: str) -> None:
    rows = []
    for message, days in failures:
        for days_ago in days:
            rows.append(
                workflow_row(f"{prefix}{len(rows):07d}", "failed", days_ago, failure_reason=message)
            )
    engine = sa.create_engine(url)
    try:
        if not sa.inspect(engine).has_table("workflow_history"):
            create_workflow_tables(engine, "spec")
            rows += [
                workflow_row(f"ok{index:06d}", "completed", 0.5 + index) for index in range(20)
            ]
        insert_rows(engine, "workflow_history", rows)
    finally:
        engine.dispose()


def scenario(url: str) -> None:
    """A small hand-written database whose patterns the tests know (spec layout)."""
    _insert_failures(url, BASE_FAILURES, "b")


def scenario_week(url: str, clock: Clock) -> None:
    """The scenario's next week, and the clock moved to its end."""
    _insert_failures(url, WEEK_FAILURES, "w")
    clock.advance(days=7)


def add_week(url: str, clock: Clock, *, runs: int = 60, seed: int = 8) -> None:
    """A week of new runs (with the demo's brand-new failure), and the clock moved to its end."""
    clock.advance(days=7)
    add_days_of_runs(url, days=7, now=clock.now, runs=runs, seed=seed)


def review_service(
    url: str, clock: Clock, *, state_url: str | None = None, rules=None
) -> ClusterReviewService:
    analysed = DatabaseTarget(url, "test")
    state = DatabaseTarget(state_url or url, "test state")
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(analysed)),
        clock=clock,
        rules=rules,
        state_engine=open_state_engine(state),
    ).review


def analysed_fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every analysed table that exists."""
    engine = sa.create_engine(url)
    result = {}
    try:
        inspector = sa.inspect(engine)
        with engine.connect() as connection:
            for name in ANALYSED_TABLES:
                if not inspector.has_table(name):
                    continue
                rows = connection.execute(sa.text(f"SELECT * FROM {name} ORDER BY 1")).all()
                digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
                result[name] = (len(rows), digest)
    finally:
        engine.dispose()
    return result


def state_dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every state table, sorted, to compare states."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(
                    tuple(map(repr, row)) for row in connection.execute(sa.select(table))
                )
                for table in STATE_TABLES
                if sa.inspect(connection).has_table(table.name)
            }
    finally:
        engine.dispose()


def ids_by_template(service: ClusterReviewService) -> dict[str, str]:
    """template -> cluster id, over every live cluster (with errors in the last ten years: the
    default 30-day list leaves out clusters that went quiet)."""
    mapping = {}
    for cluster in service.list_clusters(limit=1000, days=3650).items:
        for template in service.get_cluster(cluster.id).templates:
            mapping[template.template] = cluster.id
    return mapping


def cluster_with(service: ClusterReviewService, text: str, **filters) -> str:
    """Id of the (largest) cluster whose name, templates or id contain ``text``."""
    page = service.list_clusters(text=text, limit=1000, **filters)
    assert page.items, f"no cluster matches {text!r}"
    return page.items[0].id
