"""The lifecycle of a persisted cluster, and the moves a refresh makes on its own.

::

    new ──accept/rename/set category──> reviewed ──resolve──> resolved ──error again──> regressed
     │                                     │                                              │
     └──────────── ignore ────────────> ignored ──until date / N more / unignore──> (back)  │
                                                                   accept / resolve <──────┘

* **ignored** mutes a cluster forever, until a date, or until it occurs N more times; when
  the mute ends, a refresh puts it back in the status it had (``previous_status``).
* **resolved** becomes **regressed** when an event of the cluster *occurred* after the
  moment it was resolved (event time, not the time the refresh saw it).
* **merged** clusters hand their templates to the target and leave the lists.
* **Spikes**: a reviewed (or regressed) cluster is flagged when one of its last two days has
  at least :data:`SPIKE_MIN_EVENTS` events and more than :data:`SPIKE_FACTOR` times its mean
  over the :data:`SPIKE_BASELINE_DAYS` days before, and three standard deviations above it.
"""

from __future__ import annotations

import statistics
from datetime import datetime

from ..models import ClusterStatus
from ..store.state import StateTransaction

SPIKE_BASELINE_DAYS = 14
SPIKE_MIN_EVENTS = 3
SPIKE_FACTOR = 3.0
#: Statuses whose spikes are flagged (new clusters are flagged by being new).
SPIKE_STATUSES = frozenset({ClusterStatus.REVIEWED.value, ClusterStatus.REGRESSED.value})
REFRESH_ACTOR = "refresh"

_CLEARED_MUTE = {
    "ignored_at": None,
    "ignored_until": None,
    "ignore_occurrences": None,
    "previous_status": None,
}


def is_spike(daily_counts: list[int]) -> bool:
    """Whether the last or next-to-last day of ``daily_counts`` (oldest first) is a spike."""
    for end in (len(daily_counts), len(daily_counts) - 1):
        if end < 2:
            continue
        day = daily_counts[end - 1]
        baseline = daily_counts[max(0, end - 1 - SPIKE_BASELINE_DAYS) : end - 1]
        if day < SPIKE_MIN_EVENTS or not baseline:
            continue
        mean = statistics.fmean(baseline)
        spread = statistics.pstdev(baseline)
        if day > SPIKE_FACTOR * mean and day > mean + 3 * spread:
            return True
    return False


def end_mutes(tx: StateTransaction, now: datetime) -> list[str]:
    """Unmute ignored clusters whose date passed or whose N more occurrences happened."""
    ended = []
    for record in tx.clusters_in_status(ClusterStatus.IGNORED.value):
        reason = None
        if record.ignored_until is not None and record.ignored_until <= now:
            reason = f"muted until {record.ignored_until:%Y-%m-%d %H:%M}"
        elif record.ignore_occurrences is not None and record.ignored_at is not None:
            since = tx.events_after(record.id, record.ignored_at)
            if since >= record.ignore_occurrences:
                reason = (
                    f"occurred {since} times since it was muted (limit {record.ignore_occurrences})"
                )
        if reason is None:
            continue
        back_to = record.previous_status or ClusterStatus.NEW.value
        before = record.review_state()
        if tx.update_cluster_if(
            record.id, ClusterStatus.IGNORED.value, {"status": back_to, **_CLEARED_MUTE}, now
        ):
            after = {
                **before,
                "status": back_to,
                **{key: None for key in _CLEARED_MUTE},
                "reason": reason,
            }
            tx.record_action(
                "unmute",
                cluster_id=record.id,
                actor=REFRESH_ACTOR,
                at=now,
                before=before,
                after=after,
                undoable=False,
            )
            ended.append(record.id)
    return ended


def mark_regressions(tx: StateTransaction, now: datetime) -> list[str]:
    """Resolved clusters with an event after their resolution become regressed."""
    regressed = []
    for record in tx.clusters_in_status(ClusterStatus.RESOLVED.value):
        if record.resolved_at is None or tx.events_after(record.id, record.resolved_at) == 0:
            continue
        before = record.review_state()
        changes = {"status": ClusterStatus.REGRESSED.value, "regressed_at": now}
        if tx.update_cluster_if(record.id, ClusterStatus.RESOLVED.value, changes, now):
            after = {
                **before,
                "status": ClusterStatus.REGRESSED.value,
                "regressed_at": now.isoformat(sep=" "),
            }
            tx.record_action(
                "regress",
                cluster_id=record.id,
                actor=REFRESH_ACTOR,
                at=now,
                before=before,
                after=after,
                undoable=False,
            )
            regressed.append(record.id)
    return regressed
