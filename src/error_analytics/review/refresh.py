"""Placing new errors in clusters: what each ingestion step (:mod:`.ingest`) does with the
messages of the runs it read, inside its write transaction.

1. Template every distinct message (:class:`~.identity.Templater`).
2. (The ingester re-keys templates first if the identity version changed: :mod:`.remap`.)
3. Templates already known go to their cluster.
4. Only the messages of *unknown* templates are clustered (``ErrorClusterer``). Each template
   of a new group looks for its nearest known template (:mod:`.matching`): a group whose
   matches all point at one cluster joins it; in a group whose matches disagree, each matched
   template joins its own match and the rest form a new cluster; a group without matches
   becomes a new cluster. Because matching is to *templates*, a template that a person split
   out of a cluster keeps attracting its own kind to where it was put.
5. New clusters whose category no keyword rule decided take the category that people gave
   the most similar reviewed templates (``decided_by="review"``).

The ingester records the errors, ends mutes, flags regressions and commits. Anything raised
before the commit (including by the ``progress`` callback) rolls the step back.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime

from ..clustering import ErrorClusterer
from ..clustering.naming import build_name, build_template
from ..models import ClusterStatus, DecidedBy, DiscoveredCluster
from ..store.state import ClusterRecord, StateStore, StateTransaction, TemplateRecord
from .identity import (
    MAX_EXAMPLE_CHARS,
    Templater,
    fingerprint_of,
    new_cluster_id,
)
from .labels import labelled_templates
from .matching import TemplateIndex
from .ports import AnalysedDatabase

Progress = Callable[[int, int], None]


@dataclasses.dataclass(slots=True)
class _Group:
    """Unknown templates the clusterer put together, with what it said about them."""

    described: DiscoveredCluster | None
    fingerprint_counts: Counter  # fingerprint -> events


class Refresher:
    """Runs one refresh against a state store (see the module docstring)."""

    def __init__(
        self, analytics: AnalysedDatabase, store: StateStore, templater: Templater
    ) -> None:
        self.analytics = analytics
        self.store = store
        self.templater = templater

    def place_messages(
        self,
        tx: StateTransaction,
        messages: list[str],
        now: datetime,
        progress: Progress | None = None,
    ) -> tuple[dict[str, str], _Placement]:
        """Give every message (one per error, in time order) a template fingerprint, and
        every fingerprint the state does not know a cluster (steps 3-5 of the module
        docstring); returns message -> fingerprint and what was placed (written already)."""
        distinct = list(dict.fromkeys(messages))
        message_to_fp: dict[str, str] = {}
        fp_to_template: dict[str, str] = {}
        for message, template in zip(distinct, self.templater.templates(distinct), strict=False):
            fingerprint = fingerprint_of(template)
            message_to_fp[message] = fingerprint
            fp_to_template.setdefault(fingerprint, template)
        known = tx.templates()
        unknown_messages = [message for message in messages if message_to_fp[message] not in known]
        unknown_distinct = len(set(unknown_messages))
        report = progress or (lambda done, total: None)
        total = unknown_distinct + 1
        report(0, total)
        groups = self._group(
            unknown_messages,
            message_to_fp,
            lambda done, _: report(min(done, unknown_distinct), total),
        )
        placed = _Placement(tx, known, now, self.templater.identity_version, self._recommendation)
        fp_to_example = _examples(unknown_messages, message_to_fp)
        for group in groups:
            placed.place(group, fp_to_template, fp_to_example)
        placed.write()
        report(total, total)
        return message_to_fp, placed

    def _recommendation(self, category: str) -> str:
        return self.analytics.category_rule(category).recommendation

    def _group(
        self, messages: list[str], message_to_fp: dict[str, str], progress: Progress
    ) -> list[_Group]:
        """Cluster the unknown templates' messages (one per event, in time order)."""
        if not messages:
            return []
        clusterer = ErrorClusterer(rules=self.analytics.rules).fit(messages, progress=progress)
        id_to_cluster = {cluster.id: cluster for cluster in clusterer.clusters_}
        fp_to_labels: dict[str, Counter] = defaultdict(Counter)
        for message, label in zip(messages, clusterer.labels_, strict=False):
            fp_to_labels[message_to_fp[message]][label] += 1
        label_to_counts: dict[str, Counter] = defaultdict(Counter)
        for fingerprint, labels in fp_to_labels.items():
            label = min(labels, key=lambda item: (-labels[item], str(item)))
            label_to_counts[label][fingerprint] = sum(labels.values())
        order = {cluster.id: index for index, cluster in enumerate(clusterer.clusters_)}
        return [
            _Group(id_to_cluster.get(label), counts)
            for label, counts in sorted(
                label_to_counts.items(),
                key=lambda item: (order.get(item[0], len(order)), str(item[0])),
            )
        ]


def _tag(value: str | None) -> str | None:
    """A workflow template or model name as stored (the column holds 200 characters)."""
    return value[:200] if value else None


def _examples(messages: list[str], message_to_fp: dict[str, str]) -> dict[str, str]:
    """fingerprint -> its first message (the messages of events, in time order)."""
    fp_to_example: dict[str, str] = {}
    for message in messages:
        fp_to_example.setdefault(message_to_fp[message], message[:MAX_EXAMPLE_CHARS])
    return fp_to_example


class _Placement:
    """Decides where each unknown template goes and collects the rows to write."""

    def __init__(
        self,
        tx: StateTransaction,
        known: dict[str, TemplateRecord],
        now: datetime,
        identity_version: str,
        recommend: Callable[[str], str],
    ) -> None:
        self.tx = tx
        self.recommend = recommend
        self.now = now
        self.identity_version = identity_version
        self.index = TemplateIndex(
            [(record.template, record.cluster_id) for record in known.values()]
        )
        self.labels = TemplateIndex(
            [(label.template, label.category) for label in labelled_templates(tx)]
        )
        self.taken = tx.cluster_ids()
        self.new_templates: list[TemplateRecord] = []
        self.new_clusters: list[ClusterRecord] = []
        self.new_ids: list[str] = []
        self.attached = 0

    def place(
        self, group: _Group, fp_to_template: dict[str, str], fp_to_example: dict[str, str]
    ) -> None:
        ordered = sorted(
            group.fingerprint_counts,
            key=lambda fp: (-group.fingerprint_counts[fp], fp_to_template[fp]),
        )
        matches = {}
        for fingerprint in ordered:
            found = self.index.nearest(fp_to_template[fingerprint])
            if found is not None:
                matches[fingerprint] = found[0]
        targets = set(matches.values())
        if len(targets) == 1:
            target = targets.pop()
            destination = {fingerprint: target for fingerprint in ordered}
        else:
            destination = dict(matches)
            rest = [fingerprint for fingerprint in ordered if fingerprint not in matches]
            if rest:
                whole = not matches
                new_id = self._new_cluster(group, rest, fp_to_template, whole)
                destination.update({fingerprint: new_id for fingerprint in rest})
        for fingerprint in ordered:
            cluster_id = destination[fingerprint]
            if cluster_id not in self.new_ids:
                self.attached += 1
            self.new_templates.append(
                TemplateRecord(
                    fingerprint=fingerprint,
                    cluster_id=cluster_id,
                    template=fp_to_template[fingerprint],
                    example=fp_to_example[fingerprint],
                    pinned=False,
                    created_at=self.now,
                )
            )

    def _new_cluster(
        self, group: _Group, fingerprints: list[str], fp_to_template: dict[str, str], whole: bool
    ) -> str:
        counts = group.fingerprint_counts
        founding = fp_to_template[fingerprints[0]]
        cluster_id = new_cluster_id(founding, self.taken)
        self.taken.add(cluster_id)
        described = group.described
        if described is not None and whole:
            template, name = described.template, described.name
        else:
            template = (
                build_template([(fp_to_template[fp], counts[fp]) for fp in fingerprints])
                or founding
            )
            name = build_name(template)
        category = described.category if described else "unknown"
        decided_by = described.decided_by if described else DecidedBy.NONE
        confidence = described.confidence if described else 0.0
        recommendation = described.recommendation if described else ""
        if decided_by is not DecidedBy.RULE:
            vote = self.labels.vote([fp_to_template[fp] for fp in fingerprints])
            if vote is not None:
                category, confidence, decided_by = vote[0], vote[1], DecidedBy.REVIEW
                recommendation = self.recommend(category)
        self.new_clusters.append(
            ClusterRecord(
                id=cluster_id,
                name=name[:300],
                name_source="auto",
                template=template,
                top_terms=list(described.top_terms) if described else [],
                category=category,
                category_source=decided_by.value,
                confidence=float(confidence),
                recommendation=recommendation,
                status=ClusterStatus.NEW.value,
                previous_status=None,
                ignored_at=None,
                ignored_until=None,
                ignore_occurrences=None,
                resolved_at=None,
                regressed_at=None,
                reviewed_at=None,
                reviewed_by=None,
                merged_into=None,
                split_from=None,
                created_at=self.now,
                updated_at=self.now,
                identity_version=self.identity_version,
                version=1,
            )
        )
        self.new_ids.append(cluster_id)
        return cluster_id

    def write(self) -> None:
        for record in self.new_clusters:
            self.tx.insert_cluster(record)
        self.tx.insert_templates(self.new_templates)
