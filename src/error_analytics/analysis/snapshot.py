"""``Snapshot``: everything the analyses of one window read from the database, read once."""

from __future__ import annotations

import dataclasses
import threading

from ..models import DataQualityReport, ErrorEvent, Phase, TimeWindow
from ..store.workflow_reader import DailyRunCount, RunCounts
from .clusters import WindowClusters


@dataclasses.dataclass(slots=True)
class Snapshot:
    """One window's runs, error events and data quality, read once and shared by the views."""

    window: TimeWindow
    counts: RunCounts
    events: list[ErrorEvent]
    quality: DataQualityReport
    phase_reach: dict[Phase, int] | None
    daily: list[DailyRunCount]
    days: int = 30
    #: message -> template fingerprint, when the events come from the index of errors (the
    #: review state): placing them in clusters then needs no templating
    fingerprints: dict[str, str] | None = None
    # the window's clusters, found on first use; with the review state's token they came from
    clusters: WindowClusters | None = None
    clusters_token: tuple | None = None
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)
