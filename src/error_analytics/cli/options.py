"""Option handling shared by the ``analyze-errors`` commands (report, ``clusters``, ``serve``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Settings
from ..errors import ConfigurationError, DatabaseUnavailableError

#: The view flags of the main command, as ``argparse`` names them.
VIEW_OPTIONS = ("summary", "phase", "patterns", "trends", "recommendations", "cluster", "report")
#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"


def database_option(db: str | None, demo: bool, layout: str | None) -> str | None:
    """The database that ``--db``/``--demo`` name: with ``--demo`` the demo file's path (built on
    first use, reused after, announced on stderr); else ``db`` as given (None: from settings)."""
    if not demo:
        return db
    if db:
        raise ConfigurationError("--demo and --db exclude each other")
    from ..demo import ensure_demo_database

    path = str(ensure_demo_database(layout=layout or "spec"))
    print(f"Using demo database: {path}", file=sys.stderr)
    return path


def check_database_files(settings: Settings) -> None:
    """Refuse, in one line, a SQLite path (analysed or state database) that is a directory or a
    file that is not a SQLite database, before the driver fails on it with a long message."""
    targets = [settings.database_target()]
    if settings.state_db:
        targets.append(settings.state_database_target())
    for target in targets:
        path = _sqlite_path(target.url)
        if path is None:
            continue
        if path.is_dir():
            raise DatabaseUnavailableError(
                f"{path} is a directory, not a database file (from {target.origin})"
            )
        try:
            with path.open("rb") as file:
                header = file.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            continue  # the engine says what was tried (or the state database is created)
        except OSError as exc:
            raise DatabaseUnavailableError(f"cannot read {path}: {exc.strerror}") from exc
        if header and header != SQLITE_HEADER:
            raise DatabaseUnavailableError(f"not a SQLite database: {path} (from {target.origin})")


def _sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # the engine reports the bad URL
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def check_combination(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Refuse, with a message, every combination of options that would be ignored."""
    views = [f"--{name}" for name in VIEW_OPTIONS if getattr(args, name) is True]
    command = getattr(args, "command", None)
    interactive = args.review or getattr(args, "clusters_command", None) == "review"
    if args.demo_add_days and not args.demo:
        parser.error("--demo-add-days works with --demo")
    if getattr(args, "limit", None) is not None and not (args.recommendations or args.report):
        parser.error("--limit works with --recommendations or --report")
    if command is not None:
        given = views + [
            flag
            for flag, value in (("--output", args.output), ("--input", args.input))
            if value is not None
        ]
        if args.review and command == "clusters":
            given.append("--review")
        if given:
            parser.error(f"{given[0]} does not apply to `{command}`: leave it out")
        if command == "serve" and args.json:
            parser.error("--json does not apply to `serve`: the API answers JSON")
    if interactive:
        refused = views + [
            flag
            for flag, value in (
                ("--json", args.json),
                ("--output", args.output),
                ("--input", args.input),
            )
            if value
        ]
        if refused:
            parser.error(f"--review is interactive on the terminal: it does not take {refused[0]}")
    if args.input is not None:
        if not args.cluster:
            parser.error("--input works with --cluster")
        others = [flag for flag in views if flag != "--cluster"]
        for flag, value in (("--db", args.db), ("--demo", args.demo)):
            if value:
                others.append(flag)
        if others:
            parser.error(
                f"--cluster --input clusters a file, not the database: leave out {others[0]}"
            )
    if args.report and len(views) > 1:
        extra = next(flag for flag in views if flag != "--report")
        parser.error(f"--report has every section already: leave out {extra}")
