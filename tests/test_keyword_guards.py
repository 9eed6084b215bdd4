"""The host's original keywords ("Failed to connect", "type object", "timeout"), each behind a
guard: labelled messages the bare keyword matches, and what the guard makes of them.

A *misfire* is a message the bare keyword matches that does not mean what the keyword's
category says. ``benchmarks/keyword_guards.py`` counts the same on Loghub-2k and LogChunks.
"""

from __future__ import annotations

import random
import re

import pytest

from error_analytics.demo.messages import CATALOGUE, render_message
from error_analytics.rules import classify_error
from error_analytics.rules.categories import GUARDED_KEYWORDS, GuardedKeyword

KEYWORD_TO_GUARD = {guarded.keyword: guarded for guarded in GUARDED_KEYWORDS}

# keyword -> (messages that mean the keyword's category, messages where the keyword misfires)
LABELLED: dict[str, tuple[list[str], list[str]]] = {
    "Failed to connect": (
        [
            "Failed to connect to backend on port 9107",
            "Error: Failed to connect to localhost:5173",
            "failed to connect to server at 127.0.0.1:8000",
            "MCP server playwright: Failed to connect",
            "Failed to connect: no route to backend",
            "Failed to connect after 3 attempts",
            "WebSocket failed to connect.",
        ],
        [
            "Failed to connect (view) outlet from (NSApplication) to (NSColorPickerGridView): "
            "missing setter or instance variable",
            "Failed to connect GitHub account: bad credentials",
            "failed to connect wallet extension",
            "Failed to connect to db.internal:5432: Connection timed out",  # a timeout
        ],
    ),
    "type object": (
        [
            "type object 'X' has no attribute 'y'",
            "AttributeError: type object 'WorkflowHistory' has no attribute 'hour_of_day'",
            "E   AttributeError: type object 'Phase' has no attribute 'DEPLOY'",
        ],
        [
            "Created type object for schema 'User'",
            "the type object is cached after the first call",
            "docs: explain when a type object is hashable",
        ],
    ),
    "timeout": (
        [
            "Command timeout (30s)",
            "Timeout waiting for dev server on http://localhost:5173",
            "Connection timeout",
            "Request timeout while calling the planner",
            "Test phase failed: timeout",
            "Timeout: agent did not answer",
            "TIMEOUT",
            "Wake Reason: Wake on TCP Timeout",
            "MACHINE CHECK DCR read timeout (mc=e08x iar 0x00000000 lr 0xc00045a4)",
        ],
        [
            "pytest --timeout 30 tests/ failed: 3 test failures",
            "invalid option -timeout 30",
            "requests.get(url, timeout=30) returned 404",
            "timeout = 30",
            "timeout: 30",
            "  timeout: 30s",
            '  "timeout": "30s",',
            "timeout-minutes: 30",
            "timeout_seconds=30 is below the minimum",
            "from app.config import TimeoutConfig",
            "setTimeout callback threw: ReferenceError: x is not defined",
            "clearTimeout(handle) on a closed socket",
            "timeout 300 npm test exited with 1",
            "${timeout} is not set",
            "self.timeout must be positive",
            "TypeError: save() got an unexpected keyword argument 'timeout'",
            ":param timeout: (optional) How long to wait for the server",
            "    :type timeout: float or tuple",
            "crabsWaitForLoad: Wait time out - -1001 (msRequestTimeout -1)",
        ],
    ),
}


def _cases(kind: int) -> list[pytest.param]:
    return [
        pytest.param(keyword, message, id=f"{keyword}-{index}")
        for keyword, examples in LABELLED.items()
        for index, message in enumerate(examples[kind])
    ]


def guard_matches(guarded: GuardedKeyword, message: str) -> bool:
    return any(re.search(pattern, message) for pattern in guarded.patterns)


def test_every_guarded_keyword_is_labelled():
    assert set(LABELLED) == set(KEYWORD_TO_GUARD) == {"Failed to connect", "type object", "timeout"}


@pytest.mark.parametrize(("keyword", "message"), _cases(0))
def test_the_keyword_in_its_meaning_is_classified(keyword, message):
    guarded = KEYWORD_TO_GUARD[keyword]
    assert keyword.lower() in message.lower()
    assert guard_matches(guarded, message)
    assert classify_error(message) == guarded.category


@pytest.mark.parametrize(("keyword", "message"), _cases(1))
def test_the_guard_rejects_a_misfire(keyword, message):
    guarded = KEYWORD_TO_GUARD[keyword]
    assert keyword.lower() in message.lower()  # the bare keyword would have matched
    assert not guard_matches(guarded, message)
    assert classify_error(message) != guarded.category


@pytest.mark.parametrize("keyword", sorted(LABELLED))
def test_misfire_rate_of_each_guard_on_the_labelled_messages(keyword):
    guarded = KEYWORD_TO_GUARD[keyword]
    meant, misfires = LABELLED[keyword]
    bare_misfires = sum(keyword.lower() in message.lower() for message in misfires)
    guard_misfires = sum(guard_matches(guarded, message) for message in misfires)
    guard_hits = sum(guard_matches(guarded, message) for message in meant)
    assert bare_misfires == len(misfires)  # without the guard: every one of them misfires
    assert guard_misfires == 0  # with it: none
    assert guard_hits == len(meant)  # and nothing meant is lost


def test_no_misfire_on_the_demo_messages():
    """Demo messages holding a guarded keyword are in its category exactly when the demo's
    ground truth (the host's own label) says so."""
    rng = random.Random(3)
    context = {"adw_id": "0a1b2c3d", "issue": "7"}
    checked = 0
    for template in CATALOGUE:
        for _ in range(10):
            message = render_message(template, rng, context)
            for guarded in GUARDED_KEYWORDS:
                if guarded.keyword.lower() not in message.lower():
                    continue
                checked += 1
                meant = guarded.keyword == "timeout" and template.host_category == "timeout"
                assert (classify_error(message) == guarded.category) is meant, message
    assert checked > 0
