"""Intention-named reads and writes of the state tables, inside one transaction.

:class:`StateStore` opens transactions (:meth:`StateStore.read`, :meth:`StateStore.write`);
each yields a :class:`StateTransaction` whose methods take and return the dataclasses of
:mod:`.records` and :class:`~error_analytics.models.AuditEntry`. Nothing here decides
anything: the review logic lives in :mod:`error_analytics.review`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from ...errors import ConflictError
from ...models import AuditEntry
from .engine import prepare_state_engine, read_transaction, write_transaction
from .error_index import ErrorIndexQueries
from .packed import fetch_rows
from .records import AlertRecord, AssignmentRow, ClusterRecord, OccurrenceStats, TemplateRecord
from .schema import ensure_schema, read_component
from .tables import (
    alerts,
    cluster_templates,
    clusters,
    error_days,
    event_assignments,
    id_map,
    refresh_runs,
    review_actions,
    write_component,
)

#: Keys per ``IN (...)`` list, well below every engine's bind-parameter limit.
CHUNK = 500
_CLUSTER_FIELDS = tuple(field.name for field in dataclasses.fields(ClusterRecord))
_TEMPLATE_FIELDS = tuple(field.name for field in dataclasses.fields(TemplateRecord))


class StateStore:
    """The state database: schema set-up and transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = prepare_state_engine(engine)
        self._ready = False

    def ensure_schema(self, now: datetime | None = None) -> None:
        if not self._ready:
            ensure_schema(self.engine, now)
            self._ready = True

    @contextlib.contextmanager
    def read(self) -> Iterator[StateTransaction]:
        self.ensure_schema()
        with read_transaction(self.engine) as connection:
            yield StateTransaction(connection)

    @contextlib.contextmanager
    def write(self, *, lock: str | None = None, wait: bool = True) -> Iterator[StateTransaction]:
        """A write transaction; ``lock="refresh"`` serialises refreshes across processes;
        ``wait=False`` raises :class:`~.engine.WriterBusy` instead of waiting for it."""
        self.ensure_schema()
        with write_transaction(self.engine, lock=lock, wait=wait) as connection:
            yield StateTransaction(connection)


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


_event_time = sa.func.coalesce(event_assignments.c.occurred_at, event_assignments.c.seen_at)


def _since(query: sa.Select, since: datetime | None) -> sa.Select:
    return query if since is None else query.where(_event_time >= since)


_joined = event_assignments.join(
    cluster_templates, cluster_templates.c.fingerprint == event_assignments.c.fingerprint
)
_folded = error_days.join(
    cluster_templates, cluster_templates.c.fingerprint == error_days.c.fingerprint
)


class StateTransaction(ErrorIndexQueries):
    """Reads and writes of the state tables on one connection, in one transaction (the index
    of errors' own queries are :class:`~.error_index.ErrorIndexQueries`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- versions ------------------------------------------------------------------------
    def component_version(self, component: str) -> str | None:
        return read_component(self.connection, component)

    def set_component_version(self, component: str, version: str, now: datetime) -> None:
        write_component(self.connection, component, version, now)

    # -- clusters ------------------------------------------------------------------------
    def clusters(self, ids: Iterable[str] | None = None) -> dict[str, ClusterRecord]:
        query = sa.select(clusters)
        if ids is None:
            rows = self.connection.execute(query.order_by(clusters.c.id)).mappings().all()
        else:
            rows = []
            for chunk in _chunks(sorted(set(ids))):
                rows.extend(
                    self.connection.execute(query.where(clusters.c.id.in_(chunk))).mappings()
                )
        return {row["id"]: _cluster(row) for row in rows}

    def cluster(self, cluster_id: str) -> ClusterRecord | None:
        row = (
            self.connection.execute(sa.select(clusters).where(clusters.c.id == cluster_id))
            .mappings()
            .first()
        )
        return _cluster(row) if row is not None else None

    def cluster_ids(self) -> set[str]:
        return set(self.connection.execute(sa.select(clusters.c.id)).scalars())

    def insert_cluster(self, record: ClusterRecord) -> None:
        self.connection.execute(clusters.insert().values(**dataclasses.asdict(record)))

    def update_cluster(
        self, cluster_id: str, expected_version: int, changes: Mapping[str, Any], now: datetime
    ) -> int:
        """Apply ``changes`` if the row is still at ``expected_version``; return the new version."""
        result = self.connection.execute(
            clusters.update()
            .where(clusters.c.id == cluster_id, clusters.c.version == expected_version)
            .values(**changes, version=expected_version + 1, updated_at=now)
        )
        if result.rowcount != 1:
            raise ConflictError(
                f"cluster {cluster_id} was changed by someone else (expected version {expected_version}); "
                "reload it and try again"
            )
        return expected_version + 1

    def update_cluster_if(
        self, cluster_id: str, status: str, changes: Mapping[str, Any], now: datetime
    ) -> bool:
        """Apply ``changes`` only while the cluster is in ``status`` (lifecycle moves of a refresh)."""
        result = self.connection.execute(
            clusters.update()
            .where(clusters.c.id == cluster_id, clusters.c.status == status)
            .values(**changes, version=clusters.c.version + 1, updated_at=now)
        )
        return result.rowcount == 1

    def clusters_in_status(self, *statuses: str) -> list[ClusterRecord]:
        rows = self.connection.execute(
            sa.select(clusters).where(clusters.c.status.in_(statuses))
        ).mappings()
        return [_cluster(row) for row in rows]

    # -- templates -----------------------------------------------------------------------
    def templates(self, cluster_id: str | None = None) -> dict[str, TemplateRecord]:
        query = sa.select(cluster_templates).order_by(
            cluster_templates.c.created_at, cluster_templates.c.fingerprint
        )
        if cluster_id is not None:
            query = query.where(cluster_templates.c.cluster_id == cluster_id)
        names = [column.name for column in cluster_templates.columns]
        pinned, created = names.index("pinned"), names.index("created_at")
        records = {}
        for row in fetch_rows(self.connection, query, datetimes=[created]):
            values = dict(zip(names, row, strict=True))
            values["pinned"] = bool(row[pinned])
            records[values["fingerprint"]] = TemplateRecord(**values)
        return records

    def insert_templates(self, records: Sequence[TemplateRecord]) -> None:
        if records:
            self.connection.execute(
                cluster_templates.insert(), [dataclasses.asdict(record) for record in records]
            )

    def move_templates(
        self, fingerprints: Iterable[str], cluster_id: str, *, pinned: bool | None = None
    ) -> None:
        values: dict[str, Any] = {"cluster_id": cluster_id}
        if pinned is not None:
            values["pinned"] = pinned
        for chunk in _chunks(sorted(set(fingerprints))):
            self.connection.execute(
                cluster_templates.update()
                .where(cluster_templates.c.fingerprint.in_(chunk))
                .values(**values)
            )

    def set_pinned(self, fingerprint_to_pinned: Mapping[str, bool]) -> None:
        for fingerprint, pinned in fingerprint_to_pinned.items():
            self.connection.execute(
                cluster_templates.update()
                .where(cluster_templates.c.fingerprint == fingerprint)
                .values(pinned=pinned)
            )

    def replace_templates(self, records: Sequence[TemplateRecord]) -> None:
        """Swap the whole template table (an identity-version change re-keys every row)."""
        self.connection.execute(cluster_templates.delete())
        self.insert_templates(records)

    # -- event assignments ---------------------------------------------------------------
    def known_events(self, event_keys: Sequence[str]) -> dict[str, str]:
        """event key -> fingerprint, for the keys already assigned."""
        key_to_fingerprint: dict[str, str] = {}
        for chunk in _chunks(list(event_keys)):
            rows = self.connection.execute(
                sa.select(event_assignments.c.event_key, event_assignments.c.fingerprint).where(
                    event_assignments.c.event_key.in_(chunk)
                )
            )
            key_to_fingerprint.update({key: fingerprint for key, fingerprint in rows})
        return key_to_fingerprint

    def untagged_events(self, event_keys: Sequence[str]) -> set[str]:
        """The keys among ``event_keys`` recorded without a workflow template and model (rows
        written before schema version 2)."""
        untagged: set[str] = set()
        for chunk in _chunks(list(event_keys)):
            untagged.update(
                self.connection.execute(
                    sa.select(event_assignments.c.event_key).where(
                        event_assignments.c.event_key.in_(chunk),
                        event_assignments.c.workflow_template.is_(None),
                        event_assignments.c.model.is_(None),
                    )
                ).scalars()
            )
        return untagged

    def tag_events(self, key_to_tags: Mapping[str, tuple[str | None, str | None]]) -> None:
        """Record the (workflow template, model) of already recorded events."""
        for key, (workflow_template, model) in key_to_tags.items():
            self.connection.execute(
                event_assignments.update()
                .where(event_assignments.c.event_key == key)
                .values(workflow_template=workflow_template, model=model)
            )

    def insert_assignments(self, rows: Sequence[AssignmentRow]) -> None:
        for chunk in _chunks(list(rows)):
            self.connection.execute(
                event_assignments.insert(), [dataclasses.asdict(row) for row in chunk]
            )

    def refingerprint_events(self, old_to_new: Mapping[str, str]) -> None:
        for old, new in old_to_new.items():
            if old != new:
                self.connection.execute(
                    event_assignments.update()
                    .where(event_assignments.c.fingerprint == old)
                    .values(fingerprint=new)
                )

    def set_event_fingerprints(self, key_to_fingerprint: Mapping[str, str]) -> None:
        for key, fingerprint in key_to_fingerprint.items():
            self.connection.execute(
                event_assignments.update()
                .where(event_assignments.c.event_key == key)
                .values(fingerprint=fingerprint)
            )

    # -- aggregates ----------------------------------------------------------------------
    # ``since``: only events that occurred at or after it (the window); None: everything recorded.
    def cluster_stats(
        self, cluster_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> dict[str, OccurrenceStats]:
        return self._stats(cluster_templates.c.cluster_id, cluster_ids, since)

    def template_stats(
        self, cluster_id: str, since: datetime | None = None
    ) -> dict[str, OccurrenceStats]:
        query_filter = cluster_templates.c.cluster_id == cluster_id
        return self._stats(cluster_templates.c.fingerprint, None, since, extra=query_filter)

    def _stats(
        self,
        key: sa.ColumnElement,
        ids: Iterable[str] | None,
        since: datetime | None,
        extra: sa.ColumnElement | None = None,
    ) -> dict[str, OccurrenceStats]:
        query = (
            sa.select(
                key,
                sa.func.count(),
                sa.func.count(sa.distinct(event_assignments.c.run_id)),
                sa.func.count(sa.distinct(event_assignments.c.message_hash)),
                sa.func.min(_event_time),
                sa.func.max(_event_time),
            )
            .select_from(_joined)
            .group_by(key)
        )
        query = _since(query, since)
        if extra is not None:
            query = query.where(extra)
        if ids is not None:
            query = query.where(cluster_templates.c.cluster_id.in_(sorted(set(ids))))
        found = {
            row[0]: OccurrenceStats(int(row[1]), int(row[2]), int(row[3]), row[4], row[5])
            for row in fetch_rows(self.connection, query, datetimes=[4, 5])
        }
        # errors folded into daily counts by the retention count as occurrences too
        folded = (
            sa.select(key, sa.func.sum(error_days.c.errors), sa.func.min(error_days.c.day))
            .select_from(_folded)
            .group_by(key)
        )
        if since is not None:
            folded = folded.where(error_days.c.day >= since.date())
        if extra is not None:
            folded = folded.where(extra)
        if ids is not None:
            folded = folded.where(cluster_templates.c.cluster_id.in_(sorted(set(ids))))
        for name, errors, first_day in self.connection.execute(folded):
            stats = found.setdefault(name, OccurrenceStats())
            stats.occurrences += int(errors or 0)
            first = datetime.combine(first_day, datetime.min.time())
            stats.first_seen = min(stats.first_seen, first) if stats.first_seen else first
            stats.last_seen = stats.last_seen or first
        return found

    def fingerprint_counts(self) -> dict[str, int]:
        """fingerprint -> events recorded for it."""
        query = sa.select(event_assignments.c.fingerprint, sa.func.count()).group_by(
            event_assignments.c.fingerprint
        )
        return {
            fingerprint: int(count) for fingerprint, count in fetch_rows(self.connection, query)
        }

    def phase_counts(
        self, cluster_ids: Iterable[str] | None = None, since: datetime | None = None
    ) -> dict[str, dict[str, int]]:
        """cluster id -> phase -> events."""
        return {
            cluster_id: {str(phase): count for phase, count in phase_to_count.items()}
            for cluster_id, phase_to_count in self.tag_counts(
                event_assignments.c.phase, cluster_ids, since
            ).items()
        }

    def tag_counts(
        self,
        tag: sa.ColumnElement,
        cluster_ids: Iterable[str] | None = None,
        since: datetime | None = None,
    ) -> dict[str, dict[str | None, int]]:
        """cluster id -> value of ``tag`` (a column of ``ea_event_assignments``) -> events."""
        query = (
            sa.select(cluster_templates.c.cluster_id, tag, sa.func.count())
            .select_from(_joined)
            .group_by(cluster_templates.c.cluster_id, tag)
        )
        query = _since(query, since)
        if cluster_ids is not None:
            query = query.where(cluster_templates.c.cluster_id.in_(sorted(set(cluster_ids))))
        cluster_to_values: dict[str, dict[str | None, int]] = defaultdict(dict)
        for cluster_id, value, count in fetch_rows(self.connection, query):
            cluster_to_values[cluster_id][value] = int(count)
        return dict(cluster_to_values)

    def overall_tag_counts(
        self, tag: sa.ColumnElement, since: datetime | None = None
    ) -> dict[str | None, int]:
        """value of ``tag`` -> events of every cluster (all errors of the window)."""
        query = sa.select(tag, sa.func.count()).select_from(_joined).group_by(tag)
        return {value: int(count) for value, count in self.connection.execute(_since(query, since))}

    def daily_counts(
        self, since: date, cluster_ids: Iterable[str] | None = None
    ) -> dict[str, dict[date, int]]:
        """cluster id -> day -> events, for days from ``since``."""
        query = (
            sa.select(cluster_templates.c.cluster_id, event_assignments.c.day, sa.func.count())
            .select_from(_joined)
            .where(event_assignments.c.day >= since)
            .group_by(cluster_templates.c.cluster_id, event_assignments.c.day)
        )
        if cluster_ids is not None:
            query = query.where(cluster_templates.c.cluster_id.in_(sorted(set(cluster_ids))))
        cluster_to_days: dict[str, dict[date, int]] = defaultdict(dict)
        for cluster_id, day, count in fetch_rows(self.connection, query, dates=[1]):
            cluster_to_days[cluster_id][day] = int(count)
        folded = (
            sa.select(
                cluster_templates.c.cluster_id, error_days.c.day, sa.func.sum(error_days.c.errors)
            )
            .select_from(_folded)
            .where(error_days.c.day >= since)
            .group_by(cluster_templates.c.cluster_id, error_days.c.day)
        )
        if cluster_ids is not None:
            folded = folded.where(cluster_templates.c.cluster_id.in_(sorted(set(cluster_ids))))
        for cluster_id, day, count in self.connection.execute(folded):
            days = cluster_to_days[cluster_id]
            days[day] = days.get(day, 0) + int(count or 0)
        return dict(cluster_to_days)

    def recent_run_ids(
        self, cluster_id: str, limit: int, since: datetime | None = None
    ) -> list[str]:
        query = (
            sa.select(event_assignments.c.run_id, sa.func.max(_event_time).label("latest"))
            .select_from(_joined)
            .where(cluster_templates.c.cluster_id == cluster_id)
            .group_by(event_assignments.c.run_id)
            .order_by(sa.desc("latest"), event_assignments.c.run_id)
            .limit(limit)
        )
        return [row[0] for row in self.connection.execute(_since(query, since))]

    def events_after(self, cluster_id: str, moment: datetime) -> int:
        """Events of the cluster that occurred after ``moment``."""
        query = (
            sa.select(sa.func.count())
            .select_from(_joined)
            .where(cluster_templates.c.cluster_id == cluster_id, _event_time > moment)
        )
        return int(self.connection.execute(query).scalar() or 0)

    # -- audit log -----------------------------------------------------------------------
    def record_action(
        self,
        action: str,
        *,
        cluster_id: str | None,
        actor: str,
        at: datetime,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        related_ids: Iterable[str] = (),
        undoable: bool = True,
        undo_of: int | None = None,
    ) -> int:
        related = sorted(set(related_ids) - {cluster_id})
        result = self.connection.execute(
            review_actions.insert().values(
                action=action,
                cluster_id=cluster_id,
                related_ids="," + ",".join(related) + "," if related else "",
                actor=actor,
                at=at,
                before=before,
                after=after,
                undoable=undoable,
                undo_of=undo_of,
            )
        )
        inserted = result.inserted_primary_key
        assert inserted is not None  # an INSERT always has one
        return int(inserted[0])

    def action(self, action_id: int) -> AuditEntry | None:
        row = (
            self.connection.execute(
                sa.select(review_actions).where(review_actions.c.id == action_id)
            )
            .mappings()
            .first()
        )
        return _entry(row) if row is not None else None

    def actions(
        self, *, cluster_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[AuditEntry]:
        query = (
            sa.select(review_actions)
            .order_by(review_actions.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if cluster_id is not None:
            query = query.where(
                sa.or_(
                    review_actions.c.cluster_id == cluster_id,
                    review_actions.c.related_ids.contains(f",{cluster_id},", autoescape=True),
                )
            )
        return [_entry(row) for row in self.connection.execute(query).mappings()]

    def mark_undone(self, action_id: int, undone_by: int) -> None:
        result = self.connection.execute(
            review_actions.update()
            .where(review_actions.c.id == action_id, review_actions.c.undone_by.is_(None))
            .values(undone_by=undone_by)
        )
        if result.rowcount != 1:
            raise ConflictError(f"action #{action_id} was undone concurrently")

    # -- identity remaps and refresh runs -----------------------------------------------
    def record_id_map(
        self,
        old_id: str,
        new_id: str,
        *,
        from_version: str,
        to_version: str,
        at: datetime,
        reason: str,
    ) -> None:
        self.connection.execute(
            id_map.insert().values(
                old_id=old_id,
                new_id=new_id,
                from_version=from_version,
                to_version=to_version,
                mapped_at=at,
                reason=reason,
            )
        )

    def mapped_id(self, old_id: str) -> str | None:
        return self.connection.execute(
            sa.select(id_map.c.new_id).where(id_map.c.old_id == old_id)
        ).scalar()

    def id_map(self) -> dict[str, str]:
        return {
            old: new
            for old, new in self.connection.execute(sa.select(id_map.c.old_id, id_map.c.new_id))
        }

    def record_refresh(
        self,
        *,
        at: datetime,
        days: int,
        events_seen: int,
        new_assignments: int,
        new_clusters: int,
        identity_version: str,
    ) -> None:
        self.connection.execute(
            refresh_runs.insert().values(
                finished_at=at,
                days=days,
                events_seen=events_seen,
                new_assignments=new_assignments,
                new_clusters=new_clusters,
                identity_version=identity_version,
            )
        )

    def last_refresh(self) -> datetime | None:
        return self.connection.execute(sa.select(sa.func.max(refresh_runs.c.finished_at))).scalar()

    # -- alerts --------------------------------------------------------------------------
    def insert_alert(
        self,
        event_key: str,
        event: str,
        cluster_id: str | None,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        """Record a pending alert; False when ``event_key`` was recorded already (by anyone)."""
        dialect = self.connection.dialect.name
        insert: Any
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - the state runs on SQLite or PostgreSQL only
            raise ValueError(f"alerts need SQLite or PostgreSQL, not {dialect}")
        statement = (
            insert(alerts)
            .values(
                event_key=event_key,
                event=event,
                cluster_id=cluster_id,
                payload=dict(payload),
                status="pending",
                attempts=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[alerts.c.event_key])
            .returning(alerts.c.id)
        )
        return self.connection.execute(statement).first() is not None

    def claimable_alerts(self, now: datetime) -> list[int]:
        """Ids of pending alerts nobody is sending (no lease, or an expired one), oldest first."""
        query = (
            sa.select(alerts.c.id)
            .where(
                alerts.c.status == "pending",
                sa.or_(alerts.c.claimed_until.is_(None), alerts.c.claimed_until < now),
            )
            .order_by(alerts.c.id)
        )
        return list(self.connection.execute(query).scalars())

    def claim_alert(self, alert_id: int, now: datetime, until: datetime) -> AlertRecord | None:
        """Take the lease on a pending alert until ``until``; None when someone else holds it
        or it is no longer pending."""
        claimed = self.connection.execute(
            alerts.update()
            .where(
                alerts.c.id == alert_id,
                alerts.c.status == "pending",
                sa.or_(alerts.c.claimed_until.is_(None), alerts.c.claimed_until < now),
            )
            .values(claimed_until=until)
        )
        if claimed.rowcount != 1:
            return None
        row = self.connection.execute(sa.select(alerts).where(alerts.c.id == alert_id)).mappings()
        return _alert(row.one())

    def finish_alert(
        self,
        alert_id: int,
        *,
        status: str,
        attempts: int,
        last_error: str | None,
        sent_at: datetime | None,
    ) -> None:
        """Record a delivery pass's outcome and release the lease."""
        self.connection.execute(
            alerts.update()
            .where(alerts.c.id == alert_id)
            .values(
                status=status,
                attempts=attempts,
                last_error=last_error,
                sent_at=sent_at,
                claimed_until=None,
            )
        )

    def alerts(self, *, limit: int = 100) -> list[AlertRecord]:
        """The recorded alerts, newest first."""
        rows = self.connection.execute(
            sa.select(alerts).order_by(alerts.c.id.desc()).limit(limit)
        ).mappings()
        return [_alert(row) for row in rows]


def _alert(row: RowMapping) -> AlertRecord:
    return AlertRecord(
        id=row["id"],
        event_key=row["event_key"],
        event=row["event"],
        cluster_id=row["cluster_id"],
        payload=dict(row["payload"] or {}),
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )


def _cluster(row: RowMapping) -> ClusterRecord:
    values = {name: row[name] for name in _CLUSTER_FIELDS}
    values["top_terms"] = list(values["top_terms"] or [])
    return ClusterRecord(**values)


def _entry(row: RowMapping) -> AuditEntry:
    related = [part for part in (row["related_ids"] or "").split(",") if part]
    return AuditEntry(
        id=int(row["id"]),
        action=row["action"],
        cluster_id=row["cluster_id"],
        related_ids=related,
        actor=row["actor"],
        at=row["at"],
        before=row["before"],
        after=row["after"],
        undoable=bool(row["undoable"]),
        undo_of=row["undo_of"],
        undone_by=row["undone_by"],
    )
