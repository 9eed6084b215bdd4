"""Merge suggestions: for one cluster, the other live clusters most like it.

The core is a pure function over ``(id, text)`` items (:func:`similar_items`, or
:class:`SimilarityIndex` to ask about many items of one fit); a cluster's text is its
templates and examples (:func:`cluster_text`). Two measures are combined:

- **TF-IDF cosine** over word tokens (unigrams and bigrams, sublinear term frequency), the
  vectorizer fitted over all the items' texts, so words every cluster shares weigh little;
- **token-set similarity** (:func:`rapidfuzz.fuzz.token_set_ratio` / 100) of the leading
  part of the texts, which credits a cluster whose words are a subset of the other's.

``similarity = TFIDF_WEIGHT * cosine + (1 - TFIDF_WEIGHT) * token_set``, rounded to 2
decimals. Only the ``CANDIDATES`` items nearest by cosine are scored with rapidfuzz, so one
query against a few thousand clusters stays in milliseconds once the vectorizer is fitted.
Suggestions are those at or above ``MIN_SIMILARITY``, at most ``MAX_SUGGESTIONS``, most
similar first; the threshold was chosen by cross-validation on LogChunks
(``benchmarks/merge_suggestions.py``, figures in ``docs/benchmarks.md``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import datetime

import numpy as np
from rapidfuzz import fuzz, process, utils
from sklearn.feature_extraction.text import TfidfVectorizer

from ..errors import InputError
from ..models import ClusterStatus
from ..store.state import ClusterRecord, StateTransaction, TemplateRecord
from .models import SimilarCluster

#: Weight of the TF-IDF cosine in the combined similarity (the rest is rapidfuzz's).
TFIDF_WEIGHT = 0.3
#: Suggestions below this combined similarity are not shown (cross-validated on LogChunks).
MIN_SIMILARITY = 0.4
MAX_SUGGESTIONS = 5
#: Items scored with rapidfuzz per query: the nearest by cosine.
CANDIDATES = 50
#: Characters of a text compared by rapidfuzz (the TF-IDF sees all of it).
FUZZY_CHARS = 600
#: Templates and examples of a persisted cluster that make its text.
MAX_TEMPLATES = 10
MAX_EXAMPLES = 3
MAX_PART_CHARS = 2000
PLACEHOLDER = re.compile(r"<[A-Z*][A-Z0-9_*]*>")  # a masked value says nothing of the event
TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w.]*[^\W_]\b"  # words that start with a letter, no bare numbers


@dataclasses.dataclass(frozen=True, slots=True)
class Neighbour:
    """Another item and how similar it is to the one asked about (0..1)."""

    item_id: str
    similarity: float


class SimilarityIndex:
    """TF-IDF vectors of every item, fitted once; :meth:`neighbours` of one item against all."""

    def __init__(
        self, items: Sequence[tuple[str, str]], *, tfidf_weight: float = TFIDF_WEIGHT
    ) -> None:
        if isinstance(items, (str, bytes)):
            raise InputError("expected a list of (id, text) items, got a single string")
        self.tfidf_weight = tfidf_weight
        self.ids = [item_id for item_id, _ in items]
        self.texts = [PLACEHOLDER.sub(" ", text) for _, text in items]
        self.id_to_row = {item_id: row for row, item_id in enumerate(self.ids)}
        self.fuzzy_texts = [utils.default_process(text[:FUZZY_CHARS]) for text in self.texts]
        self.vectors = None
        if len(items) > 1:
            vectorizer = TfidfVectorizer(
                token_pattern=TOKEN_PATTERN, ngram_range=(1, 2), sublinear_tf=True, min_df=1
            )
            try:
                self.vectors = vectorizer.fit_transform(self.texts)
            except ValueError:  # no item has a single word: nothing is alike
                self.vectors = None

    def __len__(self) -> int:
        return len(self.ids)

    def neighbours(
        self,
        item_id: str,
        *,
        limit: int = MAX_SUGGESTIONS,
        min_similarity: float = MIN_SIMILARITY,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Neighbour]:
        """The items most similar to ``item_id`` (never itself, nor ``exclude``), at least
        ``min_similarity``, at most ``limit``, most similar first (ties by id)."""
        row = self.id_to_row.get(item_id)
        if row is None or self.vectors is None:
            return []
        cosines = (self.vectors @ self.vectors[row].T).toarray().ravel()
        cosines[row] = -1.0
        order = np.argsort(-cosines, kind="stable")[:CANDIDATES]
        candidates = [
            int(index)
            for index in order
            if cosines[index] > 0 and self.ids[int(index)] not in exclude
        ]
        if not candidates:
            return []
        fuzzy = process.cdist(
            [self.fuzzy_texts[row]],
            [self.fuzzy_texts[index] for index in candidates],
            scorer=fuzz.token_set_ratio,
            processor=None,
        )[0]
        scored = [
            Neighbour(
                self.ids[index],
                round(
                    self.tfidf_weight * float(cosines[index])
                    + (1 - self.tfidf_weight) * float(fuzzy[position]) / 100,
                    2,
                ),
            )
            for position, index in enumerate(candidates)
        ]
        chosen = [item for item in scored if item.similarity >= min_similarity]
        chosen.sort(key=lambda item: (-item.similarity, item.item_id))
        return chosen[:limit]


def similar_items(
    items: Sequence[tuple[str, str]],
    item_id: str,
    *,
    limit: int = MAX_SUGGESTIONS,
    min_similarity: float = MIN_SIMILARITY,
) -> list[Neighbour]:
    """The items of ``items`` most similar to ``item_id``: :meth:`SimilarityIndex.neighbours`."""
    return SimilarityIndex(items).neighbours(item_id, limit=limit, min_similarity=min_similarity)


def cluster_text(templates: Sequence[str], examples: Sequence[str]) -> str:
    """What a cluster is compared by: its templates and examples, one per line."""
    parts = [*templates[:MAX_TEMPLATES], *examples[:MAX_EXAMPLES]]
    return "\n".join(part[:MAX_PART_CHARS] for part in parts)


def live_cluster_texts(tx: StateTransaction) -> list[tuple[str, str]]:
    """``(id, text)`` of every cluster that is not merged, the founding template first."""
    cluster_to_templates: dict[str, list[TemplateRecord]] = {}
    for template in tx.templates().values():
        cluster_to_templates.setdefault(template.cluster_id, []).append(template)
    items = []
    for record in sorted(tx.clusters().values(), key=lambda record: record.id):
        if record.status == ClusterStatus.MERGED:
            continue
        templates = sorted(
            cluster_to_templates.get(record.id, ()),
            key=lambda template: (template.template != record.template, template.created_at),
        )
        texts = [record.template, *(t.template for t in templates if t.template != record.template)]
        items.append((record.id, cluster_text(texts, [t.example for t in templates])))
    return items


def similar_clusters(
    tx: StateTransaction, index: SimilarityIndex, record: ClusterRecord, *, since: datetime | None
) -> list[SimilarCluster]:
    """The suggestions for ``record`` (none for a merged cluster), with their name, status and
    errors in the window from ``since``, read now."""
    if record.status == ClusterStatus.MERGED:
        return []
    neighbours = index.neighbours(record.id)
    if not neighbours:
        return []
    ids = [neighbour.item_id for neighbour in neighbours]
    records = tx.clusters(ids)
    stats = tx.cluster_stats(ids, since=since)
    return [
        SimilarCluster(
            id=neighbour.item_id,
            name=records[neighbour.item_id].name,
            similarity=neighbour.similarity,
            errors=stats[neighbour.item_id].occurrences if neighbour.item_id in stats else 0,
            status=ClusterStatus(records[neighbour.item_id].status),
        )
        for neighbour in neighbours
        if neighbour.item_id in records
        and records[neighbour.item_id].status != ClusterStatus.MERGED
    ]
