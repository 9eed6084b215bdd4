"""Grouping multi-line messages by the *frame* and the *sentence* of their error lines.

A tool prints its errors in a fixed frame around the parts that vary: a compiler or linter
``<path>:<line>:<col>: warning: <text> (<rule>)``, sbt ``[error] - <task> failed: <cause>``.
Two multi-line messages (CI log excerpts, test reports) whose salient lines share such a
frame were printed by the same tool in the same way even when the words inside differ.

The *skeleton* of a salient line keeps its keyword tokens (``ERROR``, ``FAIL``, ``error:``,
``warning:``, ``[error]``, ``failed``), its punctuation and its placeholders; every other word
becomes ``<*>``. Groups made only of multi-line messages that name the same exception types
(none, or the same set, so different exceptions are never joined) are merged when

1. a salient line of each has the same skeleton and that skeleton is a *frame*: it says more
   than "an error happened" (two keyword tokens, or one keyword and at least
   :data:`MIN_FRAME_CHARS` characters of keyword and punctuation). ``error: <*>`` is not a
   frame (a git error and a missing module both print it),
   ``<*>:<*>:<*>: warning: <*> <*>: <*> (<*>)`` is; or
2. their salient texts (all lines) form the same *sentence*: the same skeleton and the same
   set of plain words (``failed``, ``on``, ``line``), so that they differ only in names — a
   token holding ``_``, ``:``, ``.``, a digit or an inner capital (``inet_SUITE:t_x``,
   ``getExpressionAst``) — and numbers: ``inet_SUITE:t_x failed on line <NUM>`` beside
   ``cpu_sup_SUITE:util_api failed on line <NUM>``. This is positional merging for multi-line
   messages, where two variants are enough because the variable is visibly a name. Shared
   words alone are not enough: ``Stderr: error: could not lock config file`` and ``Stderr:
   error: could not find module vite`` share most of theirs (TF-IDF cosine merging of these
   was measured and rejected, see docs/benchmarks.md).

Merging is linear in the number of groups (groups are bucketed by frame or sentence, never
compared pairwise). Single-line messages are never touched: their exact and positional grouping is precise
(Loghub-2k) and similarity there joins different events.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from error_analytics.clustering.masker import WILDCARD
from error_analytics.clustering.salience import LINE_JOINER, MAX_LINES, clean

if TYPE_CHECKING:
    from error_analytics.clustering.fit_state import FitState

#: Characters of keyword and punctuation a one-keyword skeleton needs to be a frame.
MIN_FRAME_CHARS = 10
#: Masked forms per group whose frames are read.
MAX_FRAME_FORMS = 50
#: Plain words a salient text needs for its sentence to be compared.
MIN_SENTENCE_WORDS = 2
_KEYWORD = re.compile(
    r"^(?:[A-Z][A-Z!]+:?|(?i:error|warning|fatal|failed|fail)[:\]!]?|\[(?i:error|warning)\]"
    r"|<\*>|[^\w\s]+)$"
)
_WORDISH = re.compile(r"[A-Za-z0-9_./\\-]+")
_WILDCARDS = re.compile(r"(?:<\*>)+")
_LETTER = re.compile(r"[A-Za-z]")
#: Punctuation around a word (``(no``, ``failed.``); inside a token it makes a name.
_EDGES = "()[]{}<>\"'`‘’“”,.;:!?"
#: A word as prose writes it: lower case, or capitalised (no digits, ``_`` or inner capitals).
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]*(?:['’-][a-z]+)*")
_EXCEPTION = re.compile(r"\b(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Failure|Fault)\b")


def skeleton(line: str) -> str:
    """A salient line (signature form) with every non-keyword word made ``<*>``."""
    tokens: list[str] = []
    for token in line.split():
        if not _KEYWORD.match(token):
            token = _WILDCARDS.sub(WILDCARD, _WORDISH.sub(WILDCARD, token))
        if token == WILDCARD and tokens and tokens[-1] == WILDCARD:
            continue
        tokens.append(token)
    return " ".join(tokens)


def is_frame(skeleton_line: str) -> bool:
    """Whether a skeleton says which tool printed the line, not merely that it failed."""
    keywords = sum(
        1 for token in skeleton_line.split() if token != WILDCARD and _LETTER.search(token)
    )
    if keywords >= 2:
        return True
    rich = len("".join(skeleton_line.replace(WILDCARD, "").split()))
    return keywords == 1 and rich >= MIN_FRAME_CHARS


def frames(signature: str) -> frozenset[str]:
    """The frame lines of a signature (salient lines joined by ``|``)."""
    return frozenset(
        line for line in map(skeleton, signature.split(LINE_JOINER)) if line and is_frame(line)
    )


def _multi_line(raw: str) -> bool:
    """Whether a raw message has two or more non-empty lines once cleaned."""
    if "\n" not in raw and "\r" not in raw:
        return False
    seen = 0
    for line in clean(raw).split("\n", MAX_LINES)[:MAX_LINES]:
        if line.strip():
            seen += 1
            if seen == 2:
                return True
    return False


def sentence(text: str) -> tuple[str, frozenset[str]] | None:
    """Salient text (all its lines) as its skeleton and the set of its plain words
    (``failed``, ``line``, ``Expected``): two texts with the same sentence differ only in
    identifiers (test, file, module or rule names such as ``inet_SUITE:t_gethostnative``) and
    numbers. ``None`` when it has fewer than :data:`MIN_SENTENCE_WORDS` plain words."""
    words = frozenset(
        word
        for word in (token.strip(_EDGES) for token in text.replace(WILDCARD, " ").split())
        if _PLAIN_WORD.fullmatch(word)
    )
    return (skeleton(text), words) if len(words) >= MIN_SENTENCE_WORDS else None


def merge_multi_line(state: FitState, generic: Callable[[str], str]) -> None:
    """Merge groups made only of multi-line messages, as the module docstring says: same
    exception types and a shared frame (:func:`frames`) or sentence (:func:`sentence`).

    ``generic`` turns a masked form into its generic text (placeholders made ``<*>``,
    punctuation kept): :meth:`.masker.Masker.signature`. Linear in the number of groups:
    groups are bucketed by key, never compared pairwise.
    """
    roots, types, shapes = _multi_line_groups(state)
    by_key: dict[tuple[object, frozenset[str]], list[int]] = defaultdict(list)
    for root in roots:
        found: set[object] = set()
        for form_id in shapes[root]:
            text = generic(state.forms[form_id])
            found |= frames(text)
            whole = sentence(text)
            if whole is not None:
                found.add(whole)
        for key in sorted(found, key=repr):
            by_key[(key, types[root])].append(root)
    for members in by_key.values():
        for root in members[1:]:
            state.union_find.union(members[0], root)


def _multi_line_groups(
    state: FitState,
) -> tuple[list[int], dict[int, frozenset[str]], dict[int, list[int]]]:
    """Roots of the groups made only of multi-line messages, with the exception types each
    names and up to :data:`MAX_FRAME_FORMS` of its forms."""
    root_members = state.union_find.groups()
    roots: list[int] = []
    types: dict[int, frozenset[str]] = {}
    shapes: dict[int, list[int]] = {}
    for root, members in sorted(root_members.items()):
        picked: list[int] = []
        for form_id in state.group_forms(members):
            if not _multi_line(state.first_raw(form_id)):
                break
            if len(picked) < MAX_FRAME_FORMS:
                picked.append(form_id)
        else:
            roots.append(root)
            types[root] = frozenset(_EXCEPTION.findall(" ".join(state.forms[f] for f in picked)))
            shapes[root] = picked
    return roots, types, shapes
