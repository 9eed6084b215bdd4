"""Normalisation: raw error text -> salient text (:mod:`.salience`) -> masked text
(:mod:`.masker`).

This module chains the two steps for one message or a few (:func:`normalize`), builds the
document text of multi-line messages (:func:`document_text`), and keeps the names that other
modules import from here (:class:`Masker`, :func:`prepare`, :func:`clean`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable

from error_analytics.clustering.masker import WILDCARD, Masker
from error_analytics.clustering.salience import (
    LINE_JOINER,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_MESSAGE_CHARS,
    MIN_REPORT_LINES,
    clean,
    has_lines,
    prepare,
    salient_lines,
    salient_text,
)

__all__ = [
    "LINE_JOINER",
    "MAX_DOCUMENT_WORDS",
    "MAX_LINE_CHARS",
    "MAX_LINES",
    "MAX_MESSAGE_CHARS",
    "MIN_REPORT_LINES",
    "WILDCARD",
    "Masker",
    "clean",
    "document_text",
    "document_words",
    "has_lines",
    "normalize",
    "normalize_many",
    "prepare",
    "salient_lines",
    "salient_text",
]


def normalize(text: object, masker: Masker | None = None) -> str:
    """Masked salient text of one message (convenience for callers and tests)."""
    return (masker or Masker()).mask(salient_text(text))


def normalize_many(texts: Iterable[object], masker: Masker | None = None) -> list[str]:
    masker = masker or Masker()
    return masker.mask_many([salient_text(text) for text in texts])


#: Words of a multi-line message kept for its document vector.
MAX_DOCUMENT_WORDS = 2_000


def document_words(text: object) -> str:
    """The whole cleaned message on one line, first :data:`MAX_DOCUMENT_WORDS` words only.

    Its lines are joined by :data:`LINE_JOINER`, which no mask crosses: each line masks as
    it would alone or in another message (``... exited 5`` followed by ``ms ...`` is not a
    duration), so the same failure line is masked the same way whatever surrounds it."""
    words_left = MAX_DOCUMENT_WORDS
    lines: list[str] = []
    for line in clean(text).split("\n"):
        words = line.split(maxsplit=words_left)[:words_left]
        if words:
            lines.append(" ".join(words))
            words_left -= len(words)
            if words_left <= 0:
                break
    return LINE_JOINER.join(lines)


def document_text(text: object, masker: Masker) -> str:
    """:func:`document_words`, masked: what a multi-line message says beyond its salient
    lines, for document similarity."""
    return masker.mask(document_words(text))
