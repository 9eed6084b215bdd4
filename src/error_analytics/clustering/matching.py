"""Which learned cluster is this? The matcher behind :meth:`.ErrorClusterer.predict`.

A new message is normalised like the fitted ones, then looked up, first match wins:

1. its signature among the learned signatures, or one that differs from them in a single
   position already variable within one cluster (:class:`.grouping.SignatureIndex`);
2. its group key (a traceback's exception line, :func:`.grouping.group_key`), then that key
   with the values of the learned variable keys made ``<*>`` — the keys the fit grouped by;
3. for a report or a log excerpt only, the nearest learned multi-line document, when the
   TF-IDF cosine similarity reaches the fit's ``similarity_threshold``.

Everything is built once, by the fit; matching changes nothing, so ``predict`` has no side
effects. The review refresh places new templates with its own, stricter nearest-template
rule (:mod:`error_analytics.review.matching`): see that module for why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from error_analytics.clustering.grouping import (
    SignatureIndex,
    generalise_keys,
    group_key,
    signature_tokens,
)
from error_analytics.clustering.masker import Masker
from error_analytics.clustering.normalize import document_text
from error_analytics.clustering.salience import is_log_excerpt, prepare


@dataclasses.dataclass(frozen=True, slots=True)
class LearnedDocuments:
    """The TF-IDF vectors of the fitted groups of multi-line messages, with their clusters."""

    vectorizer: Any  # the fitted vectorizer (:func:`.vectorize.fit_transform`)
    matrix: Any  # one normalised sparse row per document
    cluster_ids: list[str]
    threshold: float

    def nearest(self, text: str, masker: Masker) -> str | None:
        """The cluster of the most similar document, if similar enough."""
        vector = self.vectorizer.transform([document_text(text, masker)])
        if vector.nnz == 0:
            return None
        similarities = (self.matrix @ vector.T).toarray().ravel()
        best = int(np.argmax(similarities))
        return self.cluster_ids[best] if similarities[best] >= self.threshold else None


class ClusterMatcher:
    """Finds the learned cluster of new messages (see the module docstring)."""

    def __init__(
        self,
        masker: Masker,
        signatures: Sequence[str],
        signature_labels: Sequence[str],
        variable_keys: frozenset[str],
        documents: LearnedDocuments | None,
    ) -> None:
        self.masker = masker
        self.variable_keys = variable_keys
        self.documents = documents
        known = set(signatures)
        heads: dict[str, str] = {}
        for signature, label in zip(signatures, signature_labels, strict=False):
            head = group_key(signature)
            if head not in known:
                heads.setdefault(head, label)
            general = self.general(head)
            if general not in known:
                heads.setdefault(general, label)
        self._index = SignatureIndex([*signatures, *heads], [*signature_labels, *heads.values()])

    def general(self, signature: str) -> str:
        """``signature`` with the values of the learned variable keys made ``<*>``."""
        if not self.variable_keys or "=" not in signature:
            return signature
        return " ".join(generalise_keys(signature.split(" "), self.variable_keys))

    def match(self, texts: Sequence[str]) -> list[str | None]:
        """Cluster id of each text, or ``None`` when it belongs to no learned cluster."""
        prepared = [prepare(text) for text in texts]
        masked = self.masker.mask_many([salient for salient, _ in prepared])
        result: list[str | None] = []
        for text, form, (_, report) in zip(texts, masked, prepared, strict=False):
            signature = " ".join(signature_tokens(self.masker.signature(form)))
            found = self._index.lookup(signature)
            head = group_key(signature)
            if found is None and head != signature:
                found = self._index.lookup(head)
            if found is None and (general := self.general(head)) != head:
                found = self._index.lookup(general)
            if found is None and self.documents is not None and (report or is_log_excerpt(text)):
                found = self.documents.nearest(text, self.masker)
            result.append(found)
        return result
