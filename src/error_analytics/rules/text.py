"""Terminal colour and control codes, as data, and the one function that removes them.

Both the keyword rules and the clustering normalisation read messages without them, so both
call :func:`strip_ansi` and a message is seen the same way by each.
"""

from __future__ import annotations

import re

ANSI_CODES = re.compile(
    r"\x1b\[[0-?]{0,64}[ -/]{0,8}[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|\[\d{1,3}(?:;\d{1,3}){0,8}m"  # colour codes whose ESC byte was lost
)
#: What every ANSI code without an ESC byte starts with (the last alternative of ``ANSI_CODES``).
_LOST_ESCAPE = re.compile(r"\[\d")
#: The last alternative of ``ANSI_CODES`` alone: all of it that can match a text without ESC.
_WITHOUT_ESCAPE = re.compile(r"\[\d{1,3}(?:;\d{1,3}){0,8}m")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences, including colour codes that lost their ESC byte."""
    if "\x1b" in text:
        return ANSI_CODES.sub("", text)
    if "[" in text and _LOST_ESCAPE.search(text) is not None:
        return _WITHOUT_ESCAPE.sub("", text)
    return text
