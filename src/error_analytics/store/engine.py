"""Opening databases: read-only for the analysed data, with one-line errors when it fails.

The read-only engine is also where raw values enter the toolkit, so its connections never fail
on a value: SQLite text that is not UTF-8 is decoded with replacement characters
(:func:`.parsing.decode_text`), PostgreSQL JSON(B) is handed over as text for
:func:`.parsing.load_json` to parse with its bounds, and PostgreSQL timestamps that Python
cannot hold (``infinity``, years after 9999 or before 1) arrive as their text, which
:func:`.parsing.parse_timestamp` counts as unparsable.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from ..config import DatabaseTarget
from ..errors import ConfigurationError, DatabaseUnavailableError
from .parsing import decode_text, defer_json

#: PostgreSQL types whose values may lie outside Python's datetime range.
_PG_TIME_TYPES = ("timestamp", "timestamptz", "date")


def open_engine(target: DatabaseTarget, *, read_only: bool = True) -> Engine:
    """Open ``target`` and check that it answers.

    SQLite files are opened with ``mode=ro`` when ``read_only`` so the analysed tables cannot be
    written by mistake; PostgreSQL sessions are set to ``default_transaction_read_only``.
    Raises :class:`DatabaseUnavailableError` with what was tried when the file does not exist
    or the server does not answer.
    """
    try:
        url = make_url(target.url)
    except sa.exc.ArgumentError as exc:
        raise ConfigurationError(
            f"not a database URL or path: {target.url!r} (from {target.origin})"
        ) from exc

    if url.get_backend_name() == "sqlite":
        engine = _open_sqlite(url, target, read_only=read_only)
    else:
        connect_args: dict[str, object] = {}
        engine_args: dict[str, Any] = {}
        postgresql = url.get_backend_name() == "postgresql"
        if postgresql:
            connect_args["connect_timeout"] = 5
            if read_only:
                connect_args["options"] = "-c default_transaction_read_only=on"
                engine_args["json_deserializer"] = defer_json
        try:
            engine = sa.create_engine(
                url, connect_args=connect_args, pool_pre_ping=True, **engine_args
            )
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigurationError(
                f"cannot use {target.display_url} (from {target.origin}): {exc}"
            ) from exc
        if postgresql and read_only and url.get_driver_name() == "psycopg":
            sa.event.listen(engine, "connect", _lenient_pg_times)

    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = (
            str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            if str(exc).strip()
            else type(exc).__name__
        )
        raise DatabaseUnavailableError(
            f"cannot connect to {target.display_url} (from {target.origin}): {reason}"
        ) from exc
    return engine


def _open_sqlite(url: sa.URL, target: DatabaseTarget, *, read_only: bool) -> Engine:
    database = url.database
    if not database or database == ":memory:":
        engine = sa.create_engine(url)
        if read_only:
            sa.event.listen(engine, "connect", _lenient_sqlite_text)
        return engine
    path = Path(database)
    if read_only and not path.is_file():
        raise DatabaseUnavailableError(
            f"database file not found: {path} (from {target.origin}; "
            "pass --db PATH_OR_URL or set ERROR_ANALYTICS_DB)"
        )
    if not read_only:
        return sa.create_engine(url)
    from .state.recovery import recover_hot_journal

    recover_hot_journal(path)  # a writer killed mid-transaction must not block every read
    # The URI form lets SQLite itself refuse every write to the analysed file.
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    # A real pool: the "sqlite://" URL would otherwise get SingletonThreadPool, whose per-thread
    # connections are closed under other threads of a web server.
    return sa.create_engine(
        "sqlite://", creator=lambda: _sqlite_connect_ro(uri), poolclass=sa.pool.QueuePool
    )


def _sqlite_connect_ro(uri: str) -> sqlite3.Connection:
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.text_factory = decode_text
    return connection


def _lenient_sqlite_text(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.text_factory = decode_text


def _lenient_pg_times(dbapi_connection: Any, _record: Any) -> None:
    """Register loaders that hand out-of-range timestamps over as text instead of failing."""
    import psycopg
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    for type_name in _PG_TIME_TYPES:
        info = psycopg.adapters.types.get(type_name)
        if info is None:
            continue
        strict = dbapi_connection.adapters.get_loader(info.oid, Format.TEXT)
        if strict is None:
            continue

        class LenientLoader(Loader):
            strict_loader = strict

            def __init__(self, oid: int, context: Any = None) -> None:
                super().__init__(oid, context)
                self._strict = self.strict_loader(oid, context)

            def load(self, data: Any) -> Any:
                try:
                    return self._strict.load(data)
                except (psycopg.DataError, ValueError, OverflowError):
                    return bytes(data).decode("utf-8", errors="replace")

        dbapi_connection.adapters.register_loader(info.oid, LenientLoader)
