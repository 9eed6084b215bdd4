"""The views at scale, fed by incremental ingestion, beside a full re-read, on both engines.

    python benchmarks/views.py [--runs 1000000] [--days 1095] [--repeat 30] [--pg-url URL]

Builds a spec-layout demo database of ``--runs`` runs over ``--days`` days (with hook events)
on SQLite and, when ``--pg-url`` or ``ERROR_ANALYTICS_TEST_PG_URL`` names a server, on a
scratch PostgreSQL database (dropped after). For each engine, a child process plays the server
(``serve``: the index of errors in the review state, ingestion in the background, requests
only read) and measures:

* the initial ingestion (what ``serve`` does before listening: the 30-day window);
* warm p50 / p95 of summary, by-phase, patterns, trends, recommendations and clusters
  (30-day window);
* freshness, as ``serve`` runs: a process of its own ingests every second (the default)
  while requests only read. 1,000 new runs (a fifth of them failed, some with a brand-new error) are
  inserted while a client keeps requesting every view; how long until ``/summary`` counts
  them and the new error is in the clusters and the recommendations, and the slowest request
  meanwhile;
* what a pass with nothing new costs;
* 10,000 new errors (10,000 failed runs) ingested by one pass;
* the peak memory (resident set) of the API process and of the ingesting process.

Beside it, the peer: the same views without the index (``--no-state``), which re-read and
re-parse the window from the analysed tables: the first call of a new service per view, and
warm p95 with its snapshot cache. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from error_analytics.config import DatabaseTarget, Settings  # noqa: E402
from error_analytics.demo import build_demo_database  # noqa: E402
from error_analytics.demo.schema import insert_rows  # noqa: E402
from error_analytics.service import ErrorAnalyticsService  # noqa: E402
from error_analytics.store.engine import open_engine  # noqa: E402
from error_analytics.store.state import open_state_engine  # noqa: E402
from error_analytics.store.workflow_reader import WorkflowReader  # noqa: E402

NOW = datetime(2026, 1, 31, 12, 0)
DAYS = 30
VIEWS = {
    "summary": lambda service: service.get_error_summary(DAYS),
    "by-phase": lambda service: service.analyze_by_phase(DAYS),
    "patterns": lambda service: service.find_error_patterns(DAYS),
    "trends": lambda service: service.get_failure_trends(DAYS),
    "recommendations": lambda service: service.get_debugging_recommendations(DAYS),
    "clusters": lambda service: service.cluster_errors(DAYS),
}
NEW_ERROR = "QuotaExceededError: storage bucket {n} is over its quota of 50 GiB"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def peak_rss_mb(pid: int | None = None) -> float:
    """A process's peak resident memory (this one's by default): ``VmHWM`` (``ru_maxrss``
    survives ``exec`` and would report the parent's, which built the database)."""
    try:
        for line in Path(f"/proc/{pid or 'self'}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def service_for(url: str, *, with_state: bool) -> ErrorAnalyticsService:
    state = open_state_engine(Settings(db=url).state_database_target()) if with_state else None
    reader = WorkflowReader(open_engine(DatabaseTarget(url, "benchmark")))
    return ErrorAnalyticsService(reader, clock=lambda: NOW, state_engine=state)


def new_runs(count: int, prefix: str, failed_every: int, message: str | None) -> list[dict]:
    rows = []
    for index in range(count):
        moment = NOW - timedelta(minutes=30) + timedelta(seconds=index % 1800)
        failed = index % failed_every == 0
        rows.append(
            {
                "adw_id": f"{prefix}{index:07d}",
                "issue_number": 1,
                "workflow_template": "adw_sdlc_complete_iso",
                "model_used": "sonnet",
                "status": "failed" if failed else "completed",
                "start_time": moment,
                "created_at": moment,
                "updated_at": moment,
                "current_phase": "Ship" if failed else None,
                "failure_reason": (message or "").format(n=index % 97) if failed else None,
            }
        )
    return rows


# -- the child processes ---------------------------------------------------------------------
def child_server(url: str, repeat: int) -> dict:
    from error_analytics.api.ingestion import IngestionProcess

    service = service_for(url, with_state=True)
    review = service.review
    started = time.perf_counter()
    initial = review.refresh(DAYS)  # what serve does before it listens: the default window
    result: dict = {
        "initial_ingestion_s": time.perf_counter() - started,
        "runs_indexed": initial.runs_read,
        "errors_indexed": initial.events_seen,
    }
    review.ingest_on_read = False  # as serve: requests only read
    summary = service.get_error_summary(DAYS)
    result["window_runs"], result["window_failed"] = (
        summary.total_workflows,
        summary.failed_workflows,
    )
    warm = {}
    for name, view in VIEWS.items():
        view(service)
        samples = []
        for _ in range(repeat):
            begun = time.perf_counter()
            view(service)
            samples.append((time.perf_counter() - begun) * 1000)
        warm[name] = percentiles(samples)
    result["warm"] = warm
    idle = []
    for _ in range(5):  # what each background pass costs when nothing is new
        begun = time.perf_counter()
        review.ingest()
        idle.append((time.perf_counter() - begun) * 1000)
    result["idle_pass_ms"] = statistics.median(idle)

    # freshness: as serve runs it, one process ingests (at the default interval), while a
    # client requests every view in this one
    settings = Settings(db=url)
    background = IngestionProcess(settings, settings.ingest_interval_seconds)  # serve's default
    background.start()
    # the ingesting process starts (imports, a first pass that lists what it reads once) and
    # reads older history a step per pass: measured once two of those steps are done
    begun, seen = time.perf_counter(), set()
    while time.perf_counter() - begun < 120 and len(seen) < 3 and not review.covers(3650):
        with review.store.read() as tx:
            seen.add(tx.marks().get("covered_since"))
        time.sleep(0.1)
    result["ingesting_ready_s"] = time.perf_counter() - begun
    latencies: list[tuple[float, str, float]] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            for name, view in VIEWS.items():
                begun = time.perf_counter()
                view(service)
                latencies.append((begun, name, (time.perf_counter() - begun) * 1000))

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    time.sleep(1.0)
    before = service.get_error_summary(DAYS).total_workflows
    writer = sa.create_engine(url)
    inserted_at = time.perf_counter()
    insert_rows(writer, "workflow_history", new_runs(1000, "fresh", 5, NEW_ERROR))
    runs_seen = error_seen = None
    while time.perf_counter() - inserted_at < 120 and (runs_seen is None or error_seen is None):
        now = time.perf_counter() - inserted_at
        if runs_seen is None and service.get_error_summary(DAYS).total_workflows >= before + 1000:
            runs_seen = now
        if error_seen is None:
            clusters = service.cluster_errors(DAYS)
            new = {c.id for c in clusters if "QuotaExceededError" in (c.template or "")}
            recommended = any(
                set(item.cluster_ids) & new
                for item in service.get_debugging_recommendations(DAYS, limit=50)
            )
            if new and recommended:
                error_seen = time.perf_counter() - inserted_at
        time.sleep(0.05)
    stop.set()
    thread.join()
    result["ingesting_process_rss_mb"] = peak_rss_mb(background.pid)
    background.stop()
    meanwhile = [
        latency for begun, _, latency in latencies if inserted_at <= begun <= inserted_at + 10
    ]
    result["fresh_runs_visible_s"] = runs_seen
    result["fresh_error_visible_s"] = error_seen
    result["slowest_request_meanwhile_ms"] = max(meanwhile) if meanwhile else None
    result["requests_meanwhile"] = len(meanwhile)

    # 10,000 new errors in one pass
    insert_rows(writer, "workflow_history", new_runs(10_000, "bulk", 1, "OSError: disk {n} full"))
    writer.dispose()
    begun = time.perf_counter()
    bulk = review.ingest()
    result["bulk_errors"] = bulk.new_assignments if bulk else None
    result["bulk_ingest_s"] = time.perf_counter() - begun

    # older history, read by background passes (one step each) for a minute
    read, begun = 0, time.perf_counter()
    while time.perf_counter() - begun < 60 and not review.covers(3650):
        step = review.ingest(DAYS, backfill=1)
        read += step.runs_read if step else 0
    result["history_runs_per_s"] = read / (time.perf_counter() - begun)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def child_reread(url: str, repeat: int) -> dict:
    """The peer: every view re-reads the window from the analysed tables (``--no-state``)."""
    first = {}
    for name, view in VIEWS.items():
        samples = []
        for _ in range(3):
            service = service_for(url, with_state=False)
            begun = time.perf_counter()
            view(service)
            samples.append((time.perf_counter() - begun) * 1000)
        first[name] = statistics.median(samples)
    service = service_for(url, with_state=False)
    warm = {}
    for name, view in VIEWS.items():
        view(service)
        samples = []
        for _ in range(max(3, repeat // 3)):
            begun = time.perf_counter()
            view(service)
            samples.append((time.perf_counter() - begun) * 1000)
        warm[name] = percentiles(samples)
    return {"first_call_ms": first, "warm": warm, "peak_rss_mb": peak_rss_mb()}


def run_child(kind: str, url: str, repeat: int) -> dict:
    finished = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{finished.stderr[-4000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


# -- the parent --------------------------------------------------------------------------------
def measure(url: str, args: argparse.Namespace, engine_name: str, built: float) -> dict:
    reread = run_child("reread", url, args.repeat)
    print(f"{engine_name}: full re-read measured", file=sys.stderr)
    server = run_child("server", url, args.repeat)
    print(f"{engine_name}: server measured", file=sys.stderr)
    return {"build_s": built, "reread": reread, "server": server}


def report(results: dict[str, dict], args: argparse.Namespace) -> None:
    print(
        f"\n### {args.runs:,} runs over {args.days} days (spec layout, hook events), "
        f"{DAYS}-day window\n"
    )
    print(
        "| view | engine | index: warm p50 ms | index: warm p95 ms "
        "| full re-read: first call ms | full re-read: warm p95 ms |"
    )
    print("|---|---|---|---|---|---|")
    for engine_name, result in results.items():
        server, reread = result["server"], result["reread"]
        for view in VIEWS:
            p50, p95 = server["warm"][view]
            print(
                f"| {view} | {engine_name} | {p50:.1f} | {p95:.1f} | "
                f"{reread['first_call_ms'][view]:.0f} | {reread['warm'][view][1]:.1f} |"
            )
    print("\n| measure | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    rows = [
        ("runs in the window (failed)", lambda s: f"{s['window_runs']:,} ({s['window_failed']:,})"),
        (
            "runs / errors read into the fresh index",
            lambda s: f"{s['runs_indexed']:,} / {s['errors_indexed']:,}",
        ),
        (
            "fresh index: the 30-day window read (serve's start)",
            lambda s: f"{s['initial_ingestion_s']:.1f} s",
        ),
        (
            "older history read in the background",
            lambda s: f"{s['history_runs_per_s']:,.0f} runs/s",
        ),
        (
            "ingesting process started, first passes done after",
            lambda s: f"{s['ingesting_ready_s']:.1f} s",
        ),
        ("1,000 new runs visible in /summary after", lambda s: _seconds(s["fresh_runs_visible_s"])),
        (
            "their new error in clusters and recommendations after",
            lambda s: _seconds(s["fresh_error_visible_s"]),
        ),
        (
            "slowest request meanwhile (requests)",
            lambda s: f"{s['slowest_request_meanwhile_ms']:.0f} ms ({s['requests_meanwhile']})",
        ),
        (
            "10,000 new errors ingested in one pass",
            lambda s: f"{s['bulk_ingest_s']:.1f} s ({s['bulk_errors']:,} errors)",
        ),
        ("a pass with nothing new (median of 5)", lambda s: f"{s['idle_pass_ms']:.0f} ms"),
        ("server peak memory (RSS): API process", lambda s: f"{s['peak_rss_mb']:.0f} MB"),
        (
            "server peak memory (RSS): ingesting process",
            lambda s: f"{s['ingesting_process_rss_mb']:.0f} MB",
        ),
    ]
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(cell(r["server"]) for r in results.values()) + " |")
    print(
        "| full re-read peak memory (RSS) | "
        + " | ".join(f"{r['reread']['peak_rss_mb']:.0f} MB" for r in results.values())
        + " |"
    )
    print(
        "| demo database built in | "
        + " | ".join(
            f"{r['build_s']:.0f} s" if r["build_s"] else "reused" for r in results.values()
        )
        + " |"
    )


def _build(url: str, args: argparse.Namespace, engine_name: str) -> float:
    started = time.perf_counter()
    build_demo_database(url, runs=args.runs, days=args.days, now=NOW - timedelta(hours=1))
    built = time.perf_counter() - started
    print(f"{engine_name}: built {args.runs:,} runs in {built:.0f} s", file=sys.stderr)
    return built


def _seconds(value: float | None) -> str:
    return "not within 120 s" if value is None else f"{value:.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=1095)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg-url", default=os.environ.get("ERROR_ANALYTICS_TEST_PG_URL"))
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="keep the built databases (a SQLite file in DIR, a PostgreSQL template database) "
        "and reuse them on the next run; each run measures a fresh copy",
    )
    parser.add_argument("--child", choices=("server", "reread"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child = child_server if args.child == "server" else child_reread
        print(json.dumps(child(args.url, args.repeat)))
        return 0
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(args.reuse or folder) / f"views-{args.runs}-{args.days}.db"
        built = _build(f"sqlite:///{base}", args, "SQLite") if not base.exists() else 0.0
        working = Path(folder) / "views.db"
        shutil.copyfile(base, working)  # the measures write to it: a copy each run
        results["SQLite"] = measure(f"sqlite:///{working}", args, "SQLite", built)
    if args.pg_url:
        results["PostgreSQL"] = _measure_postgresql(args)
    else:
        print(
            "PostgreSQL skipped: pass --pg-url or set ERROR_ANALYTICS_TEST_PG_URL", file=sys.stderr
        )
    report(results, args)
    return 0


def _measure_postgresql(args: argparse.Namespace) -> dict:
    """On a copy of a template database (built once, kept with ``--reuse``)."""
    server = sa.engine.make_url(args.pg_url)
    template = f"ea_bench_base_{args.runs}_{args.days}"
    name = f"ea_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": template}
        ).scalar()
    built = 0.0
    if not (exists and args.reuse):
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{template}"'))
        target = server.set(database=template).render_as_string(hide_password=False)
        built = _build(target, args, "PostgreSQL")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        return measure(url, args, "PostgreSQL", built)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not args.reuse:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
