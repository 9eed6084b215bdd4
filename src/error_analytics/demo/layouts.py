"""The error columns of each layout, and the host layout's ``task_logs`` rows, for one run.

Spec layout: ``failure_reason`` + ``phase_errors`` in every shape seen (dict, list of
objects, a JSON string of those, garbage). Host layout: ``error_message`` (often missing),
``error_category``, ``error_phase_distribution`` with mixed phase spellings,
``retry_reasons``, ``bottleneck_phase``, ``recovery_time_seconds``, and per-phase task logs.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from error_analytics.demo import hooks
from error_analytics.demo.messages import WRAPPERS, MessageTemplate
from error_analytics.demo.profiles import GARBAGE_JSON, PHASE_SPELLINGS, RETRY_REASONS
from error_analytics.demo.schema import RawValue

_OPTIONAL_PHASES = frozenset({"Review", "Document", "Verify"})
_WRAPPER_CUM = list(itertools.accumulate(weight for _, weight in WRAPPERS))


@dataclasses.dataclass(slots=True)
class Failure:
    """Why and where one run failed."""

    phase: str
    message: MessageTemplate
    detail: str | None  # None: the run recorded no error text anywhere
    recovered: tuple[str, str] | None = None  # (phase, message) of an earlier, retried error


def spell(rng: random.Random, phase: str, style: int | None = None) -> str:
    """The host's spelling of ``phase``: lower-case, Title-case, gerund/short, script name."""
    if style is None:
        style = bisect.bisect((55, 75, 90), rng.random() * 100)
    spellings = PHASE_SPELLINGS[phase]
    return spellings[min(style, len(spellings) - 1)]


def final_text(rng: random.Random, failure: Failure, retries: int, adw_id: str) -> str:
    """The run-level message: the detail itself, or a wrapper around (or instead of) it."""
    wrapper, _ = WRAPPERS[bisect.bisect(_WRAPPER_CUM, rng.random() * _WRAPPER_CUM[-1])]
    if wrapper is None or failure.detail is None:
        return failure.detail or ""
    return wrapper.format(
        phase=failure.phase,
        phase_lower=failure.phase.lower(),
        detail=failure.detail,
        exit_code=rng.choice((1, 2, 2)),
        attempts=max(retries, 3),
        adw_id=adw_id,
    )


def _garbage(rng: random.Random) -> RawValue:
    return RawValue(rng.choice(GARBAGE_JSON))


def spec_columns(
    rng: random.Random,
    failure: Failure | None,
    recovered: tuple[str, str] | None,
    retries: int,
    adw_id: str,
) -> dict[str, Any]:
    if failure is None:
        phase_errors: Any = dict([recovered]) if recovered else (None if rng.random() < 0.8 else {})
        return {"failure_reason": None, "phase_errors": phase_errors}
    if failure.detail is None:
        reason = rng.choice((None, None, None, "", "   "))
        return {"failure_reason": reason, "phase_errors": rng.choice((None, None, {}))}
    pairs = ([failure.recovered] if failure.recovered else []) + [
        (failure.phase if rng.random() < 0.85 else failure.phase.lower(), failure.detail)
    ]
    shape = rng.random()
    if shape < 0.62:
        phase_errors = dict(pairs)
    elif shape < 0.74:
        key = rng.choice(("error", "message"))
        phase_errors = [{"phase": phase, key: text} for phase, text in pairs]
    elif shape < 0.82:
        phase_errors = json.dumps(dict(pairs))  # stored double-encoded
    elif shape < 0.86:
        phase_errors = _garbage(rng)
    else:
        phase_errors = None if shape < 0.93 else {}
    return {
        "failure_reason": final_text(rng, failure, retries, adw_id),
        "phase_errors": phase_errors,
    }


def host_columns(
    rng: random.Random,
    failure: Failure | None,
    recovered: tuple[str, str] | None,
    retries: int,
    durations: list[float],
    reached: tuple[str, ...],
    adw_id: str,
) -> dict[str, Any]:
    slowest = reached[max(range(len(reached)), key=durations.__getitem__)]
    columns: dict[str, Any] = {
        "error_message": None,
        "error_category": None,
        "error_phase_distribution": None if rng.random() < 0.7 else {},
        "retry_reasons": [] if rng.random() < 0.5 else None,
        "bottleneck_phase": spell(rng, slowest) if rng.random() < 0.7 else None,
        "recovery_time_seconds": rng.randint(20, 900) if retries else None,
    }
    if retries:
        columns["retry_reasons"] = [rng.choice(RETRY_REASONS) for _ in range(retries)]
    if recovered:
        columns["error_phase_distribution"] = {spell(rng, recovered[0]): 1}
    if failure is None:
        return columns
    if failure.detail is not None and rng.random() < 0.62:
        columns["error_message"] = final_text(rng, failure, retries, adw_id)
        columns["error_category"] = (
            failure.message.host_category if rng.random() < 0.8 else "unknown"
        )
    else:
        columns["error_category"] = "unknown" if rng.random() < 0.4 else None
    shape = rng.random()
    if shape < 0.72:
        counts = {spell(rng, failure.phase): rng.choice((1, 1, 1, 2, 3))}
        if failure.recovered:
            counts[spell(rng, failure.recovered[0])] = 1
        columns["error_phase_distribution"] = counts
    elif shape < 0.84:
        columns["error_phase_distribution"] = None
    elif shape < 0.92:
        columns["error_phase_distribution"] = {}
    else:
        columns["error_phase_distribution"] = _garbage(rng)
    return columns


def task_log_rows(
    rng: random.Random,
    run: dict[str, Any],
    start: datetime,
    reached: tuple[str, ...],
    durations: list[float],
    failure: Failure | None,
    render_for: Callable[[str], str],
) -> list[dict[str, Any]]:
    """Per-phase rows of one run: an optional ``started`` row, then the phase's outcome."""
    rows: list[dict[str, Any]] = []
    style = bisect.bisect((60, 80, 90), rng.random() * 100)
    clock = start
    for number, (phase, seconds) in enumerate(zip(reached, durations, strict=False), start=1):
        name = spell(rng, phase, style)
        ends = clock + timedelta(seconds=seconds)
        last = number == len(reached)
        phase_status = "completed"
        if last and failure:
            phase_status = "failed"
        elif last and run["status"] == "running":
            phase_status = "started"
        elif run["status"] == "completed" and phase in _OPTIONAL_PHASES and rng.random() < 0.08:
            phase_status = "skipped"
        base = {
            "adw_id": run["adw_id"],
            "issue_number": run["issue_number"],
            "workflow_template": run["workflow_template"],
            "phase_name": name,
            "phase_number": number,
            "error_message": None,
            "tool_calls": None,
        }
        if phase_status != "started" and rng.random() < 0.15:
            rows.append(
                {
                    **base,
                    "phase_status": "started",
                    "log_message": f"Starting {name} phase",
                    "started_at": clock,
                    "completed_at": None,
                    "duration_seconds": None,
                    "created_at": clock.replace(microsecond=0),
                }
            )
        error = None
        if phase_status == "failed" and failure and failure.detail and rng.random() < 0.85:
            error = failure.detail
        tool_calls = None
        if phase_status in ("completed", "failed") and rng.random() < 0.4:
            # completed phases sometimes carry a tool failure the agent recovered from
            recovered = render_for(phase) if rng.random() < 0.04 else None
            tool_calls = hooks.tool_calls(rng, error if phase_status == "failed" else recovered)
        finished = phase_status != "started"
        rows.append(
            {
                **base,
                "phase_status": phase_status,
                "log_message": f"{phase} phase {phase_status}"
                if finished
                else f"Starting {name} phase",
                "error_message": error,
                "tool_calls": tool_calls,
                "started_at": clock,
                "completed_at": ends if finished else None,
                "duration_seconds": (0.0 if phase_status == "skipped" else round(seconds, 1))
                if finished
                else None,
                "created_at": (ends if finished else clock).replace(microsecond=0),
            }
        )
        clock = ends
    return rows
