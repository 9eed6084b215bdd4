"""Which runs changed since the last ingestion pass: a watermark per table.

Each analysed table is followed by the most specific column it has:

* ``id`` — rows added since the highest id seen (``workflow_history``, ``hook_events``);
* ``updated_at`` of ``workflow_history`` — runs changed in place (``running`` -> ``failed``),
  among the rows added in the last ``follow_days`` days (the column has no index in the
  host's schema: the bound is an id range, read through the primary key, where a whole
  table's scan on every pass would cost a second at a million runs);
* else a time column (``created_at``, ``started_at``, ``timestamp``) — rows added since the
  latest time seen (``task_logs`` has no id in the host's schema);
* else the row count: when it moves, every run of that table is read again.

Rows are taken in watermark order, at most ``limit`` per table a step, so a large backlog is
ingested in steps that each commit (a pass killed half-way resumes from the last step). A step
that ends inside a group of rows sharing one watermark value takes the whole group.

Deletions: after each step the number of rows at or below each table's watermark is recorded;
when fewer rows are there at the next step, rows were deleted (:meth:`ChangeFeed.deletions`)
and the ingester reconciles the run ids (:meth:`ChangeFeed.all_run_ids`).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .row_values import hook_run_id
from .schema_probe import HOOK_TABLE, TASK_LOG_TABLE, WORKFLOW_TABLE, WorkflowSchema
from .workflow_reader import UNATTRIBUTED

COUNT_MARK = "count:"
COUNTED_TO_MARK = "counted_to:"
#: ``[[day, id], ...]``: the table's id watermark at the first step of each recent day (the
#: rows past the oldest are followed for changes in place)
FOLLOWED_MARK = "followed_from:"
#: what follows each table's changes, most specific first
_TIME_COLUMNS = {
    WORKFLOW_TABLE: ("created_at", "start_time"),
    TASK_LOG_TABLE: ("created_at", "started_at", "completed_at"),
    HOOK_TABLE: ("created_at", "timestamp"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Cursor:
    """One watermark: ``table`` followed by ``column`` (an ordering key), or by its row count."""

    table: str
    column: str | None  # None: the row count

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column or 'count'}"


@dataclasses.dataclass(slots=True)
class Changes:
    """One step's changed runs and the watermarks after it."""

    run_ids: set[str]
    marks: dict[str, str]
    complete: bool  # False: some table had more rows than the step's limit


class ChangeFeed:
    """The changed runs of one workflow database, step by step (see the module docstring)."""

    def __init__(self, engine: Engine, schema: WorkflowSchema) -> None:
        self.engine = engine
        self.schema = schema
        self._sqlite = engine.dialect.name == "sqlite"
        self.cursors = self._cursors()

    def _cursors(self) -> list[Cursor]:
        cursors = []
        for table in (WORKFLOW_TABLE, TASK_LOG_TABLE, HOOK_TABLE):
            columns = self.schema.columns(table)
            if not columns or not ({"adw_id"} & columns or table == HOOK_TABLE):
                continue
            if "id" in columns:
                cursors.append(Cursor(table, "id"))
            else:
                timed = next((name for name in _TIME_COLUMNS[table] if name in columns), None)
                cursors.append(Cursor(table, timed))
            if table == WORKFLOW_TABLE and "updated_at" in columns:
                cursors.append(Cursor(table, "updated_at"))
        return cursors

    def _order_key(self, cursor: Cursor) -> str:
        """The column as a sortable value: an integer id, or time as sortable text."""
        if cursor.column == "id":
            return "t.id"
        if self._sqlite:
            return f"strftime('%Y-%m-%d %H:%M:%f', t.{cursor.column})"
        return f"CAST(t.{cursor.column} AS TEXT)"

    def _run_columns(self, table: str) -> str:
        if table == HOOK_TABLE:
            columns = self.schema.columns(HOOK_TABLE)
            workflow = "t.workflow_id" if "workflow_id" in columns else "NULL"
            app = "t.source_app" if "source_app" in columns else "NULL"
            return f"{workflow}, {app}"
        return "t.adw_id, NULL"

    def row_counts(self, connection: Connection | None = None) -> dict[str, int]:
        tables = sorted({cursor.table for cursor in self.cursors})
        if not tables:
            return {}
        sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in tables)
        if connection is None:
            with self.engine.connect() as own:
                values = own.execute(sa.text(sql)).one()
        else:
            values = connection.execute(sa.text(sql)).one()
        return {table: int(value) for table, value in zip(tables, values, strict=True)}

    def next_changes(
        self, marks: dict[str, str], limit: int, *, today: date, follow_days: int
    ) -> Changes:
        """The runs of up to ``limit`` rows per table past ``marks``, and the marks after them;
        rows changed in place are looked for among those added in the last ``follow_days``."""
        run_ids: set[str] = set()
        new_marks = dict(marks)
        complete = True
        floors = self._followed(marks, new_marks, today, follow_days)
        with self.engine.connect() as connection:
            counted = any(cursor.column is None for cursor in self.cursors)
            counts = self.row_counts(connection) if counted else {}
            for cursor in self.cursors:
                if cursor.column is None:
                    count = str(counts.get(cursor.table, 0))
                    if marks.get(cursor.name) != count:
                        run_ids |= self._table_run_ids(connection, cursor.table)
                        new_marks[cursor.name] = count
                    continue
                found, last, more = self._rows_after(
                    connection, cursor, marks.get(cursor.name), limit, floors.get(cursor.table)
                )
                run_ids |= found
                complete = complete and not more
                if last is not None:
                    new_marks[cursor.name] = last
        return Changes(run_ids, new_marks, complete)

    def _followed(
        self, marks: dict[str, str], new_marks: dict[str, str], today: date, days: int
    ) -> dict[str, int]:
        """Per table followed by ``updated_at`` (and ``id``), the id past which rows are
        looked at for changes in place; records today's id watermark in ``new_marks``."""
        floors: dict[str, int] = {}
        horizon = (today - timedelta(days=days)).isoformat()
        for cursor in self.cursors:
            if cursor.column != "updated_at" or Cursor(cursor.table, "id") not in self.cursors:
                continue
            name = FOLLOWED_MARK + cursor.table
            try:
                entries = [(str(day), int(row)) for day, row in json.loads(marks.get(name) or "[]")]
            except (TypeError, ValueError):
                entries = []
            kept = [(day, row) for day, row in entries if day >= horizon]
            if kept:
                floors[cursor.table] = min(row for _, row in kept)
            if not any(day == today.isoformat() for day, _ in kept):
                kept.append((today.isoformat(), int(marks.get(f"{cursor.table}.id") or 0)))
            new_marks[name] = json.dumps(kept)
        return floors

    def followed_start(self, now: datetime, days: int) -> dict[str, str]:
        """For a fresh index that starts at the latest rows: the rows of runs created in the
        last ``days`` days are followed for changes in place (one scan of the table)."""
        started: dict[str, str] = {}
        columns = self.schema.columns(WORKFLOW_TABLE)
        timed = next((name for name in _TIME_COLUMNS[WORKFLOW_TABLE] if name in columns), None)
        if Cursor(WORKFLOW_TABLE, "updated_at") not in self.cursors or timed is None:
            return started
        key = self._order_key(Cursor(WORKFLOW_TABLE, timed))
        since = (now - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")
        with self.engine.connect() as connection:
            first = connection.execute(
                sa.text(f"SELECT MIN(t.id) - 1 FROM {WORKFLOW_TABLE} t WHERE {key} >= :since"),
                {"since": since},
            ).scalar()
        if first is not None:
            entry = [[now.date().isoformat(), int(first)]]
            started[FOLLOWED_MARK + WORKFLOW_TABLE] = json.dumps(entry)
        return started

    def _rows_after(
        self,
        connection: Connection,
        cursor: Cursor,
        mark: str | None,
        limit: int,
        floor: int | None = None,
    ) -> tuple[set[str], str | None, bool]:
        key = self._order_key(cursor)
        where = f"{key} IS NOT NULL"
        params: dict[str, object] = {"limit": limit}
        if floor is not None and cursor.column != "id":
            where += " AND t.id > :floor"
            params["floor"] = floor
        if mark is not None:
            if self._sqlite and cursor.column != "id":
                # a cheap test first: text of an earlier day cannot be past the mark, in
                # either of the forms SQLite keeps (``2025-12-10 10:33`` / ``2025-12-10T10:33``)
                column = f"t.{cursor.column}"
                where += f" AND (typeof({column}) <> 'text' OR {column} >= :day)"
                params["day"] = mark[:10]
            where += f" AND {key} > :mark"
            params["mark"] = int(mark) if cursor.column == "id" else mark
        sql = (
            f"SELECT {key} AS k, {self._run_columns(cursor.table)} FROM {cursor.table} t "
            f"WHERE {where} ORDER BY k LIMIT :limit"
        )
        rows = list(connection.execute(sa.text(sql), params).all())
        if not rows:
            return set(), None, False
        last = rows[-1][0]
        more = len(rows) == limit
        if more:  # take the rest of the group that shares the last value
            bound = " AND t.id > :floor" if "floor" in params else ""
            rows += connection.execute(
                sa.text(
                    f"SELECT {key} AS k, {self._run_columns(cursor.table)} "
                    f"FROM {cursor.table} t WHERE {key} = :last{bound}"
                ),
                {"last": last, **({"floor": params["floor"]} if bound else {})},
            ).all()
        found = {self._run_id(cursor.table, first, second) for _, first, second in rows}
        run_ids = {run_id for run_id in found if run_id is not None}
        return run_ids, str(last), more

    @staticmethod
    def _run_id(table: str, first: object, second: object) -> str | None:
        if table == HOOK_TABLE:
            return hook_run_id(first, second) or UNATTRIBUTED
        return None if first is None else str(first)

    def _table_run_ids(self, connection: Connection, table: str) -> set[str]:
        sql = f"SELECT DISTINCT {self._run_columns(table)} FROM {table} t"
        found = {
            self._run_id(table, first, second) for first, second in connection.execute(sa.text(sql))
        }
        return {run_id for run_id in found if run_id is not None}

    def run_ids_of(self, table: str) -> set[str]:
        """The run ids ``table`` names now."""
        with self.engine.connect() as connection:
            return self._table_run_ids(connection, table)

    def _counting(self) -> list[Cursor]:
        """Per table, the cursor whose watermark the row counts are taken below."""
        chosen: dict[str, Cursor] = {}
        for cursor in self.cursors:
            if cursor.column not in (None, "updated_at"):
                chosen.setdefault(cursor.table, cursor)
        return list(chosen.values())

    def current_marks(self) -> dict[str, str]:
        """Every watermark at the table's latest row now (a fresh index starts there: the
        rows below are read by time range instead, :meth:`WorkflowReader.runs_between`)."""
        marks: dict[str, str] = {}
        with self.engine.connect() as connection:
            counts = self.row_counts(connection)
            for cursor in self.cursors:
                if cursor.column is None:
                    marks[cursor.name] = str(counts.get(cursor.table, 0))
                    continue
                key = self._order_key(cursor)
                latest = connection.execute(
                    sa.text(f"SELECT MAX({key}) FROM {cursor.table} t")
                ).scalar()
                if latest is not None:
                    marks[cursor.name] = str(latest)
        return marks

    def counts_through(self, marks: dict[str, str]) -> dict[str, str]:
        """``count:<table>`` -> rows at or below the table's watermark in ``marks``, and
        ``counted_to:<table>`` -> that watermark."""
        counted: dict[str, str] = {}
        with self.engine.connect() as connection:
            for cursor in self._counting():
                mark = marks.get(cursor.name)
                if mark is not None:
                    rows = self._rows_through(connection, cursor, mark)
                    counted[COUNT_MARK + cursor.table] = str(rows)
                    counted[COUNTED_TO_MARK + cursor.table] = mark
        return counted

    def deletions(self, marks: dict[str, str]) -> bool:
        """Whether rows at or below a watermark were deleted since ``marks`` were recorded."""
        with self.engine.connect() as connection:
            for cursor in self._counting():
                mark = marks.get(COUNTED_TO_MARK + cursor.table, marks.get(cursor.name))
                recorded = marks.get(COUNT_MARK + cursor.table)
                if mark is None or recorded is None:
                    continue
                if self._rows_through(connection, cursor, mark) < int(recorded):
                    return True
        return False

    def _rows_through(self, connection: Connection, cursor: Cursor, mark: str) -> int:
        key = self._order_key(cursor)
        if cursor.column == "id":
            # the table's rows less those past the mark, in one statement (one snapshot): a
            # whole table's count is cheap (SQLite counts the pages of its smallest index),
            # the rows past the mark are few, where counting below it reads every row
            sql = (
                f"SELECT (SELECT COUNT(*) FROM {cursor.table}) - "
                f"(SELECT COUNT(*) FROM {cursor.table} t WHERE {key} > :mark)"
            )
            return int(connection.execute(sa.text(sql), {"mark": int(mark)}).scalar() or 0)
        sql = f"SELECT COUNT(*) FROM {cursor.table} t WHERE {key} <= :mark"
        return int(connection.execute(sa.text(sql), {"mark": mark}).scalar() or 0)

    def all_run_ids(self) -> set[str]:
        """Every run id the analysed tables name now (for reconciliation after deletions)."""
        with self.engine.connect() as connection:
            found: set[str] = set()
            for table in sorted({cursor.table for cursor in self.cursors}):
                found |= self._table_run_ids(connection, table)
        return found
