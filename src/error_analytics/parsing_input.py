"""Reading messages to cluster from a text or JSON Lines file (or stdin)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .errors import InputError


def read_messages(location: str) -> tuple[list[str], list[tuple[int, str]]]:
    """``(messages, skipped)`` where ``skipped`` lists ``(line number, reason)``."""
    if location == "-":
        raw = sys.stdin.buffer.read()
        is_jsonl = False
    else:
        path = Path(location)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"input file not found: {location}") from None
        except IsADirectoryError:
            raise InputError(f"input is a directory, not a file: {location}") from None
        except OSError as exc:
            raise InputError(f"cannot read {location}: {exc.strerror}") from None
        is_jsonl = path.suffix.lower() == ".jsonl"
    text = raw.decode("utf-8", errors="replace").replace("\x00", "")
    if not is_jsonl:
        is_jsonl = text.lstrip()[:1] == "{"
    lines = text.splitlines()
    messages: list[str] = []
    skipped: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if not is_jsonl:
            messages.append(line)
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            skipped.append((number, "malformed JSON"))
            continue
        message = record.get("message") if isinstance(record, dict) else None
        if not isinstance(message, str) or not message.strip():
            skipped.append((number, "no text 'message' field"))
            continue
        messages.append(message)
    return messages, skipped
