"""Every spelling of a workflow phase maps to the canonical Phase."""

from __future__ import annotations

import pytest

from error_analytics.models import Phase
from error_analytics.rules import normalize_phase
from error_analytics.rules.phases import PHASE_SPELLINGS

SPELLINGS: dict[Phase, list[str]] = {
    Phase.PLAN: ["Plan", "plan", "PLAN", "planning", "Planning", "adw_plan_iso", "adw_plan"],
    Phase.VALIDATE: ["Validate", "validating", "validation", "VALIDATION", "adw_validate_iso"],
    Phase.BUILD: [
        "Build",
        "build",
        "building",
        "BUILDING",
        "adw_build",
        "adw_build_iso",
        "implement",
        "implementation",
    ],
    Phase.LINT: ["Lint", "lint", "linting", "adw_lint_iso"],
    Phase.TEST: ["Test", "test", "tests", "testing", "Testing", "adw_test_iso", "adw_test_iso.py"],
    Phase.REVIEW: ["Review", "reviewing", "REVIEW", "adw_review_iso"],
    Phase.DOCUMENT: [
        "Document",
        "doc",
        "docs",
        "Docs",
        "documenting",
        "documentation",
        "adw_document_iso",
    ],
    Phase.SHIP: ["Ship", "shipping", "adw_ship_iso"],
    Phase.CLEANUP: [
        "Cleanup",
        "cleanup",
        "clean_up",
        "clean-up",
        "Clean Up",
        "cleaning",
        "CleanUp",
        "adw_cleanup_iso",
    ],
    Phase.VERIFY: ["Verify", "verifying", "verification", "adw_verify_iso"],
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(value, phase, id=value)
        for phase, values in SPELLINGS.items()
        for value in values
    ],
)
def test_spellings_map_to_the_canonical_phase(value: str, expected: Phase) -> None:
    assert normalize_phase(value) is expected


@pytest.mark.parametrize("value", ["  Build ", "build\n", "\tTEST"])
def test_surrounding_whitespace_is_ignored(value: str) -> None:
    assert normalize_phase(value) in {Phase.BUILD, Phase.TEST}


@pytest.mark.parametrize(
    "value",
    [
        None,
        3,
        0,
        2.5,
        True,
        b"build",
        ["build"],
        {"phase": "build"},
        "",
        "   ",
        "garbage",
        "phase 7",
        "buildx",
        "pre-build",
        "testing123",
        "adw_sdlc_iso",
        "adw_sdlc_complete_iso",
        "adw_plan_build_iso",
        "adw_",
        "adw_iso",
        "Unknown",
        "unknown",
    ],
)
def test_anything_else_is_unknown(value: object) -> None:
    assert normalize_phase(value) is Phase.UNKNOWN


@pytest.mark.parametrize("phase", list(Phase))
def test_phases_map_to_themselves(phase: Phase) -> None:
    assert normalize_phase(phase) is phase
    assert normalize_phase(phase.value) is phase


def test_every_canonical_phase_has_spellings() -> None:
    assert set(PHASE_SPELLINGS.values()) == set(Phase)
    assert all(spelling == spelling.lower().strip() for spelling in PHASE_SPELLINGS)
