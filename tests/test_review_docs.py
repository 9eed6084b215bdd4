"""docs/review.md cannot drift: every review command, option and service method is in it."""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path

import pytest

from error_analytics.cli.review import add_review_flag, register_review_commands
from error_analytics.review import ClusterReviewService

DOC = (Path(__file__).resolve().parents[1] / "docs" / "review.md").read_text(encoding="utf-8")


def _actions() -> dict[str, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser()
    add_review_flag(parser)
    clusters = register_review_commands(parser.add_subparsers(dest="command"))
    sub = next(
        action for action in clusters._actions if isinstance(action, argparse._SubParsersAction)
    )
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(_actions()))
def test_every_action_and_option_is_documented(name):
    assert f"clusters {name}" in DOC
    for action in _actions()[name]._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                assert option in DOC, (
                    f"{option} of `clusters {name}` is missing from docs/review.md"
                )


def test_the_review_flag_is_documented():
    assert "analyze-errors --review" in DOC and "--state-db" in DOC and "--actor" in DOC


def test_every_public_service_method_is_documented():
    methods = [
        name
        for name, _ in inspect.getmembers(ClusterReviewService, inspect.isfunction)
        if not name.startswith("_")
    ]
    missing = [
        name
        for name in methods
        if f"{name}(" not in DOC and f"`{name}`" not in DOC and f" {name} " not in DOC
    ]
    assert not missing, missing


def test_public_surface():
    from error_analytics import review
    from error_analytics.store import state

    for module in (review, state):
        assert all(hasattr(module, name) for name in module.__all__)
    expected = {
        "refresh",
        "list_clusters",
        "get_cluster",
        "accept",
        "rename",
        "set_category",
        "merge",
        "split",
        "ignore",
        "unignore",
        "resolve",
        "undo",
        "audit_log",
        "preview_rule",
        "promote_to_rule",
        "place_events",
        "state_token",
        "training_labels",
        "window_clusters",
    }
    assert expected <= set(dir(review.ClusterReviewService))
