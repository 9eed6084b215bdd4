"""Readable templates, short names and stable ids for clusters.

The template is the common text of the cluster's masked messages: where all of them have
the same number of tokens, tokens that agree are kept and the others become ``<*>``;
otherwise the most frequent masked form is shown with its tokens that some member lacks
replaced by ``<*>``. When that would keep less than half of the most frequent form (a
cluster joined by document similarity), the most frequent form is shown as it is. Named placeholders (``<NUM>``, ``<PATH>``) survive where every member
agrees on them, so the template says what varies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from error_analytics.clustering.masker import WILDCARD
from error_analytics.clustering.salience import LINE_JOINER

#: Longest name (characters).
MAX_NAME_CHARS = 72
#: Masked forms looked at to build a template.
MAX_TEMPLATE_FORMS = 200


def build_template(forms: Sequence[tuple[str, int]]) -> str:
    """Common text of masked ``forms`` given as ``(masked text, count)``, most frequent first."""
    if not forms:
        return ""
    forms = list(forms[:MAX_TEMPLATE_FORMS])
    token_lists = [text.split() for text, _ in forms]
    base = token_lists[0]
    if all(len(tokens) == len(base) for tokens in token_lists):
        merged = [
            token if all(other[i] == token for other in token_lists) else WILDCARD
            for i, token in enumerate(base)
        ]
    else:
        shared = set(base)
        for tokens in token_lists[1:]:
            shared &= set(tokens)
        merged = [token if token in shared else WILDCARD for token in base]
    kept = sum(token != WILDCARD for token in merged)
    if kept < max(1, sum(token != WILDCARD for token in base) // 2):
        merged = base  # too little in common to show: the most frequent form speaks for all
    collapsed: list[str] = []
    for token in merged:
        if token == WILDCARD and collapsed and collapsed[-1] == WILDCARD:
            continue
        collapsed.append(token)
    return " ".join(collapsed)


def build_name(template: str) -> str:
    """A short human name: the template's first salient line, cut at a word boundary."""
    name = template.split(LINE_JOINER, 1)[0].strip()
    while name.startswith(WILDCARD + " ") and len(name) > len(WILDCARD) + 1:
        name = name[len(WILDCARD) + 1 :]
    if len(name) <= MAX_NAME_CHARS:
        return name or template[:MAX_NAME_CHARS]
    cut = name[:MAX_NAME_CHARS].rsplit(" ", 1)[0]
    return (cut if len(cut) > MAX_NAME_CHARS // 2 else name[:MAX_NAME_CHARS]) + "…"


def cluster_id(representative: str) -> str:
    """Deterministic id from the cluster's representative signature.

    Lone surrogates (text decoded from JSON ``"\\ud800"`` escapes) are hashed as they are
    (``surrogatepass``), so any text has an id and ids of valid text are unchanged.
    """
    signature = representative.encode("utf-8", "surrogatepass")
    return "c" + hashlib.blake2b(signature, digest_size=5).hexdigest()
