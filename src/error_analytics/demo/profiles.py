"""How the demo's workflows behave, as data: templates, models, phases, and the odd values.

Weights are relative; ``failure_factor`` multiplies the day's base failure rate.
"""

from __future__ import annotations

import dataclasses

from error_analytics.models import Phase


@dataclasses.dataclass(frozen=True, slots=True)
class WorkflowProfile:
    name: str
    phases: tuple[str, ...]
    weight: float
    failure_factor: float
    typical_minutes: float


@dataclasses.dataclass(frozen=True, slots=True)
class ModelProfile:
    name: str | None
    weight: float
    failure_factor: float


_FULL = tuple(phase.value for phase in Phase.ordered() if phase is not Phase.UNKNOWN)

WORKFLOWS: tuple[WorkflowProfile, ...] = (
    WorkflowProfile("adw_sdlc_complete_iso", _FULL, 28.0, 1.35, 48.0),
    WorkflowProfile("adw_sdlc_complete_zte_iso", _FULL, 6.0, 1.45, 52.0),
    WorkflowProfile("adw_plan_build_iso", ("Plan", "Build"), 15.0, 0.6, 12.0),
    WorkflowProfile("adw_plan_build_test_iso", ("Plan", "Build", "Test"), 20.0, 1.0, 22.0),
    WorkflowProfile(
        "adw_plan_build_test_review_iso", ("Plan", "Build", "Test", "Review"), 10.0, 1.1, 31.0
    ),
    WorkflowProfile("adw_patch_iso", ("Plan", "Build", "Test", "Ship"), 13.0, 0.8, 11.0),
    WorkflowProfile("adw_plan_iso", ("Plan",), 4.0, 0.45, 5.0),
    WorkflowProfile("adw_lightweight_iso", ("Plan", "Build", "Lint", "Ship"), 4.0, 0.7, 9.0),
)

MODELS: tuple[ModelProfile, ...] = (
    ModelProfile("claude-sonnet-4-5-20250929", 44.0, 1.0),
    ModelProfile("claude-opus-4-1-20250805", 18.0, 0.8),
    ModelProfile("claude-haiku-4-5-20251001", 15.0, 1.45),
    ModelProfile("claude-3-5-sonnet-20241022", 8.0, 1.2),
    ModelProfile("sonnet", 8.0, 1.0),
    ModelProfile("opus", 4.0, 0.85),
    ModelProfile(None, 3.0, 1.0),
)

#: Where failures land, relative to each other, when a template runs the phase.
PHASE_FAILURE_WEIGHTS: dict[str, float] = {
    "Plan": 1.2,
    "Validate": 0.4,
    "Build": 2.6,
    "Lint": 0.9,
    "Test": 3.6,
    "Review": 1.3,
    "Document": 0.4,
    "Ship": 1.0,
    "Cleanup": 0.35,
    "Verify": 0.5,
}
#: Share of a run's duration spent in each phase (relative).
PHASE_DURATION_WEIGHTS: dict[str, float] = {
    "Plan": 2.0,
    "Validate": 0.4,
    "Build": 4.0,
    "Lint": 0.6,
    "Test": 4.5,
    "Review": 2.5,
    "Document": 1.2,
    "Ship": 0.6,
    "Cleanup": 0.3,
    "Verify": 0.6,
}

#: Spellings the host writes for phases (error_phase_distribution, task_logs, bottleneck).
PHASE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "Plan": ("plan", "Plan", "planning", "adw_plan_iso"),
    "Validate": ("validate", "Validate"),
    "Build": ("build", "Build", "building", "adw_build_iso"),
    "Lint": ("lint", "Lint"),
    "Test": ("test", "Test", "testing", "adw_test_iso"),
    "Review": ("review", "Review", "reviewing", "adw_review_iso"),
    "Document": ("document", "doc", "documenting", "adw_document_iso"),
    "Ship": ("ship", "Ship", "adw_ship_iso"),
    "Cleanup": ("cleanup", "Cleanup"),
    "Verify": ("verify", "Verify"),
}

#: The host's ``retry_reasons`` vocabulary.
RETRY_REASONS: tuple[str, ...] = (
    "test_failure",
    "timeout",
    "api_rate_limit",
    "build_error",
    "merge_conflict",
    "port_conflict",
    "agent_error",
)

#: Phase-error JSON that does not parse (SQLite keeps it as written; see schema.RawValue).
GARBAGE_JSON: tuple[str, ...] = (
    '{"Build": "Import failed", "Test": ',
    "{'Test': 'pytest execution timed out after 5 minutes'}",
    "Build: failed",
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    '{"phase": "Review", "error": "Review found 3 blocker issues"',
    "not json {",
)

#: Timestamps a careless writer left behind (SQLite only).
ODD_DATES: tuple[str, ...] = (
    "yesterday",
    "",
    "12/10/2025 10:33",
    "0000-00-00 00:00:00",
    "1733826783",
    "N/A",
)

#: Hook tools and an input that goes with each.
TOOL_INPUTS: dict[str, dict[str, str]] = {
    "Bash": {"command": "uv run pytest tests/ -x -q"},
    "Read": {"file_path": "app/server/core/workflow_history.py"},
    "Edit": {"file_path": "app/client/src/components/WorkflowCard.tsx"},
    "Write": {"file_path": "specs/plan.md"},
    "Grep": {"pattern": "def insert_workflow"},
    "Task": {"description": "Run the e2e review"},
    "mcp__playwright__browser_navigate": {"url": "http://localhost:5173"},
}
