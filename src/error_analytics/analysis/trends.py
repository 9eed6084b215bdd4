"""Daily failure series: zero-filled points, direction of change and spike days.

Definitions (documented in the README):

* ``percentage_change`` compares the failure rate over the second half of the window with the
  first half: ``(second - first) / first * 100`` (100 when the first half had no failures and
  the second has some, 0 when neither has).
* ``direction`` is ``increasing`` / ``decreasing`` when that change exceeds
  :data:`STABLE_BAND_PERCENT` either way and the rates differ by at least one percentage point;
  otherwise ``stable``.
* A spike is a day whose failure count exceeds the median of the window's days by more than
  :data:`SPIKE_MADS` median absolute deviations (at least :data:`SPIKE_MIN_FAILED` failures).
  The median is robust: one bad day does not raise the bar for the next.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from ..models import TrendData, TrendDirection, TrendPoint

STABLE_BAND_PERCENT = 10.0
SPIKE_MADS = 3.5
SPIKE_MIN_FAILED = 3


def window_days(first_day: date, last_day: date) -> list[date]:
    return [first_day + timedelta(days=offset) for offset in range((last_day - first_day).days + 1)]


def runs_failed_by_day(
    first_day: date, daily: Iterable[tuple[date, int, int]]
) -> dict[date, tuple[int, int]]:
    """day -> (runs, failed runs) from ``(day, runs, failed)`` rows; the runs of the window's
    first, partial day (before ``first_day``) belong to the first point."""
    day_to_runs_failed: dict[date, tuple[int, int]] = {}
    for day, runs, failed in daily:
        day = max(day, first_day)
        old_runs, old_failed = day_to_runs_failed.get(day, (0, 0))
        day_to_runs_failed[day] = (old_runs + runs, old_failed + failed)
    return day_to_runs_failed


def build_trend(
    days: list[date],
    day_to_runs_failed: Mapping[date, tuple[int, int]],
    category_to_day_counts: Mapping[str, Mapping[date, int]],
) -> TrendData:
    points = []
    for day in days:
        runs, failed = day_to_runs_failed.get(day, (0, 0))
        points.append(
            TrendPoint(date=day, runs=runs, failed=failed, failure_rate=_percent(failed, runs))
        )
    spike_days = find_spikes(points)
    spike_set = set(spike_days)
    for point in points:
        point.is_spike = point.date in spike_set
    half = len(points) // 2
    first_rate = _rate(points[:half])
    second_rate = _rate(points[half:])
    change = _percentage_change(first_rate, second_rate)
    if abs(change) > STABLE_BAND_PERCENT and abs(second_rate - first_rate) >= 1.0:
        direction = TrendDirection.INCREASING if change > 0 else TrendDirection.DECREASING
    else:
        direction = TrendDirection.STABLE
    category_daily_counts = {
        category: [counts.get(day, 0) for day in days]
        for category, counts in category_to_day_counts.items()
    }
    return TrendData(
        days=len(days),
        points=points,
        category_daily_counts=category_daily_counts,
        direction=direction,
        percentage_change=round(change, 1),
        spike_days=spike_days,
    )


def find_spikes(points: Iterable[TrendPoint]) -> list[date]:
    points = list(points)
    active = [point.failed for point in points if point.runs > 0]
    if len(active) < 5:
        return []
    median = statistics.median(active)
    deviation = statistics.median(abs(value - median) for value in active) or 1.0
    threshold = median + SPIKE_MADS * deviation
    return [
        point.date
        for point in points
        if point.failed >= SPIKE_MIN_FAILED and point.failed > threshold
    ]


def _rate(points: list[TrendPoint]) -> float:
    return _percent(sum(point.failed for point in points), sum(point.runs for point in points))


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _percentage_change(before: float, after: float) -> float:
    if before == 0:
        return 100.0 if after > 0 else 0.0
    return (after - before) / before * 100.0
