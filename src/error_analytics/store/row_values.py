"""One row's values as the reader uses them: checked text, counted timestamps, run ids.
What had to be changed or could not be used is counted in the
:class:`~error_analytics.models.DataQualityReport`, never raised."""

from __future__ import annotations

from datetime import datetime

from ..models import DataQualityReport, Phase
from .parsing import BadValue, clean_text, parse_timestamp


def phase_at(starts: list[tuple[datetime, Phase]], moment: datetime) -> Phase:
    """The phase that had started last at ``moment`` (``starts`` sorted by time)."""
    current = Phase.UNKNOWN
    for started, phase in starts:
        if started > moment:
            break
        current = phase
    return current


def checked_text(value: object, source: str, quality: DataQualityReport) -> str | None:
    """:func:`clean_text`, counting what had to be changed: binary values, invalid UTF-8,
    lone surrogates, NUL bytes, cuts."""
    changes: list[str] = []
    text = clean_text(value, changes)
    count_changes(quality, source, changes)
    return text


def count_changes(quality: DataQualityReport, source: str, changes: list[str]) -> None:
    """One adjusted value per kind of change made to it (a value changed twice counts once)."""
    for what in dict.fromkeys(changes):
        quality.adjust(source, what)


def label(value: object) -> str | None:
    """A short label (template, model, event type) as clean text, or None."""
    return clean_text(value) if value is not None else None


def safe_timestamp(value: object) -> datetime | None:
    try:
        return parse_timestamp(value)
    except BadValue:
        return None


def counted_timestamp(
    value: object, source: str, quality: DataQualityReport, run_id: str | None
) -> datetime | None:
    """:func:`parse_timestamp`; a value that is no date is counted in ``quality``, not raised."""
    try:
        return parse_timestamp(value)
    except BadValue as problem:
        quality.skip(source, problem.reason, run_id or "?")
        return None


def hook_run_id(workflow_id: object, source_app: object) -> str | None:
    if isinstance(workflow_id, str) and workflow_id.startswith("wf-"):
        return workflow_id[3:]
    if isinstance(source_app, str) and source_app.startswith("adw_wf-"):
        return source_app[len("adw_wf-") :]
    return None
