"""A writer killed with SIGKILL in the middle of a state write does not break later runs.

The children here really die in the middle of a write transaction (``os.kill(pid, SIGKILL)``)
with SQLite's page cache kept tiny, so the killed transaction has already overwritten pages of
the file and leaves a *hot* journal that the next reader must roll back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from error_analytics.cli import main
from error_analytics.config import Settings

from .test_review_helpers import (
    NOW,
    Clock,
    analysed_fingerprint,
    review_service,
    scenario,
    state_dump,
)
from .test_state_location import STATE_NAMES, located_service, tables_in

REPO = Path(__file__).resolve().parent.parent

#: Every SQLite connection of the child keeps a two-page cache, so a write spills to the file.
_TINY_CACHE = """
import sys, time
from sqlalchemy import event
from sqlalchemy.engine import Engine

@event.listens_for(Engine, "connect")
def _tiny_cache(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA cache_size = 2")
"""

#: Open a write transaction on the state tables in the analysed file, insert, wait to be killed.
WRITER = (
    _TINY_CACHE
    + """
from datetime import datetime
from error_analytics.config import DatabaseTarget
from error_analytics.store.state import AssignmentRow, StateStore, open_state_engine

store = StateStore(open_state_engine(DatabaseTarget(sys.argv[1], "writer")))
now = datetime(2026, 1, 31, 12)
with store.write() as tx:
    tx.insert_assignments([
        AssignmentRow(f"killed{i:034d}", "f" * 40, "run", "workflow", "Build", "h" * 40,
                      None, now, now.date())
        for i in range(4000)
    ])
    print("ready", flush=True)
    time.sleep(600)
"""
)

#: The host writing its own file: a write lock held on the analysed database.
HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1].removeprefix("sqlite:///"), isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("ready", flush=True)
time.sleep(600)
"""

#: A real refresh with the default state location, killed once everything is written.
REFRESHER = (
    _TINY_CACHE
    + """
from error_analytics.config import Settings
from tests.test_review_helpers import Clock
from tests.test_state_location import located_service

def progress(done, total):
    if done == total:  # every row written, only the commit left
        print("ready", flush=True)
        time.sleep(600)

located_service(Settings(db=sys.argv[1]), Clock()).refresh(30, progress=progress)
"""
)


#: Move the state out of the analysed file; killed once the clusters are copied, mid-move.
MOVER = (
    _TINY_CACHE
    + """
from error_analytics.config import Settings
from tests.test_review_helpers import Clock
from tests.test_state_location import located_service

@event.listens_for(Engine, "after_cursor_execute")
def _pause(connection, cursor, statement, parameters, context, executemany):
    if statement.startswith("INSERT INTO ea_cluster_templates"):
        print("ready", flush=True)
        time.sleep(600)

located_service(Settings(db=sys.argv[1]), Clock()).list_clusters()
"""
)


@contextlib.contextmanager
def child_in_write(script: str, url: str) -> Iterator[None]:
    """Run ``script`` in a child; once it is inside its write, yield, then SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "ready", child.stderr.read()
        yield
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def kill_mid_write(script: str, url: str) -> None:
    with child_in_write(script, url):
        pass


def read_only_refused(path: Path) -> bool:
    """Whether a read-only reader of ``path`` is refused (the hot journal is still there)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.OperationalError as exc:
        return "readonly" in str(exc)
    finally:
        connection.close()
    return False


def journal_mode(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    finally:
        connection.close()


def count(url: str, table: str, where: str = "1 = 1") -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE {where}")
            ).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def analysed(sqlite_url, monkeypatch) -> tuple[str, Path]:
    """The scenario database holding state the old way (in the analysed file), and its path."""
    scenario(sqlite_url)
    service = review_service(sqlite_url, Clock())
    service.refresh(30)
    service.store.engine.dispose()
    monkeypatch.setattr("error_analytics.config.Settings.now", lambda self: NOW)
    return sqlite_url, Path(make_url(sqlite_url).database)


@pytest.mark.parametrize("state", ["--no-state", "with state"])
def test_a_writer_killed_in_the_analysed_file_does_not_block_the_next_run(
    analysed, state, capsys, caplog
):
    url, path = analysed
    before = analysed_fingerprint(url)
    clusters_before = count(url, "ea_clusters")
    kill_mid_write(WRITER, url)
    assert path.with_name(path.name + "-journal").is_file() and read_only_refused(path)

    options = ["--no-state"] if state == "--no-state" else []
    with caplog.at_level(logging.WARNING, logger="error_analytics.state"):
        code = main(["--db", str(path), "--cluster", "--summary", "--json", *options])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["clusters"]
    rolled_back = [
        r for r in caplog.records if "rolled back an interrupted write" in r.getMessage()
    ]
    assert len(rolled_back) == 1

    assert not read_only_refused(path)
    assert analysed_fingerprint(url) == before
    if state == "--no-state":  # the old state is as it was before the killed write
        assert count(url, "ea_clusters") == clusters_before
        assert count(url, "ea_event_assignments", "event_key LIKE 'killed%'") == 0
    else:  # ... and it moved beside the analysed file without the killed rows
        beside = f"sqlite:///{path.with_name(path.stem + '.error-analytics.db')}"
        assert count(beside, "ea_clusters") == clusters_before
        assert count(beside, "ea_event_assignments", "event_key LIKE 'killed%'") == 0


def test_a_refresh_killed_before_its_commit_leaves_a_consistent_state_and_the_next_finishes(
    sqlite_url,
):
    scenario(sqlite_url)
    before = analysed_fingerprint(sqlite_url)
    kill_mid_write(REFRESHER, sqlite_url)

    path = Path(make_url(sqlite_url).database)
    state_url = f"sqlite:///{path.with_name(path.stem + '.error-analytics.db')}"
    assert not read_only_refused(path)  # the analysed file never had the write ...
    # ... the state file is ours, so in write-ahead-log mode: the killed transaction's pages
    # are uncommitted frames of its log, which readers skip (nothing to roll back)
    state_path = Path(make_url(state_url).database)
    assert journal_mode(state_path) == "wal" and not read_only_refused(state_path)
    # Nothing of the killed refresh is visible: it was all or nothing.
    for table in ("ea_refresh_runs", "ea_event_assignments", "ea_clusters"):
        assert count(state_url, table) == 0

    service = located_service(Settings(db=sqlite_url), Clock())
    result = service.refresh(30)
    assert result.new_clusters > 0 and result.new_assignments > 0
    assert count(state_url, "ea_refresh_runs") == 1
    assert count(state_url, "ea_event_assignments") == result.new_assignments
    assert service.refresh(30).new_assignments == 0  # the work is done, once
    assert analysed_fingerprint(sqlite_url) == before


def test_a_move_whose_old_tables_could_not_be_dropped_yet_is_finished_by_the_next_run(analysed):
    url, path = analysed
    old_rows = state_dump(url)
    beside = f"sqlite:///{path.with_name(path.stem + '.error-analytics.db')}"
    with child_in_write(HOLDER, url):  # the file is busy: the copy commits, the drop waits
        service = located_service(Settings(db=url), Clock())
        ids = {cluster.id for cluster in service.list_clusters(limit=1000).items}
        assert STATE_NAMES <= tables_in(url)
    assert ids and STATE_NAMES <= tables_in(beside)

    again = located_service(Settings(db=url), Clock())
    assert {cluster.id for cluster in again.list_clusters(limit=1000).items} == ids
    assert not STATE_NAMES & tables_in(url)
    new_rows = state_dump(beside)
    for table in STATE_NAMES - {"ea_schema_version"}:
        assert new_rows[table] == old_rows[table], table


def test_a_move_killed_half_way_is_redone_whole_by_the_next_run(analysed):
    url, path = analysed
    old_rows = state_dump(url)
    kill_mid_write(MOVER, url)
    beside = f"sqlite:///{path.with_name(path.stem + '.error-analytics.db')}"
    assert STATE_NAMES <= tables_in(url)  # the old place is untouched

    service = located_service(Settings(db=url), Clock())
    assert service.list_clusters(limit=1000).items
    assert not STATE_NAMES & tables_in(url)
    new_rows = state_dump(beside)
    for table in STATE_NAMES - {"ea_schema_version"}:
        assert new_rows[table] == old_rows[table], table
