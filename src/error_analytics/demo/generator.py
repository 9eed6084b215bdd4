"""Build realistic demo workflow databases on SQLite or PostgreSQL.

:func:`build_demo_database` writes ``runs`` runs over the last ``days`` days (deterministic
for a ``seed`` and a ``now``), with every oddity the reader must survive: failed runs without
error text, malformed or double-encoded JSON, odd dates (SQLite), hook error events joined to
their runs, and a failure that only starts in the last 12 days. :func:`add_days_of_runs`
appends more days of runs, including one brand-new failure. :func:`ensure_demo_database`
builds the user's demo file once and reuses it afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from error_analytics.demo.messages import (
    LATER_FAILURE,
    LATER_FAILURE_PREFIX,
    NEW_FAILURE,
    NEW_FAILURE_PREFIX,
)
from error_analytics.demo.schema import check_layout, create_workflow_tables, insert_rows
from error_analytics.demo.synthesis import BatchPlan, RecentFailure, RunBatch, synthesize
from error_analytics.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    SchemaError,
)

DEMO_DB_ENV = "ERROR_ANALYTICS_DEMO_DB"
#: The demo's file name in the per-user data directory (see :func:`default_demo_path`).
DEFAULT_DEMO_FILENAME = "demo.db"
#: The toolkit's directory under ``$XDG_DATA_HOME`` (default ``~/.local/share``).
DATA_DIRECTORY_NAME = "error-analytics"
#: The new failure of :func:`build_demo_database` starts this many days before ``now``.
NEW_FAILURE_DAYS = 12
#: Runs a day that :func:`add_days_of_runs` appends unless told otherwise (as in the demo).
RUNS_PER_DAY = 18


@dataclasses.dataclass(frozen=True, slots=True)
class DemoInfo:
    """What a demo build wrote, and the facts tests check it against."""

    url: str  # SQLAlchemy URL of the database, password hidden
    path: Path | None  # the SQLite file; None for a server database
    layout: str  # "spec" | "host"
    runs: int  # runs written by this call
    failed: int
    failed_without_text: int
    task_logs: int
    hook_events: int
    new_failure_key: str  # the failure that first appears in this data
    new_failure_prefix: str  # how its messages start
    new_failure_since: datetime  # no run before this carries it
    now: datetime
    days: int
    seed: int


def default_demo_path() -> Path:
    """``$ERROR_ANALYTICS_DEMO_DB`` if set, else ``demo.db`` in the per-user data directory.

    The data directory is ``$XDG_DATA_HOME/error-analytics`` (an absolute ``XDG_DATA_HOME``
    only, as the XDG base directory specification says), else
    ``~/.local/share/error-analytics``: one demo per user, whatever directory ``--demo`` is
    run from, so its review decisions are found again.
    """
    configured = os.environ.get(DEMO_DB_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    data_home = Path(os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share")
    if not data_home.is_absolute():
        data_home = Path("~/.local/share")
    return data_home.expanduser() / DATA_DIRECTORY_NAME / DEFAULT_DEMO_FILENAME


def _default_now() -> datetime:
    return datetime.now().replace(second=0, microsecond=0)


def _resolve(target: str | os.PathLike[str]) -> tuple[sa.URL, Path | None]:
    """A SQLAlchemy URL (and the SQLite file, if any) for a path or a URL."""
    text = os.fspath(target)
    if "://" not in text:
        path = Path(text).expanduser()
        return sa.URL.create("sqlite", database=str(path)), path
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(f"not a database URL: {text!r}") from exc
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"demo databases are SQLite or PostgreSQL, not {backend!r}")
    if backend == "sqlite" and url.database and url.database != ":memory:":
        return url, Path(url.database)
    return url, None


def _check(layout: str, runs: int, days: int) -> None:
    check_layout(layout)
    if runs < 1:
        raise ConfigurationError(f"runs must be at least 1, got {runs}")
    if days < 1:
        raise ConfigurationError(f"days must be at least 1, got {days}")


def _layout_of(engine: Engine) -> str | None:
    """``"spec"``/``"host"`` from the columns of ``workflow_history``; None without the table."""
    inspector = sa.inspect(engine)
    if not inspector.has_table("workflow_history"):
        return None
    columns = {column["name"] for column in inspector.get_columns("workflow_history")}
    if "phase_errors" in columns or "failure_reason" in columns:
        return "spec"
    if "error_message" in columns or "error_phase_distribution" in columns:
        return "host"
    raise SchemaError("workflow_history has neither the spec nor the host error columns")


def _fast_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -262144"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


@contextlib.contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Millions of short-lived dicts make the cyclic GC rescan the heap for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write(engine: Engine, layout: str, batch: RunBatch) -> None:
    create_workflow_tables(engine, layout)
    with _no_gc_pauses():
        insert_rows(engine, "workflow_history", batch.workflow_history)
        if layout == "host":
            insert_rows(engine, "task_logs", batch.task_logs)
        insert_rows(engine, "hook_events", batch.hook_events)


def _info(
    url: sa.URL,
    path: Path | None,
    plan: BatchPlan,
    batch: RunBatch,
    seed: int,
    recent: RecentFailure,
) -> DemoInfo:
    return DemoInfo(
        url=url.render_as_string(hide_password=True),
        path=path,
        layout=plan.layout,
        runs=len(batch.workflow_history),
        failed=batch.failed,
        failed_without_text=batch.failed_without_text,
        task_logs=len(batch.task_logs),
        hook_events=len(batch.hook_events),
        new_failure_key=recent.message.key,
        new_failure_prefix=(
            NEW_FAILURE_PREFIX if recent.message is NEW_FAILURE else LATER_FAILURE_PREFIX
        ),
        new_failure_since=recent.since,
        now=plan.now,
        days=plan.days,
        seed=seed,
    )


def build_demo_database(
    target: str | os.PathLike[str],
    *,
    layout: str = "spec",
    runs: int = 1600,
    days: int = 90,
    seed: int = 7,
    now: datetime | None = None,
) -> DemoInfo:
    """Create a demo workflow database of ``layout`` at ``target`` (a path or a URL).

    Refuses a SQLite file that already exists or a database that already has a
    ``workflow_history`` table. The SQLite file is written aside and moved into place, so
    a reader never sees it half-built.
    """
    _check(layout, runs, days)
    now = now or _default_now()
    url, path = _resolve(target)
    rng = random.Random(seed)
    recent = RecentFailure(NEW_FAILURE, now - timedelta(days=NEW_FAILURE_DAYS), 0.09)
    plan = BatchPlan(
        layout=layout,
        dialect=url.get_backend_name(),
        runs=runs,
        days=days,
        now=now,
        first_issue=rng.randint(40, 120),
        spike_days=2 if days >= 30 else 0,
        recent_failures=(recent,),
    )
    if path is not None:
        if path.exists():
            raise ConfigurationError(
                f"{path} already exists; remove it, or add runs with add_days_of_runs()"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
    with _no_gc_pauses():
        batch = synthesize(plan, rng, set())
    if path is None:
        engine = sa.create_engine(url)
        try:
            if _layout_of(engine) is not None:
                raise ConfigurationError(
                    f"{url.render_as_string(hide_password=True)} already has workflow_history"
                )
            _write(engine, layout, batch)
        finally:
            engine.dispose()
        return _info(url, None, plan, batch, seed, recent)
    staging = path.with_name(f".{path.name}.{os.getpid()}.building")
    staging.unlink(missing_ok=True)
    engine = sa.create_engine(sa.URL.create("sqlite", database=str(staging)))
    # the staging file is thrown away on a crash, so it needs no journal and no fsync
    sa.event.listen(engine, "connect", _fast_sqlite_pragmas)
    try:
        _write(engine, layout, batch)
    except BaseException:
        engine.dispose()
        staging.unlink(missing_ok=True)
        raise
    engine.dispose()
    os.replace(staging, path)
    return _info(url, path, plan, batch, seed, recent)


def add_days_of_runs(
    target: str | os.PathLike[str],
    *,
    days: int = 7,
    seed: int = 8,
    now: datetime | None = None,
    runs: int | None = None,
) -> DemoInfo:
    """Append ``days`` days of runs ending at ``now`` to an existing database of either layout.

    The new runs have the same kinds of failures as the demo (the recent Playwright failure
    included) plus a brand-new one, ``EADDRINUSE``, reported as ``new_failure_*``. ``runs``
    defaults to 18 a day. To simulate time passing, pass ``now`` a week after the build's.
    ``adw_id`` values stay unique; ``id`` values continue.
    """
    runs = RUNS_PER_DAY * days if runs is None else runs
    now = now or _default_now()
    url, path = _resolve(target)
    if path is not None and not path.exists():
        raise DatabaseUnavailableError(f"no database at {path}; build it first")
    engine = sa.create_engine(url)
    try:
        layout = _layout_of(engine)
        if layout is None:
            raise SchemaError("the database has no workflow_history table; build it first")
        _check(layout, runs, days)
        with engine.connect() as connection:
            used = set(connection.execute(sa.text("SELECT adw_id FROM workflow_history")).scalars())
            last_issue = (
                connection.execute(
                    sa.text("SELECT MAX(issue_number) FROM workflow_history")
                ).scalar()
                or 0
            )
        rng = random.Random(seed)
        since = now - timedelta(days=days)
        recent = RecentFailure(LATER_FAILURE, since, 0.07)
        plan = BatchPlan(
            layout=layout,
            dialect=url.get_backend_name(),
            runs=runs,
            days=days,
            now=now,
            first_issue=int(last_issue),
            spike_days=0,
            recent_failures=(RecentFailure(NEW_FAILURE, since, 0.05), recent),
            task_logs_after=0.0,
        )
        with _no_gc_pauses():
            batch = synthesize(plan, rng, used)
        _write(engine, layout, batch)
    finally:
        engine.dispose()
    return _info(url, path, plan, batch, seed, recent)


def ensure_demo_database(path: str | os.PathLike[str] | None = None, layout: str = "spec") -> Path:
    """The demo SQLite file of ``layout``: built if missing, reused if present.

    When ``path`` holds the other layout, the demo goes to a sibling file named after the
    layout (``demo_host.db``) instead of overwriting it.
    """
    check_layout(layout)
    demo_path = Path(path).expanduser() if path is not None else default_demo_path()
    for candidate in (
        demo_path,
        demo_path.with_name(f"{demo_path.stem}_{layout}{demo_path.suffix}"),
    ):
        if not candidate.exists():
            build_demo_database(candidate, layout=layout)
            return candidate
        engine = sa.create_engine(sa.URL.create("sqlite", database=str(candidate)))
        try:
            existing = _layout_of(engine)
        except sa.exc.DatabaseError as exc:
            raise SchemaError(f"{candidate} is not a SQLite database") from exc
        finally:
            engine.dispose()
        if existing is None:
            raise SchemaError(f"{candidate} exists but holds no workflow_history table")
        if existing == layout:
            return candidate
    raise ConfigurationError(f"{demo_path} and its sibling both hold another layout")
