"""The window's events placed in the persisted clusters: what every view aggregates when there
is a review state (stable ids, review decisions).

Each message is placed by its template's fingerprint, as a refresh placed it. Messages the state
has no template for (none right after a refresh, unless the window moved in between) are
clustered afresh beside them, so every message has a cluster. The figures are counted over the
window's events (:func:`~error_analytics.analysis.clusters.count_in_window`), as for clusters
found without a state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from ..analysis.clusters import WindowClusters, count_in_window
from ..analysis.snapshot import Snapshot
from ..analysis.sources import cluster_messages
from ..models import DataQualityReport, DiscoveredCluster, ErrorEvent, Phase, TimeWindow
from ..rules import RuleSet
from ..store.schema_probe import TASK_LOG_TABLE, WORKFLOW_TABLE
from ..store.state import StateStore
from ..store.workflow_reader import (
    DailyRunCount,
    RunCounts,
    WorkflowReader,
    runs_without_history_note,
)
from .identity import Templater, fingerprint_of
from .ingest import add_quality, indexed_event


def state_token(store: StateStore) -> tuple[object, ...]:
    """A value that changes whenever the review state does (a decision, an undo, a refresh,
    an ingestion step that changed the index)."""
    with store.read() as tx:
        latest = tx.actions(limit=1)
        return (
            latest[0].id if latest else None,
            latest[0].undone_by if latest else None,
            tx.last_refresh(),
            tx.generation(),
        )


def place_in_clusters(
    events: Sequence[ErrorEvent],
    persisted: Sequence[DiscoveredCluster],
    *,
    store: StateStore,
    templater: Templater,
    rules: RuleSet,
    cluster_by_id: Callable[[str], DiscoveredCluster],
    now: datetime,
    fingerprints: Mapping[str, str] | None = None,
) -> WindowClusters:
    """``events`` in the ``persisted`` clusters (the window's, just refreshed); a cluster with
    none of its errors in its own window is looked up with ``cluster_by_id``. ``fingerprints``
    (message -> fingerprint, from the index of errors) spares templating the messages."""
    id_to_cluster = {cluster.id: cluster for cluster in persisted}
    distinct = list(dict.fromkeys(event.message for event in events if event.message))
    with store.read() as tx:
        fp_to_cluster_id = {
            fingerprint: template.cluster_id for fingerprint, template in tx.templates().items()
        }
    if fingerprints is not None and all(message in fingerprints for message in distinct):
        found = [fingerprints[message] for message in distinct]
    else:
        found = [fingerprint_of(template) for template in templater.templates(distinct)]
    message_to_cluster_id: dict[str, str] = {}
    for message, fingerprint in zip(distinct, found, strict=True):
        cluster_id = fp_to_cluster_id.get(fingerprint)
        if cluster_id is not None:
            message_to_cluster_id[message] = cluster_id
    for cluster_id in set(message_to_cluster_id.values()) - id_to_cluster.keys():
        id_to_cluster[cluster_id] = cluster_by_id(cluster_id)
    descriptions = list(id_to_cluster.values())
    unplaced = [
        event for event in events if event.message and event.message not in message_to_cluster_id
    ]
    if unplaced:
        fresh, message_to_fresh_id = cluster_messages(unplaced, rules)
        descriptions += fresh
        message_to_cluster_id.update(message_to_fresh_id)
    return count_in_window(descriptions, events, message_to_cluster_id, now, stateful=True)


def indexed_snapshot(
    store: StateStore, reader: WorkflowReader, window: TimeWindow, days: int
) -> Snapshot:
    """The window's data from the index of errors (:mod:`.ingest`): run counts, daily counts
    and phase reach aggregated in the state database, the window's errors with their
    fingerprints, and the data-quality notes of its runs. Reads no analysed table."""
    start, end = window.start, window.end
    ordered = Phase.ordered()
    schema = reader.schema
    quality = DataQualityReport(
        layout=schema.layout, engine=reader.engine.dialect.name, missing=schema.missing()
    )
    with store.read() as tx:
        total, failed = tx.run_totals(start, end)
        daily = [
            DailyRunCount(day, runs, failed) for day, runs, failed in tx.daily_runs(start, end)
        ]
        reached = tx.reach_counts(start, end, len(ordered))
        errors = tx.window_errors(start, end)
        problems = tx.time_problems()
        future = tx.runs_after(end, WORKFLOW_TABLE)
        origin_to_runs = tx.origin_counts(start, end, WORKFLOW_TABLE)
        documents = tx.run_quality(start, end)
        retained = tx.retained_since()
    problem_counts = Counter(problem for _, origin, problem in problems if origin == WORKFLOW_TABLE)
    problem_counts["date in the future"] = future
    for reason in ("unparsable date", "no date", "date in the future", "updated_at is not a date"):
        if problem_counts.get(reason):
            quality.rows_skipped[f"{WORKFLOW_TABLE}: {reason}"] = problem_counts[reason]
    note = runs_without_history_note(origin_to_runs)
    if note:
        quality.missing.append(note)
    for run_id, origin, _problem in problems:
        if origin != WORKFLOW_TABLE:
            quality.skip(origin, "run without a readable time", run_id)
    for document, runs in documents:
        add_quality(quality, document, runs)
    if retained is not None and start.date() < retained:
        quality.missing.append(
            f"errors before {retained.isoformat()} one by one (the retention keeps only each "
            "cluster's daily counts of older errors): this window's error figures start then"
        )
    has_reach = schema.has(TASK_LOG_TABLE, "phase_name") and schema.has(TASK_LOG_TABLE, "adw_id")
    phase_reach = (
        {phase: count for phase, count in zip(ordered, reached, strict=True) if count}
        if has_reach
        else None
    )
    events = [
        indexed_event(
            error.run_id,
            error.phase,
            error.source,
            error.message,
            error.occurred_at,
            error.workflow_template,
            error.model,
            error.sources,
        )
        for error in errors
    ]
    events.sort(
        key=lambda event: (event.timestamp or datetime.min, event.run_id, event.source.value)
    )
    fingerprints = {error.message: error.fingerprint for error in errors if error.message}
    return Snapshot(
        window,
        RunCounts(total=total, failed=failed),
        events,
        quality,
        phase_reach=phase_reach or None,
        daily=daily,
        days=days,
        fingerprints=fingerprints,
    )
