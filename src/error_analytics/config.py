"""Settings: where the database is and how to read it.

Nothing happens at import time. :func:`get_settings` builds the settings from the environment
once and caches them; callers (CLI, API) override what their options say with
:meth:`Settings.with_overrides`.

Where the workflow database is, in order of precedence:

1. an explicit ``--db`` (a SQLite path or a SQLAlchemy URL);
2. ``ERROR_ANALYTICS_DB`` (same forms);
3. the host application's convention, as its database adapters apply it:
   ``DB_TYPE=sqlite|postgresql``; without ``DB_TYPE``, PostgreSQL when all of
   ``POSTGRES_HOST``, ``POSTGRES_PORT``, ``POSTGRES_DB``, ``POSTGRES_USER`` and
   ``POSTGRES_PASSWORD`` are set, else SQLite. The host's SQLite file is ``db/database.db``
   relative to its working directory (``app/server/``): ``db/database.db`` when it exists in
   the current directory, else ``app/server/db/database.db`` (run from the repository root).
   On PostgreSQL every unset variable takes the host adapter's default
   (:data:`HOST_POSTGRES_DEFAULTS`; the password has none).

Where the toolkit keeps its own ``ea_*`` tables (:meth:`Settings.state_database_target`):

1. an explicit ``--state-db`` or ``ERROR_ANALYTICS_STATE_DB`` (a SQLite path or a URL);
2. else, for a SQLite workflow database, the file beside it: ``<stem>.error-analytics.db``;
3. else (PostgreSQL) the workflow database itself.

On PostgreSQL the tables go in a schema of their own, ``ERROR_ANALYTICS_STATE_SCHEMA``
(default ``error_analytics``), never in the host's. Tables that earlier versions created in the
old place (the default schema, or the analysed SQLite file) are moved on first use.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigurationError

#: The host's SQLite file, relative to its working directory (normally ``app/server/``).
HOST_SQLITE_FILE = Path("db/database.db")
#: The same file seen from the host repository's root.
HOST_SQLITE_PATH = Path("app/server/db/database.db")
#: What the host's PostgreSQL adapter uses for an unset variable (the password has no default).
HOST_POSTGRES_DEFAULTS: Mapping[str, str] = {
    "POSTGRES_HOST": "localhost",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DB": "tac_webbuilder",
    "POSTGRES_USER": "tac_user",
}
#: Where promote-to-rule writes when no rules file is configured (CLI and API alike).
DEFAULT_RULES_FILE = "error_analytics_rules.toml"
POSTGRES_VARIABLES = (
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
)
#: PostgreSQL schema of the toolkit's own tables unless ERROR_ANALYTICS_STATE_SCHEMA says otherwise.
DEFAULT_STATE_SCHEMA = "error_analytics"
#: Suffix of the state file kept beside a SQLite workflow database (database.db ->
#: database.error-analytics.db).
STATE_FILE_SUFFIX = ".error-analytics.db"
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


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
class StateTarget(DatabaseTarget):
    """Where the toolkit's own tables live, and where earlier versions kept them.

    ``schema`` is the PostgreSQL schema of the ``ea_*`` tables (None: the connection's default
    schema, as for a SQLite file). ``moved_from`` is the URL of the database whose *default*
    schema may still hold ``ea_*`` tables from before: they are moved into the state on first
    use. None when there is nothing to move from.
    """

    schema: str | None = None
    moved_from: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    db: str | None = None  # explicit path or URL; None = resolve from the environment
    state_db: str | None = None  # where our own tables live; None = see state_database_target
    state_schema: str | None = None  # PostgreSQL schema of our tables; None = error_analytics
    rules_file: str | None = None
    timezone: str | None = None  # zone of the naive timestamps; None = the machine's local zone
    api_token: str | None = None  # required for write endpoints when set
    # where a run without a github_url opens, e.g. https://ci.example.com/runs/{adw_id}
    run_url_template: str | None = None
    # where alerts (new cluster, regressed, spike) are POSTed; None = no alerts (review/alerts.py)
    alert_webhook_url: str | None = None
    alert_backoff_seconds: float = 0.5  # first retry delay of a failed delivery, doubled after
    # how often a server ingests new runs in the background (seconds; 0 = on each read instead)
    ingest_interval_seconds: float = 1.0
    # per-error rows older than this many days are dropped by ingestion (None: kept); the
    # runs and each cluster's daily counts stay (review/retention.py)
    retention_days: int | None = None
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with every non-None keyword replaced."""
        kept = {key: value for key, value in changes.items() if value is not None}
        return dataclasses.replace(self, **kept)

    def database_target(self) -> DatabaseTarget:
        return resolve_database_target(self.db, self.environ)

    def state_database_target(self) -> StateTarget:
        """Where our ``ea_*`` tables live (the precedence in the module docstring)."""
        from sqlalchemy.engine import make_url

        schema = self.state_schema or DEFAULT_STATE_SCHEMA
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigurationError(
                f"ERROR_ANALYTICS_STATE_SCHEMA must be a plain identifier, not {schema!r}"
            )
        if self.state_db:
            url, origin, moved_from = to_sqlalchemy_url(self.state_db), "--state-db", None
        else:
            analysed = self.database_target()
            url, origin, moved_from = analysed.url, analysed.origin, analysed.url
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite":
                if not parsed.database or parsed.database == ":memory:":
                    return StateTarget(url=url, origin=origin)
                path = Path(parsed.database)
                beside = path.with_name(path.stem + STATE_FILE_SUFFIX)
                url = parsed.set(database=str(beside)).render_as_string(hide_password=False)
                origin = f"beside the workflow database ({analysed.origin})"
        if make_url(url).get_backend_name() != "postgresql":
            return StateTarget(url=url, origin=origin, moved_from=moved_from)
        # On PostgreSQL the old place is the default schema of the same database.
        return StateTarget(url=url, origin=origin, schema=schema, moved_from=url)

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


def resolve_database_target(
    explicit: str | None, environ: Mapping[str, str], *, cwd: Path | None = None
) -> DatabaseTarget:
    """Apply the precedence rules in the module docstring; ``cwd`` defaults to the process's."""
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
        origin = "DB_TYPE=postgresql" if db_type else "POSTGRES_* variables"
        return DatabaseTarget(url=host_postgres_url(environ), origin=origin)
    return host_sqlite_target(
        Path.cwd() if cwd is None else cwd, origin="DB_TYPE=sqlite" if db_type else "host default"
    )


def host_postgres_url(environ: Mapping[str, str]) -> str:
    """The URL the host's PostgreSQL adapter connects to: its defaults fill unset variables."""

    def value(name: str) -> str:
        return (environ.get(name) or "").strip() or HOST_POSTGRES_DEFAULTS[name]

    port = value("POSTGRES_PORT")
    if not port.isdigit():
        raise ConfigurationError(f"POSTGRES_PORT must be a port number, not {port!r}")
    credentials = quote_plus(value("POSTGRES_USER"))
    if environ.get("POSTGRES_PASSWORD"):
        credentials += ":" + quote_plus(environ["POSTGRES_PASSWORD"])
    host, database = value("POSTGRES_HOST"), quote_plus(value("POSTGRES_DB"))
    return f"postgresql+psycopg://{credentials}@{host}:{port}/{database}"


def host_sqlite_target(cwd: Path, *, origin: str) -> DatabaseTarget:
    """The host's SQLite file: ``db/database.db`` in ``cwd`` when it exists (the host runs
    from ``app/server/``), else ``app/server/db/database.db`` under ``cwd``."""
    beside = cwd / HOST_SQLITE_FILE
    if beside.is_file():
        return DatabaseTarget(url=f"sqlite:///{beside}", origin=f"{origin}: {HOST_SQLITE_FILE}")
    return DatabaseTarget(
        url=f"sqlite:///{cwd / HOST_SQLITE_PATH}",
        origin=f"{origin}: {HOST_SQLITE_PATH} ({HOST_SQLITE_FILE} is not in {cwd})",
    )


def settings_from_environ(environ: Mapping[str, str]) -> Settings:
    return Settings(
        db=None,  # resolve_database_target reads ERROR_ANALYTICS_DB and the host's variables
        state_db=environ.get("ERROR_ANALYTICS_STATE_DB") or None,
        state_schema=environ.get("ERROR_ANALYTICS_STATE_SCHEMA") or None,
        rules_file=environ.get("ERROR_ANALYTICS_RULES") or None,
        timezone=environ.get("ERROR_ANALYTICS_TZ") or None,
        api_token=environ.get("ERROR_ANALYTICS_API_TOKEN") or None,
        run_url_template=environ.get("ERROR_ANALYTICS_RUN_URL_TEMPLATE") or None,
        alert_webhook_url=environ.get("ERROR_ANALYTICS_ALERT_WEBHOOK_URL") or None,
        alert_backoff_seconds=_seconds(environ, "ERROR_ANALYTICS_ALERT_BACKOFF", 0.5),
        ingest_interval_seconds=_number(environ, "ERROR_ANALYTICS_INGEST_INTERVAL", 1.0, 3600),
        retention_days=_retention(environ),
        environ=dict(environ),
    )


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number of seconds from ``environ[name]``, else ``default``."""
    return _number(environ, name, default, 60)


def _number(environ: Mapping[str, str], name: str, default: float, most: float) -> float:
    """A number of seconds from 0 to ``most`` from ``environ[name]``, else ``default``."""
    text = (environ.get(name) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= most:
        raise ConfigurationError(
            f"{name} must be a number of seconds from 0 to {most:g}, not {text!r}"
        )
    return value


def _retention(environ: Mapping[str, str]) -> int | None:
    """``ERROR_ANALYTICS_RETENTION_DAYS``: a whole number of days from 1 to 36500, else None."""
    text = (environ.get("ERROR_ANALYTICS_RETENTION_DAYS") or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 36500:
        raise ConfigurationError(
            f"ERROR_ANALYTICS_RETENTION_DAYS must be a whole number of days from 1 to 36500, "
            f"not {text!r}"
        )
    return int(text)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the process environment, read once."""
    return settings_from_environ(os.environ)
