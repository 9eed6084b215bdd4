"""Reading messages to cluster from a text or JSON Lines file (or stdin).

A line that is not UTF-8 text (invalid UTF-8, NUL bytes, mostly control characters) is binary:
it is skipped and reported with its line number, never clustered. A file whose non-blank lines
are mostly binary is refused, since clustering it would only produce noise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import InputError
from ..store.parsing import replace_surrogates

#: Refuse a file when more than this share of its non-blank lines is binary.
BINARY_SHARE_REFUSED = 0.5
#: A line with more than this share of control characters (other than tab, CR, ESC) is binary.
CONTROL_SHARE_BINARY = 0.1
BINARY_REASON = "binary data, not UTF-8 text"
_TEXT_CONTROLS = frozenset("\t\r\x1b\x0c")


def read_messages(location: str) -> tuple[list[str], list[tuple[int, str]]]:
    """``(messages, skipped)`` where ``skipped`` lists ``(line number, reason)``.

    Raises :class:`InputError` for a file that cannot be read or is mostly binary.
    """
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
    numbered = _text_lines(raw.removeprefix(b"\xef\xbb\xbf"))
    binary = [number for number, line in numbered if line is None]
    if binary and len(binary) > BINARY_SHARE_REFUSED * len(numbered):
        raise InputError(
            f"{location} looks like a binary file: {len(binary)} of {len(numbered)} lines "
            "are not UTF-8 text (give a text or JSON Lines file)"
        )
    if not is_jsonl:
        first = next((line for _, line in numbered if line is not None), "")
        is_jsonl = first.lstrip()[:1] == "{"
    messages: list[str] = []
    skipped: list[tuple[int, str]] = []
    for number, line in numbered:
        if line is None:
            skipped.append((number, BINARY_REASON))
            continue
        if not is_jsonl:
            messages.append(line)
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # ValueError: also integers over 4,300 digits
            skipped.append((number, "malformed JSON"))
            continue
        message = record.get("message") if isinstance(record, dict) else None
        if not isinstance(message, str) or not message.strip():
            skipped.append((number, "no text 'message' field"))
            continue
        messages.append(replace_surrogates(message))  # a "\ud800" escape decodes to one
    return messages, skipped


def _text_lines(raw: bytes) -> list[tuple[int, str | None]]:
    """The non-blank lines with their numbers; ``None`` for a binary line."""
    numbered: list[tuple[int, str | None]] = []
    for number, chunk in enumerate(raw.splitlines(), start=1):
        if not chunk.strip():
            continue
        numbered.append((number, _decode_text(chunk)))
    return numbered


def _decode_text(chunk: bytes) -> str | None:
    if b"\x00" in chunk:
        return None
    try:
        line = chunk.decode("utf-8")
    except UnicodeDecodeError:
        return None
    controls = sum(1 for char in line if char < " " and char not in _TEXT_CONTROLS)
    if controls > CONTROL_SHARE_BINARY * len(line):
        return None
    return line
