"""What an ingestion pass reads of the runs it found changed: each run as the index keeps it,
and their errors.

:meth:`~.workflow_reader.WorkflowReader.read_runs` answers with a :class:`RunBatch`: the runs
that exist (an id missing from it names a run whose rows were deleted), their error events
(one per failure, read exactly as a window's are) and, per run, what could not be read
(:class:`QualityByRun`), so a window's data-quality report is the sum over its runs.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from ..models import DataQualityReport, ErrorEvent, Phase

IN_PROGRESS_STATUSES = ("pending", "running", "started", "in_progress")
#: ``ea_runs`` rows of this origin are days of hook events that name no run (their data
#: quality), not runs: no count includes them
UNATTRIBUTED_ORIGIN = "unattributed"
UNATTRIBUTED_PREFIX = "unknown@"


@dataclasses.dataclass(slots=True)
class IndexedRun:
    """One run: when, whether it failed or is still going, where it is known from, which
    phases it reached (task_logs) and what of its rows could not be read."""

    run_id: str
    origin: str  # the table that names it first: workflow_history, task_logs or hook_events
    run_time: datetime | None
    failed: bool
    in_progress: bool
    reached: frozenset[Phase] = frozenset()
    #: why the run has no usable time (it then falls in no window), else None
    time_problem: str | None = None
    quality: DataQualityReport = dataclasses.field(default_factory=DataQualityReport)


@dataclasses.dataclass(slots=True)
class RunBatch:
    """The runs read by id, and their errors."""

    runs: dict[str, IndexedRun]
    events: list[ErrorEvent]


@dataclasses.dataclass(slots=True)
class QualityByRun(DataQualityReport):
    """A data-quality report that also keeps each run's share (see :meth:`at_run`)."""

    run_to_report: dict[str, DataQualityReport] = dataclasses.field(default_factory=dict)
    current: DataQualityReport | None = None
    key_to_latest: dict[str, datetime] = dataclasses.field(default_factory=dict)

    def at_run(self, run_id: str) -> None:
        report = self.run_to_report.get(run_id)
        if report is None:
            report = self.run_to_report[run_id] = DataQualityReport()
        self.current = report

    def read(self, source: str, count: int = 1) -> None:
        DataQualityReport.read(self, source, count)
        if self.current is not None:
            self.current.read(source, count)

    def skip(self, source: str, reason: str, example: str | None = None) -> None:
        DataQualityReport.skip(self, source, reason, example)
        if self.current is not None:
            self.current.skip(source, reason, example)

    def adjust(self, source: str, what: str) -> None:
        DataQualityReport.adjust(self, source, what)
        if self.current is not None:
            self.current.adjust(source, what)

    def at_unattributed(self, moment: datetime | None) -> None:
        """The rows read next are hook events of no run, at ``moment``: they are kept as one
        pseudo-run per day (:data:`UNATTRIBUTED_ORIGIN`, never counted as a run), timed at the
        day's latest event, so a window's data-quality report counts them by day."""
        key = f"{UNATTRIBUTED_PREFIX}{moment.date().isoformat() if moment else 'undated'}"
        self.at_run(key)
        if moment is not None and (
            key not in self.key_to_latest or moment > self.key_to_latest[key]
        ):
            self.key_to_latest[key] = moment

    def unattributed_days(self) -> dict[str, IndexedRun]:
        return {
            key: IndexedRun(
                key,
                UNATTRIBUTED_ORIGIN,
                self.key_to_latest.get(key),
                False,
                False,
                quality=report,
            )
            for key, report in self.run_to_report.items()
            if key.startswith(UNATTRIBUTED_PREFIX)
        }

    def of_run(self, run_id: str) -> DataQualityReport:
        return self.run_to_report.get(run_id) or DataQualityReport()
