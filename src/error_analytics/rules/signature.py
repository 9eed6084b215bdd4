"""The signature of a failure: what is left of an error message once the wrappers that merely
restate it are gone. Two messages with the same signature state the same failure.

One failure reaches the workflow database in several places, each wrapped its own way::

    Build phase failed: ModuleNotFoundError: No module named 'adw_modules'     (failure text)
    ModuleNotFoundError: No module named 'adw_modules'                         (phase error)
    Non-zero exit code: 1\\nStderr: Traceback (most recent call last): ...
    ModuleNotFoundError: No module named 'adw_modules'                         (hook event)

:func:`failure_signature` reduces each to ``modulenotfounderror: no module named 'adw_modules'``:
ANSI codes removed; the lead-ins of :data:`LEAD_INS` removed from the start, as often as they
repeat (``Error: Error: ...``); a Python traceback reduced to its final exception line, a
JavaScript stack to the lines above its first ``at`` frame; whitespace collapsed; case folded.
A message that is nothing but a wrapper (:data:`CONTENT_FREE`, or a lead-in with nothing after
it: ``Non-zero exit code: 1``) has the empty signature: it says that something failed, not what.
Every pattern is linear-time and anchored; a message is scanned a bounded number of times.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from .salient import EXCEPTION_LINE, TRACEBACK_HEADER
from .text import strip_ansi

#: Lead-ins that wrap a failure's own text, tried in order at the start of the message and
#: removed as often as they repeat. A ``phase`` group names the phase the failure happened in.
LEAD_INS: tuple[str, ...] = (
    r"(?P<phase>[A-Za-z][\w-]{0,39})[ \t]+phase[ \t]+failed[ \t]*:",
    r"Non-zero exit code:[ \t]*-?\d{1,10}",
    r"Stderr:",
    r"Error:",
)

#: Whole messages that state that something failed without saying what (case-insensitive).
CONTENT_FREE: tuple[str, ...] = (
    r"(?:[\w-]{1,40}[ \t]+)?phase failed after \d{1,6} attempts?\.?",
    r"workflow \S{1,128} failed during (?P<phase>[\w-]{1,40})\.?",
    r"\S{1,128} call failed",  # a failed tool call without error text (task_logs.tool_calls)
    r"tool reported an error without text",  # a hook error without text
    r"\S{1,64} event without message",  # a hook error event without text
)

_LEAD_IN = re.compile(r"\s*(?:" + "|".join(LEAD_INS) + r")\s*", re.IGNORECASE)
_CONTENT_FREE = re.compile("|".join(f"(?:{pattern})" for pattern in CONTENT_FREE), re.IGNORECASE)
_EXCEPTION_LINE = re.compile(EXCEPTION_LINE)
_STACK_FRAME = re.compile(r"\n[ \t]+at[ \t]+\S")


#: Messages whose signatures are remembered (a few MiB at most: messages are cut when read).
SIGNATURE_CACHE_SIZE = 16_384


@dataclasses.dataclass(frozen=True, slots=True)
class FailureSignature:
    """What :func:`failure_signature` found in one message."""

    key: str  # the normalised failure; "" when the message says only that something failed
    detail: str  # the message without ANSI codes and lead-ins: how much it tells
    phase_named: str | None  # the phase a wrapper names (``Build phase failed: ...``), as written


@functools.lru_cache(maxsize=SIGNATURE_CACHE_SIZE)
def failure_signature(message: str) -> FailureSignature:
    """The signature of ``message`` (see the module docstring). Remembered for the most recent
    messages: a run states its failure in several places, and many runs state the same one.

    >>> failure_signature("Test phase failed: Error: ECONNREFUSED localhost:9100").key
    'econnrefused localhost:9100'
    """
    text = strip_ansi(message)
    phase_named: str | None = None
    position = 0
    while (lead_in := _LEAD_IN.match(text, position)) is not None and lead_in.end() > position:
        phase_named = phase_named or lead_in.group("phase")
        position = lead_in.end()
    detail = text[position:].strip()
    content_free = _CONTENT_FREE.fullmatch(detail)
    if content_free is not None:
        return FailureSignature("", detail, phase_named or content_free.group("phase"))
    core = _final_statement(detail)
    start = 0
    while (lead_in := _LEAD_IN.match(core, start)) is not None and lead_in.end() > start:
        start = lead_in.end()
    return FailureSignature(" ".join(core[start:].split()).casefold(), detail, phase_named)


def _final_statement(text: str) -> str:
    """A traceback's final exception line; a JavaScript stack's message; else ``text``."""
    header = text.find(TRACEBACK_HEADER)
    if header >= 0:
        lines = text[header + len(TRACEBACK_HEADER) :].splitlines()
        for line in reversed(lines):
            if _EXCEPTION_LINE.match(line):
                return line
        return next((line for line in reversed(lines) if line.strip()), text)
    frame = _STACK_FRAME.search(text)
    if frame is not None and frame.start() > 0:
        return text[: frame.start()]
    return text
