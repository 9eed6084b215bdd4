"""The feature documentation cannot drift: every endpoint, CLI option and category is in it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from error_analytics.api import router
from error_analytics.cli import build_parser
from error_analytics.rules import ERROR_PATTERNS

DOC = Path(__file__).resolve().parent.parent / "docs" / "features" / "error-analytics.md"
SOURCE = Path(__file__).resolve().parent.parent / "src" / "error_analytics"
#: Every variable the toolkit reads (named in its source), but the test suite's own.
ENVIRONMENT = sorted(
    {
        name
        for path in SOURCE.rglob("*.py")
        for name in re.findall(r"ERROR_ANALYTICS_[A-Z_]+", path.read_text(encoding="utf-8"))
    }
    - {"ERROR_ANALYTICS_TEST_PG_URL"}
)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _walk(parser: argparse.ArgumentParser, command: str, found: dict[str, set[str]]) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                _walk(subparser, f"{command} {name}", found)
            continue
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                found.setdefault(command, set()).add(option)


def cli_options() -> dict[str, set[str]]:
    """``{"analyze-errors": {...}, "analyze-errors serve": {...}, ...}`` from the real parsers."""
    found: dict[str, set[str]] = {}
    _walk(build_parser(), "analyze-errors", found)
    assert {"analyze-errors serve", "analyze-errors clusters list"} <= set(found), sorted(found)
    return found


def api_routes() -> list[str]:
    routes = [  # through the routers it includes (one per module of error_analytics.api)
        f"{method} {context.path}"
        for context in iter_route_contexts(router.routes)
        if isinstance(context.original_route, APIRoute)
        for method in sorted(context.methods or ())
    ]
    assert len(routes) > 10, routes
    return routes


def mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def test_every_api_route_is_documented(doc):
    missing = [route for route in api_routes() if route not in doc]
    assert not missing, f"add these endpoints to {DOC.name}: {missing}"


def test_every_cli_option_is_documented(doc):
    missing = []
    for command, options in cli_options().items():
        if command != "analyze-errors" and command not in doc:
            missing.append(command)
        missing += [
            f"{command} {option}" for option in sorted(options) if not mentions(doc, option)
        ]
    assert not missing, f"add these to {DOC.name}: {missing}"


def test_every_error_category_is_in_the_catalog(doc):
    for key, rule in ERROR_PATTERNS.items():
        assert f"`{key}`" in doc, key
        assert rule.name in doc and rule.category in doc, key
        assert rule.recommendation in doc, f"the catalog's recommendation for {key} is out of date"


def test_environment_variables_are_documented(doc):
    assert {"ERROR_ANALYTICS_DB", "ERROR_ANALYTICS_ALERT_WEBHOOK_URL"} <= set(ENVIRONMENT)
    missing = [name for name in ENVIRONMENT if name not in doc]
    assert not missing, missing


def test_the_dashboard_screenshot_exists():
    screenshot = DOC.parent.parent / "dashboard.png"
    assert screenshot.is_file() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "dashboard.png" in DOC.read_text(encoding="utf-8")
