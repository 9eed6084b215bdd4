"""Promoting a cluster to a rule: the preview, the validated TOML edit, undo."""

from __future__ import annotations

import tomllib

import pytest

from error_analytics.errors import ConflictError, InputError
from error_analytics.review.promotion import proposed_keyword
from error_analytics.review.rule_file import with_rule
from error_analytics.rules import load_rules, match_category

from .test_review_helpers import Clock, cluster_with, review_service, scenario

EXISTING = """\
# our rules
disabled_masks = []

[categories.import_error]   # keep this comment
keywords = [
    "pip install failed",  # and this one
]

[categories.quota_error]
name = "Quota Error"
category = "Provider Issue"
recommendation = "Back off"
patterns = ['HTTP 429']
"""


def test_proposed_keyword_is_the_longest_literal_run():
    assert proposed_keyword("browserType.launch: Executable doesn't exist at <*>") == (
        "browserType.launch: Executable doesn't exist at"
    )
    assert proposed_keyword("<*> <*>") is None


def test_rule_added_to_an_existing_category_keeps_comments():
    text = with_rule(
        EXISTING, "import_error", {}, {"keywords": ["Cannot find module"], "patterns": []}, "r.toml"
    )
    assert "# keep this comment" in text and "# and this one" in text
    parsed = tomllib.loads(text)
    assert parsed["categories"]["import_error"]["keywords"] == [
        "pip install failed",
        "Cannot find module",
    ]
    text = with_rule(
        text, "quota_error", {}, {"keywords": ["rate limit"], "patterns": [r"HTTP\s429"]}, "r.toml"
    )
    quota = tomllib.loads(text)["categories"]["quota_error"]
    assert quota["patterns"] == ["HTTP 429", r"HTTP\s429"] and quota["keywords"] == ["rate limit"]


def test_new_category_is_appended_and_validated():
    fields = {"name": "Port In Use", "category": "Environment", "recommendation": "Free the port"}
    text = with_rule(
        EXISTING, "port_in_use", fields, {"keywords": [], "patterns": [r"EADDRINUSE\b"]}, "r.toml"
    )
    assert text.startswith(EXISTING)
    assert "patterns = ['EADDRINUSE\\b']" in text
    with pytest.raises(InputError, match="does not validate"):
        with_rule(
            EXISTING, "half_done", {"name": "x"}, {"keywords": ["a"], "patterns": []}, "r.toml"
        )


def test_preview_then_promote_then_undo(db_url, tmp_path):
    scenario(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(30)
    cluster_id = cluster_with(service, "browserType.launch")
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(EXISTING, encoding="utf-8")

    with pytest.raises(InputError, match="choose the rule's category"):
        service.preview_rule(cluster_id)  # the cluster is unknown: a category is needed
    with pytest.raises(InputError, match="regular expression"):
        service.preview_rule(cluster_id, pattern="(", category="browser_missing")

    preview = service.preview_rule(
        cluster_id,
        pattern=r"Executable doesn't exist at",
        category="browser_missing",
        rules_file=str(rules_file),
    )
    cluster = service.cluster(cluster_id)
    assert preview.cluster_events == cluster.size > 0
    assert preview.cluster_matched == preview.cluster_events
    assert (
        preview.matched_events >= preview.cluster_matched
        and preview.cluster_to_matches[cluster_id] > 0
    )
    assert preview.examples and not preview.missed_examples
    assert "[categories.browser_missing]" in preview.toml

    promoted = service.promote_to_rule(
        cluster_id,
        pattern=r"Executable doesn't exist at",
        category="browser_missing",
        rules_file=str(rules_file),
        actor="alice",
    )
    assert (promoted.category, promoted.decided_by, promoted.status) == (
        "browser_missing",
        "rule",
        "reviewed",
    )
    rules = load_rules(rules_file)
    assert match_category(cluster.examples[0], rules).key == "browser_missing"
    assert "# keep this comment" in rules_file.read_text(encoding="utf-8")

    entry = service.audit_log(cluster_id=cluster_id, limit=1)[0]
    assert entry.action == "promote" and entry.after["pattern"] == r"Executable doesn't exist at"
    service.undo(entry.id, actor="bob")
    assert rules_file.read_text(encoding="utf-8") == EXISTING
    assert service.cluster(cluster_id).category == cluster.category


def test_promote_into_a_new_file_and_refuse_undo_after_a_hand_edit(sqlite_url, tmp_path):
    scenario(sqlite_url)
    service = review_service(sqlite_url, Clock())
    service.refresh(30)
    cluster_id = cluster_with(service, "Phase failed after")
    rules_file = tmp_path / "new" / "rules.toml"
    service.promote_to_rule(
        cluster_id,
        keywords=["Phase failed after"],
        category="timeout_error",
        rules_file=str(rules_file),
        actor="alice",
    )
    assert tomllib.loads(rules_file.read_text())["categories"]["timeout_error"]["keywords"] == [
        "Phase failed after"
    ]
    rules_file.write_text(rules_file.read_text() + "\n# edited by hand\n")
    with pytest.raises(ConflictError, match="changed"):
        service.undo(service.audit_log(limit=1)[0].id, actor="alice")
