"""Error patterns: one per category, made of the category's clusters.

Each pattern counts the window's error events of its category (the sum of its clusters) and
lists its largest clusters as evidence. The categories someone can act on come first, most
frequent first; ``unknown`` (clusters that need review) and ``no_error_text`` (failed runs
without error text) come last.
"""

from __future__ import annotations

from collections.abc import Callable

from ..models import (
    NO_TEXT_CATEGORY,
    UNKNOWN_CATEGORY,
    CategoryRule,
    ClusterEvidence,
    DiscoveredCluster,
    ErrorEvent,
    ErrorPattern,
    PatternKind,
)
from ..rules.text import strip_ansi
from .clusters import WindowClusters
from .grouping import group_events

#: Clusters listed as a pattern's evidence.
MAX_EVIDENCE = 5
#: Longest example kept in a cluster's evidence (characters).
MAX_EXAMPLE_CHARS = 500
#: Where uncategorised clusters are reviewed.
REVIEW_HINT = "analyze-errors --review, or the dashboard's clusters"
_LAST = (UNKNOWN_CATEGORY, NO_TEXT_CATEGORY)


def shown_example(cluster: DiscoveredCluster) -> str:
    """The cluster's first example (else its template) as shown: without colour codes."""
    return strip_ansi(cluster.examples[0] if cluster.examples else cluster.template)


def evidence(cluster: DiscoveredCluster) -> ClusterEvidence:
    return ClusterEvidence(
        id=cluster.id,
        name=cluster.name,
        errors=cluster.size,
        runs=cluster.runs_affected,
        example=shown_example(cluster)[:MAX_EXAMPLE_CHARS],
    )


def needs_review_text(clusters: int, errors: int) -> str:
    """``"3 clusters, 12 errors need review"``."""
    noun = "cluster" if clusters == 1 else "clusters"
    verb = "needs" if clusters == 1 and errors == 1 else "need"
    return f"{clusters} {noun}, {errors} {'error' if errors == 1 else 'errors'} {verb} review"


def category_patterns(
    events: list[ErrorEvent],
    window: WindowClusters,
    category_rule: Callable[[str], CategoryRule],
) -> list[ErrorPattern]:
    """One pattern per category seen in ``events``; actionable categories first."""
    category_to_clusters = window.category_to_clusters()
    patterns = []
    for key, stats in group_events(events, window.category_of).items():
        rule = category_rule(key)
        clusters = category_to_clusters.get(key, [])
        recommendation = rule.recommendation
        if key == UNKNOWN_CATEGORY:
            recommendation = (
                f"{needs_review_text(len(clusters), stats.occurrences)}: name them and give "
                f"each a category or ignore it ({REVIEW_HINT})."
            )
        patterns.append(
            ErrorPattern(
                pattern_name=rule.name,
                category_key=key,
                category=rule.category,
                occurrences=stats.occurrences,
                runs_affected=stats.runs_affected,
                example_message=strip_ansi(stats.example_message),
                affected_phases=stats.phases,
                recommendation=recommendation,
                severity=rule.severity,
                first_seen=stats.first_seen,
                last_seen=stats.last_seen,
                kind=PatternKind.CATEGORY,
                top_clusters=[evidence(cluster) for cluster in clusters[:MAX_EVIDENCE]],
                clusters=len(clusters),
            )
        )
    # stable: within each part, the most frequent first (group_events' order)
    patterns.sort(key=lambda pattern: _part(pattern.category_key))
    return patterns


def _part(key: str) -> int:
    return _LAST.index(key) + 1 if key in _LAST else 0
