"""Turning raw column values into clean Python values, whatever shape they arrive in.

Every function here is total: bad input raises :class:`BadValue` with a short reason that
the reader counts in the data-quality report, never anything else.

There is one boundary per kind of value, and every reader goes through it:

* **text** — :func:`decode_text` is the SQLite driver's text factory (invalid UTF-8 becomes
  U+FFFD instead of an error, marked as :class:`ReplacedText`); :func:`clean_text` turns any
  column value into a message: bytes decoded, lone surrogates replaced by U+FFFD, NUL bytes
  removed, blank -> None, huge -> cut. Each change is reported through ``changes``.
* **JSON** — :func:`load_json` parses TEXT (SQLite), deferred JSONB text (PostgreSQL, see
  :class:`JSONText`) or already parsed values. Numbers out of range (``NaN``, ``Infinity``,
  ``1e400``, integers of more digits than Python's ``int()`` accepts) and nesting deeper than
  :data:`MAX_JSON_DEPTH` make the value malformed (:class:`BadValue`), never a crash; lone
  surrogate escapes (``"\\ud800"``) in strings are replaced by U+FFFD.
* **timestamps** — :func:`parse_timestamp` returns a naive datetime or raises :class:`BadValue`
  (``unparsable date``), also for dates that fall outside ``datetime``'s range once moved into
  the local zone (year 1 or 9999 with an offset) and for PostgreSQL's ``infinity``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import date, datetime
from itertools import accumulate
from typing import Any

#: Messages longer than this are kept whole for clustering but shortened for display.
MAX_MESSAGE_CHARS = 1_000_000
#: A phase error count above this is no count (``1e400`` as PostgreSQL prints it, say).
MAX_PHASE_ERROR_COUNT = 1_000_000
#: JSON nested deeper than this is malformed (no phase-error or hook payload needs more).
MAX_JSON_DEPTH = 100

REPLACEMENT_CHARACTER = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_DEPTH = {"[": 1, "{": 1, "]": -1, "}": -1}

#: What :func:`clean_text` and :func:`load_json` report through ``changes``.
DECODED_BINARY = "binary message decoded as UTF-8"
REPLACED_INVALID_UTF8 = "invalid UTF-8 replaced"
REPLACED_SURROGATES = "lone surrogates replaced"
REMOVED_NUL = "NUL bytes removed"
CUT_MESSAGE = f"message cut to its first {MAX_MESSAGE_CHARS:,} characters"


class BadValue(ValueError):
    """A value that cannot be used; ``reason`` goes into the data-quality report."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReplacedText(str):
    """Text from a column that was not valid UTF-8; the bad bytes are U+FFFD."""

    __slots__ = ()


class JSONText(str):
    """JSON(B) text as the PostgreSQL driver received it, left for :func:`load_json` to parse."""

    __slots__ = ()


def decode_text(raw: bytes) -> str:
    """SQLite's text factory: UTF-8, with invalid bytes replaced (a :class:`ReplacedText`)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return ReplacedText(raw.decode("utf-8", errors="replace"))


def defer_json(raw: str | bytes) -> JSONText:
    """The PostgreSQL driver's JSON loader: keep the text, :func:`load_json` parses it."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        return JSONText(decode_text(bytes(raw)))
    return JSONText(raw)


def replace_surrogates(text: str) -> str:
    """``text`` with every lone surrogate code point replaced by U+FFFD."""
    if text.isascii():
        return text
    return _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, text)


def clean_text(value: Any, changes: list[str] | None = None) -> str | None:
    """A message as text: bytes decoded, lone surrogates replaced, NUL bytes removed,
    blank -> None, huge -> cut. What had to be changed is appended to ``changes``."""
    if value is None:
        return None
    notes: list[str] = []
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
        notes.append(DECODED_BINARY)
    elif isinstance(value, ReplacedText):
        value = str(value)
        notes.append(REPLACED_INVALID_UTF8)
    elif not isinstance(value, str):
        value = _as_str(value)
    if not value.isascii():
        replaced = _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, value)
        if replaced != value:
            value = replaced
            notes.append(REPLACED_SURROGATES)
    if "\x00" in value:
        value = value.replace("\x00", "")
        if not notes:
            notes.append(REMOVED_NUL)
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_MESSAGE_CHARS:
        value = value[:MAX_MESSAGE_CHARS]
        notes.append(CUT_MESSAGE)
    if changes is not None:
        changes.extend(notes)
    return value


def _as_str(value: object) -> str:
    """``str(value)``, also for integers too long for ``str`` (their size instead)."""
    try:
        return str(value)
    except ValueError:
        size = value.bit_length() if isinstance(value, int) else 0
        return f"<integer of {size} bits>"


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadValue("JSON number out of range")
    return number


def _reject_constant(text: str) -> float:
    raise BadValue("JSON number out of range")


# One decoder for every JSON value: floats must be finite, NaN/Infinity are refused, and
# integers beyond Python's digit limit (4,300) fail in ``int()`` with a plain ValueError.
_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_BRACKET_DEPTH.__getitem__, brackets)), default=0) > MAX_JSON_DEPTH


def _json_dumps(value: Any) -> str:
    """``json.dumps`` of an already parsed value; numbers it cannot print are a :class:`BadValue`."""
    try:
        return json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        raise BadValue("JSON number out of range") from None


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    return value


def _parse_json(text: str, changes: list[str] | None) -> Any:
    if _too_deep(text):
        raise BadValue("JSON nested too deeply")
    try:
        parsed = _DECODER.decode(text)
    except BadValue:
        raise
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BadValue("malformed JSON") from exc
    except ValueError as exc:  # an integer of more digits than int() accepts
        raise BadValue("JSON number out of range") from exc
    escaped = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    if escaped or (not text.isascii() and _LONE_SURROGATE.search(text)):
        cleaned = _without_surrogates(parsed)
        if cleaned != parsed:
            parsed = cleaned
            if changes is not None:
                changes.append(REPLACED_SURROGATES)
    return parsed


def load_json(value: Any, changes: list[str] | None = None) -> Any:
    """Parse a JSON column: TEXT (SQLite), JSONB text or already parsed (PostgreSQL).

    A JSON string that itself holds JSON (double-encoded) is decoded once more. Numbers out
    of range and excessive nesting raise :class:`BadValue`; lone surrogates are replaced and
    reported through ``changes``.
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = decode_text(bytes(value))
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        value = _parse_json(text, changes)
    elif isinstance(value, float) and not math.isfinite(value):
        raise BadValue("JSON number out of range")
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            return _parse_json(text, changes)
        if not text:
            return None
        raise BadValue("JSON is a plain string, not phase errors")
    return value


def iter_phase_errors(
    value: Any, changes: list[str] | None = None
) -> Iterator[tuple[str | None, str | None, int]]:
    """Yield ``(phase, message, count)`` from any shape of phase-error JSON.

    Shapes: ``{"Build": "msg"}``, ``{"build": 2}``, ``[{"phase": ..., "message"|"error": ...}]``,
    a JSON string of any of these. ``{"Build": ["a", "b"]}`` yields two messages. A count
    beyond :data:`MAX_PHASE_ERROR_COUNT` (or not a number at all: NaN) is a :class:`BadValue`;
    a fractional count is rounded up.
    """
    parsed = load_json(value, changes)
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
        phase_name = None if phase is None else replace_surrogates(_as_str(phase))
        if isinstance(payload, bool) or payload is None:
            continue
        if isinstance(payload, (int, float)):
            if not -MAX_PHASE_ERROR_COUNT <= payload <= MAX_PHASE_ERROR_COUNT:  # NaN too
                raise BadValue("JSON number out of range")
            if payload > 0:
                yield phase_name, None, math.ceil(payload)
        elif isinstance(payload, list):
            for message in payload:
                text = clean_text(
                    message if not isinstance(message, dict) else _json_dumps(message), changes
                )
                if text:
                    yield phase_name, text, 1
        elif isinstance(payload, dict):
            text = clean_text(
                payload.get("message") or payload.get("error") or _json_dumps(payload), changes
            )
            if text:
                yield phase_name, text, 1
        else:
            text = clean_text(payload, changes)
            if text:
                yield phase_name, text, 1


_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_TIMESTAMP_TRAILER = re.compile(r"(?:[.,]\d*)?\s*(?:Z|UTC|[+-]\d{1,2}(?::?\d{2})?)?", re.IGNORECASE)


def _to_local_naive(value: datetime) -> datetime:
    """An aware datetime in the machine's zone, naive; out of range -> :class:`BadValue`."""
    try:
        return value.astimezone().replace(tzinfo=None)
    except (OverflowError, ValueError, OSError):
        raise BadValue("unparsable date") from None


def parse_timestamp(value: Any) -> datetime | None:
    """A naive datetime from a datetime, a date or text in the mixed forms SQLite holds.

    Never raises anything but :class:`BadValue`: text that is no date, a number, and dates that
    leave ``datetime``'s range when moved into the local zone are all ``unparsable date``.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is None else _to_local_naive(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, (int, float)):
        raise BadValue("numeric timestamp")
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = decode_text(bytes(value))
    text = _as_str(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # what follows the first 19 characters may be a fraction or an offset, not e.g. "BC"
        if _TIMESTAMP_TRAILER.fullmatch(text[19:]):
            for form in _TIMESTAMP_FORMATS:
                try:
                    return datetime.strptime(text[:19], form)
                except ValueError:
                    continue
        raise BadValue("unparsable date") from None
    return parsed if parsed.tzinfo is None else _to_local_naive(parsed)


_ERROR_EVENT_TYPES = {"PostToolUseFailure", "Error", "ToolError"}


def _loads_or_none(text: str) -> Any:
    """A nested JSON text (a ``tool_result`` held as a string), or None when it is not JSON."""
    try:
        return _parse_json(text.strip(), None) if text.strip() else None
    except BadValue:
        return None


def hook_error_message(
    event_type: str | None, payload: Any, changes: list[str] | None = None
) -> str | None:
    """The error text of a hook event, or None when the event is not an error.

    Errors: a ``tool_result``/``tool_response`` with ``is_error: true``, an ``error``, a
    non-zero ``exit_code``, a non-empty ``stderr`` or ``success: false``; or an event type that
    reports a failure.
    """
    parsed = load_json(payload, changes)
    if not isinstance(parsed, dict):
        if parsed is None and event_type not in _ERROR_EVENT_TYPES:
            return None
        raise BadValue("payload is not a JSON object")
    for key in ("tool_result", "tool_response"):
        result = parsed.get(key)
        if isinstance(result, str):
            result = _loads_or_none(result)
        if isinstance(result, dict):
            message = _error_in(result, changes)
            if message:
                return message
    message = _error_in(parsed, changes)
    if message:
        return message
    if event_type in _ERROR_EVENT_TYPES:
        return clean_text(parsed.get("message"), changes) or clean_text(
            f"{event_type} event without message"
        )
    return None


def _error_in(result: dict[str, Any], changes: list[str] | None) -> str | None:
    is_error = result.get("is_error") is True or result.get("success") is False
    exit_code = result.get("exit_code", result.get("exitCode"))
    failed_exit = isinstance(exit_code, int) and not isinstance(exit_code, bool) and exit_code != 0
    error_text = result.get("error")
    if error_text not in (None, "", False):
        text = clean_text(
            error_text if isinstance(error_text, str) else _json_dumps(error_text), changes
        )
        if text:
            return text
    if is_error or failed_exit:
        for key in ("stderr", "content", "output", "message", "stdout"):
            candidate = result.get(key)
            if isinstance(candidate, list):
                candidate = " ".join(
                    _as_str(part.get("text", "")) if isinstance(part, dict) else _as_str(part)
                    for part in candidate
                )
            text = clean_text(candidate, changes)
            if text:
                return text
        return (
            f"Non-zero exit code: {exit_code}"
            if failed_exit
            else "tool reported an error without text"
        )
    return clean_text(result.get("stderr"), changes)
