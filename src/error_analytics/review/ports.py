"""What the review service needs from the analysed database, as a protocol.

:class:`~error_analytics.service.ErrorAnalyticsService` provides it; the review package
depends on this protocol, not on the service, so imports run one way (the service builds the
review service on its state, never the reverse).
"""

from __future__ import annotations

from typing import Protocol

from ..analysis.snapshot import Snapshot
from ..models import CategoryRule, TimeWindow
from ..rules import RuleSet
from ..store.workflow_reader import WorkflowReader


class AnalysedDatabase(Protocol):
    """The window's bounds and data, the rules in force and their categories."""

    @property
    def rules(self) -> RuleSet: ...

    @property
    def reader(self) -> WorkflowReader: ...

    def window(self, days: int) -> TimeWindow: ...

    def snapshot(self, days: int = 30) -> Snapshot: ...

    def category_rule(self, key: str) -> CategoryRule: ...
