"""``ErrorAnalysisCLI``: the command-line class of the host application's original module.

The host's ``scripts/analyze_errors.py`` built ``ErrorAnalysisCLI()`` and called one method per
flag: :meth:`~ErrorAnalysisCLI.show_summary`, :meth:`~ErrorAnalysisCLI.show_phase_breakdown`,
:meth:`~ErrorAnalysisCLI.show_patterns`, :meth:`~ErrorAnalysisCLI.show_trends`,
:meth:`~ErrorAnalysisCLI.show_recommendations` and :meth:`~ErrorAnalysisCLI.generate_report`.
The same class is here, over :class:`~error_analytics.service.ErrorAnalyticsService`: each
``show_*`` method prints one view under the ``ERROR ANALYSIS - Last N Days`` banner, in the
text of :mod:`error_analytics.render` (the ``analyze-errors`` views), followed by the data
quality notes. Its patterns are the keyword categories; discovered clusters are the
``analyze-errors --cluster`` view (the Markdown report lists both).

:func:`main` is ``scripts/analyze_errors.py``: it takes every ``analyze-errors`` option. The
host's own flags (``--days``, ``--summary``, ``--phase``, ``--patterns``, ``--trends``,
``--recommendations``, or ``--report`` with ``--output``; with ``--db``, ``--demo``, ``--rules``)
run through :class:`ErrorAnalysisCLI`, one banner per view as the host printed them; anything
else (``--json``, ``--cluster``, ``--output`` for a view, ``clusters ...``, ``serve``, ...) is
``analyze-errors`` itself. Exit statuses and error lines are those of ``analyze-errors``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from .. import render
from ..config import get_settings
from ..errors import ConfigurationError, ErrorAnalyticsError
from ..service import ErrorAnalyticsService, Snapshot
from .main import DEBUG_ENV, EXIT_BUG, EXIT_OK, EXIT_USAGE, build_parser
from .main import main as analyze_errors
from .options import check_database_files, database_option
from .review import wants_review

DEFAULT_REPORT = "error_analysis_report.md"  # the host's default

#: flag of ``analyze-errors`` -> the ErrorAnalysisCLI method that shows it, in output order
FLAG_TO_METHOD = {
    "summary": "show_summary",
    "phase": "show_phase_breakdown",
    "patterns": "show_patterns",
    "trends": "show_trends",
    "recommendations": "show_recommendations",
}


class ErrorAnalysisCLI:
    """Prints the analyses of one workflow database, one view per method.

    ``ErrorAnalysisCLI()`` builds its service from the environment, like the host's original
    (``ERROR_ANALYTICS_DB``, else ``DB_TYPE`` / ``POSTGRES_*``); pass ``service`` to choose the
    database, and ``out`` to print somewhere other than standard output.
    """

    def __init__(
        self, service: ErrorAnalyticsService | None = None, *, out: TextIO | None = None
    ) -> None:
        self.service = service if service is not None else ErrorAnalyticsService()
        self._out = out

    def show_summary(self, days: int = 30) -> None:
        """Totals, failure rate, the most problematic phase and the top error patterns."""
        snapshot = self.service.snapshot(days)
        summary = self.service.get_error_summary(days, snapshot=snapshot)
        patterns = self.service.find_error_patterns(days, snapshot=snapshot)
        self._print(days, render.summary_lines(summary, patterns), snapshot)

    def show_phase_breakdown(self, days: int = 30) -> None:
        """Errors and failure rate per workflow phase."""
        snapshot = self.service.snapshot(days)
        breakdown = self.service.analyze_by_phase(days, snapshot=snapshot)
        self._print(days, render.phase_lines(breakdown), snapshot)

    def show_patterns(self, days: int = 30) -> None:
        """The error patterns: each category with its largest clusters and a recommendation."""
        snapshot = self.service.snapshot(days)
        patterns = self.service.find_error_patterns(days, snapshot=snapshot)
        self._print(days, render.pattern_lines(patterns), snapshot)

    def show_trends(self, days: int = 30) -> None:
        """Direction, spike days and the daily failure rate."""
        snapshot = self.service.snapshot(days)
        trend = self.service.get_failure_trends(days, snapshot=snapshot)
        self._print(days, render.trend_lines(trend), snapshot)

    def show_recommendations(self, days: int = 30) -> None:
        """What to fix first."""
        snapshot = self.service.snapshot(days)
        recommendations = self.service.get_debugging_recommendations(days, snapshot=snapshot)
        self._print(days, render.recommendation_lines(recommendations), snapshot)

    def generate_report(
        self,
        output_file: str | os.PathLike[str] | None = None,
        days: int = 30,
        *,
        output: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Write the Markdown report with every section (and the window's clusters) to
        ``output_file`` (or ``output``; default ``error_analysis_report.md``); return its path."""
        if output_file is not None and output is not None:
            raise TypeError("give output_file or output, not both")
        path = Path(output_file or output or DEFAULT_REPORT)
        service = self.service
        snapshot = service.snapshot(days)
        text = render.markdown_report(
            days=days,
            summary=service.get_error_summary(days, snapshot=snapshot),
            breakdown=service.analyze_by_phase(days, snapshot=snapshot),
            patterns=service.find_error_patterns(days, snapshot=snapshot),
            trend=service.get_failure_trends(days, snapshot=snapshot),
            recommendations=service.get_debugging_recommendations(days, snapshot=snapshot),
            clusters=service.cluster_errors(days, snapshot=snapshot),
            generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot write the report to {path}: {exc.strerror}") from exc
        print(f"Report written to {path}", file=sys.stderr)  # as analyze-errors --report
        return path

    def _print(self, days: int, lines: list[str], snapshot: Snapshot) -> None:
        text = render.header(days) + lines + render.quality_lines(snapshot.quality)
        self._stream().write("\n".join(text) + "\n")

    def _stream(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout


def main(argv: Sequence[str] | None = None) -> int:
    """``scripts/analyze_errors.py``: the host's flags through :class:`ErrorAnalysisCLI`, every
    other ``analyze-errors`` option through :func:`error_analytics.cli.main`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)  # the options, help and usage errors of analyze-errors
    if not _host_flags_only(args):
        return analyze_errors(argv)
    return _one_line_errors(lambda: _run(args))


def _host_flags_only(args: argparse.Namespace) -> bool:
    """Whether the arguments are an invocation the host's own script knew: views, or
    ``--report`` alone (with ``--output``), on a database chosen by ``--db``/``--demo``."""
    views = [flag for flag in FLAG_TO_METHOD if getattr(args, flag)]
    return not (
        getattr(args, "command", None)
        or wants_review(args)
        or args.json
        or args.cluster
        or args.input is not None
        or args.demo_add_days
        or args.state_db
        or (args.db and args.demo)
        or (args.report and views)
        or (args.output is not None and not args.report)
    )


def _run(args: argparse.Namespace) -> int:
    db = database_option(args.db, args.demo, args.demo_layout)
    settings = get_settings().with_overrides(db=db, rules_file=args.rules)
    check_database_files(settings)
    host_cli = ErrorAnalysisCLI(ErrorAnalyticsService.from_settings(settings))
    if args.report:
        host_cli.generate_report(output_file=args.output, days=args.days)
        return EXIT_OK
    chosen = [flag for flag in FLAG_TO_METHOD if getattr(args, flag)] or ["summary"]
    for flag in chosen:
        getattr(host_cli, FLAG_TO_METHOD[flag])(days=args.days)
    return EXIT_OK


def _one_line_errors(run: Callable[[], int]) -> int:
    """The exit statuses and one-line messages of ``analyze-errors`` (see :mod:`.main`)."""
    try:
        return run()
    except ErrorAnalyticsError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # the last edge: no traceback for users
        return _fail(f"unexpected {type(exc).__name__}: {exc} (a bug)", EXIT_BUG)


def _fail(message: str, status: int) -> int:
    if os.environ.get(DEBUG_ENV):
        traceback.print_exc(file=sys.stderr)
    first_line = next((line for line in message.splitlines() if line.strip()), message)
    print(f"Error: {first_line.strip()}", file=sys.stderr)
    return status
