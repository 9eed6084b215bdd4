"""Map discovered clusters onto the categories: keyword rules first, a learned model second.

For each cluster:

1. **Rules.** Every distinct form of the cluster is classified by
   :func:`~error_analytics.rules.match_category` on one of its original messages. If any
   member matches a rule, the rules decide (``decided_by="rule"``): the category with the
   most matched messages wins, ties by rule priority. A precise rule match is never
   overruled by the model; the model may only add confidence when it agrees. Members that no
   keyword matches inherit the category through their cluster.
2. **Model.** Otherwise a logistic regression over TF-IDF words of the salient masked text
   predicts the category (``decided_by="model"``). It is trained, at each fit, on the
   messages the rules labelled in this very input plus a small built-in seed corpus
   (:mod:`.seed`) that also holds an ``other`` class of failures that are none of the
   categories. The cluster's confidence is the mean predicted probability of its members;
   below ``threshold`` (or when ``other`` wins) it stays ``unknown`` (``decided_by="none"``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import ThreadpoolController

from error_analytics.clustering.seed import OTHER, SEED_CORPUS
from error_analytics.clustering.vectorize import WordCache, make_vectorizer
from error_analytics.models import UNKNOWN_CATEGORY, DecidedBy
from error_analytics.rules import RuleSet, get_category, match_category

#: Recommendation of clusters that stay unknown.
GENERIC_RECOMMENDATION = (
    "Read the examples of this cluster and the full log of one affected run; if the pattern "
    "recurs, add a category or keyword for it in the rules file so it is recognised next time"
)
#: Distinct forms per cluster passed through the keyword rules.
MAX_FORMS_PER_CLUSTER = 50
#: Training messages taken from the input (rule-labelled forms), at most.
MAX_TRAINING_FORMS = 5_000
#: The model is small (thousands of rows): BLAS runs it on one thread. Several BLAS threads
#: only wait on each other here, and on a busy two-core machine they made the fit and the
#: prediction three times slower.
BLAS_THREADS = 1


_threadpools: list[ThreadpoolController] = []


def _blas_limit():  # a context manager
    """Limit BLAS to :data:`BLAS_THREADS` inside a ``with`` block. The thread pools are
    looked up once, at first use: each lookup scans the loaded libraries."""
    if not _threadpools:
        _threadpools.append(ThreadpoolController())
    return _threadpools[0].limit(limits=BLAS_THREADS, user_api="blas")


@dataclasses.dataclass(frozen=True, slots=True)
class CategoryDecision:
    category: str
    confidence: float
    decided_by: DecidedBy
    recommendation: str


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterEvidence:
    """What the mapper needs of one cluster: its distinct forms with counts.

    ``forms`` holds ``(original message, salient masked text, count)`` triples, most
    frequent first.
    """

    forms: Sequence[tuple[str, str, int]]


class CategoryModel:
    """Logistic regression over TF-IDF words; classes are category keys plus ``other``."""

    def __init__(self, words: WordCache | None = None) -> None:
        self.vectorizer = make_vectorizer(max_features=20_000, analyzer=words or WordCache())
        self.classifier: LogisticRegression | None = None
        self.classes: list[str] = []

    def fit(
        self, texts: Sequence[str], labels: Sequence[str], weights: Sequence[float]
    ) -> CategoryModel:
        if len(set(labels)) < 2:
            return self
        matrix = self.vectorizer.fit_transform(texts)
        self.classifier = LogisticRegression(C=10.0, max_iter=1000, class_weight="balanced")
        with _blas_limit():
            self.classifier.fit(
                matrix, list(labels), sample_weight=np.asarray(weights, dtype=float)
            )
        self.classes = [str(label) for label in self.classifier.classes_]
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.classifier is None or not texts:
            return np.zeros((len(texts), max(1, len(self.classes))))
        matrix = self.vectorizer.transform(texts)
        with _blas_limit():
            return self.classifier.predict_proba(matrix)


def _train_model(
    cluster_forms: Sequence[ClusterEvidence],
    form_labels: Sequence[list[str | None]],
    rules: RuleSet,
    words: WordCache | None = None,
) -> CategoryModel:
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    known = set(rules.categories)
    for key, message in SEED_CORPUS:
        if key in known or key == OTHER:
            texts.append(message)
            labels.append(key)
            weights.append(1.0)
    taken = 0
    for evidence, labels_of_forms in zip(cluster_forms, form_labels, strict=False):
        for (_, masked, _), label in zip(evidence.forms, labels_of_forms, strict=False):
            if label is not None and taken < MAX_TRAINING_FORMS:
                texts.append(masked)
                labels.append(label)
                weights.append(1.0)
                taken += 1
    return CategoryModel(words).fit(texts, labels, weights)


def categorize_clusters(
    clusters: Sequence[ClusterEvidence],
    rules: RuleSet,
    *,
    threshold: float = 0.5,
    words: WordCache | None = None,
) -> list[CategoryDecision]:
    """One decision per cluster, in order. ``words`` may hold the words of the masked texts
    already (the clusterer shares it with its top terms)."""
    votes_per_cluster: list[Counter[str]] = []
    form_labels: list[list[str | None]] = []
    for evidence in clusters:
        labels: list[str | None] = []
        votes: Counter[str] = Counter()
        for index, (original, _, count) in enumerate(evidence.forms):
            match = match_category(original, rules) if index < MAX_FORMS_PER_CLUSTER else None
            labels.append(match.key if match else None)
            if match is not None:
                votes[match.key] += count
        votes_per_cluster.append(votes)
        form_labels.append(labels)
    model = _train_model(clusters, form_labels, rules, words)
    priority = {key: rank for rank, key in enumerate(rules.categories)}
    decisions = []
    for evidence, votes, probabilities in zip(
        clusters, votes_per_cluster, _cluster_probabilities(model, clusters), strict=False
    ):
        if votes:
            category = min(votes, key=lambda key: (-votes[key], priority.get(key, len(priority))))
            share = votes[category] / sum(count for _, _, count in evidence.forms)
            confidence = max(share, probabilities.get(category, 0.0))
            decisions.append(_decision(category, confidence, DecidedBy.RULE, rules))
            continue
        candidates = {key: p for key, p in probabilities.items() if key != OTHER}
        if candidates:
            category = max(sorted(candidates), key=lambda key: candidates[key])
            confidence = candidates[category]
            if confidence >= threshold and confidence > probabilities.get(OTHER, 0.0):
                decisions.append(_decision(category, confidence, DecidedBy.MODEL, rules))
                continue
        decisions.append(
            CategoryDecision(UNKNOWN_CATEGORY, 0.0, DecidedBy.NONE, GENERIC_RECOMMENDATION)
        )
    return decisions


def _cluster_probabilities(
    model: CategoryModel, clusters: Sequence[ClusterEvidence]
) -> list[dict[str, float]]:
    """Count-weighted mean class probabilities of each cluster's forms (one batched call)."""
    if model.classifier is None:
        return [{} for _ in clusters]
    texts, owners, weights = [], [], []
    for number, evidence in enumerate(clusters):
        for _, masked, count in evidence.forms[:MAX_FORMS_PER_CLUSTER]:
            texts.append(masked)
            owners.append(number)
            weights.append(count)
    if not texts:
        return [{} for _ in clusters]
    weighted = model.predict_proba(texts) * np.asarray(weights, dtype=float)[:, None]
    sums = np.zeros((len(clusters), weighted.shape[1]))
    np.add.at(sums, np.asarray(owners), weighted)
    totals = np.zeros(len(clusters))
    np.add.at(totals, np.asarray(owners), np.asarray(weights, dtype=float))
    result = []
    for row, total in zip(sums, totals, strict=False):
        result.append(
            {}
            if total == 0
            else {key: float(v / total) for key, v in zip(model.classes, row, strict=False)}
        )
    return result


def _decision(
    category: str, confidence: float, decided_by: DecidedBy, rules: RuleSet
) -> CategoryDecision:
    rule = get_category(category, rules)
    recommendation = rule.recommendation if rule is not None else GENERIC_RECOMMENDATION
    return CategoryDecision(category, round(min(1.0, confidence), 3), decided_by, recommendation)
