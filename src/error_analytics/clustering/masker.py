"""Masking: replace what varies between occurrences of the same error by placeholders.

:class:`Masker` applies an ordered list of :class:`~error_analytics.rules.masking.MaskRule`
(see :mod:`error_analytics.rules.masking`). Many single-line texts are masked at once,
joined by newlines, so each rule is one pass of the regex engine over a large string; a rule
that declares ``triggers`` or a ``prefilter`` only visits the lines that hold them.

:meth:`Masker.signature` turns masked text into the grouping key: every placeholder becomes
``<*>`` and whitespace is collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from error_analytics.errors import InvalidRuleError
from error_analytics.rules.masking import ANY_DIGIT, DEFAULT_MASKS, MaskRule

#: Generic placeholder used in signatures and templates.
WILDCARD = "<*>"

#: The triggers of a rule that can only change a line holding a digit.
ANY_DIGIT_TRIGGER = (ANY_DIGIT,)
_DIGIT = re.compile(r"\d")


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
        # the lines each rule can change, as the rule declares them (see MaskRule)
        self._triggers = [rule.triggers for rule in self.masks]
        self._prefilters = [
            re.compile(f"(?:{rule.prefilter})[^\n]*") if rule.prefilter is not None else None
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

    def shape_key(self, text: str) -> bytes:
        """A key shared by texts that mask alike up to their digits (when
        :attr:`digit_independent`): every digit made ``0``, or, when a ``0`` may matter
        (``0x1f`` is hex, ``1x1f`` is not), the digits 1-9 made ``1`` and zeros kept. Two
        texts with one key differ only where masks see any digit alike, so masking one and
        renumbering tells the other's mask: the result never depends on which came first."""
        # The two kinds of key cannot meet: only the second holds a ``0``.
        if self._free_zeros and "0x" not in text and "0X" not in text:
            # every digit renumbered
            return text.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ONE)
        return text.encode("utf-8", "surrogatepass").translate(_NONZERO_TO_ONE)  # zeros kept

    def mask(self, text: str) -> str:
        for pattern, replacement in self._compiled:
            text = pattern.sub(replacement, text)
        return text

    def mask_many(self, texts: Sequence[str]) -> list[str]:
        """Mask single-line texts; one regex pass per rule over all the lines it can apply to.

        A rule only visits the lines holding its trigger (``://`` for URLs, a digit for
        numbers) or its prefilter: a pass over fewer characters, same result.
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
            elif trigger == ANY_DIGIT_TRIGGER:
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
            groups.setdefault(self.shape_key(text), []).append(i)
        direct: list[int] = []
        probes: list[str] = []
        plans: list[tuple[list[int], list[int], int, int]] = []
        for key, members in groups.items():
            text = texts[members[0]]
            free = _NONZERO if b"0" in key else _ALL_DIGITS  # zeros kept, or none to keep
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
