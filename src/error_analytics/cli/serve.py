"""``analyze-errors serve``: the HTTP API and the dashboard on a local web server (uvicorn).

Safe by default: it binds 127.0.0.1. Write endpoints (review actions) need
``Authorization: Bearer <token>`` when a token is set with ``--token`` or
``ERROR_ANALYTICS_API_TOKEN``; binding any other address without a token is refused unless
``--allow-remote-without-token`` says that is really meant.

``cli/main.py`` wires it in with :func:`register_serve_command` and :func:`run_serve`.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from ..config import Settings, get_settings
from ..errors import ConfigurationError
from .options import check_database_files, database_option

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
TOKEN_ENV = "ERROR_ANALYTICS_API_TOKEN"
STARTUP_REFRESH_DAYS = 30

EXAMPLES = """\
Examples:
  analyze-errors serve --demo                 dashboard on the demo database, http://127.0.0.1:8765/
  analyze-errors serve --db app/server/db/database.db --port 9000
  ERROR_ANALYTICS_API_TOKEN=s3cret analyze-errors serve --host 0.0.0.0
"""


def register_serve_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``serve`` to ``subparsers``; the parsed namespace has ``handler=run_serve``."""
    parser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API and the dashboard",
        description="Serve the HTTP API (/api/error-analytics/...) and the dashboard (/) with uvicorn. "
        "Binds 127.0.0.1 unless --host says otherwise.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # SUPPRESS: given before ``serve`` (main parser) or after it, a value is never reset to a default
    data = parser.add_argument_group(
        "where the data comes from", argument_default=argparse.SUPPRESS
    )
    data.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="workflow database: SQLite file or SQLAlchemy URL "
        "(default: $ERROR_ANALYTICS_DB, else the host's DB_TYPE/POSTGRES_* settings)",
    )
    data.add_argument(
        "--state-db",
        metavar="PATH_OR_URL",
        help="where review state is kept (default: "
        "$ERROR_ANALYTICS_STATE_DB, else beside the workflow database: a file next to SQLite, "
        "schema error_analytics on PostgreSQL)",
    )
    data.add_argument(
        "--demo", action="store_true", help="serve the built-in demo database (built on first use)"
    )
    data.add_argument(
        "--rules",
        metavar="FILE",
        help="TOML rules file that adds or overrides categories (default: $ERROR_ANALYTICS_RULES)",
    )
    server = parser.add_argument_group("server")
    server.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to bind (default {DEFAULT_HOST}; "
        "anything else needs a token or --allow-remote-without-token)",
    )
    server.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    server.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"require 'Authorization: Bearer TOKEN' on write "
        f"endpoints (default: ${TOKEN_ENV}; prefer the variable, a command line is visible "
        "to other users)",
    )
    server.add_argument(
        "--allow-remote-without-token",
        action="store_true",
        help="bind a non-loopback --host without a token (anyone who reaches it can review)",
    )
    data.add_argument(
        "--no-refresh",
        action="store_true",
        help="do not ingest new runs before serving (the background ingestion does it "
        "once the server runs)",
    )
    server.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes (default 1); they share the state database and only read it "
        "(one process of their own ingests)",
    )
    server.add_argument(
        "--ingest-interval",
        type=float,
        metavar="SECONDS",
        help="how often new runs are ingested in the background (default: "
        "$ERROR_ANALYTICS_INGEST_INTERVAL, else 1; 0: each request ingests first)",
    )
    server.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn log level (default info)",
    )
    parser.set_defaults(handler=run_serve)
    return parser


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def serve_settings(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    """Settings for the server from the options, over the environment's; refuses unsafe binds."""
    base = base or get_settings()
    if not 0 < args.port < 65536:
        raise ConfigurationError(f"--port must be 1-65535, not {args.port}")
    if not 1 <= getattr(args, "workers", 1) <= 64:
        raise ConfigurationError(f"--workers must be 1-64, not {args.workers}")
    interval = getattr(args, "ingest_interval", None)
    if interval is not None and not 0 <= interval <= 3600:
        raise ConfigurationError(f"--ingest-interval must be 0-3600 seconds, not {interval:g}")
    db = database_option(
        getattr(args, "db", None), getattr(args, "demo", False), getattr(args, "demo_layout", None)
    )
    settings = base.with_overrides(
        db=db,
        state_db=getattr(args, "state_db", None),
        rules_file=getattr(args, "rules", None),
        api_token=args.token,
        ingest_interval_seconds=interval,
    )
    check_database_files(settings)
    if (
        not is_loopback(args.host)
        and not settings.api_token
        and not args.allow_remote_without_token
    ):
        raise ConfigurationError(
            f"refusing to serve on {args.host} without a token: anyone who can reach it could change the "
            f"review state. Set {TOKEN_ENV} (or --token), or pass --allow-remote-without-token"
        )
    return settings


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted. Raises :class:`ConfigurationError` for unusable options."""
    import uvicorn

    from ..api import create_app
    from ..api.ingestion import IngestionProcess
    from ..service import ErrorAnalyticsService

    settings = serve_settings(args)
    # the composition root, now: a bad setting fails with one line, not per request
    analytics = ErrorAnalyticsService.from_settings(settings)
    if not getattr(args, "no_refresh", False):
        print("Ingesting new runs into the index of errors...", file=sys.stderr)
        result = analytics.review.refresh(STARTUP_REFRESH_DAYS)
        print(
            f"Runs read: {result.runs_read}; clusters: {result.new_clusters} new, "
            f"{result.regressed} regressed; {result.new_assignments} new errors.",
            file=sys.stderr,
        )
    interval = settings.ingest_interval_seconds or None
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    writes = "writes need the token" if settings.api_token else "writes need no token"
    ingesting = f"ingesting every {interval:g}s" if interval else "ingesting on each request"
    print(
        f"Dashboard: http://{shown_host}:{args.port}/  API: /api/error-analytics/  "
        f"({writes}; {ingesting}; {args.workers} worker(s); Ctrl+C stops)",
        file=sys.stderr,
    )
    # one process ingests (no request waits for it, nor it for them); the API processes read
    ingester = IngestionProcess(settings, interval) if interval else None
    if ingester is not None:
        ingester.start()
    try:
        if args.workers > 1:
            # each worker builds its own service from the environment (error_analytics.api.app)
            os.environ.update(_environment(settings))
            uvicorn.run(
                "error_analytics.api.app:served_app",
                factory=True,
                host=args.host,
                port=args.port,
                workers=args.workers,
                log_level=args.log_level,
            )
        else:
            app = create_app(settings, analytics=analytics, reads_ingest=interval is None)
            uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        if ingester is not None:
            ingester.stop()
    return 0


def _environment(settings: Settings) -> dict[str, str]:
    """The settings as the variables :func:`~error_analytics.config.get_settings` reads."""
    values = {
        "ERROR_ANALYTICS_DB": settings.database_target().url,
        "ERROR_ANALYTICS_STATE_DB": settings.state_db,
        "ERROR_ANALYTICS_RULES": settings.rules_file,
        TOKEN_ENV: settings.api_token,
        "ERROR_ANALYTICS_INGEST_INTERVAL": str(settings.ingest_interval_seconds),
    }
    return {name: value for name, value in values.items() if value}
