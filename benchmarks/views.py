"""Latency of the five analysis views at 100,000 runs, on SQLite and PostgreSQL.

    python benchmarks/views.py [--runs 100000] [--repeat 15] [--pg-url postgresql://...]

Builds a demo database of ``--runs`` runs (spec layout) on each engine, then times every view
of :class:`ErrorAnalyticsService` as a long-running API server sees it (the window's snapshot
is cached until the data changes; each call still checks the data fingerprint), and the first
call of a new service (nothing cached in it, as after a change or in a new CLI run or worker):
without review state (``--no-state``: the window clustered afresh) and with the review state
the CLI and the API use by default (refreshed once before, so the call refreshes and places the
window's errors in the persisted clusters). Beside them, the floor of the load-every-row
approach: fetching all of ``workflow_history`` into Python. PostgreSQL is measured when ``--pg-url`` or ``ERROR_ANALYTICS_TEST_PG_URL`` names
a server (a scratch database is created and dropped). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from error_analytics.config import DatabaseTarget, Settings
from error_analytics.demo import build_demo_database
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.state import open_state_engine
from error_analytics.store.workflow_reader import WorkflowReader

VIEWS = (
    "get_error_summary",
    "analyze_by_phase",
    "find_error_patterns",
    "get_failure_trends",
    "get_debugging_recommendations",
)


def time_calls(call, repeat: int) -> tuple[float, float]:
    call()  # warm caches, as a long-running API server would be
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def cold_call(engine, view: str, now: datetime, state=None) -> float:
    """One call on a new service: nothing cached in it, as after the data changed."""
    service = ErrorAnalyticsService(WorkflowReader(engine), clock=lambda: now, state_engine=state)
    started = time.perf_counter()
    getattr(service, view)(30)
    return (time.perf_counter() - started) * 1000


Row = tuple[str, float, float, float, float]


def measure(url: str, repeat: int, now: datetime) -> list[Row]:
    engine = open_engine(DatabaseTarget(url, "benchmark"))
    state = open_state_engine(Settings(db=url).state_database_target())
    service = ErrorAnalyticsService(WorkflowReader(engine), clock=lambda: now, state_engine=state)
    service.review.refresh(30)  # the state as a server or an earlier CLI run left it
    rows: list[Row] = []
    for view in VIEWS:
        method = getattr(service, view)
        cold = statistics.median(cold_call(engine, view, now) for _ in range(3))
        cold_state = statistics.median(cold_call(engine, view, now, state) for _ in range(3))
        warm = time_calls(lambda method=method: method(30), repeat)
        rows.append((view, *warm, cold, cold_state))

    def load_everything() -> None:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT * FROM workflow_history")).all()

    peer = time_calls(load_everything, repeat)
    rows.append(("peer: SELECT * into Python", *peer, float("nan"), float("nan")))
    engine.dispose()
    state.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--pg-url", default=os.environ.get("ERROR_ANALYTICS_TEST_PG_URL"))
    args = parser.parse_args()
    now = datetime(2026, 1, 31, 12, 0)
    results: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite_path = Path(folder) / "views.db"
        started = time.perf_counter()
        build_demo_database(str(sqlite_path), runs=args.runs, now=now)
        print(
            f"built SQLite demo of {args.runs} runs in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        results["sqlite"] = measure(f"sqlite:///{sqlite_path}", args.repeat, now)
    if args.pg_url:
        server = sa.engine.make_url(args.pg_url)
        name = f"ea_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            build_demo_database(url, runs=args.runs, now=now)
            results["postgresql"] = measure(url, args.repeat, now)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        print(
            "PostgreSQL skipped: pass --pg-url or set ERROR_ANALYTICS_TEST_PG_URL", file=sys.stderr
        )
    print(
        f"| view ({args.runs:,} runs, 30-day window) | engine | warm p50 ms | warm p95 ms "
        "| first call, no state, ms | first call, with review state, ms |"
    )
    print("|---|---|---|---|---|---|")
    for engine_name, rows in results.items():
        for view, p50, p95, cold, cold_state in rows:
            cells = ["" if value != value else f"{value:.0f}" for value in (cold, cold_state)]
            print(f"| {view} | {engine_name} | {p50:.1f} | {p95:.1f} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
