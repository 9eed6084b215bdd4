"""A refresh: read the window's errors and bring the state up to date, in one transaction.

1. Template every distinct message of the window (:class:`~.identity.Templater`) and key
   every event (:func:`~.identity.event_key`).
2. Open one write transaction (refreshes are serialised); re-key templates if the identity
   version changed (:mod:`.remap`).
3. Events already recorded are skipped. Templates already known go to their cluster.
4. Only the messages of *unknown* templates are clustered (``ErrorClusterer``). Each template
   of a new group looks for its nearest known template (:mod:`.matching`): a group whose
   matches all point at one cluster joins it; in a group whose matches disagree, each matched
   template joins its own match and the rest form a new cluster; a group without matches
   becomes a new cluster. Because matching is to *templates*, a template that a person split
   out of a cluster keeps attracting its own kind to where it was put.
5. New clusters whose category no keyword rule decided take the category that people gave
   the most similar reviewed templates (``decided_by="review"``).
6. Record the new events (with their run's workflow template and model; events recorded by
   an older version get theirs when they are read again), end mutes, flag regressions, record the run — and commit.

Anything raised before the commit (including by the ``progress`` callback) rolls the whole
refresh back: the state is as before the run or fully after it, never in between.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime

from ..clustering import ErrorClusterer
from ..clustering.naming import build_name, build_template
from ..models import ClusterStatus, DecidedBy, DiscoveredCluster, ErrorEvent
from ..store.state import AssignmentRow, ClusterRecord, StateStore, StateTransaction, TemplateRecord
from .identity import (
    MAX_EXAMPLE_CHARS,
    Templater,
    event_key,
    fingerprint_of,
    message_hash,
    new_cluster_id,
)
from .labels import labelled_templates
from .lifecycle import end_mutes, mark_regressions
from .matching import TemplateIndex
from .models import RefreshResult
from .ports import AnalysedDatabase
from .remap import remap_identity

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

    def run(self, days: int, now: datetime, progress: Progress | None = None) -> RefreshResult:
        snapshot = self.analytics.snapshot(days)
        # (event, its message): the events with text, the message narrowed to ``str``
        events = [(event, event.message) for event in snapshot.events if event.message]
        distinct = list(dict.fromkeys(message for _, message in events))
        message_to_fp: dict[str, str] = {}
        fp_to_template: dict[str, str] = {}
        for message, template in zip(distinct, self.templater.templates(distinct), strict=False):
            fingerprint = fingerprint_of(template)
            message_to_fp[message] = fingerprint
            fp_to_template.setdefault(fingerprint, template)
        key_to_event: dict[str, tuple[ErrorEvent, str]] = {}
        key_to_message: dict[str, str] = {}  # the message of the event key_to_event keeps
        for event, message in events:
            hashed = message_hash(message)
            key = event_key(event, hashed)
            if key not in key_to_event:
                key_to_event[key] = (event, hashed)
                key_to_message[key] = message

        report = progress or (lambda done, total: None)
        with self.store.write(lock="refresh") as tx:
            remapped = remap_identity(tx, self.templater, now)
            known = tx.templates()
            key_to_known_fp = tx.known_events(list(key_to_event))
            moved = {
                key: message_to_fp[key_to_message[key]]
                for key, fingerprint in key_to_known_fp.items()
                if message_to_fp[key_to_message[key]] != fingerprint
            }
            tx.set_event_fingerprints(moved)
            tx.tag_events(
                {
                    key: (
                        _tag(key_to_event[key][0].workflow_template),
                        _tag(key_to_event[key][0].model),
                    )
                    for key in tx.untagged_events(list(key_to_known_fp))
                    if key_to_event[key][0].workflow_template or key_to_event[key][0].model
                }
            )
            unknown_messages = [
                message for _, message in events if message_to_fp[message] not in known
            ]
            unknown_distinct = len(set(unknown_messages))
            total = unknown_distinct + 2
            report(0, total)

            groups = self._group(
                unknown_messages,
                message_to_fp,
                lambda done, _: report(min(done, unknown_distinct), total),
            )
            placed = _Placement(
                tx, known, now, self.templater.identity_version, self._recommendation
            )
            fp_to_example = _examples(unknown_messages, message_to_fp)
            for group in groups:
                placed.place(group, fp_to_template, fp_to_example)
            placed.write()

            rows = [
                AssignmentRow(
                    event_key=key,
                    fingerprint=message_to_fp[key_to_message[key]],
                    run_id=event.run_id,
                    source=event.source.value,
                    phase=event.phase.value,
                    message_hash=hashed,
                    occurred_at=event.timestamp,
                    seen_at=now,
                    day=(event.timestamp or now).date(),
                    workflow_template=_tag(event.workflow_template),
                    model=_tag(event.model),
                )
                for key, (event, hashed) in key_to_event.items()
                if key not in key_to_known_fp
            ]
            tx.insert_assignments(rows)
            report(unknown_distinct + 1, total)

            unmuted = end_mutes(tx, now)
            regressed = mark_regressions(tx, now)
            tx.record_refresh(
                at=now,
                days=days,
                events_seen=len(events),
                new_assignments=len(rows),
                new_clusters=len(placed.new_ids),
                identity_version=self.templater.identity_version,
            )
            report(total, total)  # everything is written; only the commit is left
        return RefreshResult(
            days=days,
            events_seen=len(events),
            new_assignments=len(rows),
            new_templates=len(placed.new_templates),
            attached_templates=placed.attached,
            new_clusters=len(placed.new_ids),
            regressed=len(regressed),
            unmuted=len(unmuted),
            new_cluster_ids=placed.new_ids,
            regressed_ids=regressed,
            unmuted_ids=unmuted,
            remapped_ids=remapped,
            identity_version=self.templater.identity_version,
            finished_at=now,
        )

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
