"""Synthesis of demo rows: workflow runs of either layout and their task logs.

Everything random comes from the ``random.Random`` handed in, so a seed and a ``now`` fix
every row. Row dicts use Python values (datetimes, dicts, lists); :mod:`.schema` turns them
into what each engine stores, and :class:`~.schema.RawValue` marks deliberately broken values.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from error_analytics.demo import hooks, layouts
from error_analytics.demo.layouts import Failure
from error_analytics.demo.messages import (
    CATALOGUE,
    SPIKE_KEYS,
    MessageTemplate,
    render_message,
)
from error_analytics.demo.profiles import (
    MODELS,
    ODD_DATES,
    PHASE_DURATION_WEIGHTS,
    PHASE_FAILURE_WEIGHTS,
    WORKFLOWS,
    ModelProfile,
    WorkflowProfile,
)
from error_analytics.demo.schema import RawValue

_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 11, 11, 9, 10, 11, 11, 10, 8, 6, 5, 4, 3, 2, 1)
_BY_KEY = {message.key: message for message in CATALOGUE}


@dataclasses.dataclass(frozen=True, slots=True)
class RecentFailure:
    """A failure absent from the history that starts at ``since``."""

    message: MessageTemplate
    since: datetime
    rate: float  # extra failure probability of each run whose template has a matching phase


@dataclasses.dataclass(frozen=True, slots=True)
class BatchPlan:
    layout: str  # "spec" | "host"
    dialect: str  # "sqlite" | "postgresql"
    runs: int
    days: int
    now: datetime
    first_issue: int
    spike_days: int
    recent_failures: tuple[RecentFailure, ...] = ()
    task_logs_after: float = 0.1  # share of the window, from its start, without task_logs


@dataclasses.dataclass(slots=True)
class RunBatch:
    workflow_history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    task_logs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    hook_events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    failed: int = 0
    failed_without_text: int = 0


def _cum(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _pick(rng: random.Random, items: Sequence[Any], cum: list[float]) -> Any:
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


def synthesize(plan: BatchPlan, rng: random.Random, used_adw_ids: set[str]) -> RunBatch:
    """Rows for ``plan.runs`` runs over the ``plan.days`` days ending at ``plan.now``."""
    return _Synthesizer(plan, rng, used_adw_ids).run()


class _Synthesizer:
    def __init__(self, plan: BatchPlan, rng: random.Random, used_adw_ids: set[str]) -> None:
        self.plan = plan
        self.rng = rng
        self.used = used_adw_ids
        self.sqlite = plan.dialect == "sqlite"
        self.batch = RunBatch()
        self.issue = plan.first_issue
        self.workflow_cum = _cum([w.weight for w in WORKFLOWS])
        self.model_cum = _cum([m.weight for m in MODELS])
        self.hour_cum = _cum(list(_HOUR_WEIGHTS))
        self.phase_messages = {
            phase: (
                [m for m in CATALOGUE if phase in m.phases],
                _cum([m.weight for m in CATALOGUE if phase in m.phases]),
            )
            for phase in PHASE_FAILURE_WEIGHTS
        }
        self.hooks = hooks.HookEventWriter(rng, plan.now, self.sqlite, self.batch.hook_events)

    # -- calendar -------------------------------------------------------------------------------
    def run(self) -> RunBatch:
        plan, rng = self.plan, self.rng
        self.dates = [plan.now.date() - timedelta(days=plan.days - 1 - i) for i in range(plan.days)]
        # two quiet days a week, counted back from today (not the calendar's weekend), so the
        # same seed gives the same runs whatever day it is built on: the cluster ids the docs
        # quote are those of every fresh demo
        volume = [
            (0.35 if (plan.days - 1 - i) % 7 in (2, 3) else 1.0)
            * (0.8 + 0.4 * i / max(1, plan.days - 1))
            * rng.uniform(0.75, 1.25)
            for i in range(len(self.dates))
        ]
        today = plan.now - datetime.combine(plan.now.date(), time())
        volume[-1] *= max(0.01, today.total_seconds() / 86400)  # today is not over yet
        self.rates = [min(0.45, 0.115 * rng.lognormvariate(0.0, 0.3)) for _ in self.dates]
        self.spike_key: dict[date, str] = {}
        candidates = list(range(3, plan.days - 16))
        if plan.spike_days and len(candidates) >= plan.spike_days:
            for index in rng.sample(candidates, plan.spike_days):
                self.spike_key[self.dates[index]] = rng.choice(SPIKE_KEYS)
                self.rates[index] = min(0.6, self.rates[index] * 3.2)
                volume[index] *= 1.3
        day_cum = _cum(volume)
        starts = sorted(self._start_time(_pick(rng, self.dates, day_cum)) for _ in range(plan.runs))
        # a few runs just started, so that pending and running ones are always present
        recent = min(4, plan.runs // 100)
        starts[len(starts) - recent :] = sorted(
            plan.now - timedelta(seconds=rng.uniform(30, 900)) for _ in range(recent)
        )
        window = datetime.combine(self.dates[0], time())
        self.task_logs_from = window + (plan.now - window) * plan.task_logs_after
        # the newest run waits to start, the one before it is still going
        forced = {len(starts) - 1: "pending", len(starts) - 2: "running"} if recent >= 2 else {}
        for index, start in enumerate(starts):
            self._one_run(start, forced.get(index))
        self.hooks.background_sessions(self.dates, self._background_message)
        return self.batch

    def _start_time(self, day: date) -> datetime:
        hour = _pick(self.rng, range(24), self.hour_cum)
        start = datetime.combine(day, time(hour)) + timedelta(seconds=self.rng.random() * 3600)
        if start >= self.plan.now:
            midnight = datetime.combine(day, time())
            start = midnight + (self.plan.now - midnight) * self.rng.random()
        return start

    def _new_adw_id(self) -> str:
        while True:
            adw_id = f"{self.rng.getrandbits(32):08x}"
            if adw_id not in self.used:
                self.used.add(adw_id)
                return adw_id

    def _background_message(self) -> str:
        message = self.rng.choice(CATALOGUE)
        adw_id = f"{self.rng.getrandbits(32):08x}"  # a run of someone's own machine
        return render_message(message, self.rng, {"adw_id": adw_id, "issue": "0"})

    # -- one run --------------------------------------------------------------------------------
    def _one_run(self, start: datetime, forced_status: str | None = None) -> None:
        plan, rng = self.plan, self.rng
        workflow: WorkflowProfile = _pick(rng, WORKFLOWS, self.workflow_cum)
        model: ModelProfile = _pick(rng, MODELS, self.model_cum)
        adw_id = self._new_adw_id()
        if rng.random() < 0.22 and self.issue > plan.first_issue:
            issue = rng.randint(max(plan.first_issue, self.issue - 15), self.issue)
        else:
            self.issue += 1
            issue = self.issue
        context = {"adw_id": adw_id, "issue": str(issue)}
        planned = workflow.typical_minutes * 60.0 * rng.lognormvariate(0.0, 0.4)
        age = (plan.now - start).total_seconds()

        status, failure = "completed", None
        if (
            age < 1200
            and rng.random() < 0.4
            and forced_status != "running"
            or forced_status == "pending"
        ):
            status = "pending"
        elif age < planned or rng.random() < 0.002 or forced_status == "running":
            status = "running"
        else:
            failure = self._maybe_fail(start, workflow, model, context)
            status = "failed" if failure else "completed"

        reached, durations = self._phases_reached(workflow.phases, status, failure, planned, age)

        recovered_completed = None
        if status == "completed" and rng.random() < 0.02:
            phase = rng.choice(reached)
            recovered_completed = (phase, self._render_for(phase, context))
        retries = self._retry_count(status, failure, recovered_completed)
        keep_micro = rng.random() < 0.8
        start_at = start if keep_micro else start.replace(microsecond=0)
        created = start.replace(microsecond=0) - timedelta(seconds=rng.randint(0, 40))
        if rng.random() < 0.25:
            created = created.replace(microsecond=rng.randint(1, 999_999))
        end = None
        if status in ("completed", "failed"):
            end = start + timedelta(seconds=sum(durations))
        if end is not None and not keep_micro:
            end = end.replace(microsecond=0)
        updated = (end or start) + timedelta(seconds=rng.randint(1, 30))
        row: dict[str, Any] = {
            "adw_id": adw_id,
            "issue_number": issue,
            "workflow_template": workflow.name,
            "model_used": model.name,
            "status": status,
            "start_time": None if status == "pending" else start_at,
            "end_time": end,
            "duration_seconds": None if end is None else int(sum(durations)),
            "current_phase": self._current_phase(status, reached, failure),
            "retry_count": retries,
        }
        if plan.layout == "spec":
            row.update(layouts.spec_columns(rng, failure, recovered_completed, retries, adw_id))
        else:
            row.update(
                layouts.host_columns(
                    rng, failure, recovered_completed, retries, durations, reached, adw_id
                )
            )
        row["created_at"] = created
        row["updated_at"] = updated.replace(microsecond=0)
        if status == "pending":
            row["current_phase"] = None
        if rng.random() < 0.004:  # drawn on every engine so both get the same runs
            field = rng.choice(("end_time", "end_time", "updated_at", "updated_at", "created_at"))
            odd = rng.choice((*ODD_DATES, start.strftime("%Y-%m-%dT%H:%M:%SZ")))
            if self.sqlite:  # PostgreSQL's timestamp column cannot hold them
                row[field] = RawValue(odd)
        self.batch.workflow_history.append(row)
        if failure:
            self.batch.failed += 1
            self.batch.failed_without_text += failure.detail is None
        if (
            plan.layout == "host"
            and status != "pending"
            and start >= self.task_logs_from
            and rng.random() < 0.95
        ):
            self.batch.task_logs += layouts.task_log_rows(
                rng,
                row,
                start,
                reached,
                durations,
                failure,
                lambda phase: self._render_for(phase, {"adw_id": adw_id, "issue": "0"}),
            )
        if status != "pending":
            error = failure.detail if failure else (recovered_completed or (None, None))[1]
            self.hooks.run_session(
                adw_id,
                start,
                start + timedelta(seconds=sum(durations)),
                failed=failure is not None,
                error_message=error,
            )

    def _phases_reached(
        self,
        phases: tuple[str, ...],
        status: str,
        failure: Failure | None,
        planned: float,
        age: float,
    ) -> tuple[tuple[str, ...], list[float]]:
        """The phases a run went through and the seconds it spent in each."""
        rng = self.rng
        if failure:
            reached = phases[: phases.index(failure.phase) + 1]
        elif status == "running":
            progress = min(0.95, age / planned)
            reached = phases[: min(len(phases), 1 + int(progress * len(phases)))]
        else:
            reached = phases
        share = [PHASE_DURATION_WEIGHTS[p] * rng.uniform(0.5, 1.5) for p in reached]
        if status == "completed":
            total = planned
        elif status == "running":  # or stuck: the host never recorded its end
            total = min(max(age, 1.0), planned)
        else:
            total = (
                planned
                * rng.uniform(0.6, 1.1)
                * sum(PHASE_DURATION_WEIGHTS[p] for p in reached)
                / sum(PHASE_DURATION_WEIGHTS[p] for p in phases)
            )
        return reached, [total * s / sum(share) for s in share]

    def _maybe_fail(
        self,
        start: datetime,
        workflow: WorkflowProfile,
        model: ModelProfile,
        context: dict[str, str],
    ) -> Failure | None:
        rng = self.rng
        for recent in self.plan.recent_failures:
            phases = [p for p in workflow.phases if p in recent.message.phases]
            if start >= recent.since and phases and rng.random() < recent.rate:
                return self._failure(workflow, rng.choice(phases), recent.message, context)
        rate = self.rates[(start.date() - self.dates[0]).days]
        if rng.random() >= rate * workflow.failure_factor * model.failure_factor:
            return None
        weights = _cum([PHASE_FAILURE_WEIGHTS[p] for p in workflow.phases])
        phase = _pick(rng, workflow.phases, weights)
        spike = self.spike_key.get(start.date())
        if spike and phase in _BY_KEY[spike].phases and rng.random() < 0.75:
            return self._failure(workflow, phase, _BY_KEY[spike], context)
        messages, cum = self.phase_messages[phase]
        return self._failure(workflow, phase, _pick(rng, messages, cum), context)

    def _failure(
        self,
        workflow: WorkflowProfile,
        phase: str,
        message: MessageTemplate,
        context: dict[str, str],
    ) -> Failure:
        rng = self.rng
        no_text = rng.random() < (0.07 if self.plan.layout == "spec" else 0.17)
        failure = Failure(
            phase, message, None if no_text else render_message(message, rng, context)
        )
        earlier = workflow.phases[: workflow.phases.index(phase)]
        if not no_text and earlier and rng.random() < 0.18:
            recovered = rng.choice(earlier)
            failure.recovered = (recovered, self._render_for(recovered, context))
        return failure

    def _render_for(self, phase: str, context: dict[str, str]) -> str:
        messages, cum = self.phase_messages[phase]
        return render_message(_pick(self.rng, messages, cum), self.rng, context)

    def _retry_count(
        self, status: str, failure: Failure | None, recovered: tuple[str, str] | None
    ) -> int:
        rng = self.rng
        if failure:
            base = rng.choice((0, 0, 0, 0, 1, 1, 2, 2, 3, 3))
            return max(base, 1) if failure.recovered else base
        if recovered:
            return rng.choice((1, 1, 2))
        return 0 if status != "completed" or rng.random() < 0.88 else rng.choice((1, 1, 2))

    def _current_phase(
        self, status: str, reached: tuple[str, ...], failure: Failure | None
    ) -> str | None:
        if status == "running":
            return reached[-1]
        if failure:
            return failure.phase if self.rng.random() < 0.6 else None
        return reached[-1] if self.rng.random() < 0.3 else None
