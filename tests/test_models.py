"""Domain objects carry enum members where their fields are typed with an enum.

A bare string (``"high"`` where a :class:`Severity` is due) compares equal to the member, so
nothing else notices it; these tests walk the results of a built database and of loaded rules
and fail on every such string.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from error_analytics.config import DatabaseTarget
from error_analytics.demo import build_demo_database
from error_analytics.models import (
    ClusterSort,
    ClusterStatus,
    DebugRecommendation,
    DecidedBy,
    PatternKind,
    Phase,
    RateBasis,
    RecommendationKind,
    Severity,
    Source,
    TrendDirection,
    to_jsonable,
)
from error_analytics.rules import default_rules, load_rules
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.state import open_state_engine
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW

ENUMS = (
    Phase,
    Source,
    Severity,
    TrendDirection,
    ClusterStatus,
    DecidedBy,
    ClusterSort,
    RateBasis,
    PatternKind,
    RecommendationKind,
)


def _enum_of(hint: Any) -> type[enum.Enum] | None:
    """The enum a field's type names (``Severity``, ``Severity | None``), else None."""
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            found = _enum_of(arg)
            if found is not None:
                return found
    return None


def bare_strings(value: Any, path: str = "result") -> list[str]:
    """Every field (nested dataclasses and containers too) typed with an enum that holds
    something other than a member of it (None aside), as ``path: value``."""
    found: list[str] = []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = typing.get_type_hints(type(value))
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            wanted = _enum_of(hints[field.name])
            if wanted is not None and item is not None and not isinstance(item, wanted):
                found.append(f"{path}.{field.name}: {item!r} is no {wanted.__name__}")
            found.extend(bare_strings(item, f"{path}.{field.name}"))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(bare_strings(item, f"{path}[{index}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(bare_strings(item, f"{path}[{key!r}]"))
    return found


def test_the_check_finds_a_bare_string() -> None:
    item = DebugRecommendation(
        issue="x",
        severity="high",  # type: ignore[arg-type]  # what the check is for
        root_cause="",
        solution="",
        estimated_fix_time="",
        kind="category",  # type: ignore[arg-type]
    )
    assert bare_strings([item]) == [
        "result[0].severity: 'high' is no Severity",
        "result[0].kind: 'category' is no RecommendationKind",
    ]
    typed = dataclasses.replace(item, severity=Severity.HIGH, kind=RecommendationKind.CATEGORY)
    assert bare_strings([typed]) == []
    assert to_jsonable(typed) == to_jsonable(item)  # JSON is the same either way


@pytest.mark.parametrize("enum_type", ENUMS, ids=lambda enum_type: enum_type.__name__)
def test_members_print_as_their_values(enum_type: type[enum.Enum]) -> None:
    """The text views format members into lines: they must read as the value."""
    for member in enum_type:
        assert str(member) == f"{member}" == f"{member:<3}".rstrip() == member.value


def test_rules_from_toml_carry_severities(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[categories.timeout_error]\nseverity = "high"\n\n'
        '[categories.flaky_test]\nname = "Flaky Test"\ncategory = "Test Issue"\n'
        'recommendation = "Quarantine it"\nkeywords = ["flaky"]\n',
        encoding="utf-8",
    )
    rules = load_rules(path)
    assert rules.categories["timeout_error"].severity is Severity.HIGH
    assert rules.categories["flaky_test"].severity is Severity.MEDIUM
    assert bare_strings(list(rules.categories.values())) == []
    assert bare_strings(list(default_rules().categories.values())) == []


@pytest.mark.parametrize("stateful", [False, True], ids=["stateless", "stateful"])
def test_service_results_carry_enum_members(sqlite_url: str, stateful: bool) -> None:
    build_demo_database(sqlite_url, runs=300, days=40, now=NOW)
    reader = WorkflowReader(open_engine(DatabaseTarget(sqlite_url, "test")))
    state = open_state_engine(DatabaseTarget(sqlite_url, "state")) if stateful else None
    service = ErrorAnalyticsService(reader, clock=lambda: NOW, state_engine=state)
    results = {
        "summary": service.get_error_summary(30),
        "by_phase": service.analyze_by_phase(30),
        "patterns": service.find_error_patterns(30),
        "trends": service.get_failure_trends(30),
        "recommendations": service.get_debugging_recommendations(30, limit=50),
        "clusters": service.cluster_errors(30),
    }
    assert results["patterns"] and results["recommendations"] and results["clusters"]
    assert bare_strings(results) == []
    # the walk reached the fields it is about
    assert isinstance(results["by_phase"].rate_basis, RateBasis)
    assert isinstance(results["trends"].direction, TrendDirection)
    assert all(isinstance(cluster.decided_by, DecidedBy) for cluster in results["clusters"])
    assert all(isinstance(cluster.status, ClusterStatus) for cluster in results["clusters"])
