"""Reads and writes of the index of errors (schema version 4): ``ea_runs``, ``ea_messages``,
``ea_ingest_marks`` and the per-error rows of ``ea_event_assignments``.

:class:`ErrorIndexQueries` is part of :class:`~.repository.StateTransaction`. Writes replace a
run's rows as a whole (ingestion re-reads changed runs); reads aggregate one window: run
counts, daily counts, phase reach and the window's errors, each one indexed query.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..run_batch import UNATTRIBUTED_ORIGIN
from .packed import fetch_rows
from .records import AssignmentRow, IndexedError, RunRow
from .tables import error_days, event_assignments, ingest_marks, ingested_runs, messages

#: Keys per ``IN (...)`` list, well below every engine's bind-parameter limit.
CHUNK = 500
GENERATION = "generation"


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _as_dict(row: Any) -> dict[str, Any]:
    """A dataclass row as a dict, shallow (``dataclasses.asdict`` deep-copies every value)."""
    return {field.name: getattr(row, field.name) for field in dataclasses.fields(row)}


def _in_window(column: sa.ColumnElement, start: datetime, end: datetime) -> sa.ColumnElement:
    return sa.and_(column >= start, column <= end)


#: runs that count (not the days of hook events that name no run)
_COUNTED = ingested_runs.c.origin != UNATTRIBUTED_ORIGIN


#: A PostgreSQL ``COPY`` of at least this many rows is followed by ``ANALYZE`` of the table.
ANALYZE_AFTER_ROWS = 1_000


class ErrorIndexQueries:
    """The index's queries on one transaction's connection."""

    connection: Connection

    # -- watermarks ----------------------------------------------------------------------
    def marks(self) -> dict[str, str]:
        rows = self.connection.execute(sa.select(ingest_marks.c.name, ingest_marks.c.value))
        return {name: value for name, value in rows}

    def set_marks(self, name_to_value: Mapping[str, str], now: datetime) -> None:
        current = self.marks()
        for name, value in name_to_value.items():
            if current.get(name) == value:
                continue
            if name in current:
                self.connection.execute(
                    ingest_marks.update()
                    .where(ingest_marks.c.name == name)
                    .values(value=value, updated_at=now)
                )
            else:
                self.connection.execute(
                    ingest_marks.insert().values(name=name, value=value, updated_at=now)
                )

    def clear_marks(self) -> None:
        self.connection.execute(ingest_marks.delete())

    def generation(self) -> int:
        """A number that grows with every ingestion step that changed the index."""
        value = self.connection.execute(
            sa.select(ingest_marks.c.value).where(ingest_marks.c.name == GENERATION)
        ).scalar()
        return int(value) if value else 0

    # -- writes --------------------------------------------------------------------------
    def run_assignments(self, run_ids: Iterable[str]) -> dict[str, dict[str, datetime]]:
        """run id -> event key -> first seen, of the errors recorded for ``run_ids``."""
        found: dict[str, dict[str, datetime]] = {}
        table = event_assignments
        for chunk in _chunks(sorted(set(run_ids))):
            rows = self.connection.execute(
                sa.select(table.c.run_id, table.c.event_key, table.c.seen_at).where(
                    table.c.run_id.in_(chunk)
                )
            )
            for run_id, key, seen in rows:
                found.setdefault(run_id, {})[key] = seen
        return found

    def runs(self, run_ids: Iterable[str]) -> dict[str, RunRow]:
        """The recorded rows of ``run_ids`` that the index has."""
        found: dict[str, RunRow] = {}
        for chunk in _chunks(sorted(set(run_ids))):
            rows = self.connection.execute(
                sa.select(ingested_runs).where(ingested_runs.c.run_id.in_(chunk))
            ).mappings()
            found.update({row["run_id"]: RunRow(**row) for row in rows})
        return found

    def forget_runs(self, run_ids: Iterable[str]) -> None:
        """Delete the runs and their errors (they are written again, or were deleted)."""
        for chunk in _chunks(sorted(set(run_ids))):
            self.connection.execute(
                event_assignments.delete().where(event_assignments.c.run_id.in_(chunk))
            )
            self.connection.execute(ingested_runs.delete().where(ingested_runs.c.run_id.in_(chunk)))

    def insert_runs(self, rows: Sequence[RunRow]) -> None:
        self._insert(ingested_runs, rows)

    def insert_index_rows(self, rows: Sequence[AssignmentRow]) -> None:
        self._insert(event_assignments, rows)

    def _insert(self, table: sa.Table, rows: Sequence[Any]) -> None:
        """Insert dataclass rows: one multi-row ``INSERT`` per chunk on PostgreSQL (a round
        trip per chunk, not per row), ``executemany`` on SQLite (in-process, already fast)."""
        values = [_as_dict(row) for row in rows]
        if not values:
            return
        if self.connection.dialect.name == "postgresql":
            self._copy(table, values)
            return
        for chunk in _chunks(values):
            self.connection.execute(table.insert(), list(chunk))

    def _copy(self, table: sa.Table, values: list[dict[str, Any]]) -> None:
        """PostgreSQL's ``COPY ... FROM STDIN`` through psycopg, in this transaction."""
        from psycopg.types.json import Json

        preparer = self.connection.dialect.identifier_preparer
        options = self.connection.get_execution_options()
        schema = (options.get("schema_translate_map") or {}).get(None)
        name = preparer.quote(table.name)
        if schema:
            name = f"{preparer.quote_schema(schema)}.{name}"
        columns = list(values[0])
        json_columns = {column.name for column in table.columns if isinstance(column.type, sa.JSON)}
        quoted = ", ".join(preparer.quote(column) for column in columns)
        driver = self.connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(
                    [
                        Json(row[column])
                        if column in json_columns and row[column] is not None
                        else row[column]
                        for column in columns
                    ]
                )
        if len(values) >= ANALYZE_AFTER_ROWS:
            # fresh statistics now: until autovacuum's next round (a minute or more), the
            # planner would take the table for the size it had, and the next pass's lookups
            # by run id took 37 s instead of 4 (10,000 runs, measured)
            self.connection.exec_driver_sql(f"ANALYZE {name}")

    def add_messages(self, hash_to_message: Mapping[str, str]) -> None:
        """Record the messages not recorded yet."""
        hashes = sorted(hash_to_message)
        known: set[str] = set()
        for chunk in _chunks(hashes):
            known.update(
                self.connection.execute(
                    sa.select(messages.c.message_hash).where(messages.c.message_hash.in_(chunk))
                ).scalars()
            )
        rows = [
            {"message_hash": hashed, "message": hash_to_message[hashed]}
            for hashed in hashes
            if hashed not in known
        ]
        for chunk in _chunks(rows):
            self.connection.execute(messages.insert(), list(chunk))

    def runs_to_reread(self, since: datetime) -> set[str]:
        """Runs still in progress when last read, that started at or after ``since``."""
        query = sa.select(ingested_runs.c.run_id).where(
            ingested_runs.c.in_progress.is_(True), ingested_runs.c.run_time >= since
        )
        return set(self.connection.execute(query).scalars())

    def indexed_run_ids(self, origin: str | None = None) -> set[str]:
        """The runs in the index (known first from ``origin``, when given)."""
        query = sa.select(ingested_runs.c.run_id)
        if origin is not None:
            query = query.where(ingested_runs.c.origin == origin)
        return set(self.connection.execute(query).scalars())

    def forget_orphan_errors(self, keep_run_ids: set[str]) -> int:
        """Delete the errors of runs the index no longer has (other than ``keep_run_ids``)."""
        table = event_assignments
        orphans = (
            set(
                self.connection.execute(
                    sa.select(table.c.run_id)
                    .distinct()
                    .where(~table.c.run_id.in_(sa.select(ingested_runs.c.run_id)))
                ).scalars()
            )
            - keep_run_ids
        )
        for chunk in _chunks(sorted(orphans)):
            self.connection.execute(table.delete().where(table.c.run_id.in_(chunk)))
        return len(orphans)

    def forget_index(self) -> None:
        """Empty the index (a rebuild): runs, errors, messages and watermarks."""
        for table in (event_assignments, ingested_runs, messages, ingest_marks, error_days):
            self.connection.execute(table.delete())

    def prune_errors_before(self, moment: datetime) -> int:
        """Retention: fold the per-error rows that occurred before ``moment`` into
        ``ea_error_days`` (errors per fingerprint, day and phase) and delete them, with the
        messages no error refers to any more. Returns the rows deleted."""
        table = event_assignments
        old = table.c.occurred_at < moment
        folded = self.connection.execute(
            sa.select(table.c.fingerprint, table.c.day, table.c.phase, sa.func.count())
            .where(old, table.c.fingerprint != "")
            .group_by(table.c.fingerprint, table.c.day, table.c.phase)
        ).all()
        self.add_error_days([(fp, day, phase, int(count)) for fp, day, phase, count in folded])
        deleted = int(self.connection.execute(table.delete().where(old)).rowcount or 0)
        if deleted:
            self.connection.execute(
                messages.delete().where(
                    ~messages.c.message_hash.in_(sa.select(table.c.message_hash).distinct())
                )
            )
        return deleted

    def add_error_days(self, rows: Sequence[tuple[str, date, str, int]]) -> None:
        """Add errors to ``ea_error_days`` (fingerprint, day, phase, errors)."""
        key_to_errors: dict[tuple[str, date, str], int] = {}
        for fingerprint, day, phase, errors in rows:
            key = (fingerprint, day, phase)
            key_to_errors[key] = key_to_errors.get(key, 0) + errors
        for (fingerprint, day, phase), errors in key_to_errors.items():
            where = sa.and_(
                error_days.c.fingerprint == fingerprint,
                error_days.c.day == day,
                error_days.c.phase == phase,
            )
            updated = self.connection.execute(
                error_days.update().where(where).values(errors=error_days.c.errors + errors)
            )
            if not updated.rowcount:
                self.connection.execute(
                    error_days.insert().values(
                        fingerprint=fingerprint, day=day, phase=phase, errors=errors
                    )
                )

    def retained_since(self) -> date | None:
        """The first day whose errors are all kept one by one (None: nothing was dropped)."""
        latest = self.connection.execute(sa.select(sa.func.max(error_days.c.day))).scalar()
        return latest + timedelta(days=1) if latest else None

    # -- a window's reads ----------------------------------------------------------------
    def run_totals(self, start: datetime, end: datetime) -> tuple[int, int]:
        runs = ingested_runs
        query = sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(sa.cast(runs.c.failed, sa.Integer)), 0)
        ).where(_in_window(runs.c.run_time, start, end), _COUNTED)
        total, failed = self.connection.execute(query).one()
        return int(total), int(failed)

    def daily_runs(self, start: datetime, end: datetime) -> list[tuple[date, int, int]]:
        runs = ingested_runs
        query = (
            sa.select(
                runs.c.day,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.cast(runs.c.failed, sa.Integer)), 0),
            )
            .where(_in_window(runs.c.run_time, start, end), _COUNTED)
            .group_by(runs.c.day)
            .order_by(runs.c.day)
        )
        return [
            (day, int(total), int(failed)) for day, total, failed in self.connection.execute(query)
        ]

    def reach_counts(self, start: datetime, end: datetime, phases: int) -> list[int]:
        """Runs of the window that reached phase ``i``, for ``i`` below ``phases``."""
        runs = ingested_runs
        columns = [
            sa.func.coalesce(
                sa.func.sum(sa.case((sa.text(f"(reached & {1 << index}) <> 0"), 1), else_=0)),
                0,
            )
            for index in range(phases)
        ]
        query = (
            sa.select(*columns)
            .select_from(runs)
            .where(_in_window(runs.c.run_time, start, end), _COUNTED)
        )
        return [int(value) for value in self.connection.execute(query).one()]

    def origin_counts(self, start: datetime, end: datetime, origin: str) -> dict[str, int]:
        """Runs of the window known from another table than ``origin``, by table."""
        runs = ingested_runs
        query = (
            sa.select(runs.c.origin, sa.func.count())
            .where(_in_window(runs.c.run_time, start, end), runs.c.origin != origin, _COUNTED)
            .group_by(runs.c.origin)
        )
        return {name: int(count) for name, count in self.connection.execute(query)}

    def time_problems(self) -> list[tuple[str, str, str]]:
        """(run id, origin, problem) of every run without a usable time."""
        runs = ingested_runs
        query = (
            sa.select(runs.c.run_id, runs.c.origin, runs.c.time_problem)
            .where(runs.c.time_problem.is_not(None))
            .order_by(runs.c.run_id)
        )
        return [
            (run_id, origin, problem)
            for run_id, origin, problem in fetch_rows(self.connection, query)
        ]

    def runs_after(self, moment: datetime, origin: str) -> int:
        """Runs known from ``origin`` whose time is after ``moment`` (dates in the future)."""
        runs = ingested_runs
        query = sa.select(sa.func.count()).where(runs.c.run_time > moment, runs.c.origin == origin)
        return int(self.connection.execute(query).scalar() or 0)

    def run_quality(self, start: datetime, end: datetime) -> list[tuple[dict[str, Any], int]]:
        """The distinct data-quality notes of the window's runs, each with how many runs have
        it (most runs share one: a row read from each table; runs without any have none)."""
        runs = ingested_runs
        text = sa.cast(runs.c.quality, sa.Text)
        query = (
            sa.select(text, sa.func.count())
            .where(_in_window(runs.c.run_time, start, end), runs.c.quality.is_not(None))
            .group_by(text)
            .order_by(sa.func.min(runs.c.run_time), sa.func.min(runs.c.run_id))  # runs' order
        )
        notes = []
        for value, count in self.connection.execute(query):
            document = json.loads(value) if value else None
            if document:
                notes.append((document, int(count)))
        return notes

    def window_errors(self, start: datetime, end: datetime) -> list[IndexedError]:
        """The errors that occurred in the window, with their message text."""
        table = event_assignments
        query = (
            sa.select(
                table.c.run_id,
                table.c.phase,
                table.c.source,
                messages.c.message,
                table.c.occurred_at,
                table.c.workflow_template,
                table.c.model,
                table.c.sources,
                table.c.fingerprint,
            )
            .select_from(table.outerjoin(messages, messages.c.message_hash == table.c.message_hash))
            .where(_in_window(table.c.occurred_at, start, end))
        )
        return [IndexedError(*row) for row in fetch_rows(self.connection, query, datetimes=[4])]
