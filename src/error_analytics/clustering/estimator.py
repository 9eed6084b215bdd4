"""The error clusterer: an sklearn-style estimator and a plain function.

Algorithm (measured in docs/benchmarks.md):

1. **Deduplicate** the raw messages, then normalise each *distinct* message once: salient
   lines, masks (:mod:`.normalize`). Masking runs as a few regex passes over many messages
   joined together, which is what makes a million messages affordable in Python.
2. **Exact templates.** Messages whose masked signature is identical form one group — the
   precise, very fast core of log parsers such as Drain and Brain. A Python traceback's
   group is decided by its exception line alone (:func:`.grouping.group_key`): where it was
   raised stays in its text and examples but does not split the group.
3. **Positional merge** (:mod:`.grouping`): signatures of equal length that differ in one
   position that the data shows to be variable are merged (never at a word of a closed
   vocabulary: ``GET``/``POST``, ``Paused``/``Stopped``); a ``key=value`` key, or the
   namespace or domain of a dotted name (``org.apache.hadoop.*``, ``*.pool.internal``), that
   takes at least ``min_key_values`` distinct values is a variable; signatures whose
   constant tokens align once placeholders are set aside are merged.
4. **Document similarity for multi-line messages only**: a report (three or more lines
   without a precise error line, :func:`.salience.prepare`) or a CI log excerpt rarely
   repeats its exact template, so groups made only of multi-line messages are merged when
   the TF-IDF cosine similarity of their full masked text reaches ``similarity_threshold``
   (connected components of the similarity graph, computed blockwise on sparse vectors).
   Measured cross-validated on LogChunks (per-repository GA 0.463 -> 0.531, both halves
   up). Nothing else is merged by similarity: on log lines it joins different events that
   share words (Loghub-2k GA falls from 0.98 to 0.83 at 0.7 and below 0.6 at 0.3), and on
   single-line workflow errors it joins tracebacks of different exceptions.
5. **Frames and sentences of multi-line messages** (:mod:`.reports`): groups made only of
   multi-line messages that name the same exception types are merged when a salient line of
   each has the same *frame* — the line with every non-keyword word masked
   (``<*>:<*>:<*>: warning: <*> (<*>)``; generic ones such as ``error: <*>`` do not count) —
   or when their salient texts differ only in names and numbers (same skeleton, same plain
   words: ``inet_SUITE:t_x failed on line <NUM>`` and ``cpu_sup_SUITE:y failed on line <NUM>``).

:meth:`ErrorClusterer.predict` finds the learned cluster of new messages with the
:class:`.matching.ClusterMatcher` the fit built.

**Growth.** Steps 1-3 only ever merge more when more messages arrive, but steps 4-5 look at
whole groups (their words' rarity in the input, their first forms), so a refit on more data
can, rarely, move apart two messages it grouped before. :meth:`ErrorClusterer.partial_fit`
is the growth path that never does: it refits on everything seen, keeps each previous
cluster together and puts every new message the previous model places into that cluster.

Hierarchical or density clustering over all TF-IDF vectors was rejected: it is quadratic in
the number of distinct messages and, measured on Loghub-2k, much less precise than template
grouping. All costs after step 1 grow with the number of distinct patterns, not messages.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from error_analytics.clustering import reports, vectorize
from error_analytics.clustering.categorize import ClusterEvidence, categorize_clusters
from error_analytics.clustering.fit_state import FitState, index_messages
from error_analytics.clustering.grouping import (
    align_placeholders,
    generalise_keys,
    group_key,
    positional_merge,
    variable_keys,
)
from error_analytics.clustering.masker import Masker
from error_analytics.clustering.matching import ClusterMatcher, LearnedDocuments
from error_analytics.clustering.naming import build_name, build_template, cluster_id
from error_analytics.clustering.normalize import document_words
from error_analytics.clustering.salience import is_log_excerpt
from error_analytics.errors import InputError
from error_analytics.models import DiscoveredCluster
from error_analytics.rules import RuleSet, default_rules

Progress = Callable[[int, int], None]


#: Longest example message kept on a cluster (characters).
MAX_EXAMPLE_CHARS = 4_000
#: Distinct signatures listed in ``DiscoveredCluster.templates``.
MAX_LISTED_TEMPLATES = 20
#: Multi-line forms per group used to build its document vector.
MAX_DOCUMENT_FORMS = 5


@dataclasses.dataclass(slots=True)
class ClusteringResult:
    clusters: list[DiscoveredCluster]  # largest first
    labels: list[str]  # cluster id of each input message, in input order


def _as_messages(messages: object) -> list[str]:
    if isinstance(messages, (str, bytes)):
        raise InputError("expected a list of messages, got a single string")
    try:
        items = list(messages)  # type: ignore[call-overload]
    except TypeError as exc:
        raise InputError(f"expected a list of messages, got {type(messages).__name__}") from exc
    if set(map(type, items)) <= {str}:  # the usual case, checked without a Python loop
        return items
    return [
        item if isinstance(item, str) else ("" if item is None else str(item)) for item in items
    ]


def _first_raws(raws, k, raw_counts, distinct_raw, order) -> list[int]:
    """The ``k`` first of ``raws`` by ``order`` (count descending, then text): counts are
    compared in numpy, texts only among the raws tied at the k-th count."""
    if len(raws) <= max(16, k):
        return sorted(raws, key=order)[:k]
    ids = np.asarray(raws, dtype=np.int64)
    counts = raw_counts[ids]
    threshold = np.partition(counts, len(counts) - k)[len(counts) - k]
    above = sorted(ids[counts > threshold].tolist(), key=order)
    tied = ids[counts == threshold].tolist()
    return above + heapq.nsmallest(k - len(above), tied, key=distinct_raw.__getitem__)


@dataclasses.dataclass(slots=True)
class _Documents:
    """The groups of multi-line messages compared by document similarity (step 4)."""

    roots: list[int]  # a signature of each group
    vectorizer: object
    matrix: object


@dataclasses.dataclass(frozen=True, slots=True)
class SeenMessages:
    """The distinct messages a fit has seen (first-occurrence order), how often each
    occurred and its cluster id: what :meth:`ErrorClusterer.partial_fit` grows from."""

    messages: list[str]
    counts: np.ndarray
    labels: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class _Anchors:
    """The previous clusters a :meth:`ErrorClusterer.partial_fit` keeps: the cluster id of
    each raw seen before (raws ``0..len(seen_labels)-1``), and of each new message (input
    positions from ``new_offset`` on; ``None``: the previous model did not place it)."""

    seen_labels: Sequence[str]
    new_offset: int
    new_labels: Sequence[str | None]


def _keep_together(state: FitState, anchors: _Anchors | None) -> None:
    """Union the signatures of the messages that share a previous cluster."""
    if anchors is None:
        return
    raw_signature = np.asarray(state.form_signature, dtype=np.int64)[state.raw_form]
    seen_signatures = raw_signature[: len(anchors.seen_labels)].tolist()
    new_signatures = raw_signature[state.raw_ids[anchors.new_offset :]].tolist()
    label_first: dict[str, int] = {}
    union = state.union_find.union
    for signatures, labels in (
        (seen_signatures, anchors.seen_labels),
        (new_signatures, anchors.new_labels),
    ):
        for signature, label in zip(signatures, labels, strict=True):
            if label is not None:
                union(label_first.setdefault(label, signature), signature)


class ErrorClusterer(ClusterMixin, BaseEstimator):
    """Discover recurring error patterns; see the module docstring for the algorithm.

    A scikit-learn estimator: ``get_params``/``set_params``/``clone`` work, :meth:`fit`
    returns the estimator, :meth:`predict` changes nothing.

    Parameters (keyword-only; validated in :meth:`fit`):
        rules: masks and categories (``None``: :func:`~error_analytics.rules.default_rules`).
        min_variants: distinct values a token position needs before it is a variable.
        min_key_values: distinct values a ``key=value`` key (or a dotted name's namespace or
            domain) takes across the input before its value is a variable (fewer: states
            that name different events).
        similarity_threshold: cosine similarity that merges groups of reports (see above).
        category_threshold: model probability below which a cluster stays ``unknown``.
        max_examples: original messages kept per cluster (1-3 is typical).
        n_top_terms: words listed per cluster as the reason its messages belong together.
        batch_size: messages normalised per batch (and per progress report).

    Learned attributes: ``labels_`` (a cluster id per message), ``clusters_``
    (:class:`~error_analytics.models.DiscoveredCluster`, largest first), ``n_clusters_``,
    ``masker_``, ``variable_keys_`` (``key=value`` keys whose value is a variable),
    ``document_vectorizer_`` (``None`` when no reports were compared), ``matcher_``
    (:class:`~.matching.ClusterMatcher`, used by :meth:`predict`) and ``seen_``
    (:class:`SeenMessages`: the distinct messages fitted so far, which
    :meth:`partial_fit` grows from).
    """

    labels_: list[str]
    seen_: SeenMessages

    def __init__(
        self,
        *,
        rules: RuleSet | None = None,
        min_variants: int = 3,
        min_key_values: int = 5,
        similarity_threshold: float = 0.2,
        category_threshold: float = 0.5,
        max_examples: int = 3,
        n_top_terms: int = 5,
        batch_size: int = 20_000,
    ) -> None:
        self.rules = rules
        self.min_variants = min_variants
        self.min_key_values = min_key_values
        self.similarity_threshold = similarity_threshold
        self.category_threshold = category_threshold
        self.max_examples = max_examples
        self.n_top_terms = n_top_terms
        self.batch_size = batch_size

    def _validate(self) -> RuleSet:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise InputError(message)

        check(
            self.rules is None or isinstance(self.rules, RuleSet),
            "rules must be a RuleSet or None",
        )
        check(
            isinstance(self.min_variants, int) and self.min_variants >= 2,
            "min_variants must be an int >= 2",
        )
        check(
            isinstance(self.min_key_values, int) and self.min_key_values >= 2,
            "min_key_values must be an int >= 2",
        )
        check(
            isinstance(self.similarity_threshold, (int, float))
            and 0 < self.similarity_threshold <= 1,
            "similarity_threshold must be in (0, 1]",
        )
        check(
            isinstance(self.category_threshold, (int, float)) and 0 <= self.category_threshold <= 1,
            "category_threshold must be in [0, 1]",
        )
        check(
            isinstance(self.max_examples, int) and self.max_examples >= 1,
            "max_examples must be an int >= 1",
        )
        check(
            isinstance(self.n_top_terms, int) and self.n_top_terms >= 0,
            "n_top_terms must be an int >= 0",
        )
        check(
            isinstance(self.batch_size, int) and self.batch_size >= 1,
            "batch_size must be an int >= 1",
        )
        return self.rules if self.rules is not None else default_rules()

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self, X: Iterable[str], y: object = None, *, progress: Progress | None = None
    ) -> ErrorClusterer:
        """Cluster the messages ``X`` (``y`` is ignored); returns the fitted estimator."""
        rules = self._validate()
        texts = _as_messages(X)
        return self._fit(rules, texts, None, progress)

    def partial_fit(
        self, X: Iterable[str], y: object = None, *, progress: Progress | None = None
    ) -> ErrorClusterer:
        """Add the messages ``X`` to those fitted so far (``y`` is ignored): growth that never
        splits a cluster. Returns the estimator; a first call is :meth:`fit`.

        The messages seen so far (``seen_``) and ``X`` are clustered together as :meth:`fit`
        does, with two guarantees added to its merge steps: every two messages the previous
        fit grouped stay together, and a new message that the previous model places
        (:meth:`predict`) joins that cluster. A refit from scratch (:meth:`fit` on everything)
        nearly always keeps the previous groups too, but not by construction: document
        similarity weighs words by their rarity in the whole input, so more data can move two
        reports apart. The result may merge clusters, never split one; ``labels_`` holds the
        clusters of ``X``.
        """
        if not hasattr(self, "seen_"):
            return self.fit(X, progress=progress)
        rules = self._validate()
        new = _as_messages(X)
        seen = self.seen_
        placed = self.predict(new)  # with the previous model, before anything changes
        previous = [
            text
            for text, count in zip(seen.messages, seen.counts.tolist(), strict=True)
            for _ in range(count)
        ]
        # the distinct messages seen come first in ``previous``, in order: the raw number of
        # each in the refit is its number in ``seen``
        anchors = _Anchors(seen.labels, len(previous), placed)
        self._fit(rules, [*previous, *new], anchors, progress)
        self.labels_ = self.labels_[len(previous) :]
        return self

    def _fit(
        self,
        rules: RuleSet,
        texts: list[str],
        anchors: _Anchors | None,
        progress: Progress | None,
    ) -> ErrorClusterer:
        """:meth:`fit` on ``texts``, keeping together the messages of each previous cluster
        named by ``anchors`` (:meth:`partial_fit`)."""
        self.masker_ = masker = Masker(rules.masks)
        # 1. deduplicate, normalise each distinct message once, exact signatures
        state = index_messages(texts, masker, batch_size=self.batch_size, progress=progress)
        # 3. a traceback's exception line decides its group, not where it was raised;
        #    positional merge of those keys, 4. document similarity among groups of reports
        self._merge_keys(state)
        documents = self._merge_documents(state)
        # 5. multi-line messages printed in the same tool frame (see :mod:`.reports`)
        reports.merge_multi_line(state, masker.signature)
        # growth (partial_fit): what the previous fit grouped stays together
        _keep_together(state, anchors)
        # 6. clusters
        group_order = self._build_clusters(rules, state)
        signature_cluster = np.empty(len(state.signatures), dtype=np.int64)
        for cluster_number, group in enumerate(group_order):
            signature_cluster[group] = cluster_number
        raw_cluster = (
            signature_cluster[np.asarray(state.form_signature, dtype=np.int64)[state.raw_form]]
            if len(state.forms)
            else state.raw_form
        )
        ids = [cluster.id for cluster in self.clusters_]
        raw_labels = np.array(ids, dtype=object)[raw_cluster]
        self.labels_ = raw_labels[state.raw_ids].tolist()
        self.seen_ = SeenMessages(state.distinct_raw, state.raw_counts, raw_labels.tolist())
        self.n_clusters_ = len(self.clusters_)
        self.document_vectorizer_ = documents.vectorizer if documents is not None else None
        self.matcher_ = ClusterMatcher(
            masker,
            state.signatures,
            [ids[c] for c in signature_cluster.tolist()],
            self.variable_keys_,
            None
            if documents is None
            else LearnedDocuments(
                vectorizer=documents.vectorizer,
                matrix=documents.matrix,
                cluster_ids=[ids[signature_cluster[root]] for root in documents.roots],
                threshold=self.similarity_threshold,
            ),
        )
        if progress is not None:
            progress(state.total_work, state.total_work)
        return self

    def _merge_keys(self, state: FitState) -> None:
        """Steps 2-3: group signatures by key, learn the variable keys, merge by position."""
        key_index: dict[str, int] = {}
        signature_key = [
            key_index.setdefault(group_key(s), len(key_index)) for s in state.signatures
        ]
        key_tokens = [k.split(" ") if k else [] for k in key_index]
        # the value of a key that takes many values is a variable (``user=<*>``)
        self.variable_keys_ = variable_keys(key_tokens, min_values=self.min_key_values)
        general_index: dict[str, int] = {}
        key_general = [
            general_index.setdefault(
                " ".join(generalise_keys(tokens, self.variable_keys_)),
                len(general_index),
            )
            for tokens in key_tokens
        ]
        general_tokens = [g.split(" ") if g else [] for g in general_index]
        roots = align_placeholders(
            general_tokens,
            positional_merge(general_tokens, min_variants=self.min_variants),
        )
        key_first: dict[int, int] = {}
        for signature_id, key_id in enumerate(signature_key):
            root = roots[key_general[key_id]]
            state.union_find.union(key_first.setdefault(root, signature_id), signature_id)

    def _merge_documents(self, state: FitState) -> _Documents | None:
        """Step 4: merge groups of multi-line messages whose documents are similar."""
        document_roots, document_forms = [], []
        for root, members in sorted(state.union_find.groups().items()):
            member_forms = state.group_forms(members)
            if not all(
                state.form_report[f] or is_log_excerpt(state.first_raw(f)) for f in member_forms
            ):
                continue
            form_counts = state.form_counts
            document_forms.append(
                heapq.nlargest(MAX_DOCUMENT_FORMS, member_forms, key=lambda f: (form_counts[f], -f))
            )
            document_roots.append(root)
        # :func:`.normalize.document_text` of each form, masked in one batch
        masked = iter(
            self.masker_.mask_many(
                [document_words(state.first_raw(f)) for top in document_forms for f in top]
            )
        )
        documents = [" ".join(next(masked) for _ in top) for top in document_forms]
        if len(documents) < 2:
            return None
        vectorizer, matrix = vectorize.fit_transform(documents)
        if vectorizer is None:
            return None
        components = vectorize.similarity_components(matrix, self.similarity_threshold)
        first_of_component: dict[int, int] = {}
        for root, component in zip(document_roots, components, strict=False):
            state.union_find.union(first_of_component.setdefault(component, root), root)
        return _Documents(document_roots, vectorizer, matrix)

    def _build_clusters(self, rules: RuleSet, state: FitState) -> list[list[int]]:
        """Step 6: describe each group (largest first) in ``clusters_``; returns the groups'
        signatures in that order."""
        groups = list(state.union_find.groups().values())
        signatures, signature_forms, forms = (
            state.signatures,
            state.signature_forms,
            state.forms,
        )
        form_counts, form_raws = state.form_counts, state.form_raws
        distinct_raw, raw_counts = state.distinct_raw, state.raw_counts
        counts = raw_counts.tolist()  # Python ints: cheaper to read one by one than numpy's

        def order(raw: int) -> tuple[int, str]:
            return -counts[raw], distinct_raw[raw]

        best_raws: dict[int, list[int]] = {}

        def top_raws(form_id: int) -> list[int]:
            # the form's first max_examples raws by (-count, text), without a Python key per raw
            found = best_raws.get(form_id)
            if found is None:
                found = best_raws[form_id] = _first_raws(
                    form_raws[form_id],
                    self.max_examples,
                    raw_counts,
                    distinct_raw,
                    order,
                )
            return found

        signature_counts = [int(sum(form_counts[f] for f in fs)) for fs in signature_forms]
        described = []
        for group in groups:
            size = sum(signature_counts[s] for s in group)
            rep = min(group, key=lambda s: (-signature_counts[s], signatures[s]))
            described.append(
                (
                    -size,
                    signatures[rep],
                    sorted(group, key=lambda s: (-signature_counts[s], signatures[s])),
                )
            )
        described.sort()
        group_order = [group for _, _, group in described]
        cluster_forms: list[list[int]] = []
        for group in group_order:
            member_forms = [f for s in group for f in signature_forms[s]]
            member_forms.sort(key=lambda f: (-form_counts[f], forms[f]))
            cluster_forms.append(member_forms)
        evidence = [
            ClusterEvidence(
                [(distinct_raw[top_raws(f)[0]], forms[f], int(form_counts[f])) for f in fs[:50]]
            )
            for fs in cluster_forms
        ]
        words = vectorize.WordCache()
        decisions = categorize_clusters(
            evidence, rules, threshold=self.category_threshold, words=words
        )
        # each document is the cluster's first 20 forms joined by spaces, given to the
        # vectorizer as the forms themselves: their words are known already
        documents = [[forms[f] for f in fs[:20]] for fs in cluster_forms]
        vectorizer, matrix = vectorize.fit_transform(documents, words.joined)
        terms = (
            vectorize.top_terms(
                vectorizer,
                matrix,
                [[i] for i in range(len(documents))],
                self.n_top_terms,
            )
            if vectorizer is not None
            else [[] for _ in documents]
        )
        used_ids: set[str] = set()
        clusters = []
        for (negative_size, rep_signature, group), fs, decision, top in zip(
            described, cluster_forms, decisions, terms, strict=False
        ):
            identifier = cluster_id(rep_signature)
            while identifier in used_ids:  # a hash collision: keep ids unique and deterministic
                identifier = cluster_id(identifier + rep_signature)
            used_ids.add(identifier)
            raws = heapq.nsmallest(
                self.max_examples, (r for f in fs[:50] for r in top_raws(f)), key=order
            )
            template = (
                build_template([(forms[f], int(form_counts[f])) for f in fs]) or "(empty message)"
            )
            clusters.append(
                DiscoveredCluster(
                    id=identifier,
                    size=-negative_size,
                    name=build_name(template),
                    template=template,
                    top_terms=top,
                    examples=[distinct_raw[r][:MAX_EXAMPLE_CHARS] for r in raws],
                    category=decision.category,
                    confidence=decision.confidence,
                    decided_by=decision.decided_by,
                    recommendation=decision.recommendation,
                    templates=[signatures[s] for s in group[:MAX_LISTED_TEMPLATES]],
                    distinct_messages=sum(len(form_raws[f]) for f in fs),
                )
            )
        self.clusters_ = clusters
        return group_order

    # -- prediction ------------------------------------------------------------------------
    def predict(self, X: Iterable[str]) -> list[str | None]:
        """Cluster id of each message, or ``None`` when it belongs to no learned cluster.

        Changes nothing on the estimator: the matcher was built by :meth:`fit`."""
        if not hasattr(self, "matcher_"):
            raise InputError("this ErrorClusterer is not fitted yet; call fit() first")
        return self.matcher_.match(_as_messages(X))

    def fit_predict(
        self,
        X: Iterable[str],
        y: object = None,
        *,
        progress: Progress | None = None,
    ) -> list[str]:
        """:meth:`fit`, then the learned ``labels_``."""
        return self.fit(X, progress=progress).labels_


def cluster_messages(
    messages: Sequence[str], *, progress: Progress | None = None, **params: object
) -> ClusteringResult:
    """Cluster ``messages`` with :class:`ErrorClusterer` (``params`` are its parameters)."""
    clusterer = ErrorClusterer(**params).fit(messages, progress=progress)  # type: ignore[arg-type]
    return ClusteringResult(clusters=clusterer.clusters_, labels=list(clusterer.labels_))
