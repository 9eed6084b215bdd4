"""``analyze-errors state rebuild``: recompute the index of errors from scratch.

The index (the runs and errors the views aggregate, :mod:`error_analytics.review.ingest`) is
emptied and every run read again; clusters, templates and review decisions stay, so cluster
ids do not change. Incremental ingestion answers the same (a test proves it); a rebuild is for
after a change of rules that should re-read old errors, or to be sure.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from ..documents import to_jsonable
from .progress import terminal_progress
from .review import _service, shared_options


def register_state_command(subparsers: argparse._SubParsersAction) -> None:
    state = subparsers.add_parser(
        "state",
        help="maintain the toolkit's own state (the index of errors)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    actions = state.add_subparsers(dest="state_command", metavar="ACTION", required=True)
    actions.add_parser(
        "rebuild",
        parents=[shared_options()],
        help="empty the index of errors and read every run again (clusters and decisions stay)",
    )


def run_state_command(args: argparse.Namespace, out: TextIO) -> int:
    service, _settings = _service(args, "rebuild")
    as_json = bool(getattr(args, "json", False))
    result = service.refresh(
        getattr(args, "days", None) or 30,
        progress=terminal_progress("Rebuilding the index", enabled=not as_json),
        rebuild=True,
    )
    if as_json:
        json.dump(to_jsonable(result), out, indent=2)
        out.write("\n")
    else:
        out.write(
            f"Rebuilt the index: {result.runs_read} runs read, {result.events_seen} errors, "
            f"{result.new_clusters} new clusters.\n"
        )
    sys.stderr.flush()
    return 0
