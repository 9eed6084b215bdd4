"""``analyze-errors``: the command line.

Exit status, the same for every command: 0 when it worked; 2 for a usage or data error (a bad
option or combination of options, a database that is missing or is not one, a cluster that does
not exist, a conflicting change, an unusable input file); 1 only for a bug. Every error is one
``Error: ...`` line on stderr; ``ERROR_ANALYTICS_DEBUG=1`` prints the traceback before it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn, TextIO

from .. import render
from ..analysis.recommendations import DEFAULT_LIMIT, MAX_LIMIT
from ..config import get_settings
from ..documents import View, report_markdown, views_document, window_views
from ..errors import ConfigurationError, ErrorAnalyticsError
from .options import check_combination, check_database_files, database_option
from .progress import terminal_progress
from .review import add_review_flag, register_review_commands, run_review_command, wants_review
from .serve import register_serve_command, run_serve
from .state import register_state_command, run_state_command

EXIT_OK = 0
EXIT_BUG = 1
EXIT_USAGE = 2
DEBUG_ENV = "ERROR_ANALYTICS_DEBUG"

EXIT_STATUS = """\
Exit status:
  0  it worked
  2  usage or data error: a bad option or combination of options, a database that is missing
     or is not a database, an unknown cluster, a conflicting change, an unusable input file
  1  a bug (please report it)
  Each error is one line on stderr, "Error: ..."; ERROR_ANALYTICS_DEBUG=1 adds the traceback.
"""

EXAMPLES = (
    """\
Examples:
  analyze-errors --demo                       report on a built-in demo database
  analyze-errors --db app/server/db/database.db --days 7 --patterns
  analyze-errors --db postgresql://user:pw@localhost/adw --phase --json
  analyze-errors --report --output weekly.md --days 7
  analyze-errors --report --json --output weekly.json
  analyze-errors --cluster --days 14          discovered error clusters
  analyze-errors --cluster --input errors.txt --json
  analyze-errors --review --demo              review new clusters one at a time
  analyze-errors clusters list --status new   (see: analyze-errors clusters --help)
  analyze-errors serve --demo                 HTTP API and dashboard on http://127.0.0.1:8765/

"""
    + EXIT_STATUS
)

VIEW_FLAGS = ("summary", "phase", "patterns", "trends", "recommendations")
DEFAULT_REPORT = "error_analysis_report"


class CommandLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``Error: ...`` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"Error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(
        prog="analyze-errors",
        description="Why do our AI developer workflows fail? Summary, phases, patterns, trends, "
        "recommendations and discovered error clusters from the workflow database.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_argument_group("where the data comes from")
    source.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="SQLite file or SQLAlchemy URL (sqlite:///..., "
        "postgresql://...). Default: $ERROR_ANALYTICS_DB, else the host's DB_TYPE/POSTGRES_* "
        "settings, else app/server/db/database.db",
    )
    source.add_argument(
        "--demo",
        action="store_true",
        help="use the built-in demo database (built on first use "
        "in $ERROR_ANALYTICS_DEMO_DB, else $XDG_DATA_HOME/error-analytics/demo.db, else "
        "~/.local/share/error-analytics/demo.db; reused afterwards, its path printed on stderr)",
    )
    source.add_argument(
        "--demo-layout",
        choices=("spec", "host"),
        default="spec",
        help="layout of the demo database: spec (failure_reason, phase_errors) or host "
        "(error_message, task_logs, ...). Default: spec",
    )
    source.add_argument(
        "--demo-add-days",
        type=int,
        metavar="N",
        help="with --demo: first append N more days of "
        "runs (the same kinds of failures plus a brand-new one), to see how clusters and review "
        "decisions carry over to new data",
    )
    source.add_argument(
        "--rules",
        metavar="FILE",
        help="TOML rules file that adds or overrides categories, "
        "keywords and masks (see docs/rules-file.md)",
    )
    source.add_argument(
        "--days",
        type=_days,
        default=30,
        help="analyse runs of the last N days (1-3650, default 30)",
    )
    views = parser.add_argument_group("views (default: --summary)")
    views.add_argument(
        "--summary", action="store_true", help="totals, failure rate, top error patterns"
    )
    views.add_argument(
        "--phase", action="store_true", help="errors and failure rate per workflow phase"
    )
    views.add_argument(
        "--patterns",
        action="store_true",
        help="error patterns: each category with its largest clusters",
    )
    views.add_argument(
        "--trends", action="store_true", help="daily failure rate, direction, spike days"
    )
    views.add_argument("--recommendations", action="store_true", help="what to fix first, ranked")
    views.add_argument(
        "--limit",
        type=_limit,
        default=None,
        metavar="N",
        help="with --recommendations or --report: list at most N recommendations (1-1000, "
        "default 10)",
    )
    views.add_argument("--cluster", action="store_true", help="discover recurring error clusters")
    views.add_argument(
        "--report",
        action="store_true",
        help="write one document with every section: Markdown, or JSON with --json (to "
        f"--output, default {DEFAULT_REPORT}.md or .json); takes no other view",
    )
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output",
        metavar="FILE",
        help="write what would be printed to FILE instead (text, or JSON with --json); "
        "for --report, where the report goes",
    )
    output.add_argument(
        "--json", action="store_true", help="print the views as JSON instead of text"
    )
    output.add_argument(
        "--input",
        metavar="FILE",
        help="with --cluster: cluster the messages of FILE ('-' for "
        "stdin) instead of the database: one message per line, or JSON Lines with a 'message' "
        "field (.jsonl suffix or a first character '{'); blank lines are skipped, binary lines "
        "are skipped and counted, a mostly binary file is refused",
    )
    output.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    output.add_argument(
        "--no-state",
        action="store_true",
        help="cluster without the review state: ids are not "
        "kept and nothing is written (by default clusters keep stable ids and review decisions "
        "in the state database)",
    )
    add_review_flag(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_review_commands(subparsers)
    register_serve_command(subparsers)
    register_state_command(subparsers)
    return parser


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= value <= 3650:
        raise argparse.ArgumentTypeError(f"{value} is outside 1-3650")
    return value


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"{value} is outside 1-{MAX_LIMIT}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``analyze-errors``; returns the exit status (see the module docstring)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(argv, sys.stdout)
    except ErrorAnalyticsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # the last edge: no traceback for users
        database_message = _database_failure(exc)
        if database_message is not None:
            return _fail(database_message, EXIT_USAGE)
        return _fail(
            f"unexpected {type(exc).__name__}: {_first_line(str(exc))} "
            f"(a bug; set {DEBUG_ENV}=1 for details)",
            EXIT_BUG,
        )


def _fail(message: str, status: int) -> int:
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc(file=sys.stderr)
    print(f"Error: {_first_line(message)}", file=sys.stderr)
    return status


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


def _database_failure(exc: Exception) -> str | None:
    """The one-line reason when the database itself failed (a damaged file, a lost connection,
    a lock), which is not a bug of ours; None for anything else. A query the database finds
    wrong (``ProgrammingError`` and the like) stays a bug."""
    from sqlalchemy import exc as sa_exc

    if not (isinstance(exc, sa_exc.OperationalError) or type(exc) is sa_exc.DatabaseError):
        return None
    return f"the database failed: {_first_line(str(exc.orig or exc))}"


def _run(argv: list[str], out: TextIO) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_combination(args, parser)
    if args.demo_add_days:
        _demo_database(args, parser)  # grow it first, whichever command then reads it
    if getattr(args, "command", None) == "serve":
        return run_serve(args)
    if getattr(args, "command", None) == "state":
        return run_state_command(args, out)
    if wants_review(args):
        return run_review_command(args, out)
    if args.report and not args.output:
        args.output = f"{DEFAULT_REPORT}.{'json' if args.json else 'md'}"
    buffer = io.StringIO()
    target = buffer if args.output else out
    if args.input is not None:
        from .cluster_input import cluster_input_file

        status = cluster_input_file(args, target)
    else:
        status = _views(args, parser, target)
    if args.output:
        _write_output(args.output, buffer.getvalue())
    return status


def _write_output(location: str, text: str) -> None:
    path = Path(location)
    if path.is_dir():
        raise ConfigurationError(f"--output is a directory, not a file: {location}")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {location}: {exc.strerror}") from exc
    print(f"Written to {location}", file=sys.stderr)


def _views(args: argparse.Namespace, parser: argparse.ArgumentParser, out: TextIO) -> int:
    from ..service import ErrorAnalyticsService

    settings = get_settings()
    db = _demo_database(args, parser) or args.db
    settings = settings.with_overrides(db=db, rules_file=args.rules, state_db=args.state_db)
    check_database_files(settings)
    service = ErrorAnalyticsService.from_settings(settings, review_state=not args.no_state)
    snapshot = service.snapshot(args.days)

    chosen = [name for name in VIEW_FLAGS if getattr(args, name)]
    if not chosen and not args.cluster and not args.report:
        chosen = ["summary"]
    if args.report:
        chosen = list(VIEW_FLAGS)
    if args.cluster or set(chosen) - {"phase"}:
        # every view but --phase is built from the window's clusters: find them once, here,
        # where a progress bar can show it (the views below reuse them with the snapshot)
        progress = terminal_progress("Clustering", enabled=not (args.json or args.no_progress))
        service.cluster_errors(args.days, snapshot=snapshot, progress=progress)
        if service.state_note:
            print(f"Note: {service.state_note}", file=sys.stderr)

    wanted = {View.BY_PHASE if name == "phase" else View(name) for name in chosen}
    if "summary" in chosen:
        wanted.add(View.PATTERNS)  # the text summary lists the top patterns
    if args.cluster or args.report:
        wanted.add(View.CLUSTERS)
    results = window_views(
        service, args.days, wanted, recommendation_limit=args.limit or DEFAULT_LIMIT
    )

    if args.json:
        views = {"phase": "by_phase"}
        shown = {views.get(name, name) for name in chosen} | (
            {"clusters"} if args.cluster or args.report else set()
        )
        payload = views_document(
            args.days,
            {name: value for name, value in results.items() if name in shown},
            quality=snapshot.quality,
        )
        json.dump(payload, out, indent=2)
        out.write("\n")
        return EXIT_OK
    if args.report:
        out.write(report_markdown(args.days, results, datetime.now()))
        return EXIT_OK

    lines = render.header(args.days)
    if "summary" in chosen:
        lines += render.summary_lines(results["summary"], results["patterns"])
    elif "patterns" in chosen:
        lines += render.pattern_lines(results["patterns"])
    if "phase" in chosen:
        lines += render.phase_lines(results["by_phase"])
    if "trends" in chosen:
        lines += render.trend_lines(results["trends"])
    if "recommendations" in chosen:
        lines += render.recommendation_lines(results["recommendations"])
    if args.cluster:
        lines += render.cluster_lines(results["clusters"], limit=25)
    lines += render.quality_lines(snapshot.quality)
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


def _demo_database(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    """With ``--demo``: the demo database's path (built on first use, grown by --demo-add-days once)."""
    if not args.demo:
        return None
    if args.db:
        parser.error("--demo and --db exclude each other")
    path = str(database_option(None, True, args.demo_layout))
    if args.demo_add_days:
        from ..demo import add_days_of_runs

        if not 1 <= args.demo_add_days <= 365:
            parser.error("--demo-add-days takes 1 to 365")
        added = add_days_of_runs(
            path, days=args.demo_add_days, seed=int(datetime.now().timestamp()) // 60
        )
        print(
            f"Added {added.runs} runs ({added.failed} failed) over the last {args.demo_add_days} days",
            file=sys.stderr,
        )
        args.demo_add_days = None  # once
    return path


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
