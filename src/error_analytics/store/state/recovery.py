"""Recovering a SQLite file left with a hot journal by a writer that was killed.

A process killed in the middle of a write transaction (``kill -9``, a power cut) leaves
``<file>-journal`` behind: a *hot* journal. The next connection that reads the file must roll
it back first, which needs write access; a ``mode=ro`` connection fails instead with "attempt to
write a readonly database" (``SQLITE_READONLY_ROLLBACK``), on every run, until someone opens
the file read-write. Earlier versions kept the state tables in the analysed file, so an
interrupted state write could block every later analysis.

:func:`recover_hot_journal` probes the file read-only and, only when that fails with this
error, opens it read-write just long enough for SQLite to roll the journal back (the rollback
restores the pages as they were before the interrupted transaction: committed data is never
touched), and reports it with one warning line.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

logger = logging.getLogger("error_analytics.state")

#: SQLite's extended result code SQLITE_READONLY_ROLLBACK (a hot journal on a read-only open).
READONLY_ROLLBACK = "SQLITE_READONLY_ROLLBACK"


def recover_hot_journal(path: Path) -> bool:
    """Roll back a hot journal of the SQLite file ``path``; True when one was rolled back."""
    journal = path.with_name(path.name + "-journal")
    if not journal.is_file() or journal.stat().st_size == 0:
        return False
    if not _needs_rollback(path):
        return False
    try:
        connection = sqlite3.connect(path, timeout=30)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        logger.warning(
            "Note: %s has an interrupted write to roll back (%s) but cannot be opened "
            "read-write: %s",
            path,
            journal.name,
            exc,
        )
        return False
    recovered = not _needs_rollback(path)
    if recovered:
        logger.warning(
            "Note: rolled back an interrupted write left in %s (hot journal %s); "
            "committed data is unchanged",
            path,
            journal.name,
        )
    return recovered


def _needs_rollback(path: Path) -> bool:
    """Whether a read-only reader of ``path`` is refused because of a hot journal."""
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return False
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.OperationalError as exc:
        return getattr(exc, "sqlite_errorname", "") == READONLY_ROLLBACK or (
            "readonly" in str(exc).lower()
        )
    finally:
        connection.close()
    return False
