"""Opening the state database for writing, and transactions that serialise writers.

The analysed database is opened read-only (:func:`error_analytics.store.engine.open_engine`);
the state gets its own writable engine, even when it lives in the same SQLite file or
PostgreSQL database.

Transactions:

* SQLite: Python's driver is put in autocommit mode and every transaction is started by an
  explicit ``BEGIN`` — ``BEGIN IMMEDIATE`` for writes, so a writer takes the file's write lock
  up front instead of failing half-way on a lock upgrade. Other writers wait up to
  :data:`BUSY_TIMEOUT_MS`. The journal mode is left alone: the file may be the host's.
* PostgreSQL: writers that must not interleave (a refresh, a schema migration) take a
  transaction-scoped advisory lock; reads run in ``REPEATABLE READ`` so that a view made of
  several queries is consistent.

A transaction that raises is rolled back, so a write is all or nothing.

Location: given a :class:`~error_analytics.config.StateTarget`, the engine renders the state
tables in the target's PostgreSQL schema (SQLAlchemy's ``schema_translate_map``) and remembers
the target, so that :func:`.schema.ensure_schema` can create that schema and move tables left in
the old place (:func:`state_target`).
"""

from __future__ import annotations

import contextlib
import hashlib
import weakref
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ...config import DatabaseTarget, StateTarget
from ...errors import ConflictError, DatabaseError
from ..engine import open_engine

BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "ea_sqlite_begin"
#: engine -> the state target it was opened for (engines opened on a plain DatabaseTarget keep
#: the tables in the default schema and move nothing)
_ENGINE_TO_TARGET: weakref.WeakKeyDictionary[Engine, StateTarget] = weakref.WeakKeyDictionary()


def open_state_engine(target: DatabaseTarget) -> Engine:
    """A writable engine on ``target`` configured for the transactions described above."""
    engine = prepare_state_engine(open_engine(target, read_only=False))
    if isinstance(target, StateTarget) and _own_sqlite_file(target):
        event.listen(engine, "connect", _sqlite_wal)
        engine.dispose()
    if isinstance(target, StateTarget):
        if target.schema and engine.dialect.name == "postgresql":
            engine = engine.execution_options(schema_translate_map={None: target.schema})
        _ENGINE_TO_TARGET[engine] = target
    return engine


def _own_sqlite_file(target: StateTarget) -> bool:
    """A SQLite state file that is not the analysed database (journal mode is ours to set)."""
    url = sa.engine.make_url(target.url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    # the default place, beside the analysed file; an explicit --state-db may be anyone's
    moved_from = sa.engine.make_url(target.moved_from) if target.moved_from else None
    return moved_from is not None and moved_from.database != url.database


def state_target(engine: Engine) -> StateTarget | None:
    """The state target ``engine`` was opened for, if it was opened on one."""
    return _ENGINE_TO_TARGET.get(engine)


def state_schema(engine: Engine) -> str | None:
    """The PostgreSQL schema the state tables are rendered in (None: the default schema)."""
    return (engine.get_execution_options().get("schema_translate_map") or {}).get(None)


def prepare_state_engine(engine: Engine) -> Engine:
    """Configure a writable engine for state transactions (idempotent; returns it)."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "begin", _sqlite_on_begin):
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        engine.dispose()  # pooled connections predate the listeners
    return engine


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_wal(dbapi_connection, _record) -> None:
    """Write-ahead logging on a state file of our own: readers never wait for the ingester."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    except Exception:  # noqa: BLE001 - a file that cannot switch keeps its journal
        pass
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.sha1(f"error_analytics:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class WriterBusy(ConflictError):
    """Another writer holds the lock asked for without waiting (``wait=False``)."""


@contextlib.contextmanager
def write_transaction(
    engine: Engine, *, lock: str | None = None, wait: bool = True
) -> Iterator[Connection]:
    """One write transaction; ``lock`` names a writer class that must not run twice at once.
    ``wait=False``: raise :class:`WriterBusy` at once when another writer holds it (on SQLite,
    any writer: the file has one write lock)."""
    with _translated(engine), engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            if not wait:
                _busy_timeout(connection, 0)
        try:
            with connection.begin():
                if sqlite and not wait:
                    _busy_timeout(connection, BUSY_TIMEOUT_MS)
                if lock is not None and engine.dialect.name == "postgresql":
                    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
                    taken = connection.execute(
                        sa.text(f"SELECT {function}(:key)"), {"key": _lock_key(lock)}
                    ).scalar()
                    if taken is False:
                        raise WriterBusy(f"another process holds the {lock} lock")
                yield connection
        except sa.exc.OperationalError as exc:
            if sqlite and not wait and "locked" in str(exc).lower():
                raise WriterBusy("another process is writing the state file") from exc
            raise
        finally:
            if sqlite and not wait and not connection.closed:
                _busy_timeout(connection, BUSY_TIMEOUT_MS)


def _busy_timeout(connection: Connection, milliseconds: int) -> None:
    """Set SQLite's busy timeout on the driver's connection (outside any transaction)."""
    driver = connection.connection.driver_connection
    assert driver is not None  # a live connection
    driver.execute(f"PRAGMA busy_timeout = {milliseconds}")


@contextlib.contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One consistent read-only view of the state."""
    with _translated(engine), engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


@contextlib.contextmanager
def _translated(engine: Engine) -> Iterator[None]:
    """Database failures as the toolkit's errors: lock timeouts and deadlocks are conflicts."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        reason = (
            str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            if str(exc).strip()
            else type(exc).__name__
        )
        lowered = reason.lower()
        if "locked" in lowered or "deadlock" in lowered or "could not serialize" in lowered:
            raise ConflictError(
                f"the state database is busy with another writer ({reason}); try again"
            ) from exc
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"state database {where}: {reason}") from exc
