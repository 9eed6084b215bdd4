"""Ranking what to fix first.

Each problem gets a score from how often, how widely and how recently it occurs::

    score = runs_affected * (1 + BREADTH_BONUS * (phases - 1)) * 0.5 ** (days_since_last_seen / HALF_LIFE_DAYS)

so a problem that hits many runs, in several phases, and is still happening ranks first; one
that stopped a month ago fades. Phase hot spots (failure rate above the threshold) and a high
share of failures without error text become recommendations of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..models import CategoryRule, DebugRecommendation, PhaseErrorBreakdown, Severity
from .grouping import ProblemFigures

HALF_LIFE_DAYS = 7.0
BREADTH_BONUS = 0.25
#: Above this share of failed runs without any error text, instrumenting is the first fix.
MISSING_TEXT_SHARE = 0.2
_SEVERITY_WEIGHT = {Severity.HIGH.value: 1.5, Severity.MEDIUM.value: 1.0, Severity.LOW.value: 0.7}


def score(stats: ProblemFigures, now: datetime, severity: str) -> float:
    age_days = (
        max(0.0, (now - stats.last_seen).total_seconds() / 86400) if stats.last_seen else 30.0
    )
    breadth = 1 + BREADTH_BONUS * max(0, len(stats.phases) - 1)
    return (
        stats.runs_affected
        * breadth
        * 0.5 ** (age_days / HALF_LIFE_DAYS)
        * _SEVERITY_WEIGHT.get(severity, 1.0)
    )


def group_recommendation(
    stats: ProblemFigures,
    rule: CategoryRule,
    now: datetime,
    failed_runs: int,
    *,
    issue: str,
    kind: str,
) -> DebugRecommendation:
    severity = rule.severity
    if failed_runs and stats.runs_affected >= 0.25 * failed_runs:
        severity = Severity.HIGH.value
    phases = stats.phases
    where = f" in {', '.join(phases)}" if phases else ""
    return DebugRecommendation(
        issue=issue,
        severity=severity,
        root_cause=f"{rule.root_cause or rule.category}: {stats.occurrences} occurrences across "
        f"{stats.runs_affected} runs{where}. Example: {_shorten(stats.example_message)}",
        solution=rule.recommendation,
        estimated_fix_time=rule.estimated_fix_time,
        occurrences=stats.occurrences,
        runs_affected=stats.runs_affected,
        affected_phases=phases,
        last_seen=stats.last_seen,
        score=round(score(stats, now, severity), 3),
        kind=kind,
    )


def phase_hotspot_recommendations(breakdown: PhaseErrorBreakdown) -> Iterable[DebugRecommendation]:
    for phase in breakdown.phases_above_threshold:
        rate = breakdown.phase_failure_rates.get(phase, 0.0)
        failed = breakdown.phase_failed_runs.get(phase, 0)
        yield DebugRecommendation(
            issue=f"{phase} phase hot spot",
            severity=Severity.HIGH.value
            if rate >= 2 * breakdown.threshold_percent
            else Severity.MEDIUM.value,
            root_cause=f"{rate:.1f}% of runs failed in {phase} ({failed} runs), above the "
            f"{breakdown.threshold_percent:.0f}% threshold",
            solution=f"Look at the {phase} phase first: reproduce one failing run locally, add a "
            f"pre-flight check for its inputs, and break the phase's error clusters down below.",
            estimated_fix_time="2-4 hours",
            occurrences=breakdown.phase_error_counts.get(phase, 0),
            runs_affected=failed,
            affected_phases=[phase],
            score=float(failed) * 1.2,
            kind="phase_hotspot",
        )


def missing_text_recommendation(without_text: int, failed_runs: int) -> DebugRecommendation | None:
    if not failed_runs or without_text / failed_runs < MISSING_TEXT_SHARE:
        return None
    share = 100.0 * without_text / failed_runs
    return DebugRecommendation(
        issue="Failures without error text",
        severity=Severity.HIGH.value if share >= 50 else Severity.MEDIUM.value,
        root_cause=f"{without_text} of {failed_runs} failed runs ({share:.0f}%) recorded no error "
        "message, so they cannot be classified",
        solution="Record the exception text and the failing phase when a workflow fails "
        "(write failure_reason / error_message and phase errors in the workflow's error handler).",
        estimated_fix_time="1-2 hours",
        occurrences=without_text,
        runs_affected=without_text,
        score=float(without_text),
        kind="missing_error_text",
    )


def _shorten(message: str, limit: int = 160) -> str:
    first = " ".join(message.split())
    return first if len(first) <= limit else first[: limit - 1] + "…"
