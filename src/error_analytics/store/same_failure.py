"""One error per failure: the error events of one run that state the same failure become one.

A run states its failure in up to four places — the failure text, the phase-error JSON, a
failed ``task_logs`` row (and its failed tool call) and the hook events that carry the tool's
output — each wrapped its own way. :func:`merge_same_failures` matches them on the signature
of :mod:`error_analytics.rules.signature` and keeps one :class:`ErrorEvent` per failure:

* **phase** — the most specific phase any of them names: a ``task_logs`` row's, else a phase
  error's, else the one a wrapper names (``Build phase failed: ...``), else the run's current
  phase, else the one a hook event was placed in. A hook echo never moves an error to
  ``Unknown``. When ``task_logs`` or phase errors state the same text in different phases, that
  is one failure per phase.
* **message** — the most informative: the longest once wrappers are removed (a traceback
  over its final line); **time** — the earliest; **source** — the most specific
  (task log, phase error, failure text, hook event) and **sources** — all of them.

Messages that say only that something failed (``Phase failed after 3 attempts``, ``Non-zero
exit code: 1``) join the run's failure in the phase they name, else its latest one. A count-only
phase error (``{"build": 2}``) or a failed ``task_logs`` row without text is absorbed by an error
in its phase; a run-level failure text in ``Unknown`` takes the phase when the run's other
events name exactly one. Different signatures stay different errors. Linear in the run's events:
they are bucketed by signature, never compared pairwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..models import ErrorEvent, Phase, Source
from ..rules import normalize_phase
from ..rules.signature import FailureSignature, failure_signature

__all__ = ["merge_same_failures"]

#: Sources from the most specific (names the phase it failed in) to the least.
SOURCE_ORDER: tuple[Source, ...] = (
    Source.TASK_LOG,
    Source.PHASE_ERROR,
    Source.FAILURE_TEXT,
    Source.HOOK_EVENT,
    Source.NO_ERROR_TEXT,
)
_SOURCE_RANK = {source: rank for rank, source in enumerate(SOURCE_ORDER)}
_PER_PHASE = frozenset({Source.TASK_LOG, Source.PHASE_ERROR})
#: How much a phase counts, by where it comes from: lower wins (see the module docstring).
_PHASE_RANK = {Source.TASK_LOG: 0, Source.PHASE_ERROR: 1, Source.FAILURE_TEXT: 3}
_NAMED_BY_WRAPPER, _HOOK_PLACED, _CONTENT_FREE = 2, 4, 5
_PHASE_ORDER = {phase: index for index, phase in enumerate(Phase.ordered())}


@dataclasses.dataclass(frozen=True, slots=True)
class _Signed:
    event: ErrorEvent
    signature: FailureSignature

    def phase_claims(self, *, content_free: bool = False) -> Iterable[tuple[int, Phase]]:
        """``(rank, phase)`` for each phase this event names, known phases only."""
        if content_free:
            named = self.signature.phase_named
            phase = normalize_phase(named) if named else self.event.phase
            if phase is not Phase.UNKNOWN:
                yield _CONTENT_FREE, phase
            return
        if self.signature.phase_named:
            named = normalize_phase(self.signature.phase_named)
            if named is not Phase.UNKNOWN:
                yield _NAMED_BY_WRAPPER, named
        if self.event.phase is not Phase.UNKNOWN:
            yield _PHASE_RANK.get(self.event.source, _HOOK_PLACED), self.event.phase

    def own_phase(self) -> Phase:
        return min(self.phase_claims(), default=(0, Phase.UNKNOWN))[1]


@dataclasses.dataclass(slots=True)
class _Failure:
    """The events of one run that state one failure."""

    members: list[_Signed]
    content_free: list[_Signed] = dataclasses.field(default_factory=list)
    textless: list[ErrorEvent] = dataclasses.field(default_factory=list)
    phase: Phase = Phase.UNKNOWN

    def resolve_phase(self) -> Phase:
        claims = [claim for member in self.members for claim in member.phase_claims()]
        claims += [
            claim
            for member in self.content_free
            for claim in member.phase_claims(content_free=True)
        ]
        self.phase = min(claims, default=(0, Phase.UNKNOWN))[1]
        return self.phase

    def event(self) -> ErrorEvent:
        signed = self.members + self.content_free
        events = [member.event for member in signed] + self.textless
        by_rank = sorted(events, key=lambda event: _SOURCE_RANK[event.source])
        informative = max(
            self.members or self.content_free,  # a message that names no failure tells least
            key=lambda member: (
                len(member.signature.detail),
                -_SOURCE_RANK[member.event.source],
            ),
        )
        times = [event.timestamp for event in events if event.timestamp is not None]
        sources = tuple(dict.fromkeys(event.source for event in by_rank))
        return ErrorEvent(
            by_rank[0].run_id,
            self.phase,
            sources[0],
            informative.event.message,
            min(times, default=None),
            next((e.workflow_template for e in by_rank if e.workflow_template), None),
            next((e.model for e in by_rank if e.model), None),
            sources,
        )


def merge_same_failures(events: list[ErrorEvent]) -> list[ErrorEvent]:
    """One run's events, one per failure (see the module docstring); order is not kept."""
    key_to_members: dict[str, list[_Signed]] = {}
    content_free: list[_Signed] = []
    textless: list[ErrorEvent] = []
    for event in events:
        if not event.message:
            textless.append(event)
            continue
        signed = _Signed(event, failure_signature(event.message))
        if signed.signature.key:
            key_to_members.setdefault(signed.signature.key, []).append(signed)
        else:
            content_free.append(signed)
    failures = [
        failure for members in key_to_members.values() for failure in _split_by_phase(members)
    ]
    if not failures and content_free:
        failures, content_free = [_Failure(content_free)], []
    phase_to_failure: dict[Phase, _Failure] = {}
    for failure in failures:
        phase_to_failure.setdefault(failure.resolve_phase(), failure)
    if content_free:
        latest = max(phase_to_failure, key=_lateness)
        for member in content_free:
            phase = member.own_phase()
            known = phase is not Phase.UNKNOWN and phase in phase_to_failure
            phase_to_failure[phase if known else latest].content_free.append(member)
        for failure in failures:
            failure.resolve_phase()
        phase_to_failure = {}
        for failure in failures:
            phase_to_failure.setdefault(failure.phase, failure)
    _place_unknown_failure_text(failures, phase_to_failure, textless)
    kept_textless = _textless_events(textless, phase_to_failure)  # absorbed ones first
    return [failure.event() for failure in failures] + kept_textless


def _named_phases(phase_to_failure: dict[Phase, _Failure]) -> set[Phase]:
    return {phase for phase in phase_to_failure if phase is not Phase.UNKNOWN}


def _lateness(phase: Phase) -> int:
    """Canonical order with ``Unknown`` first: the latest known phase is the largest."""
    return -1 if phase is Phase.UNKNOWN else _PHASE_ORDER[phase]


def _split_by_phase(members: list[_Signed]) -> list[_Failure]:
    """One failure per phase in which ``task_logs`` or phase errors state the text; the other
    events join the one in their own phase, else the latest."""
    stated_in = {
        member.event.phase: None
        for member in members
        if member.event.source in _PER_PHASE and member.event.phase is not Phase.UNKNOWN
    }
    if len(stated_in) <= 1:
        return [_Failure(list(members))]
    phase_to_failure: dict[Phase, _Failure] = {phase: _Failure([]) for phase in stated_in}
    latest = max(phase_to_failure, key=_lateness)
    for member in members:
        phase = member.own_phase()
        phase_to_failure.get(phase, phase_to_failure[latest]).members.append(member)
    return list(phase_to_failure.values())


def _place_unknown_failure_text(
    failures: list[_Failure], phase_to_failure: dict[Phase, _Failure], textless: list[ErrorEvent]
) -> None:
    """A run-level failure text in ``Unknown`` takes the one phase the run's events name."""
    named = _named_phases(phase_to_failure)
    named.update(event.phase for event in textless if event.phase is not Phase.UNKNOWN)
    if len(named) != 1:
        return
    (phase,) = named
    for failure in failures:
        if failure.phase is Phase.UNKNOWN and any(
            member.event.source is Source.FAILURE_TEXT for member in failure.members
        ):
            failure.phase = phase
            phase_to_failure.setdefault(phase, failure)


def _textless_events(
    textless: list[ErrorEvent], phase_to_failure: dict[Phase, _Failure]
) -> list[ErrorEvent]:
    """Events without text: absorbed by an error in their phase, else one per failed
    ``task_logs`` phase; count-only phase errors are kept, one event per error counted, for
    phases that no task log or error with text covers."""
    kept: list[ErrorEvent] = []
    phase_to_task_log: dict[Phase, _Failure] = {}
    for event in textless:
        if event.source is not Source.TASK_LOG:
            continue
        failure = phase_to_failure.get(event.phase)
        if failure is not None:
            failure.textless.append(event)
        elif event.phase in phase_to_task_log:
            phase_to_task_log[event.phase].textless.append(event)
        else:
            phase_to_task_log[event.phase] = _Failure([], textless=[event])
    for event in textless:
        if event.source is Source.TASK_LOG:
            continue
        failure = phase_to_failure.get(event.phase) or phase_to_task_log.get(event.phase)
        if failure is not None:
            failure.textless.append(event)
        else:
            kept.append(dataclasses.replace(event, sources=(event.source,)))
    for phase, failure in phase_to_task_log.items():
        failure.phase = phase
        kept.append(_textless_event(failure.textless))
    return kept


def _textless_event(events: list[ErrorEvent]) -> ErrorEvent:
    by_rank = sorted(events, key=lambda event: _SOURCE_RANK[event.source])
    times = [event.timestamp for event in events if event.timestamp is not None]
    first = by_rank[0]
    return dataclasses.replace(
        first,
        timestamp=min(times, default=None),
        sources=tuple(dict.fromkeys(event.source for event in by_rank)),
    )
