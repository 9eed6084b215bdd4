"""Synthesis of ``hook_events`` rows (agent tool telemetry) and ``task_logs.tool_calls``.

A run's session is joined to it through ``workflow_id = 'wf-<adw_id>'`` and/or
``source_app = 'adw_wf-<adw_id>'``; interactive sessions carry ``source_app = 'unknown'`` and
no workflow id. Tool errors take every payload shape the data contract lists.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from error_analytics.demo.profiles import ODD_DATES, TOOL_INPUTS
from error_analytics.demo.schema import RawValue

_TOOLS = tuple(TOOL_INPUTS)
_WRITE_DELAYS = (timedelta(0), timedelta(seconds=1), timedelta(seconds=2))


def _success_response(tool: str, rng: random.Random) -> dict[str, Any]:
    if tool == "Bash":
        return {"stdout": "ok", "stderr": "", "exit_code": 0, "interrupted": False}
    if tool == "Read":
        return {
            "type": "text",
            "file": {"filePath": TOOL_INPUTS[tool]["file_path"], "numLines": rng.randint(20, 600)},
        }
    if tool in ("Edit", "Write"):
        return {"filePath": TOOL_INPUTS[tool]["file_path"], "success": True}
    if tool == "Grep":
        return {"numFiles": rng.randint(1, 9), "mode": "files_with_matches"}
    return {"content": [{"type": "text", "text": "done"}], "is_error": False}


def _error_payload(rng: random.Random, message: str) -> tuple[str, dict[str, Any]]:
    """A tool and the part of a PostToolUse payload that reports ``message`` as its failure."""
    shape = rng.random()
    if shape < 0.45:
        return "Bash", {
            "tool_response": {
                "stdout": "",
                "stderr": message,
                "exit_code": rng.choice((1, 1, 2, 124, 127)),
                "interrupted": False,
            }
        }
    if shape < 0.7:
        tool = rng.choice(("mcp__playwright__browser_navigate", "Task"))
        return tool, {
            "tool_response": {"is_error": True, "content": [{"type": "text", "text": message}]}
        }
    if shape < 0.88:
        return rng.choice(_TOOLS), {"tool_result": {"success": False, "error": message}}
    return rng.choice(("Edit", "Write", "Read")), {"tool_response": {"error": message}}


def tool_calls(rng: random.Random, error: str | None) -> list[dict[str, Any]]:
    """A phase's ``tool_calls`` list; the last call fails with ``error`` when one is given."""
    calls: list[dict[str, Any]] = [
        {
            "tool_name": rng.choice(_TOOLS),
            "success": True,
            "error_message": None,
            "duration_ms": 40 + int(rng.random() * 90_000),
        }
        for _ in range(rng.randint(1, 4))
    ]
    if error is not None:
        calls.append(
            {
                "tool_name": "Bash",
                "success": False,
                "error_message": error,
                "duration_ms": rng.randint(200, 300_000),
                "exit_code": rng.choice((1, 2)),
            }
        )
    return calls


class HookEventWriter:
    """Appends hook event rows for runs and for interactive sessions to ``out``."""

    def __init__(
        self, rng: random.Random, now: datetime, sqlite: bool, out: list[dict[str, Any]]
    ) -> None:
        self.rng = rng
        self.now = now
        self.sqlite = sqlite
        self.out = out

    def _uuid(self) -> str:
        """A random UUID-shaped id (formatted by hand: ``uuid.UUID`` is slow on 10^6 rows)."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def run_session(
        self,
        adw_id: str,
        start: datetime,
        end: datetime,
        *,
        failed: bool,
        error_message: str | None,
    ) -> None:
        rng = self.rng
        if rng.random() >= (0.9 if failed else 0.45):
            return
        link = rng.random()
        workflow_id = None if 0.85 <= link < 0.95 else f"wf-{adw_id}"
        source_app = f"adw_wf-{adw_id}" if link < 0.95 else "unknown"
        events = self._session_events(f"/implement specs/adw-{adw_id}.md")
        if error_message is not None and rng.random() < (0.8 if failed else 0.5):
            events[-1:-1] = self._tool_pair(error_message)
        self._write(events, start, max(end, start + timedelta(seconds=60)), source_app, workflow_id)

    def background_sessions(self, dates: list[date], message: Callable[[], str]) -> None:
        """Interactive sessions that belong to no workflow run (a few a day)."""
        rng = self.rng
        for day in dates:
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                start = datetime.combine(day, time(rng.randint(8, 20))) + timedelta(
                    seconds=rng.random() * 3600
                )
                if start >= self.now:
                    continue
                events = self._session_events("fix the flaky test")
                if rng.random() < 0.3:
                    events[-1:-1] = self._tool_pair(message())
                end = min(self.now, start + timedelta(minutes=rng.randint(2, 40)))
                self._write(events, start, end, "unknown", None)

    def _session_events(self, prompt: str) -> list[tuple[str, str | None, dict[str, Any]]]:
        rng = self.rng
        events: list[tuple[str, str | None, dict[str, Any]]] = [
            ("SessionStart", None, {"source": "startup"}),
            ("UserPromptSubmit", None, {"prompt": prompt}),
        ]
        for _ in range(rng.randint(1, 3)):
            events += self._tool_pair(None)
        if rng.random() < 0.05:
            events.append(
                ("Notification", None, {"message": "Claude needs your permission to use Bash"})
            )
        if rng.random() < 0.03:
            events.append(("PreCompact", None, {"trigger": "auto"}))
        if rng.random() < 0.15:
            events.append(("SubagentStop", None, {"stop_hook_active": False}))
        events.append(("Stop", None, {"stop_hook_active": False}))
        if rng.random() < 0.7:
            events.append(("SessionEnd", None, {"reason": "exit"}))
        return events

    def _tool_pair(self, error: str | None) -> list[tuple[str, str | None, dict[str, Any]]]:
        if error is None:
            tool = self.rng.choice(_TOOLS)
            result: dict[str, Any] = {"tool_response": _success_response(tool, self.rng)}
        else:
            tool, result = _error_payload(self.rng, error)
        tool_input = {"tool_input": TOOL_INPUTS.get(tool, {})}
        return [("PreToolUse", tool, tool_input), ("PostToolUse", tool, {**tool_input, **result})]

    def _write(
        self,
        events: list[tuple[str, str | None, dict[str, Any]]],
        start: datetime,
        end: datetime,
        source_app: str,
        workflow_id: str | None,
    ) -> None:
        rng, now = self.rng, self.now
        processed_before = now - timedelta(days=1)
        session_id = self._uuid()
        step = (end - start) / len(events)
        for index, (event_type, tool, body) in enumerate(events):
            stamp = min(start + step * (index + rng.random()), now)
            payload: Any = {"session_id": session_id, "hook_event_name": event_type}
            if tool is not None:
                payload["tool_name"] = tool
            payload.update(body)
            if rng.random() < 0.006:
                text = json.dumps(payload)
                payload = RawValue(text[: rng.randint(10, max(11, len(text) - 2))])
            timestamp: Any = stamp if rng.random() < 0.85 else stamp.replace(microsecond=0)
            if rng.random() < 0.001:  # drawn on every engine so both get the same events
                odd = RawValue(rng.choice(ODD_DATES))
                timestamp = odd if self.sqlite else timestamp
            self.out.append(
                {
                    "event_id": self._uuid(),
                    "event_type": event_type,
                    "source_app": source_app,
                    "session_id": session_id,
                    "workflow_id": workflow_id,
                    "timestamp": timestamp,
                    "payload": payload,
                    "tool_name": tool,
                    "processed": stamp < processed_before and rng.random() < 0.97,
                    # written a moment later, by a writer that keeps whole seconds
                    "created_at": min(now, stamp + _WRITE_DELAYS[int(rng.random() * 3)]).replace(
                        microsecond=0
                    ),
                }
            )
