"""Map discovered clusters onto the categories: keyword rules first, a learned model second.

For each cluster:

1. **Rules.** Every distinct form of the cluster is classified by
   :func:`~error_analytics.rules.classify.match_in_context` on one of its original messages.
   If any member matches a rule, the rules decide (``decided_by="rule"``): the category with
   the most matched messages wins, ties by rule priority. The model never overrides a rule: as
   soon as a rule fires on any message of the cluster, whatever its category, the model's
   guess is not used; it may only add confidence when it agrees. Members that no keyword
   matches inherit the category through their cluster.
2. **Rules that abstained.** When the only matches lie on assertion or expectation lines
   (``TypeError not raised``, ``DID NOT RAISE``: see
   :data:`~error_analytics.rules.contexts.NON_DECIDING_CONTEXTS`) the rules abstained on
   purpose, and the cluster stays ``unknown`` (``decided_by="none"``): the model would read
   the exception's name and guess back the category the rules withheld.
3. **Model.** Otherwise a logistic regression over TF-IDF words of the salient masked text
   predicts the category (``decided_by="model"``). It is trained, at each fit, on the
   messages the rules labelled in this very input plus a small built-in seed corpus
   (:mod:`.seed`) that also holds an ``other`` class of failures that are none of the
   categories. The cluster's confidence is the count-weighted mean predicted probability of
   its members. The model **abstains** (``unknown``, ``decided_by="none"``) when ``other``
   wins or the confidence is below the larger of ``threshold`` and the model's calibrated
   threshold.

Calibration (:func:`calibrated_threshold`): the same model is cross-validated
(:data:`CALIBRATION_FOLDS` stratified folds) on the seed corpus, once per process and set of
categories, the first time a fit's model could decide a cluster. The threshold so depends on
neither the input nor its order (a refit never moves it), and a fit pays nothing for it; the
rule-labelled forms of the input are not used, which cost one more wrong answer in 227 on
``benchmarks/categories.py`` and 0.1-0.3 s per fit. Each held-out text gets the model's best canonical category
and its probability (a guess is made only where that category beats ``other``); held-out rows
are weighted so that ``other`` carries :data:`ASSUMED_UNKNOWN_SHARE` of them. The calibrated
threshold is the lowest probability at which the weighted held-out guesses at or above it are
right at least :data:`TARGET_PRECISION` of the time; when none is, the model never decides.
The weighting of ``other`` keeps the threshold from being set by the easy, clearly-worded
seed texts alone.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import ThreadpoolController

from error_analytics.clustering.seed import OTHER, SEED_CORPUS
from error_analytics.clustering.vectorize import WordCache, make_vectorizer
from error_analytics.models import UNKNOWN_CATEGORY, DecidedBy
from error_analytics.rules import RuleSet, get_category
from error_analytics.rules.classify import match_in_context

#: Recommendation of clusters that stay unknown.
GENERIC_RECOMMENDATION = (
    "Read the examples of this cluster and the full log of one affected run; if the pattern "
    "recurs, add a category or keyword for it in the rules file so it is recognised next time"
)
#: Distinct forms per cluster passed through the keyword rules.
MAX_FORMS_PER_CLUSTER = 50
#: Training messages taken from the input (rule-labelled forms), at most.
MAX_TRAINING_FORMS = 5_000
#: Share of the model's held-out guesses that must be right at the calibrated threshold.
TARGET_PRECISION = 0.9
#: Share of ``other`` (truly unknown) messages the calibration assumes in real input: held-out
#: rows are weighted so that ``other`` carries this share. 15 of 35 real CI messages nobody
#: tuned on were unknown; the seed corpus alone holds far fewer, which made the model
#: look more precise than it is.
ASSUMED_UNKNOWN_SHARE = 0.4
#: Stratified folds of the cross-validation that calibrates the threshold.
CALIBRATION_FOLDS = 5
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
    """Logistic regression over TF-IDF words; classes are category keys plus ``other``.

    ``threshold_`` is the calibrated probability below which the model abstains (see the
    module docstring). It is computed from the training texts on first use, so that a fit
    whose clusters the rules place entirely pays nothing for it.
    """

    def __init__(self, words: WordCache | None = None) -> None:
        self.words = words or WordCache()
        self.vectorizer = make_vectorizer(max_features=20_000, analyzer=self.words)
        self.classifier: LogisticRegression | None = None
        self.classes: list[str] = []
        self._training: tuple[list[str], list[str], int | None] = ([], [], None)

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        weights: Sequence[float],
        *,
        seed_rows: int | None = None,
    ) -> CategoryModel:
        """Fit on ``texts``; the abstention threshold is calibrated on the first ``seed_rows``
        of them (the seed corpus), else on all of them."""
        self._training = (list(texts), list(labels), seed_rows)
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

    @functools.cached_property
    def threshold_(self) -> float:
        texts, labels, seed_rows = self._training
        if seed_rows is not None:  # the seed corpus: the same for every fit, calibrated once
            return _seed_threshold(tuple(texts[:seed_rows]), tuple(labels[:seed_rows]))
        return calibrated_threshold(texts, labels, self.words)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.classifier is None or not texts:
            return np.zeros((len(texts), max(1, len(self.classes))))
        matrix = self.vectorizer.transform(texts)
        with _blas_limit():
            return self.classifier.predict_proba(matrix)


def calibrated_threshold(
    texts: Sequence[str],
    labels: Sequence[str],
    words: WordCache | None = None,
    *,
    folds: int = CALIBRATION_FOLDS,
    target_precision: float = TARGET_PRECISION,
) -> float:
    """The lowest probability at which the model's held-out guesses reach ``target_precision``
    (1.0 when none does); see the module docstring."""
    rows = list(range(len(texts)))
    counts = Counter(labels[row] for row in rows)
    n_splits = min(folds, max(counts.values(), default=0))
    rows = [row for row in rows if counts[labels[row]] >= n_splits]
    if n_splits < 2 or len({labels[row] for row in rows}) < 2:
        return 1.0
    texts_used = [texts[row] for row in rows]
    labels_used = [labels[row] for row in rows]
    other_share = labels_used.count(OTHER) / len(labels_used)
    if 0 < other_share < 1:
        other_weight = ASSUMED_UNKNOWN_SHARE / other_share
        known_weight = (1 - ASSUMED_UNKNOWN_SHARE) / (1 - other_share)
    else:
        other_weight = known_weight = 1.0
    # (probability of the guess, weight of the held-out row, guess is right)
    guesses: list[tuple[float, float, bool]] = []
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
    for train, test in splitter.split(texts_used, labels_used):
        fold_labels = [labels_used[i] for i in train]
        if len(set(fold_labels)) < 2:
            continue
        model = CategoryModel(words).fit(
            [texts_used[i] for i in train], fold_labels, [1.0] * len(train)
        )
        probabilities = model.predict_proba([texts_used[i] for i in test])
        for row, row_probabilities in zip(test, probabilities, strict=True):
            by_class = dict(zip(model.classes, row_probabilities.tolist(), strict=True))
            other = by_class.pop(OTHER, 0.0)
            if not by_class:
                continue
            guess = max(sorted(by_class), key=by_class.__getitem__)
            if by_class[guess] > other:
                weight = other_weight if labels_used[row] == OTHER else known_weight
                guesses.append((by_class[guess], weight, guess == labels_used[row]))
    return _lowest_precise_threshold(guesses, target_precision)


@functools.lru_cache(maxsize=8)
def _seed_threshold(texts: tuple[str, ...], labels: tuple[str, ...]) -> float:
    """The calibrated threshold of a seed corpus (one per rules' set of categories), computed
    once per process: a fit's threshold does not depend on the messages it is given."""
    return calibrated_threshold(texts, labels)


def _lowest_precise_threshold(guesses: Sequence[tuple[float, float, bool]], target: float) -> float:
    """The lowest probability ``t`` whose guesses at or above it are right (by weight) at
    least ``target`` of the time; 1.0 when there is none."""
    best = 1.0
    right = made = 0.0
    ordered = sorted(guesses, key=lambda guess: -guess[0])
    for index, (probability, weight, correct) in enumerate(ordered):
        made += weight
        right += weight if correct else 0.0
        last_of_tie = index + 1 == len(ordered) or ordered[index + 1][0] < probability
        if last_of_tie and right >= target * made:
            best = probability
    return best


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
    seed_rows = len(texts)
    taken = 0
    for evidence, labels_of_forms in zip(cluster_forms, form_labels, strict=False):
        for (_, masked, _), label in zip(evidence.forms, labels_of_forms, strict=False):
            if label is not None and taken < MAX_TRAINING_FORMS:
                texts.append(masked)
                labels.append(label)
                weights.append(1.0)
                taken += 1
    return CategoryModel(words).fit(texts, labels, weights, seed_rows=seed_rows)


def categorize_clusters(
    clusters: Sequence[ClusterEvidence],
    rules: RuleSet,
    *,
    threshold: float = 0.5,
    words: WordCache | None = None,
) -> list[CategoryDecision]:
    """One decision per cluster, in order. ``words`` may hold the words of the masked texts
    already (the clusterer shares it with its top terms). The model decides only at or above
    ``max(threshold, its calibrated threshold)``."""
    votes_per_cluster: list[Counter[str]] = []
    withheld_per_cluster: list[bool] = []
    form_labels: list[list[str | None]] = []
    for evidence in clusters:
        labels: list[str | None] = []
        votes: Counter[str] = Counter()
        withheld = False
        for index, (original, _, count) in enumerate(evidence.forms):
            if index >= MAX_FORMS_PER_CLUSTER:
                labels.append(None)
                continue
            found = match_in_context(original, rules)
            labels.append(found.decided.key if found.decided else None)
            if found.decided is not None:
                votes[found.decided.key] += count
            withheld = withheld or found.withheld is not None
        votes_per_cluster.append(votes)
        withheld_per_cluster.append(withheld)
        form_labels.append(labels)
    model = _train_model(clusters, form_labels, rules, words)
    priority = {key: rank for rank, key in enumerate(rules.categories)}
    decisions = []
    for evidence, votes, withheld, probabilities in zip(
        clusters,
        votes_per_cluster,
        withheld_per_cluster,
        _cluster_probabilities(model, clusters),
        strict=False,
    ):
        if votes:  # a rule fired on some message: the model cannot contradict it
            category = min(votes, key=lambda key: (-votes[key], priority.get(key, len(priority))))
            share = votes[category] / sum(count for _, _, count in evidence.forms)
            confidence = max(share, probabilities.get(category, 0.0))
            decisions.append(_decision(category, confidence, DecidedBy.RULE, rules))
            continue
        candidates = {key: p for key, p in probabilities.items() if key != OTHER}
        if candidates and not withheld:
            category = max(sorted(candidates), key=lambda key: candidates[key])
            confidence = candidates[category]
            if (
                confidence >= threshold
                and confidence > probabilities.get(OTHER, 0.0)
                and confidence >= model.threshold_  # calibrated on first use
            ):
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
