"""Turning raw column values into clean Python values, whatever shape they arrive in.

Every function here is total: bad input raises :class:`BadValue` with a short reason that
the reader counts in the data-quality report, never anything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

#: Messages longer than this are kept whole for clustering but shortened for display.
MAX_MESSAGE_CHARS = 1_000_000


class BadValue(ValueError):
    """A value that cannot be used; ``reason`` goes into the data-quality report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_text(value: Any) -> str | None:
    """A message as text: bytes decoded, NUL bytes removed, blank -> None, huge -> cut."""
    if value is None:
        return None
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    elif not isinstance(value, str):
        value = str(value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_MESSAGE_CHARS:
        value = value[:MAX_MESSAGE_CHARS]
    return value


def load_json(value: Any) -> Any:
    """Parse a JSON column: TEXT (SQLite) or already parsed (PostgreSQL JSONB).

    A JSON string that itself holds JSON (double-encoded) is decoded once more.
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise BadValue("malformed JSON") from exc
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise BadValue("malformed JSON") from exc
        if not text:
            return None
        raise BadValue("JSON is a plain string, not phase errors")
    return value


def iter_phase_errors(value: Any) -> Iterator[tuple[str | None, str | None, int]]:
    """Yield ``(phase, message, count)`` from any shape of phase-error JSON.

    Shapes: ``{"Build": "msg"}``, ``{"build": 2}``, ``[{"phase": ..., "message"|"error": ...}]``,
    a JSON string of any of these. ``{"Build": ["a", "b"]}`` yields two messages.
    """
    parsed = load_json(value)
    if parsed is None:
        return
    if isinstance(parsed, dict):
        items = list(parsed.items())
    elif isinstance(parsed, list):
        items = []
        for entry in parsed:
            if isinstance(entry, dict):
                phase = entry.get("phase") or entry.get("phase_name") or entry.get("name")
                message = entry.get("message", entry.get("error", entry.get("error_message")))
                items.append((phase, message))
            elif isinstance(entry, str):
                items.append((None, entry))
            else:
                raise BadValue("unrecognised phase error entry")
    else:
        raise BadValue(f"phase errors is a JSON {type(parsed).__name__}")
    for phase, payload in items:
        phase_name = None if phase is None else str(phase)
        if isinstance(payload, bool) or payload is None:
            continue
        if isinstance(payload, (int, float)):
            if payload > 0:
                yield phase_name, None, int(payload)
        elif isinstance(payload, list):
            for message in payload:
                text = clean_text(message if not isinstance(message, dict) else json.dumps(message))
                if text:
                    yield phase_name, text, 1
        elif isinstance(payload, dict):
            text = clean_text(payload.get("message") or payload.get("error") or json.dumps(payload))
            if text:
                yield phase_name, text, 1
        else:
            text = clean_text(payload)
            if text:
                yield phase_name, text, 1


_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_timestamp(value: Any) -> datetime | None:
    """A naive datetime from a datetime, a date or text in the mixed forms SQLite holds."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=None)
            if value.tzinfo is None
            else value.astimezone().replace(tzinfo=None)
        )
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)):
        raise BadValue("numeric timestamp")
    text = str(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for form in _TIMESTAMP_FORMATS:
            try:
                return datetime.strptime(text[:19], form)
            except ValueError:
                continue
        raise BadValue("unparsable date") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone().replace(tzinfo=None)
    return parsed


_ERROR_EVENT_TYPES = {"PostToolUseFailure", "Error", "ToolError"}


def hook_error_message(event_type: str | None, payload: Any) -> str | None:
    """The error text of a hook event, or None when the event is not an error.

    Errors: a ``tool_result``/``tool_response`` with ``is_error: true``, an ``error``, a
    non-zero ``exit_code``, a non-empty ``stderr`` or ``success: false``; or an event type that
    reports a failure.
    """
    parsed = load_json(payload)
    if not isinstance(parsed, dict):
        if parsed is None and event_type not in _ERROR_EVENT_TYPES:
            return None
        raise BadValue("payload is not a JSON object")
    for key in ("tool_result", "tool_response"):
        result = parsed.get(key)
        if isinstance(result, str):
            try:
                result = json.loads(result)
            except (json.JSONDecodeError, RecursionError):
                result = None
        if isinstance(result, dict):
            message = _error_in(result)
            if message:
                return message
    message = _error_in(parsed)
    if message:
        return message
    if event_type in _ERROR_EVENT_TYPES:
        return clean_text(parsed.get("message")) or f"{event_type} event without message"
    return None


def _error_in(result: dict[str, Any]) -> str | None:
    is_error = result.get("is_error") is True or result.get("success") is False
    exit_code = result.get("exit_code", result.get("exitCode"))
    failed_exit = isinstance(exit_code, int) and not isinstance(exit_code, bool) and exit_code != 0
    error_text = result.get("error")
    stderr = clean_text(result.get("stderr"))
    if error_text not in (None, "", False):
        text = clean_text(error_text if isinstance(error_text, str) else json.dumps(error_text))
        if text:
            return text
    if is_error or failed_exit:
        for key in ("stderr", "content", "output", "message", "stdout"):
            candidate = result.get(key)
            if isinstance(candidate, list):
                candidate = " ".join(
                    str(part.get("text", "")) if isinstance(part, dict) else str(part)
                    for part in candidate
                )
            text = clean_text(candidate)
            if text:
                return text
        return (
            f"Non-zero exit code: {exit_code}"
            if failed_exit
            else "tool reported an error without text"
        )
    if stderr:
        return stderr
    return None
