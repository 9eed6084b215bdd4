"""Mapping clusters onto categories: rules decide when they match, the model fills gaps."""

from __future__ import annotations

import dataclasses

import pytest

from error_analytics.clustering import categorize, cluster_messages
from error_analytics.clustering.categorize import (
    ASSUMED_UNKNOWN_SHARE,
    GENERIC_RECOMMENDATION,
    CategoryModel,
    ClusterEvidence,
    calibrated_threshold,
    categorize_clusters,
)
from error_analytics.clustering.seed import OTHER, SEED_CORPUS
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


MODEL_ONLY = "package left-pad cannot be found in the registry"  # no rule, the model knows it


def test_model_categorises_a_cluster_no_rule_matches() -> None:
    message = MODEL_ONLY
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
    evidence = ClusterEvidence([(MODEL_ONLY, MODEL_ONLY, 1)])
    assert categorize_clusters([evidence], default_rules())[0].decided_by == "model"
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


def _evidence(*messages: str, count: int = 1) -> ClusterEvidence:
    return ClusterEvidence([(message, message, count) for message in messages])


@pytest.mark.parametrize(
    "message",
    [
        "Claude Code CLI is not installed",  # once labelled syntax_error / import_error
        "Claude Code CLI is not installed. Please install it: npm install -g @anthropic-ai/x",
        "Error: Invalid API key · Please run /login",
    ],
)
def test_model_abstains_below_its_calibrated_threshold(message: str) -> None:
    # even when the caller would accept any probability, the calibrated threshold holds
    assert classify_error(message) == UNKNOWN_CATEGORY
    decision = categorize_clusters([_evidence(message)], default_rules(), threshold=0.0)[0]
    assert (decision.category, decision.decided_by) == (UNKNOWN_CATEGORY, "none")
    assert decision.confidence == 0.0


def test_calibrated_threshold_comes_from_held_out_guesses() -> None:
    texts = [text for _, text in SEED_CORPUS]
    labels = [label for label, _ in SEED_CORPUS]
    model = CategoryModel().fit(texts, labels, [1.0] * len(texts))
    assert model.threshold_ == calibrated_threshold(texts, labels)
    assert 0.5 < model.threshold_ <= 1.0  # the seed corpus alone does not earn a coin toss
    # a model that cannot tell its classes apart never earns a threshold below 1
    same = ["the step failed"] * 12
    assert calibrated_threshold(same, ["import_error", OTHER] * 6) == 1.0


def test_lowest_precise_threshold_walks_down_the_held_out_guesses() -> None:
    guesses = [(0.95, 1.0, True), (0.9, 1.0, True), (0.8, 1.0, False), (0.7, 1.0, True)]
    assert categorize._lowest_precise_threshold(guesses, 0.75) == 0.7  # 3 of 4 right
    assert categorize._lowest_precise_threshold(guesses, 0.8) == 0.9  # 2 of 2; 2 of 3 is not
    assert categorize._lowest_precise_threshold(guesses, 1.0) == 0.9
    assert categorize._lowest_precise_threshold([(0.9, 1.0, False)], 0.9) == 1.0
    # a wrong guess on an unknown message weighs more when unknowns are common
    weighted = [(0.9, 1.0, True), (0.8, 1.0, True), (0.7, 3.0, False)]
    assert categorize._lowest_precise_threshold(weighted, 0.6) == 0.8
    assert 0 < ASSUMED_UNKNOWN_SHARE < 1


def test_model_never_overrides_a_contradicting_rule() -> None:
    # one message a rule places in connection_error; twenty the model would call import_error
    evidence = ClusterEvidence(
        [
            (MODEL_ONLY, MODEL_ONLY, 20),
            ("upstream failed: ECONNRESET", "upstream failed: ECONNRESET", 1),
        ]
    )
    alone = categorize_clusters([_evidence(MODEL_ONLY, count=20)], default_rules())[0]
    assert (alone.category, alone.decided_by) == ("import_error", "model")
    decision = categorize_clusters([evidence], default_rules(), threshold=0.0)[0]
    assert (decision.category, decision.decided_by) == ("connection_error", "rule")


@pytest.mark.parametrize(
    "messages",
    [
        ["AssertionError: TypeError not raised", "AssertionError: TypeError not raised by parse"],
        ["Failed: DID NOT RAISE <class 'TypeError'>"],
        ["E       Failed: DID NOT RAISE <class 'ImportError'>"],
        ["Error: expected [Function] to throw TypeError"],
    ],
)
def test_cluster_whose_rules_abstained_stays_unknown(messages: list[str]) -> None:
    # the model reads "TypeError" and would guess back the category the rules withheld
    decision = categorize_clusters([_evidence(*messages)], default_rules(), threshold=0.0)[0]
    assert (decision.category, decision.decided_by) == (UNKNOWN_CATEGORY, "none")
    for message in messages:
        cluster = cluster_of([*messages, "connect ECONNREFUSED 10.0.0.1:80"], message)
        assert cluster.category == UNKNOWN_CATEGORY
