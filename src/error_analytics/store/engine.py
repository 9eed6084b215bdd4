"""Opening databases: read-only for the analysed data, with one-line errors when it fails."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from ..config import DatabaseTarget
from ..errors import ConfigurationError, DatabaseUnavailableError


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
        if url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = 5
            if read_only:
                connect_args["options"] = "-c default_transaction_read_only=on"
        try:
            engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise ConfigurationError(
                f"cannot use {target.display_url} (from {target.origin}): {exc}"
            ) from exc

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
        return sa.create_engine(url)
    path = Path(database)
    if read_only and not path.is_file():
        raise DatabaseUnavailableError(
            f"database file not found: {path} (from {target.origin}; "
            "pass --db PATH_OR_URL or set ERROR_ANALYTICS_DB)"
        )
    if not read_only:
        return sa.create_engine(url)
    # The URI form lets SQLite itself refuse every write to the analysed file.
    uri = f"file:{path.resolve().as_posix()}?mode=ro"
    # A real pool: the "sqlite://" URL would otherwise get SingletonThreadPool, whose per-thread
    # connections are closed under other threads of a web server.
    return sa.create_engine(
        "sqlite://", creator=lambda: _sqlite_connect_ro(uri), poolclass=sa.pool.QueuePool
    )


def _sqlite_connect_ro(uri: str):
    import sqlite3

    return sqlite3.connect(uri, uri=True, check_same_thread=False)
