"""Plain-text views of clusters, their evidence, the audit log and rule previews."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..models import AuditEntry, DiscoveredCluster
from ..store.state import AlertRecord
from .models import ClusterDetail, ClusterPage, RefreshResult, RulePreview, TagShare

SPARK = " ▁▂▃▄▅▆▇█"
MAX_LINE = 110


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def sparkline(counts: Iterable[int]) -> str:
    counts = list(counts)
    top = max(counts, default=0)
    if top == 0:
        return " " * len(counts)
    return "".join(
        SPARK[0] if count == 0 else SPARK[max(1, round(count / top * (len(SPARK) - 1)))]
        for count in counts
    )


def flags(cluster: DiscoveredCluster) -> str:
    marks = []
    if cluster.is_spike:
        marks.append("SPIKE")
    if cluster.is_new:
        marks.append("first seen <7d")
    return f" [{', '.join(marks)}]" if marks else ""


def refresh_lines(result: RefreshResult) -> list[str]:
    lines = [
        f"Read {result.runs_read} new or changed runs: {result.events_seen} errors, "
        f"{result.new_assignments} new; "
        f"{result.new_templates} new templates ({result.attached_templates} joined existing clusters), "
        f"{result.new_clusters} new clusters, {result.regressed} regressed, {result.unmuted} unmuted."
    ]
    for old, new in result.remapped_ids.items():
        lines.append(f"  identity changed: cluster {old} is now {new}")
    return lines


def window_label(days: int) -> str:
    return f"the last {days} day{'s' if days != 1 else ''}"


def page_lines(page: ClusterPage) -> list[str]:
    if not page.items:
        return [f"No clusters match (errors in {window_label(page.days)})."]
    lines = [
        f"Errors, runs and last seen in {window_label(page.days)}:",
        f"{'ID':<12} {'STATUS':<9} {'ERRORS':>6} {'RUNS':>4}  {'CATEGORY':<17} {'LAST SEEN':<16}  {'14 DAYS':<15} NAME",
    ]
    for cluster in page.items:
        lines.append(
            f"{cluster.id:<12} {cluster.status:<9} {cluster.size:>6} {cluster.runs_affected:>4}  "
            f"{short(cluster.category, 17):<17} {when(cluster.last_seen):<16}  {sparkline(cluster.daily_counts):<15} "
            f"{short(cluster.name, 60)}{flags(cluster)}"
        )
    shown_to = page.offset + len(page.items)
    lines.append(
        f"{page.offset + 1}-{shown_to} of {page.total} clusters"
        + (" (--offset for more)" if shown_to < page.total else "")
    )
    return lines


def cluster_lines(cluster: DiscoveredCluster, *, examples: int = 2) -> list[str]:
    lines = [
        f"{cluster.id}  {cluster.name}  ({cluster.status}, version {cluster.version}){flags(cluster)}",
        f"  {cluster.size} errors in {cluster.runs_affected} runs · phases {', '.join(cluster.phases) or '-'} · "
        f"first {when(cluster.first_seen)} · last {when(cluster.last_seen)}",
        f"  category: {cluster.category} (decided by {cluster.decided_by}, confidence {cluster.confidence:.2f})",
        f"  template: {short(cluster.template, MAX_LINE)}",
    ]
    if cluster.top_terms:
        lines.append(f"  why grouped: {', '.join(cluster.top_terms)}")
    lines.append(
        f"  last 14 days: {sparkline(cluster.daily_counts)}  ({sum(cluster.daily_counts)} errors)"
    )
    for example in cluster.examples[:examples]:
        lines.append(f"  e.g. {short(example, MAX_LINE)}")
    return lines


def share_line(share: TagShare) -> str:
    """``phase Test: 91% of these errors, 30% overall (3.0×)``."""
    return (
        f"{share.tag.replace('_', ' ')} {share.value}: {share.percent:.0f}% of these errors, "
        f"{share.overall_percent:.0f}% overall ({share.lift:.1f}×)"
    )


def breakdown_lines(detail: ClusterDetail) -> list[str]:
    within = f"errors in {window_label(detail.days)}"
    if detail.over_represented:
        lines = [f"  over-represented (against all {detail.total_errors_in_window} {within}):"]
        lines.extend(f"    {share_line(share)}" for share in detail.over_represented)
    else:
        lines = [
            f"  over-represented: nothing (against all {detail.total_errors_in_window} {within})"
        ]
    for breakdown in detail.breakdown:
        values = [
            f"{share.value} {share.errors} ({share.percent:.0f}%; {share.overall_percent:.0f}% overall)"
            for share in breakdown.values[:6]
        ]
        more = len(breakdown.values) - len(values)
        lines.append(
            f"  by {breakdown.tag.replace('_', ' ')}: "
            + (" · ".join(values) or "-")
            + (f" · {more} more" if more > 0 else "")
        )
    return lines


def similar_lines(detail: ClusterDetail) -> list[str]:
    """The merge suggestions, each with the command that folds it into this cluster."""
    if not detail.similar:
        return ["  similar clusters — merge?: none similar enough"]
    lines = ["  similar clusters — merge? (similarity 0-1: TF-IDF cosine and token similarity)"]
    for other in detail.similar:
        lines.append(
            f"    {other.id}  {other.similarity:.2f}  {short(other.name, 60)}  "
            f"({other.errors} error{'s' if other.errors != 1 else ''} in {window_label(detail.days)}, "
            f"{other.status})"
        )
        lines.append(f"      analyze-errors clusters merge {other.id} --into {detail.cluster.id}")
    return lines


def detail_lines(detail: ClusterDetail) -> list[str]:
    cluster = detail.cluster
    lines = [
        f"Errors, runs, phases, first and last seen in {window_label(detail.days)} "
        f"(since {when(detail.since)}):"
    ]
    lines += cluster_lines(cluster, examples=0)
    lines.append(
        f"  all time: {detail.errors_all_time} errors in {detail.runs_all_time} runs · "
        f"first {when(detail.first_seen_all_time)} · last {when(detail.last_seen_all_time)}"
    )
    lines += breakdown_lines(detail)
    lines += similar_lines(detail)
    if cluster.recommendation:
        lines.append(f"  recommendation: {short(cluster.recommendation, MAX_LINE)}")
    lifecycle = {
        "reviewed": f"{when(detail.reviewed_at)} by {detail.reviewed_by}"
        if detail.reviewed_at
        else None,
        "ignored until": when(detail.ignored_until) if detail.ignored_until else None,
        "ignored for": (
            f"{detail.ignore_occurrences} more occurrences ({detail.ignore_remaining} left)"
            if detail.ignore_occurrences
            else None
        ),
        "resolved": when(detail.resolved_at) if detail.resolved_at else None,
        "regressed": when(detail.regressed_at) if detail.regressed_at else None,
        "merged into": detail.merged_into,
        "split from": detail.split_from,
        "merged here": ", ".join(detail.merged_ids) or None,
        "former ids": ", ".join(detail.previous_ids) or None,
    }
    lines.extend(f"  {label}: {value}" for label, value in lifecycle.items() if value)
    lines.append(f"  recent runs: {', '.join(detail.run_ids[:10]) or '-'}")
    lines.append(
        f"  last {len(detail.daily_series)} days: {sparkline(point.count for point in detail.daily_series)}"
    )
    lines.append(f"  templates ({len(detail.templates)}):")
    for template in detail.templates:
        pin = " (pinned)" if template.pinned else ""
        lines.append(
            f"    {template.fingerprint[:12]}  {template.occurrences:>4}x  {short(template.template, 90)}{pin}"
        )
    lines.append("  examples:")
    for example in detail.examples:
        lines.append(f"    - {short(example, MAX_LINE)}")
    if detail.history:
        lines.append("  history:")
        lines.extend("    " + line for line in audit_lines(detail.history))
    return lines


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    changed = [
        f"{name}: {before.get(name)!r} -> {after.get(name)!r}"
        for name in after
        if name not in ("rules_text", "sources", "target")
        and before.get(name) != after.get(name)
        and not name.endswith("_at")
    ]
    return "; ".join(changed)


def audit_lines(entries: list[AuditEntry]) -> list[str]:
    lines = []
    for entry in entries:
        state = f" (undone by #{entry.undone_by})" if entry.undone_by else ""
        related = f" +{','.join(entry.related_ids)}" if entry.related_ids else ""
        summary = (
            f"undo of #{entry.undo_of}" if entry.undo_of else _changes(entry.before, entry.after)
        )
        lines.append(
            f"#{entry.id:<4} {when(entry.at)}  {short(entry.actor, 16):<16} {entry.action:<12} "
            f"{entry.cluster_id or '-'}{related}  {short(summary, 70)}{state}"
        )
    return lines or ["No review actions yet."]


def alert_lines(alerts: list[AlertRecord]) -> list[str]:
    lines = []
    for alert in alerts:
        error = f"  {short(alert.last_error, 70)}" if alert.last_error else ""
        lines.append(
            f"#{alert.id:<4} {when(alert.created_at)}  {alert.status:<8} {alert.attempts} tries  "
            f"{short(alert.event_key, 60)}{error}"
        )
    return lines or [
        "No alerts recorded (ERROR_ANALYTICS_ALERT_WEBHOOK_URL sets where to send them)."
    ]


def preview_lines(preview: RulePreview) -> list[str]:
    what = ", ".join(repr(keyword) for keyword in preview.keywords)
    if preview.pattern:
        what = (what + " and " if what else "") + f"pattern {preview.pattern!r}"
    lines = [
        f"Rule for {preview.category}: {what}",
        f"  over the last {preview.days} days it matches {preview.matched_events} errors "
        f"({preview.matched_messages} distinct messages)",
        f"  of cluster {preview.cluster_id}: {preview.cluster_matched} of its {preview.cluster_events} errors",
    ]
    for cluster_id, count in list(preview.cluster_to_matches.items())[:8]:
        lines.append(f"    {cluster_id}: {count}")
    for example in preview.examples:
        lines.append(f"  matches: {short(example, MAX_LINE)}")
    for example in preview.missed_examples:
        lines.append(f"  misses:  {short(example, MAX_LINE)}")
    lines.append(f"  TOML for {preview.rules_file or 'the rules file'}:")
    lines.extend("    " + line for line in preview.toml.rstrip("\n").split("\n"))
    return lines
