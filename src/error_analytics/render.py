"""Text and Markdown renderings of the analyses, for the terminal and the report file.

Message text is shown as text: terminal colour codes are removed (also those that lost their
ESC byte), and in Markdown every character that HTML or Markdown would interpret is escaped, so
an error message can neither inject markup nor break a table.
"""

from __future__ import annotations

import html
import re

from .analysis.recommendations import plural
from .models import (
    UNKNOWN_CATEGORY,
    ClusterStatus,
    DataQualityReport,
    DebugRecommendation,
    DiscoveredCluster,
    ErrorPattern,
    ErrorSummary,
    PatternKind,
    Phase,
    PhaseErrorBreakdown,
    RateBasis,
    TrendData,
)
from .rules.text import strip_ansi

RULE = "=" * 80
#: Characters that Markdown reads as markup in inline text (HTML's are escaped as entities).
#: The text is one line inside a table cell or after a list marker, never at the start of a line,
#: so the characters that only matter there (``#``, ``-``, ``+``, ``1.``) stay as they are.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _one_line(message: str, limit: int = 200) -> str:
    """``message`` without colour codes, on one line, cut at ``limit`` characters."""
    text = " ".join(strip_ansi(str(message)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(days: int) -> list[str]:
    return [RULE, f"ERROR ANALYSIS - Last {days} Days", RULE]


def summary_lines(summary: ErrorSummary, patterns: list[ErrorPattern]) -> list[str]:
    lines = ["", "SUMMARY"]
    lines.append(f"Workflow runs: {summary.total_workflows}")
    lines.append(f"Failed runs: {summary.failed_workflows}")
    lines.append(f"Failure rate: {summary.failure_rate:.1f}%")
    if summary.most_problematic_phase:
        lines.append(
            f"Most problematic phase: {summary.most_problematic_phase} "
            f"({summary.most_problematic_phase_failures} failed runs)"
        )
    else:
        lines.append("Most problematic phase: none")
    if summary.failed_without_error_text:
        lines.append(f"Failed runs without error text: {summary.failed_without_error_text}")
    lines.extend(pattern_lines(patterns))
    return lines


def pattern_lines(patterns: list[ErrorPattern], limit: int = 10) -> list[str]:
    """Categories, most frequent first, each with its largest clusters indented under it;
    the uncategorised clusters last, as what needs review."""
    lines = ["", "TOP ERROR PATTERNS"]
    if not patterns:
        lines.append("No errors in this period.")
    for index, pattern in enumerate(patterns[:limit], start=1):
        lines.extend(_pattern_entry(index, pattern))
    return lines


def _pattern_entry(index: int, pattern: ErrorPattern) -> list[str]:
    name = _one_line(pattern.pattern_name)
    if pattern.kind == PatternKind.CLUSTER:  # a pattern made for one cluster (``cluster_id``)
        name = f"{name} [cluster {pattern.cluster_id}]"
    if pattern.category_key == UNKNOWN_CATEGORY:
        clusters = pattern.clusters or len(pattern.top_clusters)
        lines = [
            f"{index}. Needs review: {plural(clusters, 'cluster')} without a category "
            f"({plural(pattern.occurrences, 'error')}, {plural(pattern.runs_affected, 'run')})"
        ]
    else:
        lines = [
            f"{index}. {name} ({plural(pattern.occurrences, 'error')}, "
            f"{plural(pattern.runs_affected, 'run')})"
        ]
    if pattern.affected_phases:
        lines.append(f"   Phases: {', '.join(pattern.affected_phases)}")
    if pattern.top_clusters:
        for cluster in pattern.top_clusters:
            lines.append(
                f"   - {_one_line(cluster.name, 100)} [{cluster.id}]: "
                f"{plural(cluster.errors, 'error')}, {plural(cluster.runs, 'run')}"
            )
        more = pattern.clusters - len(pattern.top_clusters)
        if more > 0:
            lines.append(f"   - and {plural(more, 'smaller cluster')}")
    elif pattern.example_message:
        lines.append(f'   Example: "{_one_line(pattern.example_message)}"')
    lines.append(f"   Recommendation: {_one_line(pattern.recommendation, 1000)}")
    return lines


def phase_lines(breakdown: PhaseErrorBreakdown) -> list[str]:
    basis = (
        "runs that reached the phase"
        if breakdown.rate_basis == RateBasis.RUNS_REACHING_PHASE
        else "all runs"
    )
    lines = ["", "PHASE BREAKDOWN", f"(failure rate: runs that failed in the phase / {basis})"]
    width = max(len(phase.value) for phase in Phase.ordered()) + 1
    for phase in Phase.ordered():
        name = phase.value
        count = breakdown.phase_error_counts.get(name, 0)
        if phase is Phase.UNKNOWN and not count:
            continue
        flag = "  <- above threshold" if name in breakdown.phases_above_threshold else ""
        lines.append(
            f"{(name + ':').ljust(width)} {count} errors ({breakdown.phase_failure_rates.get(name, 0.0):.1f}%){flag}"
        )
    return lines


def trend_lines(trend: TrendData) -> list[str]:
    lines = ["", "FAILURE TRENDS"]
    lines.append(
        f"Direction: {trend.direction} ({trend.percentage_change:+.1f}% second half vs first half)"
    )
    if trend.spike_days:
        lines.append("Spike days: " + ", ".join(day.isoformat() for day in trend.spike_days))
    peak = max(trend.points, key=lambda point: point.failed, default=None)
    scale = max(1, peak.failed if peak else 1)
    for point in trend.points[-14:]:
        bar = "#" * round(20 * point.failed / scale)
        spike = " spike" if point.is_spike else ""
        lines.append(
            f"{point.date.isoformat()}  {point.failed:>4}/{point.runs:<5} {point.failure_rate:5.1f}% {bar}{spike}"
        )
    if len(trend.points) > 14:
        lines.append(f"(last 14 of {len(trend.points)} days shown; --json has every day)")
    return lines


def recommendation_lines(
    recommendations: list[DebugRecommendation], limit: int | None = None
) -> list[str]:
    """The recommendations as given (the service already keeps the first ``--limit``)."""
    lines = ["", "DEBUGGING RECOMMENDATIONS"]
    if not recommendations:
        lines.append("Nothing to recommend: no errors in this period.")
    for index, item in enumerate(recommendations[:limit], start=1):
        lines.append(f"{index}. [{item.severity.upper()}] {_one_line(item.issue, 300)}")
        lines.append(f"   Root cause: {_one_line(item.root_cause, 300)}")
        lines.append(f"   Solution: {_one_line(item.solution, 1000)}")
        if item.estimated_fix_time:
            lines.append(f"   Estimated fix time: {item.estimated_fix_time}")
    return lines


def cluster_lines(clusters: list[DiscoveredCluster], *, limit: int | None = None) -> list[str]:
    lines = ["", "ERROR CLUSTERS"]
    if not clusters:
        lines.append("No clusters: no error messages in this period.")
    shown = clusters if limit is None else clusters[:limit]
    for cluster in shown:
        badges = []
        if cluster.is_new:
            badges.append("NEW")
        if cluster.status not in (ClusterStatus.NEW, ClusterStatus.REVIEWED):
            badges.append(cluster.status.upper())
        badge = f" [{' '.join(badges)}]" if badges else ""
        lines.append(f"#{cluster.id}{badge} {_one_line(cluster.name)}")
        lines.append(f"   Template: {_one_line(cluster.template)}")
        runs = f" in {plural(cluster.runs_affected, 'run')}" if cluster.runs_affected else ""
        lines.append(
            f"   {plural(cluster.size, 'error')}{runs}; category: {cluster.category} "
            f"({cluster.confidence:.2f}, by {cluster.decided_by})"
        )
        if cluster.phases:
            lines.append(f"   Phases: {', '.join(cluster.phases)}")
        if cluster.first_seen:
            lines.append(f"   Seen: {cluster.first_seen:%Y-%m-%d} .. {cluster.last_seen:%Y-%m-%d}")
        for example in cluster.examples[:2]:
            lines.append(f'   Example: "{_one_line(example)}"')
    if limit is not None and len(clusters) > limit:
        lines.append(f"({len(clusters) - limit} smaller clusters not shown; --json lists all)")
    return lines


def quality_lines(quality: DataQualityReport | None) -> list[str]:
    if quality is None or not (quality.total_skipped or quality.missing or quality.rows_adjusted):
        return []
    lines = ["", "DATA QUALITY"]
    read = ", ".join(f"{source}: {count}" for source, count in sorted(quality.rows_read.items()))
    lines.append(f"Layout: {quality.layout} on {quality.engine}; rows read: {read or 'none'}")
    for reason, count in sorted(quality.rows_skipped.items()):
        lines.append(f"Skipped {count}: {reason}")
    for reason, count in sorted(quality.rows_adjusted.items()):
        lines.append(f"Read with changes {count}: {reason}")
    if quality.missing:
        lines.append("Not present: " + ", ".join(quality.missing))
    return lines


def markdown_report(
    *,
    days: int,
    summary: ErrorSummary,
    breakdown: PhaseErrorBreakdown,
    patterns: list[ErrorPattern],
    trend: TrendData,
    recommendations: list[DebugRecommendation],
    clusters: list[DiscoveredCluster],
    generated_at: str,
) -> str:
    """Every section in one Markdown document."""
    out = [
        f"# Error analysis - last {days} days",
        "",
        f"_Generated {generated_at}._",
        "",
        "## Summary",
        "",
    ]
    out += [
        "| | |",
        "|---|---|",
        f"| Workflow runs | {summary.total_workflows} |",
        f"| Failed runs | {summary.failed_workflows} |",
        f"| Failure rate | {summary.failure_rate:.1f}% |",
        f"| Most problematic phase | {summary.most_problematic_phase or 'none'} "
        f"({summary.most_problematic_phase_failures} failed runs) |",
        f"| Failed runs without error text | {summary.failed_without_error_text} |",
        "",
        "## Top error patterns",
        "",
        "| # | Pattern | Errors | Runs | Phases | Largest clusters | Recommendation |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, pattern in enumerate(patterns, start=1):
        name = pattern.pattern_name
        if pattern.category_key == UNKNOWN_CATEGORY:
            name = f"Needs review ({name})"
        largest = "; ".join(
            f"{_md(cluster.name)} ({cluster.errors})" for cluster in pattern.top_clusters
        )
        out.append(
            f"| {index} | {_md(name)} | {pattern.occurrences} | {pattern.runs_affected} | "
            f"{', '.join(pattern.affected_phases)} | {largest} | {_md(pattern.recommendation)} |"
        )
    out += [
        "",
        "## Phase breakdown",
        "",
        "| Phase | Errors | Failed runs | Failure rate |",
        "|---|---|---|---|",
    ]
    for phase in Phase.ordered():
        name = phase.value
        out.append(
            f"| {name} | {breakdown.phase_error_counts.get(name, 0)} | {breakdown.phase_failed_runs.get(name, 0)} | "
            f"{breakdown.phase_failure_rates.get(name, 0.0):.1f}% |"
        )
    out += [
        "",
        "## Failure trends",
        "",
        f"Direction: **{trend.direction}** ({trend.percentage_change:+.1f}%).",
    ]
    if trend.spike_days:
        out.append("Spike days: " + ", ".join(day.isoformat() for day in trend.spike_days) + ".")
    out += ["", "| Date | Runs | Failed | Failure rate |", "|---|---|---|---|"]
    for point in trend.points:
        out.append(
            f"| {point.date.isoformat()} | {point.runs} | {point.failed} | {point.failure_rate:.1f}% |"
        )
    out += ["", "## Debugging recommendations", ""]
    for index, item in enumerate(recommendations, start=1):
        out += [
            f"{index}. **\\[{item.severity.upper()}\\] {_md(item.issue)}**",
            f"   - Root cause: {_md(item.root_cause)}",
            f"   - Solution: {_md(item.solution)}",
        ]
        if item.estimated_fix_time:
            out.append(f"   - Estimated fix time: {_md(item.estimated_fix_time)}")
    out += ["", "## Discovered clusters", ""]
    if clusters:
        out += [
            "| Id | Name | Errors | Runs | Category | Phases | New |",
            "|---|---|---|---|---|---|---|",
        ]
        for cluster in clusters:
            out.append(
                f"| {cluster.id} | {_md(cluster.name)} | {cluster.size} | {cluster.runs_affected} | "
                f"{_md(cluster.category)} ({cluster.confidence:.2f}) | {', '.join(cluster.phases)} | "
                f"{'yes' if cluster.is_new else ''} |"
            )
    else:
        out.append("No clusters.")
    quality = quality_lines(summary.data_quality)
    if quality:
        out += ["", "## Data quality", ""] + [f"- {line}" for line in quality[2:]]
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    """Inline Markdown for message text: one line, HTML and Markdown special characters escaped."""
    escaped = html.escape(_one_line(text, 300), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
