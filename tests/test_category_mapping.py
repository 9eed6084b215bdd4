"""Mapping clusters onto categories: rules decide when they match, the model fills gaps."""

from __future__ import annotations

import dataclasses

from error_analytics.clustering import cluster_messages
from error_analytics.clustering.categorize import (
    GENERIC_RECOMMENDATION,
    ClusterEvidence,
    categorize_clusters,
)
from error_analytics.models import UNKNOWN_CATEGORY
from error_analytics.rules import classify_error, default_rules, get_category


def cluster_of(messages: list[str], message: str):
    """The cluster that ``message`` lands in when ``messages`` are clustered."""
    result = cluster_messages(messages)
    label = result.labels[messages.index(message)]
    return next(cluster for cluster in result.clusters if cluster.id == label)


def test_message_no_keyword_matches_reaches_its_category_through_its_cluster() -> None:
    sibling = "upstream request failed with EPIPE"
    assert classify_error(sibling) == UNKNOWN_CATEGORY  # no rule knows EPIPE
    messages = [
        "upstream request failed with ECONNREFUSED",
        "upstream request failed with ECONNRESET",
        "upstream request failed with EHOSTUNREACH",
        sibling,
    ]
    cluster = cluster_of(messages, sibling)
    assert cluster.size == 4
    assert cluster.category == "connection_error"
    assert cluster.decided_by == "rule"
    assert cluster.recommendation == get_category("connection_error").recommendation
    assert 0.7 <= cluster.confidence <= 1.0


def test_model_categorises_a_cluster_no_rule_matches() -> None:
    message = "ld: library not found for -lcrypto"
    assert classify_error(message) == UNKNOWN_CATEGORY
    cluster = cluster_of([message, "disk quota exceeded on volume data"], message)
    assert cluster.category == "import_error"
    assert cluster.decided_by == "model"
    assert 0.5 <= cluster.confidence < 1.0
    assert cluster.recommendation == get_category("import_error").recommendation


def test_low_evidence_cluster_stays_unknown() -> None:
    message = "disk quota exceeded on volume data"
    cluster = cluster_of([message, "connect ECONNREFUSED 10.0.0.1:80"], message)
    assert cluster.category == UNKNOWN_CATEGORY
    assert cluster.decided_by == "none"
    assert cluster.confidence == 0.0
    assert cluster.recommendation == GENERIC_RECOMMENDATION


def test_precise_rule_match_is_never_overruled_by_the_model() -> None:
    # the words are all about networks, but the rule says syntax error, and rules win
    message = "SyntaxError: invalid syntax in connection refused socket network handler"
    assert classify_error(message) == "syntax_error"
    networky = [f"connect ECONNREFUSED 10.0.0.{i}:80 socket network" for i in range(20)]
    cluster = cluster_of([message, *networky], message)
    assert cluster.category == "syntax_error"
    assert cluster.decided_by == "rule"


def test_rule_majority_decides_a_mixed_cluster() -> None:
    evidence = ClusterEvidence(
        [
            (
                "upstream request failed with ECONNREFUSED",
                "upstream request failed with ECONNREFUSED",
                5,
            ),
            ("upstream request failed with ETIMEDOUT", "upstream request failed with ETIMEDOUT", 2),
        ]
    )
    decision = categorize_clusters([evidence], default_rules())[0]
    assert decision.category == "connection_error"
    assert decision.decided_by == "rule"
    assert decision.confidence >= 0.71  # 5 of the 7 messages


def test_threshold_one_keeps_model_guesses_unknown() -> None:
    evidence = ClusterEvidence(
        [("ld: library not found for -lcrypto", "ld: library not found for -lcrypto", 1)]
    )
    decision = categorize_clusters([evidence], default_rules(), threshold=1.0)[0]
    assert decision.category == UNKNOWN_CATEGORY
    assert decision.decided_by == "none"


def test_user_category_from_the_rules_file_is_used() -> None:
    rules = default_rules()
    quota = dataclasses.replace(
        get_category("timeout_error"),
        key="quota_error",
        name="Quota",
        keywords=("quota exceeded",),
        patterns=(),
        recommendation="Raise the quota",
    )
    custom = dataclasses.replace(rules, categories={"quota_error": quota, **rules.categories})
    result = cluster_messages(["disk quota exceeded on volume data"], rules=custom)
    assert result.clusters[0].category == "quota_error"
    assert result.clusters[0].recommendation == "Raise the quota"
