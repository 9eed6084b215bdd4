"""Normalisation: raw error text -> cleaned -> salient part -> masked template text.

Three steps, each bounded in time whatever the input:

1. :func:`clean` caps the length (head and tail are kept, because tools print the cause
   first and tracebacks print it last), strips ANSI escape codes and replaces control and
   NUL bytes.
2. :func:`salient_text` reduces a multi-line message to the lines that name the failure (a
   traceback's final exception line and its location, compiler/npm/pytest/go ``error``
   lines, ...), joined on one line with `` | ``. Single-line messages pass through.
3. :class:`Masker` replaces what varies between occurrences of the same error (see
   :mod:`error_analytics.rules.masking`) by placeholders. Many messages are masked at once,
   joined by newlines, so each rule is one pass of the regex engine over a large string.

:func:`signature` turns masked text into the grouping key: every placeholder becomes ``<*>``
and whitespace is collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from error_analytics.errors import InvalidRuleError
from error_analytics.rules import salient as salient_rules
from error_analytics.rules.masking import _TLDS, DEFAULT_MASKS, MaskRule
from error_analytics.rules.text import strip_ansi

#: Longest text looked at per message; longer messages keep their head and tail.
MAX_MESSAGE_CHARS = 20_000
#: Longest salient line kept (characters).
MAX_LINE_CHARS = 500
#: Lines examined in a multi-line message (after the length cap).
MAX_LINES = 2_000
#: Generic placeholder used in signatures and templates.
WILDCARD = "<*>"
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
    pattern: re.Pattern[str], text: str, lowered: str, hints: tuple[str, ...], limit: int
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


_DIGIT = re.compile(r"\d")
_DIGITS = ("<digit>",)
#: Literals without which a default mask cannot match a line (``_DIGITS``: any digit).
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "url": ("://",),
    "email": ("@",),
    "uuid": ("-",),
    "timestamp": (":", "-"),
    "ip": (".", ":"),
    "path": ("/", "\\"),
    "host_port": (":",),
    "hostname": (".",),
    "hex": _DIGITS,
    "boolean": ("rue", "RUE", "alse", "ALSE"),
    "size": _DIGITS,
    "duration": _DIGITS,
    "quoted": ("'", '"', "`", "‘", "“"),
    "number": _DIGITS,
    "id": _DIGITS,
}


#: For a default mask, a cheap pattern found in every line the mask changes (a necessary
#: condition, checked after the trigger): lines without it are left out of the mask's pass.
#: Each starts with a literal or a digit, which the regex engine skips to quickly.
_PREFILTERS: dict[str, str] = {
    "uuid": r"-[0-9a-fA-F]{4}-",  # 8-4-4-4-12 hex groups
    # 2024-01-02 or 12:34:56 inside every alternative: \d[-:]\d\d[-:]\d
    "timestamp": r"[-:](?<=\d[-:])\d\d[-:]\d",
    # IPv4 (\d\.\d{1,3}\.\d) or IPv6 groups
    "ip": r"\.(?<=\d\.)\d{1,3}\.\d|:[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}:",
    "host_port": r":\d",
    # a listed top-level domain, or two lower-case labels after a dot (the unlisted ones)
    "hostname": r"\.(?:" + _TLDS + r")\b|\.[a-z0-9-]{1,63}\.[a-z]{2,24}\b",
    # eight hex letters in a row (written out: faster to scan than a counted class)
    "hex_word": "[a-fA-F]" * 8,
    # a run of hex characters holding a digit and a letter has them side by side (or 0x)
    "hex": r"[a-fA-FxX](?:(?<=\d.)|(?=\d))",
    "size": r"[KMGTPkBb](?:(?<=\d.)|(?<=\d[ \t].))",  # \d[ \t]?[KMGTPkBb]
    # \d[ \t]?[nuµmshd], searched from the unit letter (faster on these texts)
    "duration": r"[nuµmshd](?:(?<=\d.)|(?<=\d[ \t].))",
}


def _lines_matching(pattern: re.Pattern[str], lines: Sequence[str]) -> list[int]:
    """Indices of the ``lines`` in which ``pattern`` (which ends by taking the rest of its
    line) matches: one search over all of them, joined by newlines."""
    starts = [match.start() for match in pattern.finditer("\n".join(lines))]
    if not starts:
        return []
    ends = np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)) + 1)
    return np.searchsorted(ends, starts, side="right").tolist()


_NONZERO = "123456789"
_NONZERO_TO_ONE = bytes.maketrans(b"23456789", b"11111111")
_ALL_DIGITS = "0123456789"
_DIGITS_TO_ONE = bytes.maketrans(b"023456789", b"111111111")


def _names_digit(pattern: str) -> bool:
    without_counts = re.sub(r"\{\d*,?\d*\}|0-9", "", pattern)
    return re.search(r"[1-9]", without_counts) is not None


class Masker:
    """Applies an ordered list of :class:`MaskRule` to one text or to many at once."""

    def __init__(self, masks: Sequence[MaskRule] = DEFAULT_MASKS) -> None:
        self.masks = tuple(masks)
        compiled = []
        for rule in self.masks:
            try:
                compiled.append((re.compile(rule.pattern), rule.replacement))
            except re.error as exc:
                raise InvalidRuleError(f"mask {rule.name!r}: invalid pattern: {exc}") from exc
        self._compiled = compiled
        defaults = {rule.name: rule for rule in DEFAULT_MASKS}
        self._triggers = [
            _TRIGGERS.get(rule.name) if defaults.get(rule.name) == rule else None
            for rule in self.masks
        ]
        self._prefilters = [
            re.compile(f"(?:{_PREFILTERS[rule.name]})[^\n]*")
            if rule.name in _PREFILTERS and defaults.get(rule.name) == rule
            else None
            for rule in self.masks
        ]
        names = sorted(
            {r.replacement for r in self.masks if re.fullmatch(r"<[A-Z_]+>", r.replacement)}
        )
        names.append(WILDCARD)
        self._placeholder = re.compile("|".join(re.escape(name) for name in names))
        #: True when no pattern names a digit value (``[1-9]``, ``HTTP 5\\d\\d``): messages that
        #: differ only in digits then mask alike, which the clusterer exploits.
        self.digit_independent = not any(_names_digit(rule.pattern) for rule in self.masks)
        #: Whether texts that differ only in their digits 1-9 are masked at the same places
        #: (no pattern names such a digit or compares groups, no replacement holds a digit
        #: or a group reference), which :meth:`mask_alike` relies on.
        self._alike = self.digit_independent and not any(
            "(?P=" in rule.pattern or any(c in "0123456789\\" for c in rule.replacement)
            for rule in self.masks
        )
        #: Whether a ``0`` matters only before ``x`` (``0x1f``): no pattern holds a ``0``
        #: but in ``0[xX]`` (counts and ``0-9`` ranges aside).
        self._free_zeros = not any(
            "0" in re.sub(r"\{\d*,?\d*\}|0-9|0\[xX\]", "", rule.pattern) for rule in self.masks
        )

    def mask(self, text: str) -> str:
        for pattern, replacement in self._compiled:
            text = pattern.sub(replacement, text)
        return text

    def mask_many(self, texts: Sequence[str]) -> list[str]:
        """Mask single-line texts; one regex pass per rule over all the lines it can apply to.

        A default rule only visits the lines holding its trigger (``://`` for URLs, a digit for
        numbers): a pass over fewer characters, same result.
        """
        if not texts:
            return []
        lines = list(texts)
        if any("\n" in line for line in lines):
            raise ValueError("mask_many takes single-line texts")
        every: Sequence[int] = range(len(lines))
        chosen: Sequence[int]
        digit = _DIGIT.search
        for (pattern, replacement), trigger, prefilter in zip(
            self._compiled, self._triggers, self._prefilters, strict=False
        ):
            if prefilter is not None:
                chosen = _lines_matching(prefilter, lines)
            elif trigger is None:
                chosen = every
            elif trigger == _DIGITS:
                # on the lines as masked so far: earlier masks took many digits away
                chosen = [i for i, line in enumerate(lines) if digit(line)]
            elif len(trigger) == 1:
                literal = trigger[0]
                chosen = [i for i, line in enumerate(lines) if literal in line]
            else:
                first, second, *more = trigger
                chosen = [
                    i
                    for i, line in enumerate(lines)
                    if first in line or second in line or any(lit in line for lit in more)
                ]
            if not chosen:
                continue
            if len(chosen) == len(lines):
                masked = pattern.sub(replacement, "\n".join(lines)).split("\n")
                if len(masked) != len(lines):  # a user pattern matched across lines
                    return [self.mask(text) for text in texts]
                lines = masked
                continue
            masked = pattern.sub(replacement, "\n".join([lines[i] for i in chosen])).split("\n")
            if len(masked) != len(chosen):
                return [self.mask(text) for text in texts]
            for i, line in zip(chosen, masked, strict=False):
                lines[i] = line
        return lines

    def mask_alike(self, texts: Sequence[str]) -> list[str]:
        """:meth:`mask_many` for texts of which many differ only in their digits 1-9 (the
        same line with another port or count): same result, fewer texts masked.

        The masks match such texts at the same places, so a group of them is masked through
        a few *probes*: the group's first text with its digits 1-9 renumbered so that the
        digits left in the masked probes tell which input digit each one is. Every text of
        the group is then its masked probe with those digits put back.
        """
        if not self._alike:
            return self.mask_many(texts)
        groups: dict[bytes, list[int]] = {}
        for i, text in enumerate(texts):
            raw = text.encode("utf-8", "surrogatepass")
            if self._free_zeros and b"0x" not in raw and b"0X" not in raw:
                key = b"*" + raw.translate(_DIGITS_TO_ONE)  # every digit renumbered
            else:
                key = b"0" + raw.translate(_NONZERO_TO_ONE)  # zeros kept
            groups.setdefault(key, []).append(i)
        direct: list[int] = []
        probes: list[str] = []
        plans: list[tuple[list[int], list[int], int, int]] = []
        for key, members in groups.items():
            text = texts[members[0]]
            free = _ALL_DIGITS if key[0] == 42 else _NONZERO  # 42: "*"
            digits = [p for p, char in enumerate(text) if char in free]
            count, numbered = 1, 9
            while numbered < len(digits):
                count, numbered = count + 1, numbered * 9
            if len(members) <= count:
                direct.extend(members)
                continue
            plans.append((members, digits, len(probes), count))
            chars = list(text)
            for power in range(count):
                scale = 9**power
                for i, p in enumerate(digits):
                    chars[p] = _NONZERO[(i // scale) % 9]
                probes.append("".join(chars))
        result: list[str] = [""] * len(texts)
        for i, form in zip(direct, self.mask_many([texts[i] for i in direct]), strict=False):
            result[i] = form
        masked = self.mask_many(probes)
        for members, digits, first, count in plans:
            probe = masked[first : first + count]
            base = probe[0]
            slots = [
                (o, digits[sum((int(m[o]) - 1) * 9**j for j, m in enumerate(probe))])
                for o, char in enumerate(base)
                if char in _NONZERO
            ]
            if not slots:
                for i in members:
                    result[i] = base
                continue
            chars = list(base)
            for i in members:
                text = texts[i]
                for o, p in slots:
                    chars[o] = text[p]
                result[i] = "".join(chars)
        return result

    def signature(self, masked: str) -> str:
        """Grouping key: placeholders made generic, whitespace collapsed."""
        return " ".join(self._placeholder.sub(WILDCARD, masked).split())

    def signatures(self, masked: Sequence[str]) -> list[str]:
        joined = self._placeholder.sub(WILDCARD, "\n".join(masked))
        return [" ".join(line.split()) for line in joined.split("\n")]


def normalize(text: object, masker: Masker | None = None) -> str:
    """Masked salient text of one message (convenience for callers and tests)."""
    return (masker or Masker()).mask(salient_text(text))


def normalize_many(texts: Iterable[object], masker: Masker | None = None) -> list[str]:
    masker = masker or Masker()
    return masker.mask_many([salient_text(text) for text in texts])


#: Words of a multi-line message kept for its document vector.
MAX_DOCUMENT_WORDS = 2_000


def document_words(text: object) -> str:
    """The whole cleaned message on one line, first :data:`MAX_DOCUMENT_WORDS` words only."""
    return " ".join(clean(text).split(maxsplit=MAX_DOCUMENT_WORDS)[:MAX_DOCUMENT_WORDS])


def document_text(text: object, masker: Masker) -> str:
    """:func:`document_words`, masked: what a multi-line message says beyond its salient
    lines, for document similarity."""
    return masker.mask(document_words(text))
