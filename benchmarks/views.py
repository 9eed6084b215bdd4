"""Latency of the five analysis views at 100,000 runs, on SQLite and PostgreSQL.

    python benchmarks/views.py [--runs 100000] [--repeat 15] [--pg-url postgresql://...]

Builds a demo database of ``--runs`` runs (spec layout) on each engine, then times every view
of :class:`ErrorAnalyticsService` as a long-running API server sees it (the window's snapshot
is cached until the data changes; each call still checks the data fingerprint), the first call
after a change (a new service, nothing cached), and, beside it, the floor of the load-every-row approach: fetching all of ``workflow_history``
into Python. PostgreSQL is measured when ``--pg-url`` or ``ERROR_ANALYTICS_TEST_PG_URL`` names
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

from error_analytics.config import DatabaseTarget
from error_analytics.demo import build_demo_database
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
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


def cold_call(engine, view: str, now: datetime) -> float:
    """One call on a new service: nothing cached, as after the data changed."""
    service = ErrorAnalyticsService(WorkflowReader(engine), clock=lambda: now)
    started = time.perf_counter()
    getattr(service, view)(30)
    return (time.perf_counter() - started) * 1000


def measure(url: str, repeat: int, now: datetime) -> list[tuple[str, float, float, float]]:
    engine = open_engine(DatabaseTarget(url, "benchmark"))
    service = ErrorAnalyticsService(WorkflowReader(engine), clock=lambda: now)
    rows = []
    for view in VIEWS:
        method = getattr(service, view)
        cold = statistics.median(cold_call(engine, view, now) for _ in range(3))
        rows.append((view, *time_calls(lambda method=method: method(30), repeat), cold))

    def load_everything() -> None:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT * FROM workflow_history")).all()

    rows.append(("peer: SELECT * into Python", *time_calls(load_everything, repeat), float("nan")))
    engine.dispose()
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
    results: dict[str, list[tuple[str, float, float, float]]] = {}
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
        f"| view ({args.runs:,} runs, 30-day window) | engine | p50 ms | p95 ms | first call after a change, ms |"
    )
    print("|---|---|---|---|---|")
    for engine_name, rows in results.items():
        for view, p50, p95, cold in rows:
            cold_text = "" if cold != cold else f"{cold:.0f}"
            print(f"| {view} | {engine_name} | {p50:.1f} | {p95:.1f} | {cold_text} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
