"""Nearest-template matching: where a new template belongs, and which category people gave
the templates most like it.

Similarity is the normalised Indel similarity of the two templates' *token* sequences
(rapidfuzz): ``1 - 1/n`` for one token changed among ``n``. Templates are already masked,
so what differs is wording, not values. :data:`ATTACH_SIMILARITY` is deliberately strict:
attaching a new template to the wrong cluster hides a new failure, while a too-cautious new
cluster costs one merge, which is then remembered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from rapidfuzz import process
from rapidfuzz.distance import Indel

#: A new template joins the cluster of its nearest known template at this similarity or more
#: (one token in seven may differ).
ATTACH_SIMILARITY = 0.85
#: Reviewed templates this similar to a new cluster's template vote for its category.
LABEL_SIMILARITY = 0.8
#: Reviewed templates consulted per vote.
LABEL_NEIGHBOURS = 5


def tokens(template: str) -> list[str]:
    return template.split()


class TemplateIndex:
    """Templates with a value each (a cluster id, a category); finds the nearest ones."""

    def __init__(self, template_to_value: Sequence[tuple[str, str]]) -> None:
        ordered = sorted(template_to_value)  # ties resolve the same way on every run
        self._values = [value for _, value in ordered]
        self._tokens = [tokens(template) for template, _ in ordered]

    def __len__(self) -> int:
        return len(self._values)

    def nearest(
        self, template: str, threshold: float = ATTACH_SIMILARITY
    ) -> tuple[str, float] | None:
        """The value of the most similar template at ``threshold`` or more, with its score."""
        if not self._tokens:
            return None
        found = process.extractOne(
            tokens(template),
            self._tokens,
            scorer=Indel.normalized_similarity,
            score_cutoff=threshold,
        )
        if found is None:
            return None
        _, score, index = found
        return self._values[index], float(score)

    def vote(
        self, templates: Sequence[str], threshold: float = LABEL_SIMILARITY
    ) -> tuple[str, float] | None:
        """The value most supported by the neighbours of ``templates``, and its mean similarity."""
        if not self._tokens:
            return None
        value_to_scores: dict[str, list[float]] = defaultdict(list)
        for template in templates:
            found = process.extract(
                tokens(template),
                self._tokens,
                scorer=Indel.normalized_similarity,
                score_cutoff=threshold,
                limit=LABEL_NEIGHBOURS,
            )
            for _, score, index in found:
                value_to_scores[self._values[index]].append(float(score))
        if not value_to_scores:
            return None
        value, scores = max(value_to_scores.items(), key=lambda item: (sum(item[1]), item[0]))
        return value, sum(scores) / len(scores)
