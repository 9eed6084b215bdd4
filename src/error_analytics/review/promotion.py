"""Promote a cluster to a keyword/regex rule: preview what it would match, then save it.

:func:`build_preview` runs the proposed rule — alone, exactly as the classifier would run it —
over the distinct error messages of the window and reports how many events it matches, in
which clusters, with examples, plus the messages of the cluster it would miss, and the TOML
snippet to save. Without ``keywords`` or ``pattern`` it proposes a keyword: the longest
literal run of the cluster's template (no placeholders).
"""

from __future__ import annotations

import re
from collections import Counter

from ..analysis.snapshot import Snapshot
from ..errors import InputError
from ..models import NO_TEXT_CATEGORY, UNKNOWN_CATEGORY, CategoryRule, Severity
from ..rules import match_category
from ..store.state import ClusterRecord, StateTransaction
from .actions import shown
from .identity import Templater, fingerprint_of
from .models import RulePreview
from .ports import AnalysedDatabase
from .rule_file import category_snippet

MAX_PREVIEW_EXAMPLES = 5
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PLACEHOLDER = re.compile(r"<[A-Z_*]+>")
#: A proposed keyword has at least this many characters.
MIN_KEYWORD_CHARS = 8


def proposed_keyword(template: str) -> str | None:
    """The longest run of the template without placeholders, e.g. ``Cannot find module``."""
    pieces: list[str] = []
    for line in template.split(" | "):
        pieces.extend(part.strip(" :,;.'\"()[]{}") for part in _PLACEHOLDER.split(line))
    best = max(pieces, key=len, default="")
    return best if len(best) >= MIN_KEYWORD_CHARS else None


def candidate_templates(tx: StateTransaction, record: ClusterRecord) -> list[str]:
    """The cluster's template, then its member templates, most frequent first."""
    counts = tx.fingerprint_counts()
    members = sorted(
        tx.templates(record.id).values(), key=lambda t: (-counts.get(t.fingerprint, 0), t.template)
    )
    return [record.template, *(member.template for member in members)]


def check_rule_input(
    record: ClusterRecord,
    analytics: AnalysedDatabase,
    *,
    pattern: str | None,
    keywords: list[str] | None,
    category: str | None,
    templates: list[str] | None = None,
) -> tuple[str, list[str], str | None]:
    """The category key, keywords and pattern of the rule, validated or proposed (from the
    first of ``templates`` that has literal text; default: the cluster's template)."""
    if isinstance(keywords, str):
        keywords = [keywords]
    keywords = [
        keyword.strip()
        for keyword in keywords or []
        if isinstance(keyword, str) and keyword.strip()
    ]
    if pattern is not None and (not isinstance(pattern, str) or not pattern.strip()):
        raise InputError("the pattern is empty")
    if not keywords and pattern is None:
        proposal = next(filter(None, map(proposed_keyword, templates or [record.template])), None)
        if proposal is None:
            raise InputError(
                f"cluster {record.id}'s template has no literal text to use; give a pattern or keywords"
            )
        keywords = [proposal]
    if pattern is not None:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise InputError(f"not a valid regular expression {shown(pattern)}: {exc}") from exc
        if compiled.search("") is not None:
            raise InputError(
                f"the pattern {shown(pattern)} matches the empty string, so it would match everything"
            )
    key = category or record.category
    if key in (None, UNKNOWN_CATEGORY, NO_TEXT_CATEGORY):
        raise InputError(
            "choose the rule's category: one of "
            + ", ".join(analytics.rules.categories)
            + ", or a new lower_snake_case key"
        )
    if not _KEY.fullmatch(key):
        raise InputError(
            f"a category key is lower_snake_case (letters, digits, _), not {shown(key)}"
        )
    return key, keywords, pattern


def rule_for(
    key: str,
    record: ClusterRecord,
    analytics: AnalysedDatabase,
    keywords: list[str],
    pattern: str | None,
) -> tuple[CategoryRule, dict[str, object], bool]:
    """The rule alone (for matching), the fields of a new category, and whether it is new."""
    existing = analytics.rules.categories.get(key)
    fields: dict[str, object] = {}
    if existing is None:
        fields = {
            "name": record.name[:80],
            "category": "Discovered",
            "recommendation": record.recommendation
            or analytics.category_rule(UNKNOWN_CATEGORY).recommendation,
        }
    rule = CategoryRule(
        key=key,
        name=str(fields.get("name", existing.name if existing else key)),
        category=str(fields.get("category", existing.category if existing else "Discovered")),
        recommendation=str(
            fields.get("recommendation", existing.recommendation if existing else "")
        ),
        severity=existing.severity if existing else Severity.MEDIUM,
        keywords=tuple(keywords),
        patterns=(pattern,) if pattern else (),
    )
    return rule, fields, existing is None


def build_preview(
    tx: StateTransaction,
    record: ClusterRecord,
    analytics: AnalysedDatabase,
    templater: Templater,
    *,
    key: str,
    keywords: list[str],
    pattern: str | None,
    snapshot: Snapshot,
    rules_file: str | None,
) -> RulePreview:
    """``snapshot``: the window's data, read before ``tx`` began (reading it may ingest)."""
    rule, fields, _ = rule_for(key, record, analytics, keywords, pattern)
    messages = [event.message for event in snapshot.events if event.message]
    message_counts = Counter(messages)
    distinct = list(message_counts)
    fp_to_cluster = {
        fingerprint: template.cluster_id for fingerprint, template in tx.templates().items()
    }
    message_to_cluster = {
        message: fp_to_cluster.get(fingerprint_of(template))
        for message, template in zip(distinct, templater.templates(distinct), strict=False)
    }
    only_rule = {key: rule}
    matched = [message for message in distinct if match_category(message, only_rule) is not None]
    matched_set = set(matched)
    cluster_to_matches: Counter = Counter()
    for message in matched:
        cluster_to_matches[message_to_cluster.get(message) or "(not yet clustered)"] += (
            message_counts[message]
        )
    own = [message for message in distinct if message_to_cluster.get(message) == record.id]
    lists = {"keywords": keywords, "patterns": [pattern] if pattern else []}
    snippet_fields = {**fields, **{name: values for name, values in lists.items() if values}}
    return RulePreview(
        cluster_id=record.id,
        category=key,
        keywords=keywords,
        pattern=pattern,
        matched_events=sum(message_counts[message] for message in matched),
        matched_messages=len(matched),
        cluster_events=sum(message_counts[message] for message in own),
        cluster_matched=sum(message_counts[message] for message in own if message in matched_set),
        cluster_to_matches=dict(
            sorted(cluster_to_matches.items(), key=lambda item: (-item[1], item[0]))
        ),
        examples=[message[:500] for message in matched[:MAX_PREVIEW_EXAMPLES]],
        missed_examples=[message[:500] for message in own if message not in matched_set][:3],
        toml=category_snippet(key, snippet_fields),
        days=snapshot.days,
        rules_file=rules_file,
    )
