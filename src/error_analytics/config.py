"""Settings: where the database is and how to read it.

Nothing happens at import time. :func:`get_settings` builds the settings from the environment
once and caches them; callers (CLI, API) override what their options say with
:meth:`Settings.with_overrides`.

Where the workflow database is, in order of precedence:

1. an explicit ``--db`` (a SQLite path or a SQLAlchemy URL);
2. ``ERROR_ANALYTICS_DB`` (same forms);
3. the host application's convention: ``DB_TYPE=sqlite|postgresql``; without ``DB_TYPE``,
   PostgreSQL when all of ``POSTGRES_HOST``, ``POSTGRES_PORT``, ``POSTGRES_DB``,
   ``POSTGRES_USER`` and ``POSTGRES_PASSWORD`` are set, else SQLite at
   ``app/server/db/database.db``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigurationError

HOST_SQLITE_PATH = Path("app/server/db/database.db")
#: Where promote-to-rule writes when no rules file is configured (CLI and API alike).
DEFAULT_RULES_FILE = "error_analytics_rules.toml"
POSTGRES_VARIABLES = (
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
)


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """A database to open, and a human description of how it was chosen."""

    url: str
    origin: str  # e.g. "--db", "ERROR_ANALYTICS_DB", "DB_TYPE=postgresql"

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for messages."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    db: str | None = None  # explicit path or URL; None = resolve from the environment
    state_db: str | None = None  # where our own tables live; None = the analysed database
    rules_file: str | None = None
    timezone: str | None = None  # zone of the naive timestamps; None = the machine's local zone
    api_token: str | None = None  # required for write endpoints when set
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with every non-None keyword replaced."""
        kept = {key: value for key, value in changes.items() if value is not None}
        return dataclasses.replace(self, **kept)

    def database_target(self) -> DatabaseTarget:
        return resolve_database_target(self.db, self.environ)

    def state_database_target(self) -> DatabaseTarget:
        if self.state_db:
            return DatabaseTarget(url=to_sqlalchemy_url(self.state_db), origin="--state-db")
        return self.database_target()

    def now(self) -> datetime:
        """The current time as a naive datetime in the configured zone."""
        if self.timezone is None:
            return datetime.now().replace(microsecond=0)
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(f"unknown time zone {self.timezone!r}") from exc
        return datetime.now(zone).replace(tzinfo=None, microsecond=0)


def to_sqlalchemy_url(value: str) -> str:
    """Accept a SQLAlchemy URL or a path to a SQLite file."""
    value = value.strip()
    if not value:
        raise ConfigurationError("the database location is empty")
    if "://" in value:
        if value.startswith(("postgres://", "postgresql://")):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value
    return f"sqlite:///{Path(value).expanduser()}"


def resolve_database_target(explicit: str | None, environ: Mapping[str, str]) -> DatabaseTarget:
    """Apply the precedence rules in the module docstring."""
    if explicit:
        return DatabaseTarget(url=to_sqlalchemy_url(explicit), origin="--db")
    if environ.get("ERROR_ANALYTICS_DB"):
        return DatabaseTarget(
            url=to_sqlalchemy_url(environ["ERROR_ANALYTICS_DB"]), origin="ERROR_ANALYTICS_DB"
        )
    db_type = (environ.get("DB_TYPE") or "").strip().lower()
    if db_type not in ("", "sqlite", "postgresql", "postgres"):
        raise ConfigurationError(f"DB_TYPE must be 'sqlite' or 'postgresql', not {db_type!r}")
    all_postgres_set = all(environ.get(name) for name in POSTGRES_VARIABLES)
    if db_type in ("postgresql", "postgres") or (not db_type and all_postgres_set):
        missing = [name for name in POSTGRES_VARIABLES if not environ.get(name)]
        if missing:
            raise ConfigurationError(f"DB_TYPE=postgresql but {', '.join(missing)} not set")
        url = "postgresql+psycopg://{user}:{password}@{host}:{port}/{db}".format(
            user=quote_plus(environ["POSTGRES_USER"]),
            password=quote_plus(environ["POSTGRES_PASSWORD"]),
            host=environ["POSTGRES_HOST"],
            port=environ["POSTGRES_PORT"],
            db=environ["POSTGRES_DB"],
        )
        return DatabaseTarget(
            url=url, origin="DB_TYPE=postgresql" if db_type else "POSTGRES_* variables"
        )
    return DatabaseTarget(
        url=f"sqlite:///{HOST_SQLITE_PATH}", origin="host default (app/server/db/database.db)"
    )


def settings_from_environ(environ: Mapping[str, str]) -> Settings:
    return Settings(
        db=None,  # resolve_database_target reads ERROR_ANALYTICS_DB and the host's variables
        state_db=environ.get("ERROR_ANALYTICS_STATE_DB") or None,
        rules_file=environ.get("ERROR_ANALYTICS_RULES") or None,
        timezone=environ.get("ERROR_ANALYTICS_TZ") or None,
        api_token=environ.get("ERROR_ANALYTICS_API_TOKEN") or None,
        environ=dict(environ),
    )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the process environment, read once."""
    return settings_from_environ(os.environ)
