"""Grouping error events by a key (a category, a cluster) into occurrence statistics."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from ..models import ErrorEvent, Phase
from ..rules.text import strip_ansi


@dataclasses.dataclass(frozen=True, slots=True)
class ProblemFigures:
    """How often, how widely and how recently a problem occurs: what ranking needs."""

    occurrences: int
    runs_affected: int
    phases: list[str]
    last_seen: datetime | None
    example_message: str


@dataclasses.dataclass(slots=True)
class GroupStats:
    """How often, how widely and how recently one group of errors occurs."""

    key: str
    occurrences: int = 0
    run_ids: set[str] = dataclasses.field(default_factory=set)
    phase_counts: Counter = dataclasses.field(default_factory=Counter)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    example_message: str = ""
    latest_run_id: str | None = None  # the run of the latest timed event
    latest_phase: str | None = None

    @property
    def runs_affected(self) -> int:
        return len(self.run_ids)

    @property
    def phases(self) -> list[str]:
        """Affected phases in workflow order."""
        order = {phase.value: index for index, phase in enumerate(Phase.ordered())}
        return sorted(self.phase_counts, key=lambda name: order.get(name, len(order)))

    def figures(self) -> ProblemFigures:
        """The figures to show: the example without colour codes, even ones that lost their ESC."""
        return ProblemFigures(
            self.occurrences,
            self.runs_affected,
            self.phases,
            self.last_seen,
            strip_ansi(self.example_message),
        )

    def add(self, event: ErrorEvent) -> None:
        self.occurrences += 1
        self.run_ids.add(event.run_id)
        self.phase_counts[event.phase.value] += 1
        if event.timestamp is not None:
            if self.first_seen is None or event.timestamp < self.first_seen:
                self.first_seen = event.timestamp
            if self.last_seen is None or event.timestamp > self.last_seen:
                self.last_seen = event.timestamp
                self.latest_run_id, self.latest_phase = event.run_id, event.phase.value
        if event.message and (
            not self.example_message or len(event.message) < len(self.example_message) // 4
        ):
            self.example_message = event.message


def group_events(
    events: Iterable[ErrorEvent], key_of: Callable[[ErrorEvent], str | None]
) -> dict[str, GroupStats]:
    """Group ``events`` by ``key_of(event)`` (None leaves the event out), largest group first."""
    key_to_stats: dict[str, GroupStats] = {}
    for event in events:
        key = key_of(event)
        if key is None:
            continue
        stats = key_to_stats.get(key)
        if stats is None:
            stats = key_to_stats[key] = GroupStats(key=key)
        stats.add(event)
    return dict(sorted(key_to_stats.items(), key=lambda item: (-item[1].occurrences, item[0])))
