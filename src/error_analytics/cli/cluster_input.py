"""``analyze-errors --cluster --input FILE``: cluster messages from a file instead of the database.

Plain text: one message per line; blank lines are skipped (they are not messages), so
``assignments`` has one entry per non-blank line, in order. JSON Lines (a ``.jsonl`` suffix or a
first character ``{``): one object per line with a ``message`` field; lines that are not valid
JSON objects with a text ``message`` are skipped and listed under ``skipped`` with their line
numbers. Binary lines (not UTF-8 text) are skipped and listed the same way; a file that is
mostly binary is refused with an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from ..errors import InputError
from ..models import to_jsonable
from .parsing_input import read_messages


def cluster_input_file(args: argparse.Namespace, out: TextIO) -> int:
    from .. import render
    from ..clustering import cluster_messages
    from ..rules import default_rules, load_rules

    rules = load_rules(args.rules) if args.rules else default_rules()
    messages, skipped = read_messages(args.input)
    if not messages:
        raise InputError(
            f"no messages in {args.input}"
            + (f" ({len(skipped)} unusable lines)" if skipped else "")
        )
    result = cluster_messages(messages, rules=rules)
    if args.json:
        payload: dict[str, Any] = {
            "clusters": to_jsonable(result.clusters),
            "assignments": list(result.labels),
        }
        if skipped:
            payload["skipped"] = [{"line": line, "reason": reason} for line, reason in skipped]
        json.dump(payload, out, indent=2)
        out.write("\n")
    else:
        lines = [f"{len(messages)} messages from {args.input}, {len(result.clusters)} clusters"]
        if skipped:
            lines[0] += f" ({len(skipped)} lines skipped: see stderr)"
        lines += render.cluster_lines(result.clusters, limit=25)
        out.write("\n".join(lines) + "\n")
    for line, reason in skipped[:10]:
        print(f"Skipped line {line}: {reason}", file=sys.stderr)
    if len(skipped) > 10:
        print(f"Skipped {len(skipped) - 10} more lines", file=sys.stderr)
    if skipped:
        print(f"Skipped {len(skipped)} of {len(skipped) + len(messages)} lines", file=sys.stderr)
    return 0
