"""``analyze-errors clusters ...`` and ``analyze-errors --review``: the review workflow on a terminal.

``cli/main.py`` wires this module in with three calls (see ``docs/review.md``)::

    add_review_flag(parser)                         # --review, --state-db, --actor
    register_review_commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    ...
    if wants_review(args):
        return run_review_command(args, out)

Options shared with the main command (``--db``, ``--days``, ``--json``, ...) are accepted
before or after ``clusters ACTION``; given after, they default to "not given" so they never
override the main parser's values.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TextIO

from ..config import DEFAULT_RULES_FILE, Settings, get_settings
from ..errors import InputError, NotFoundError
from ..models import ClusterSort, ClusterStatus, Phase, to_jsonable
from ..service import ErrorAnalyticsService
from .options import check_database_files, database_option
from .progress import terminal_progress

if TYPE_CHECKING:  # clustering (scikit-learn) loads when a review command runs
    from ..review import ClusterReviewService

EXAMPLES = """\
Examples (the ids are those of the demo database, --demo):
  analyze-errors --review --demo                  review the new clusters one at a time
  analyze-errors --demo clusters list --status new
  analyze-errors --demo clusters show c7e340af8e3 --days 90
  analyze-errors --demo clusters rename c7e340af8e3 "Playwright browser missing"
  analyze-errors --demo clusters set-category c7e340af8e3 import_error
  analyze-errors --demo clusters merge c97e7248e38 --into c0bd4e0f126
  analyze-errors --demo clusters split ccb8b996552 --template a0e91ffe47f3
  analyze-errors --demo clusters ignore c546d2e70de --until 2030-01-01
  analyze-errors --demo clusters resolve c8c37af54a2
  analyze-errors --demo clusters audit --cluster c7e340af8e3
  analyze-errors --demo clusters undo 6           undo action 6 of the audit log (the resolve)
  analyze-errors --demo clusters promote c7e340af8e3 --keyword "Executable doesn't exist" --category import_error

Exit status: 0 ok; 2 usage or data error (bad option, no such cluster or action, a conflicting
change, a database that cannot be used); 1 a bug. Errors are one "Error: ..." line on stderr.
"""


def default_actor() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser() or "cli"
    except (KeyError, OSError):  # no user name in a container
        return "cli"


def add_review_flag(parser: argparse.ArgumentParser) -> None:
    """``--review`` (interactive), ``--state-db`` and ``--actor`` on the main parser."""
    group = parser.add_argument_group("review (docs/review.md)")
    group.add_argument(
        "--review",
        action="store_true",
        help="walk through the new clusters one at a time on the "
        "terminal: accept, rename, set category, merge into..., ignore, skip, quit",
    )
    _state_options(group, default=None)


def _state_options(group: Any, default: Any) -> None:
    group.add_argument(
        "--state-db",
        metavar="PATH_OR_URL",
        default=default,
        help="where the review state (our own "
        "ea_* tables) lives: SQLite file or SQLAlchemy URL. Default: $ERROR_ANALYTICS_STATE_DB, else "
        "beside the analysed database: a file next to SQLite, schema error_analytics on "
        "PostgreSQL (the analysed tables are never written)",
    )
    group.add_argument(
        "--actor", default=default, help="name recorded in the audit log (default: $USER)"
    )


def shared_options() -> argparse.ArgumentParser:
    """Options every ``clusters`` action takes; "not given" unless given after the action."""
    shared = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    group = shared.add_argument_group("data and output")
    group.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="analysed database: SQLite file or SQLAlchemy URL "
        "(default: $ERROR_ANALYTICS_DB, else the host's DB_TYPE/POSTGRES_* settings)",
    )
    group.add_argument("--demo", action="store_true", help="use the built-in demo database")
    group.add_argument(
        "--demo-layout", choices=("spec", "host"), help="layout of the demo database (default spec)"
    )
    group.add_argument(
        "--rules",
        metavar="FILE",
        help="TOML rules file (categories, keywords, masks); "
        f"promote writes to it (default: $ERROR_ANALYTICS_RULES, else ./{DEFAULT_RULES_FILE})",
    )
    group.add_argument(
        "--days",
        type=int,
        help="the window, in days (1-3650, default 30): the errors read, and the errors "
        "that list and show count (all-time figures are labelled as such)",
    )
    group.add_argument("--json", action="store_true", help="print JSON instead of text")
    group.add_argument(
        "--no-refresh", action="store_true", help="do not read new errors before listing/showing"
    )
    _state_options(group, default=argparse.SUPPRESS)
    return shared


def register_review_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``clusters ACTION ...`` to the main parser's subparsers; returns the ``clusters`` parser."""
    shared = shared_options()
    formatter = argparse.RawDescriptionHelpFormatter
    clusters = subparsers.add_parser(
        "clusters",
        help="list, show and review persisted error clusters",
        epilog=EXAMPLES,
        description="Persisted error clusters with stable ids, and the review actions. Every action is recorded "
        "in the audit log and can be undone.",
        formatter_class=formatter,
    )
    actions = clusters.add_subparsers(dest="clusters_command", metavar="ACTION", required=True)

    def add(name: str, help_text: str, *examples: str) -> argparse.ArgumentParser:
        return actions.add_parser(
            name,
            parents=[shared],
            help=help_text,
            description=help_text,
            epilog="Example (on the demo database, --demo):\n  " + "\n  ".join(examples),
            formatter_class=formatter,
        )

    listing = add(
        "list",
        "list the clusters with errors in the last --days days, with filters",
        "analyze-errors clusters list --status new --sort last_seen",
        "analyze-errors --demo clusters list --days 7",
    )
    listing.add_argument(
        "--status",
        help=f"{', '.join(ClusterStatus)} (every cluster in that status, also those without "
        "errors in the window)",
    )
    listing.add_argument("--category", help="a category key, e.g. import_error or unknown")
    listing.add_argument(
        "--phase",
        dest="phase_filter",  # not the main parser's --phase view
        metavar="PHASE",
        type=_phase,
        help="a workflow phase: "
        + ", ".join(phase.value for phase in Phase.ordered())
        + " (any case, or a spelling such as testing or docs)",
    )
    listing.add_argument(
        "--search", metavar="TEXT", help="text in the id, name, category or templates"
    )
    listing.add_argument(
        "--sort",
        default=ClusterSort.SIZE.value,
        choices=[sort.value for sort in ClusterSort],
        help=f"order (default {ClusterSort.SIZE})",
    )
    listing.add_argument(
        "--limit",
        dest="page_limit",  # not the main parser's --limit (recommendations)
        type=int,
        default=50,
        help="clusters per page (default 50)",
    )
    listing.add_argument("--offset", type=int, default=0, help="clusters to skip (default 0)")
    show = add(
        "show",
        "one cluster in the last --days days: templates, examples, what is over-represented "
        "(phase, model, workflow template against all errors), runs, series and history",
        "analyze-errors --demo clusters show c7e340af8e3",
        "analyze-errors --demo clusters show c7e340af8e3 --days 90",
    )
    show.add_argument("cluster_id", metavar="ID")
    add(
        "refresh",
        "read the window's new errors into the clusters",
        "analyze-errors --demo clusters refresh --days 7",
    )
    add(
        "review",
        "walk through the new clusters one at a time (same as --review)",
        "analyze-errors --demo clusters review",
    )
    for name, help_text, examples in (
        ("accept", "mark a cluster reviewed", ()),
        (
            "unignore",
            "end a mute now",
            ("analyze-errors --demo clusters ignore c546d2e70de",),
        ),
        ("resolve", "mark a cluster fixed; it regresses when it occurs again", ()),
    ):
        parser = add(
            name, help_text, *examples, f"analyze-errors --demo clusters {name} c546d2e70de"
        )
        parser.add_argument("cluster_id", metavar="ID")
        _if_version(parser)
    rename = add(
        "rename",
        "give a cluster a name",
        'analyze-errors --demo clusters rename c7e340af8e3 "Browser missing"',
    )
    rename.add_argument("cluster_id", metavar="ID")
    rename.add_argument("name", metavar="NAME")
    _if_version(rename)
    category = add(
        "set-category",
        "set a cluster's category (a training label for new clusters)",
        "analyze-errors --demo clusters set-category c7e340af8e3 import_error",
    )
    category.add_argument("cluster_id", metavar="ID")
    category.add_argument(
        "category", metavar="KEY", help="one of the five categories, unknown, or a rules-file key"
    )
    _if_version(category)
    merge = add(
        "merge",
        "merge clusters into one: their errors, past and future, go to the target",
        "analyze-errors --demo clusters merge c97e7248e38 --into c0bd4e0f126",
    )
    merge.add_argument("source_ids", metavar="SRC", nargs="+")
    merge.add_argument(
        "--into", dest="target_id", metavar="ID", required=True, help="the cluster that stays"
    )
    _if_version(merge)
    split = add(
        "split",
        "move templates out of a cluster into a new one (the split lasts)",
        "analyze-errors --demo clusters split ccb8b996552 --template a0e91ffe47f3 "
        "--name 'Import at startup'",
    )
    split.add_argument("cluster_id", metavar="ID")
    split.add_argument(
        "--template",
        dest="templates",
        action="append",
        required=True,
        metavar="T",
        help="template text or fingerprint (prefix of 8+ characters), as `clusters show` lists them; "
        "repeat for several",
    )
    split.add_argument("--name", help="name of the new cluster")
    _if_version(split)
    ignore = add(
        "ignore",
        "mute a cluster: forever, until a date, or for N more occurrences",
        "analyze-errors --demo clusters ignore c546d2e70de --occurrences 20",
    )
    ignore.add_argument("cluster_id", metavar="ID")
    until = ignore.add_mutually_exclusive_group()
    until.add_argument("--until", metavar="DATE", help="YYYY-MM-DD (or an ISO date and time)")
    until.add_argument(
        "--occurrences", type=int, metavar="N", help="unmute after N more occurrences"
    )
    _if_version(ignore)
    undo = add(
        "undo",
        "undo a review action (see `clusters audit`)",
        "analyze-errors --demo clusters accept c7e340af8e3     recorded as action 1",
        "analyze-errors --demo clusters undo 1",
    )
    undo.add_argument("action_id", metavar="ACTION_ID", type=int)
    audit = add(
        "audit",
        "the audit log, newest first",
        "analyze-errors --demo clusters audit --cluster c7e340af8e3",
    )
    audit.add_argument(
        "--cluster", dest="cluster_id", metavar="ID", help="only this cluster's actions"
    )
    audit.add_argument(
        "--limit", dest="page_limit", type=int, default=100, help="entries (default 100)"
    )
    alerts = add(
        "alerts",
        "the webhook alerts recorded (new, regressed and spiking clusters), newest first, with "
        "their delivery status",
        "analyze-errors --demo clusters alerts --limit 20",
    )
    alerts.add_argument(
        "--limit", dest="page_limit", type=int, default=100, help="alerts (default 100)"
    )
    promote = add(
        "promote",
        "turn a cluster into a keyword/regex rule: preview its matches, then save it",
        "analyze-errors --demo clusters promote c7e340af8e3 --pattern 'Executable doesn.t exist' "
        "--category import_error --rules rules.toml --yes",
    )
    promote.add_argument("cluster_id", metavar="ID")
    promote.add_argument("--pattern", metavar="REGEX", help="a regular expression")
    promote.add_argument(
        "--keyword",
        dest="keywords",
        action="append",
        metavar="TEXT",
        help="a literal phrase (repeat for several); default: proposed from the template",
    )
    promote.add_argument(
        "--category",
        dest="rule_category",
        metavar="KEY",
        help="category of the rule (default: the cluster's); a new key creates a category",
    )
    promote.add_argument("--yes", action="store_true", help="write without asking")
    return clusters


def _if_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--if-version",
        dest="expected_version",
        type=int,
        metavar="N",
        help="fail instead of overwriting when the cluster (for merge: the target) is no longer at version N",
    )


def wants_review(args: argparse.Namespace) -> bool:
    """Whether the parsed arguments ask for a review command (``clusters ...`` or ``--review``)."""
    return bool(getattr(args, "clusters_command", None) or getattr(args, "review", False))


def _arg(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    value = getattr(args, name, None)
    return default if value is None else value


def _service(args: argparse.Namespace, command: str) -> tuple[ClusterReviewService, Settings]:
    """The review workflow of the service the settings build (the composition root)."""
    rules = _arg(args, "rules")
    if command == "promote" and rules and not os.path.exists(rules):
        rules = None  # promote creates it; until then the built-in rules apply
    db = database_option(_arg(args, "db"), _arg(args, "demo", False), _arg(args, "demo_layout"))
    settings = get_settings().with_overrides(
        db=db, state_db=_arg(args, "state_db"), rules_file=rules
    )
    check_database_files(settings)
    return ErrorAnalyticsService.from_settings(settings).review, settings


def _phase(text: str) -> str:
    """``--phase``: the canonical name of a documented spelling; anything else is refused."""
    from ..rules.phases import normalize_phase

    phase = normalize_phase(text)
    if phase is Phase.UNKNOWN and text.strip().lower() != Phase.UNKNOWN.value.lower():
        names = ", ".join(phase.value for phase in Phase.ordered())
        raise argparse.ArgumentTypeError(f"unknown phase {text!r}: use one of {names}")
    return phase.value


def _parse_until(text: str | None) -> datetime | date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--until wants YYYY-MM-DD or an ISO date and time, not {text!r}"
        ) from None


def run_review_command(args: argparse.Namespace, out: TextIO, answers: TextIO | None = None) -> int:
    """Run ``clusters ACTION`` or ``--review``; ``answers`` replaces stdin for the prompts."""
    command = getattr(args, "clusters_command", None) or "review"
    service, settings = _service(args, command)
    days = _arg(args, "days", 30)
    actor = _arg(args, "actor") or default_actor()
    as_json = bool(_arg(args, "json", False))
    answers = answers or sys.stdin
    from ..review import render

    def emit(value: Any, lines: list[str]) -> int:
        if as_json:
            json.dump(to_jsonable(value), out, indent=2)
            out.write("\n")
        else:
            out.write("\n".join(lines) + "\n")
        return 0

    refreshed = None
    if command in ("list", "show", "review", "refresh") and not _arg(args, "no_refresh", False):
        refreshed = service.refresh(
            days, progress=terminal_progress("Reading errors", enabled=not as_json)
        )
        if not as_json and command != "refresh":
            print("\n".join(render.refresh_lines(refreshed)), file=sys.stderr)
    if command == "refresh":
        return emit(
            refreshed,
            render.refresh_lines(refreshed) if refreshed else ["Not refreshed (--no-refresh)."],
        )
    if command == "review":
        from ..review.walkthrough import Walkthrough

        return Walkthrough(service, out, answers, actor, days=days).run()
    if command == "list":
        page = service.list_clusters(
            status=args.status,
            category=args.category,
            phase=args.phase_filter,
            text=args.search,
            sort=args.sort,
            limit=args.page_limit,
            offset=args.offset,
            days=days,
        )
        return emit(page, render.page_lines(page))
    if command == "show":
        detail = service.get_cluster(args.cluster_id, days)
        return emit(detail, render.detail_lines(detail))
    if command == "audit":
        entries = _with_window_read(
            service,
            args,
            days,
            lambda: service.audit_log(cluster_id=args.cluster_id, limit=args.page_limit),
        )
        return emit(entries, render.audit_lines(entries))
    if command == "alerts":
        recorded = service.alerts(limit=args.page_limit)
        return emit(recorded, render.alert_lines(recorded))
    if command == "undo":
        entry = service.undo(args.action_id, actor=actor)
        return emit(
            entry,
            [f"Undid #{args.action_id} ({entry.cluster_id or '-'}); recorded as #{entry.id}."],
        )
    if command == "promote":
        return _with_window_read(
            service,
            args,
            days,
            lambda: _promote(args, service, settings, actor, out, answers, emit),
        )
    change: dict[str, Callable[[], Any]] = {
        "accept": lambda: service.accept(
            args.cluster_id, actor=actor, expected_version=args.expected_version
        ),
        "rename": lambda: service.rename(
            args.cluster_id, args.name, actor=actor, expected_version=args.expected_version
        ),
        "set-category": lambda: service.set_category(
            args.cluster_id, args.category, actor=actor, expected_version=args.expected_version
        ),
        "merge": lambda: service.merge(
            args.source_ids, args.target_id, actor=actor, expected_version=args.expected_version
        ),
        "split": lambda: service.split(
            args.cluster_id,
            args.templates,
            actor=actor,
            name=args.name,
            expected_version=args.expected_version,
        ),
        "ignore": lambda: service.ignore(
            args.cluster_id,
            actor=actor,
            until=_parse_until(args.until),
            occurrences=args.occurrences,
            expected_version=args.expected_version,
        ),
        "unignore": lambda: service.unignore(
            args.cluster_id, actor=actor, expected_version=args.expected_version
        ),
        "resolve": lambda: service.resolve(
            args.cluster_id, actor=actor, expected_version=args.expected_version
        ),
    }
    cluster = _with_window_read(service, args, days, change[command])
    cluster = service.cluster(cluster.id, days)  # its figures in the window asked for
    verb = {
        "set-category": "Set the category of",
        "split": "Split out",
        "merge": "Merged into",
    }.get(command, command.capitalize() + ("d" if command.endswith("e") else "ed"))
    return emit(cluster, [f"{verb} {cluster.id}:"] + render.cluster_lines(cluster, examples=1))


def _with_window_read(
    service: Any, args: argparse.Namespace, days: int, action: Callable[[], Any]
) -> Any:
    """``action()``; when it names a cluster the state does not know yet (a fresh database, say,
    whose clusters ``--cluster`` printed but no ``clusters`` command has read), the window's
    errors are read into the state first and the action is tried once more."""
    try:
        return action()
    except NotFoundError:
        if _arg(args, "no_refresh", False):
            raise
    service.refresh(days)
    return action()


def _promote(args, service, settings, actor: str, out: TextIO, answers: TextIO, emit) -> int:
    from ..review import render

    rules_file = _arg(args, "rules") or settings.rules_file or DEFAULT_RULES_FILE
    preview = service.preview_rule(
        args.cluster_id,
        pattern=args.pattern,
        keywords=args.keywords,
        category=args.rule_category,
        days=_arg(args, "days", 30),
        rules_file=rules_file,
    )
    if not args.yes:
        if _arg(args, "json", False) or not answers.isatty():
            emit(preview, render.preview_lines(preview))
            print(f"Not written: pass --yes to add the rule to {rules_file}.", file=sys.stderr)
            return 0
        out.write("\n".join(render.preview_lines(preview)) + "\n")
        out.write(f"Write this rule to {rules_file}? [y/N] ")
        out.flush()
        if answers.readline().strip().lower() not in ("y", "yes"):
            out.write("Not written.\n")
            return 0
    cluster = service.promote_to_rule(
        args.cluster_id,
        category=preview.category,
        rules_file=rules_file,
        actor=actor,
        pattern=preview.pattern,
        keywords=preview.keywords,
    )
    return emit(
        {"preview": preview, "cluster": cluster},
        render.preview_lines(preview)
        + [f"Rule written to {rules_file}; {cluster.id} is now {cluster.category}."],
    )
