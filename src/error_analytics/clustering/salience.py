"""Salient-line choice: raw error text -> cleaned -> the few lines that name the failure.

1. :func:`clean` caps the length (head and tail are kept, because tools print the cause
   first and tracebacks print it last), strips ANSI escape codes and replaces control and
   NUL bytes.
2. :func:`salient_text` reduces a multi-line message to the lines that name the failure (a
   traceback's final exception line and its location, compiler/npm/pytest/go ``error``
   lines, ...), joined on one line with `` | ``. Single-line messages pass through. The
   lines are chosen by the rules of :mod:`error_analytics.rules.salient`.

Each step is bounded in time whatever the input. Masking the result is
:mod:`.masker`'s job; :mod:`.normalize` chains the two.
"""

from __future__ import annotations

import re

from error_analytics.rules import salient as salient_rules
from error_analytics.rules.text import strip_ansi

#: Longest text looked at per message; longer messages keep their head and tail.
MAX_MESSAGE_CHARS = 20_000
#: Longest salient line kept (characters).
MAX_LINE_CHARS = 500
#: Lines examined in a multi-line message (after the length cap).
MAX_LINES = 2_000
LINE_JOINER = " | "
#: Non-empty lines from which a message without a precise error line is a *report*, compared
#: by its whole text (shorter messages are all salient text already).
MIN_REPORT_LINES = 3

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]+")
_SPACES = re.compile(r"[ \t]+")
_TRACEBACK_LOCATION = re.compile(salient_rules.TRACEBACK_LOCATION)
_STRONG = re.compile("|".join(f"(?:{p})" for p in salient_rules.STRONG_ERROR_LINES), re.MULTILINE)
_WEAK = re.compile("|".join(f"(?:{p})" for p in salient_rules.WEAK_ERROR_LINES), re.MULTILINE)


def clean(text: object) -> str:
    """Text fit for matching: capped, without ANSI codes, control bytes or ``\\r``."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    if len(text) > MAX_MESSAGE_CHARS:
        half = MAX_MESSAGE_CHARS // 2
        text = text[:half] + "\n" + text[-half:]
    text = strip_ansi(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isprintable() and "\ufffd" not in text:
        return text  # no control byte (a line break or tab is not printable either)
    return _CONTROL.sub(" ", text)


_LEADING_DECORATION = re.compile(salient_rules.LEADING_DECORATION)
_TRAILING_DECORATION = re.compile(salient_rules.TRAILING_DECORATION)
_HEADER_ONLY = re.compile(salient_rules.HEADER_ONLY_LINE)


def _short(line: str) -> str:
    """A salient line, stripped of spaces and decoration (box drawing, list numbering), on
    at most :data:`MAX_LINE_CHARS` characters; ``""`` for a line that only announces errors
    (``ERROR``, ``1) Failure:``)."""
    line = line.strip()
    if "  " in line or "\t" in line:
        line = _SPACES.sub(" ", line)
    if len(line) > MAX_LINE_CHARS:
        line = line[:MAX_LINE_CHARS]
    if line and (not line[0].isalpha() or line[-1] in "-=*#" or line[-1] >= "\u2500"):
        line = _TRAILING_DECORATION.sub("", _LEADING_DECORATION.sub("", line, count=1), count=1)
    if len(line) <= 24 and _HEADER_ONLY.fullmatch(line):
        return ""
    return line


_STRONG_HINTS = [salient_rules.STRONG_ERROR_HINTS.get(p) for p in salient_rules.STRONG_ERROR_LINES]
_STRONG_SUBSETS: dict[tuple[int, ...], tuple[re.Pattern[str], tuple[str, ...] | None] | None] = {}
_ALL_STRONG_HINTS: tuple[str, ...] | None = (
    None
    if any(hints is None for hints in _STRONG_HINTS)
    else tuple(dict.fromkeys(h for hints in _STRONG_HINTS for h in hints or ()))
)
_WEAK_HINTS: tuple[str, ...] | None = (
    None
    if any(p not in salient_rules.WEAK_ERROR_HINTS for p in salient_rules.WEAK_ERROR_LINES)
    else tuple(
        dict.fromkeys(
            h for p in salient_rules.WEAK_ERROR_LINES for h in salient_rules.WEAK_ERROR_HINTS[p]
        )
    )
)


def _strong_for(lowered: str) -> tuple[re.Pattern[str], tuple[str, ...] | None] | None:
    """The strong-line pattern restricted to the alternatives whose literal hints occur in
    the text (``lowered``: the text lower-cased after a ``\\n``; the others cannot match),
    with the hints of those alternatives (``None``: one of them has none): the same lines,
    found with a lighter search."""
    chosen = tuple(
        i
        for i, hints in enumerate(_STRONG_HINTS)
        if hints is None or any(hint in lowered for hint in hints)
    )
    entry = _STRONG_SUBSETS.get(chosen)
    if entry is None and chosen not in _STRONG_SUBSETS:
        if len(_STRONG_SUBSETS) > 4096:
            _STRONG_SUBSETS.clear()
        if not chosen:
            entry = None
        else:
            pattern = (
                _STRONG
                if len(chosen) == len(_STRONG_HINTS)
                else re.compile(
                    "|".join(f"(?:{salient_rules.STRONG_ERROR_LINES[i]})" for i in chosen),
                    re.MULTILINE,
                )
            )
            hints = (
                None
                if any(_STRONG_HINTS[i] is None for i in chosen)
                else tuple(dict.fromkeys(h for i in chosen for h in _STRONG_HINTS[i] or ()))
            )
            entry = (pattern, hints)
        _STRONG_SUBSETS[chosen] = entry
    return entry


def _traceback_salient(text: str) -> list[str] | None:
    """Final exception line of the last Python traceback, with its innermost location."""
    header = text.rfind(salient_rules.TRACEBACK_HEADER)
    if header < 0:
        return None
    location = None
    for line in text[header:].split("\n", MAX_LINES)[1:MAX_LINES]:
        if _TRACEBACK_LOCATION.match(line):
            location = line
        elif location is not None and line.strip() and not line.startswith((" ", "\t")):
            return [_short(line), _short(location)]
    return None


def _matching_lines(pattern: re.Pattern[str], text: str, limit: int) -> list[str]:
    """The first ``limit`` distinct lines of ``text`` in which ``pattern`` matches."""
    found: list[str] = []
    position = 0
    while len(found) < limit:
        match = pattern.search(text, position)
        if match is None:
            break
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        line = _short(text[start:end])
        if line and line not in found:
            found.append(line)
        position = end + 1
    return found


_HINT_SEARCHES: dict[tuple[str, ...], re.Pattern[str]] = {}


def _hinted_lines(
    pattern: re.Pattern[str],
    text: str,
    lowered: str,
    hints: tuple[str, ...],
    limit: int,
) -> list[str]:
    """:func:`_matching_lines`, searching only the lines that hold one of ``hints`` (every
    match of ``pattern`` holds one; ``lowered`` is ``"\\n" + text.lower()``, of the same
    length as the text after its first character). Patterns never cross a line break, so a
    match found in a line alone is one found in the whole text, and lines come in order."""
    hinted = _HINT_SEARCHES.get(hints)
    if hinted is None:
        # a hint, then the rest of its line: one match per line holding a hint
        alternatives = "|".join(re.escape(hint) for hint in sorted(hints, key=len, reverse=True))
        hinted = _HINT_SEARCHES[hints] = re.compile(f"(?:{alternatives})[^\n]*")
    found: list[str] = []
    search = pattern.search
    for line_match in hinted.finditer(lowered):
        end = line_match.end() - 1  # the end of the line, in ``text``
        start = text.rfind("\n", 0, end) + 1
        if search(text, start, end) is not None:
            line = _short(text[start:end])
            if line and line not in found:
                found.append(line)
                if len(found) >= limit:
                    break
    return found


def _salient(text: str) -> tuple[list[str], bool]:
    """Salient lines of cleaned ``text`` and whether they are precise error lines (a
    traceback's exception or a tool's ``error`` line) rather than a guess."""
    if "\n" not in text:
        return [_short(text)], True
    picked = _traceback_salient(text)
    if picked:
        return picked, True
    lowered = "\n" + text.lower()
    # Line by line only when lower() keeps positions (one character for one) and no
    # character matches an ASCII letter under ``(?i)`` that lower() does not map to it
    # (``ı``, ``ſ``; ``İ`` lowers to two characters).
    by_line = text.isascii() or (
        len(lowered) == len(text) + 1 and "\u0131" not in text and "\u017f" not in text
    )
    # Line by line, the whole pattern finds the same lines as the alternatives whose hints
    # occur in the text: the others cannot match in a line without their hints.
    strong = (_STRONG, _ALL_STRONG_HINTS) if by_line and _ALL_STRONG_HINTS else _strong_for(lowered)
    limit = salient_rules.MAX_SALIENT_LINES
    for entry, precise in ((strong, True), ((_WEAK, _WEAK_HINTS), False)):
        if entry is None:
            continue
        pattern, hints = entry
        if by_line and hints is not None:
            found = _hinted_lines(pattern, text, lowered, hints, limit)
        else:
            found = _matching_lines(pattern, text, limit)
        if found:
            return found, precise
    non_empty = [
        short
        for line in text.split("\n", MAX_LINES)[:MAX_LINES]
        if line.strip() and (short := _short(line))
    ]
    if not non_empty:
        return [""], True
    return (non_empty[:1] if len(non_empty) == 1 else [non_empty[0], non_empty[-1]]), False


def salient_lines(text: str) -> list[str]:
    """The lines of cleaned ``text`` that name the failure (at most a few)."""
    return _salient(text)[0]


def salient_text(text: object) -> str:
    """Cleaned, salient part of one message on a single line."""
    return LINE_JOINER.join(salient_lines(clean(text)))


def prepare(text: object) -> tuple[str, bool]:
    """Salient text of one message and whether it is a *report*: at least
    :data:`MIN_REPORT_LINES` lines and no precise error line among them, so that only its
    whole text can say what it is about."""
    cleaned = clean(text).strip()
    lines, precise = _salient(cleaned)
    report = not precise and has_lines(cleaned, MIN_REPORT_LINES)
    return LINE_JOINER.join(lines), report


def has_lines(text: str, count: int) -> bool:
    """Whether ``text`` has at least ``count`` non-empty lines."""
    seen = 0
    for line in text.split("\n", MAX_LINES):
        if line.strip():
            seen += 1
            if seen >= count:
                return True
    return False


def is_log_excerpt(text: str) -> bool:
    """Whether raw ``text`` is a log excerpt: :data:`MIN_REPORT_LINES` non-empty lines or
    more, and not a Python traceback (whose exception line decides its group)."""
    return (
        text.count("\n") >= MIN_REPORT_LINES - 1
        and salient_rules.TRACEBACK_HEADER not in text
        and has_lines(text, MIN_REPORT_LINES)
    )
