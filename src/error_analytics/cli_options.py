"""Option handling shared by the ``analyze-errors`` commands (report, ``clusters``, ``serve``)."""

from __future__ import annotations

import sys

from .errors import ConfigurationError


def database_option(db: str | None, demo: bool, layout: str | None) -> str | None:
    """The database that ``--db``/``--demo`` name: with ``--demo`` the demo file's path (built on
    first use, reused after, announced on stderr); else ``db`` as given (None: from settings)."""
    if not demo:
        return db
    if db:
        raise ConfigurationError("--demo and --db exclude each other")
    from .demo import ensure_demo_database

    path = str(ensure_demo_database(layout=layout or "spec"))
    print(f"Using demo database: {path}", file=sys.stderr)
    return path
