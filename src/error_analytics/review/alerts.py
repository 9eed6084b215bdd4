"""Alerts: after a refresh, POST what it found to a webhook — at most once per event.

Events (``event`` in the JSON):

* ``new_cluster`` — the refresh created a cluster (``RefreshResult.new_cluster_ids``);
  key ``new_cluster:<id>``.
* ``regressed`` — a resolved cluster occurred again (``RefreshResult.regressed_ids``);
  key ``regressed:<id>:<regressed_at>``, so a cluster resolved again and back again alerts again.
* ``spike`` — a reviewed or regressed cluster whose last or next-to-last day is a spike by
  :func:`.lifecycle.is_spike` (what ``DiscoveredCluster.is_spike`` shows); key
  ``spike:<id>:<day>``, one event per cluster and spike day.

At most once: each event is first inserted in ``ea_alerts`` (UNIQUE key, ``ON CONFLICT DO
NOTHING``), after the refresh committed; the row is then sent by whoever takes its lease
(a conditional UPDATE), so two processes refreshing at once never both send it. A process killed
after the receiver answered but before it recorded ``sent`` leaves the row pending; it is sent
again when the lease (:attr:`WebhookPolicy.lease_seconds`) expires — the one case of a repeat.

Retry: a connection error, a timeout, HTTP 5xx or 429 is retried in the same pass with
exponential backoff (:attr:`WebhookPolicy.attempts_per_pass` attempts); the row then stays
``pending`` with its ``attempts`` counted and is tried again by the next refresh, until
:attr:`WebhookPolicy.max_attempts`, when it becomes ``failed``; the alerts after it wait for
that next pass too, so a receiver that is down costs a refresh one alert's retries. Any other
4xx fails at once.
Nothing here raises into the refresh: failures are logged and recorded.
"""

from __future__ import annotations

import dataclasses
import enum
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from ..models import DiscoveredCluster
from ..store.state import AlertRecord, ClusterRecord, StateStore
from .lifecycle import SPIKE_STATUSES, is_spike
from .models import RefreshResult
from .views import ClusterViews

logger = logging.getLogger(__name__)

SENT_BY = "error-analytics"
MAX_TEXT_CHARS = 600  # the one-line ``text``
MAX_EXAMPLE_CHARS = 1000  # the ``example`` field
MAX_REASON_CHARS = 500  # ``last_error``


class AlertEvent(enum.StrEnum):
    NEW_CLUSTER = "new_cluster"
    REGRESSED = "regressed"
    SPIKE = "spike"


class AlertStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Where alerts go and how hard delivery tries."""

    url: str
    attempts_per_pass: int = 3  # tries within one refresh, with backoff between them
    backoff_seconds: float = 0.5  # the first wait; each next one doubles
    max_attempts: int = 9  # tries over all passes before the alert is ``failed``
    timeout_seconds: float = 5.0
    lease_seconds: float = 300.0  # how long a claimed alert is another process's to send

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                f"the alert webhook must be an http:// or https:// URL, not {self.url[:200]!r}"
            )


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """One POST's outcome: sent, worth retrying, or failed for good."""

    status: AlertStatus  # SENT, PENDING (retry) or FAILED
    reason: str | None = None


def post_json(url: str, payload: dict[str, Any], timeout: float) -> Delivery:
    """POST ``payload`` as JSON (standard library: no extra runtime dependency)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": SENT_BY},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked by WebhookPolicy
            response.read(65536)
    except urllib.error.HTTPError as exc:
        retry = exc.code == 429 or exc.code >= 500
        reason = f"HTTP {exc.code} {exc.reason}"
        return Delivery(AlertStatus.PENDING if retry else AlertStatus.FAILED, reason)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return Delivery(AlertStatus.PENDING, f"{type(exc).__name__}: {cause}")
    return Delivery(AlertStatus.SENT)


def slack_escape(text: str) -> str:
    """``text`` safe inside a Slack message: ``&``, ``<``, ``>`` escaped, on one line."""
    one_line = " ".join(text.split())
    return one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat(sep=" ") if moment else None


def build_payload(
    event: AlertEvent,
    cluster: DiscoveredCluster,
    *,
    day: date | None = None,
    day_errors: int | None = None,
) -> dict[str, Any]:
    """The JSON body of one alert (``day`` and ``day_errors`` for a spike)."""
    example = _cut(" ".join((cluster.examples[0] if cluster.examples else "").split()), 300)
    name = _cut(cluster.name, 200)
    if event is AlertEvent.NEW_CLUSTER:
        lead = f"New error cluster: {name}"
    elif event is AlertEvent.REGRESSED:
        lead = f"Resolved error cluster came back: {name}"
    else:
        lead = f"Error spike on {day}: {name} ({day_errors} errors that day)"
    line = (
        f"{lead} [{cluster.category}] — {cluster.size} errors in {cluster.runs_affected} runs, "
        f"last seen {_stamp(cluster.last_seen)}; id {cluster.id}"
    )
    if example:
        line += f"; e.g. {example}"
    payload: dict[str, Any] = {
        "event": event.value,
        "cluster_id": cluster.id,
        "name": cluster.name,
        "category": cluster.category,
        "errors": cluster.size,
        "runs": cluster.runs_affected,
        "first_seen": _stamp(cluster.first_seen),
        "last_seen": _stamp(cluster.last_seen),
        "example": _cut(cluster.examples[0], MAX_EXAMPLE_CHARS) if cluster.examples else None,
        "text": _cut(slack_escape(line), MAX_TEXT_CHARS),
        "sent_by": SENT_BY,
    }
    if day is not None:
        payload["day"] = day.isoformat()
        payload["day_errors"] = day_errors
    return payload


def spike_days(daily_counts: list[int], last_day: date) -> list[tuple[date, int]]:
    """(day, errors) of the last two days of ``daily_counts`` (oldest first, ending on
    ``last_day``) that :func:`.lifecycle.is_spike` calls spikes, oldest first."""
    found = []
    total = len(daily_counts)
    for end in (total - 1, total):
        # is_spike tests the last two days; a 0 after day ``end`` (below SPIKE_MIN_EVENTS)
        # leaves day ``end`` alone to test, against its own baseline
        if end >= 1 and is_spike([*daily_counts[:end], 0]):
            found.append((last_day - timedelta(days=total - end), daily_counts[end - 1]))
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class _Pending:
    key: str
    event: AlertEvent
    cluster_id: str
    payload: dict[str, Any]


class Alerter:
    """Records a refresh's events in the state and delivers the pending ones."""

    def __init__(
        self,
        store: StateStore,
        policy: WebhookPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``clock`` is the wall clock of leases and ``created_at``/``sent_at`` (shared by
        processes, so not the analytics clock)."""
        self.store = store
        self.policy = policy
        self.sleep = sleep
        self.clock = clock or (lambda: datetime.now().replace(microsecond=0))

    def after_refresh(self, result: RefreshResult, *, now: datetime, since: datetime) -> None:
        """Record the refresh's events and deliver what is pending; never raises."""
        try:
            self.record(result, now=now, since=since)
            self.deliver_pending()
        except Exception:  # noqa: BLE001 - an alert must never fail a refresh or a view
            logger.exception("alerts: could not record or deliver the refresh's alerts")

    def record(self, result: RefreshResult, *, now: datetime, since: datetime) -> int:
        """Insert the refresh's events not recorded before; returns how many were new."""
        with self.store.read() as tx:
            candidates = set(result.new_cluster_ids) | set(result.regressed_ids)
            records = tx.clusters(candidates)
            records.update({record.id: record for record in tx.clusters_in_status(*SPIKE_STATUSES)})
            ids = sorted(records)
            if not ids:
                return 0
            views = ClusterViews(tx, now, since=since, cluster_ids=ids)
            id_to_cluster = {
                cluster.id: cluster for cluster in views.build([records[i] for i in ids])
            }
            events = list(self._events(result, records, id_to_cluster, now.date()))
        if not events:
            return 0
        created_at = self.clock()
        inserted = 0
        with self.store.write() as tx:
            for pending in events:
                inserted += tx.insert_alert(
                    pending.key,
                    pending.event.value,
                    pending.cluster_id,
                    pending.payload,
                    created_at,
                )
        return inserted

    def _events(
        self,
        result: RefreshResult,
        records: dict[str, ClusterRecord],
        id_to_cluster: dict[str, DiscoveredCluster],
        today: date,
    ) -> Iterator[_Pending]:
        for cluster_id in result.new_cluster_ids:
            if cluster_id in id_to_cluster:
                payload = build_payload(AlertEvent.NEW_CLUSTER, id_to_cluster[cluster_id])
                yield _Pending(
                    f"new_cluster:{cluster_id}", AlertEvent.NEW_CLUSTER, cluster_id, payload
                )
        for cluster_id in result.regressed_ids:
            record = records.get(cluster_id)
            if record is not None and cluster_id in id_to_cluster:
                at = record.regressed_at.isoformat() if record.regressed_at else "unknown"
                payload = build_payload(AlertEvent.REGRESSED, id_to_cluster[cluster_id])
                yield _Pending(
                    f"regressed:{cluster_id}:{at}", AlertEvent.REGRESSED, cluster_id, payload
                )
        for cluster_id, record in sorted(records.items()):
            spiking = id_to_cluster.get(cluster_id)
            if spiking is None or record.status not in SPIKE_STATUSES:
                continue
            for day, errors in spike_days(spiking.daily_counts, today):
                payload = build_payload(AlertEvent.SPIKE, spiking, day=day, day_errors=errors)
                yield _Pending(f"spike:{cluster_id}:{day}", AlertEvent.SPIKE, cluster_id, payload)

    def recorded(self, limit: int = 100) -> list[AlertRecord]:
        """The recorded alerts with their delivery status, newest first."""
        with self.store.read() as tx:
            return tx.alerts(limit=limit)

    def deliver_pending(self) -> None:
        """Try the pending alerts no other process is sending, oldest first, until one is
        still pending after its retries: the receiver is not taking alerts now, and the rest
        wait for the next pass (so a receiver that is down delays a refresh by one alert's
        retries, not by every alert's)."""
        with self.store.read() as tx:
            alert_ids = tx.claimable_alerts(self.clock())
        for alert_id in alert_ids:
            if self._deliver(alert_id) is AlertStatus.PENDING:
                break

    def _deliver(self, alert_id: int) -> AlertStatus | None:
        """Send one alert (with retries); its status after, None when another process has it."""
        now = self.clock()
        with self.store.write() as tx:
            claimed = tx.claim_alert(
                alert_id, now, now + timedelta(seconds=self.policy.lease_seconds)
            )
        if claimed is None:
            return None  # another process has it, or it was sent meanwhile
        attempts, outcome = claimed.attempts, Delivery(AlertStatus.PENDING, "not tried")
        for attempt in range(self.policy.attempts_per_pass):
            if attempts >= self.policy.max_attempts:
                break
            if attempt:
                self.sleep(self.policy.backoff_seconds * 2 ** (attempt - 1))
            outcome = post_json(self.policy.url, claimed.payload, self.policy.timeout_seconds)
            attempts += 1
            if outcome.status is not AlertStatus.PENDING:
                break
        status, reason = outcome.status, outcome.reason
        if status is AlertStatus.PENDING and attempts >= self.policy.max_attempts:
            status, reason = AlertStatus.FAILED, f"gave up after {attempts} attempts: {reason}"
        if status is not AlertStatus.SENT:
            logger.warning(
                "alerts: %s %s (%s attempts): %s", claimed.event_key, status, attempts, reason
            )
        with self.store.write() as tx:
            tx.finish_alert(
                alert_id,
                status=status.value,
                attempts=attempts,
                last_error=_cut(reason, MAX_REASON_CHARS) if reason else None,
                sent_at=self.clock() if status is AlertStatus.SENT else None,
            )
        return status
