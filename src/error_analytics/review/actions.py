"""Review actions: each one transaction, guarded by the cluster's version, and audited.

Every write reads the cluster inside its transaction and updates it with
``UPDATE ... WHERE id = :id AND version = :v``; when the caller passes ``expected_version``
(the ``version`` it was shown) and the row moved on, or a concurrent writer changes it first,
the write fails with :class:`~error_analytics.errors.ConflictError` instead of overwriting.
Each action is recorded in ``ea_review_actions`` with the actor, the time and the reviewed
fields before and after; :meth:`ReviewActions.undo` restores them (if nothing changed since).

Any decision a person takes about a ``new`` cluster (accept, rename, set its category, make
it a merge target) marks it ``reviewed``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..clustering.naming import build_name, build_template
from ..errors import ConfigurationError, ConflictError, InputError, NotFoundError
from ..models import (
    MAX_ECHO_CHARS,
    MAX_NAME_CHARS,
    UNKNOWN_CATEGORY,
    AuditEntry,
    ClusterStatus,
    DecidedBy,
)
from ..store.state import (
    REVIEW_FIELDS,
    ClusterRecord,
    StateStore,
    StateTransaction,
    parse_state_value,
    state_json,
)
from .identity import new_cluster_id

MAX_ACTOR_CHARS = MAX_NAME_CHARS
_NEW, _REVIEWED = ClusterStatus.NEW.value, ClusterStatus.REVIEWED.value
_IGNORED, _RESOLVED, _MERGED = (
    ClusterStatus.IGNORED.value,
    ClusterStatus.RESOLVED.value,
    ClusterStatus.MERGED.value,
)
_NO_MUTE = {
    "ignored_at": None,
    "ignored_until": None,
    "ignore_occurrences": None,
    "previous_status": None,
}
FIELD_ACTIONS = frozenset({"accept", "rename", "set_category", "ignore", "unignore", "resolve"})


def shown(value: object) -> str:
    """``repr(value)`` for an error message, cut to :data:`MAX_ECHO_CHARS` characters."""
    text = repr(value)
    if len(text) <= MAX_ECHO_CHARS:
        return text
    return f"{text[:MAX_ECHO_CHARS]}… ({len(text):,} characters)"


def storable(text: str) -> bool:
    """Text both databases store and compare: no NUL (PostgreSQL refuses it) and no lone
    surrogate (what a non-UTF-8 byte of a command line decodes to)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def local_naive(moment: datetime, timezone: str | None) -> datetime:
    """``moment`` as the naive time of the configured zone (``None``: the machine's zone).

    Stored times are naive in that zone; an aware ``until`` (``2027-01-01T00:00:00Z``) is
    converted here, a naive one is taken as it is.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment
    try:
        zone = ZoneInfo(timezone) if timezone is not None else None
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(f"unknown time zone {timezone!r}") from exc
    try:
        return moment.astimezone(zone).replace(tzinfo=None)
    except (OverflowError, ValueError, OSError) as exc:
        raise InputError(f"{moment.isoformat()} is outside the supported range of times") from exc


def check_cluster_name(name: object) -> None:
    """Raise :class:`InputError` unless ``name`` is one storable line of 1 to MAX_NAME_CHARS."""
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name.strip()) > MAX_NAME_CHARS
        or "\n" in name.strip()
        or not storable(name)
    ):
        raise InputError(
            f"a cluster name is one line of 1 to {MAX_NAME_CHARS} characters, not {shown(name)}"
        )


@dataclasses.dataclass(frozen=True, slots=True)
class ReviewContext:
    """What actions need from the service: the clock, the categories and the identity."""

    now: Callable[[], datetime]
    categories: Callable[[], Collection[str]]
    recommendation: Callable[[str], str]
    identity_version: Callable[[], str]
    timezone: str | None = None  # the zone of stored times; None = the machine's local zone


def check_actor(actor: object) -> str:
    if (
        not isinstance(actor, str)
        or not actor.strip()
        or len(actor.strip()) > MAX_ACTOR_CHARS
        or not storable(actor)
    ):
        raise InputError(
            f"actor must be a non-empty name of at most {MAX_ACTOR_CHARS} characters, not {shown(actor)}"
        )
    return actor.strip()


def live_cluster(tx: StateTransaction, cluster_id: object) -> ClusterRecord:
    """The cluster, which must exist and not be merged away."""
    record = (
        tx.cluster(cluster_id) if isinstance(cluster_id, str) and storable(cluster_id) else None
    )
    if record is None:
        raise NotFoundError(f"no cluster {shown(cluster_id)}")
    if record.status == _MERGED:
        raise InputError(
            f"cluster {record.id} was merged into {record.merged_into}; act on {record.merged_into}"
        )
    return record


def check_version(record: ClusterRecord, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != record.version:
        raise ConflictError(
            f"cluster {record.id} is at version {record.version}, not {expected_version}: "
            "someone changed it since you loaded it; reload and try again"
        )


def apply_changes(
    tx: StateTransaction,
    record: ClusterRecord,
    changes: dict[str, Any],
    *,
    action: str,
    actor: str,
    now: datetime,
    related_ids: Iterable[str] = (),
    before_extra: dict | None = None,
    after_extra: dict | None = None,
) -> int:
    """Update the reviewed fields of ``record`` (version-checked) and audit it; the action id."""
    tx.update_cluster(record.id, record.version, changes, now)
    before = record.review_state()
    after = {
        **before,
        **{name: state_json(value) for name, value in changes.items() if name in REVIEW_FIELDS},
    }
    return tx.record_action(
        action,
        cluster_id=record.id,
        actor=actor,
        at=now,
        related_ids=related_ids,
        before={**before, **(before_extra or {})},
        after={**after, **(after_extra or {})},
    )


def reviewed_changes(record: ClusterRecord, actor: str, now: datetime) -> dict[str, Any]:
    if record.status != _NEW:
        return {}
    return {"status": _REVIEWED, "reviewed_at": now, "reviewed_by": actor}


def restore_changes(state: dict[str, Any]) -> dict[str, Any]:
    return {name: parse_state_value(name, state[name]) for name in REVIEW_FIELDS if name in state}


def _state_matches(record: ClusterRecord, state: dict[str, Any]) -> bool:
    current = record.review_state()
    return all(current.get(name) == state.get(name) for name in REVIEW_FIELDS if name in state)


class ReviewActions:
    """The write side of the review service."""

    def __init__(self, store: StateStore, context: ReviewContext) -> None:
        self.store = store
        self.context = context

    def _field_action(
        self,
        cluster_id: str,
        action: str,
        actor: str,
        expected_version: int | None,
        decide: Callable[[ClusterRecord, datetime], dict[str, Any] | None],
    ) -> str:
        actor = check_actor(actor)
        now = self.context.now()
        with self.store.write() as tx:
            record = live_cluster(tx, cluster_id)
            check_version(record, expected_version)
            changes = decide(record, now)
            if changes:
                apply_changes(tx, record, changes, action=action, actor=actor, now=now)
        return record.id

    def accept(self, cluster_id: str, *, actor: str, expected_version: int | None = None) -> str:
        def decide(record: ClusterRecord, now: datetime) -> dict[str, Any] | None:
            if record.status == _REVIEWED:
                return None
            return {
                "status": _REVIEWED,
                "reviewed_at": now,
                "reviewed_by": actor.strip(),
                **_NO_MUTE,
            }

        return self._field_action(cluster_id, "accept", actor, expected_version, decide)

    def rename(
        self, cluster_id: str, name: str, *, actor: str, expected_version: int | None = None
    ) -> str:
        check_cluster_name(name)

        def decide(record: ClusterRecord, now: datetime) -> dict[str, Any]:
            return {
                "name": name.strip(),
                "name_source": "review",
                **reviewed_changes(record, actor.strip(), now),
            }

        return self._field_action(cluster_id, "rename", actor, expected_version, decide)

    def set_category(
        self, cluster_id: str, category: str, *, actor: str, expected_version: int | None = None
    ) -> str:
        allowed = [*self.context.categories(), UNKNOWN_CATEGORY]
        if category not in allowed:
            raise InputError(f"unknown category {shown(category)}; use one of {', '.join(allowed)}")

        def decide(record: ClusterRecord, now: datetime) -> dict[str, Any]:
            return {
                "category": category,
                "category_source": DecidedBy.REVIEW.value,
                "confidence": 1.0,
                "recommendation": self.context.recommendation(category),
                **reviewed_changes(record, actor.strip(), now),
            }

        return self._field_action(cluster_id, "set_category", actor, expected_version, decide)

    def ignore(
        self,
        cluster_id: str,
        *,
        actor: str,
        until: datetime | date | None = None,
        occurrences: int | None = None,
        expected_version: int | None = None,
    ) -> str:
        if until is not None and occurrences is not None:
            raise InputError("ignore until a date or for a number of occurrences, not both")
        if isinstance(until, date) and not isinstance(until, datetime):
            until = datetime.combine(until, time())
        if until is not None and not isinstance(until, datetime):
            raise InputError(f"until must be a date or datetime, not {shown(until)}")
        if until is not None:
            until = local_naive(until, self.context.timezone)
        if occurrences is not None and (
            isinstance(occurrences, bool) or not isinstance(occurrences, int) or occurrences < 1
        ):
            raise InputError(
                f"occurrences must be a whole number of at least 1, not {shown(occurrences)}"
            )

        def decide(record: ClusterRecord, now: datetime) -> dict[str, Any]:
            if until is not None and until <= now:
                raise InputError(f"until must be in the future (now is {now:%Y-%m-%d %H:%M})")
            previous = record.previous_status if record.status == _IGNORED else record.status
            return {
                "status": _IGNORED,
                "previous_status": previous,
                "ignored_at": now,
                "ignored_until": until,
                "ignore_occurrences": occurrences,
            }

        return self._field_action(cluster_id, "ignore", actor, expected_version, decide)

    def unignore(self, cluster_id: str, *, actor: str, expected_version: int | None = None) -> str:
        def decide(record: ClusterRecord, now: datetime) -> dict[str, Any]:
            if record.status != _IGNORED:
                raise InputError(f"cluster {record.id} is {record.status}, not ignored")
            return {"status": record.previous_status or _NEW, **_NO_MUTE}

        return self._field_action(cluster_id, "unignore", actor, expected_version, decide)

    def resolve(self, cluster_id: str, *, actor: str, expected_version: int | None = None) -> str:
        def decide(record: ClusterRecord, now: datetime) -> dict[str, Any] | None:
            if record.status == _RESOLVED:
                return None
            return {"status": _RESOLVED, "resolved_at": now, "regressed_at": None, **_NO_MUTE}

        return self._field_action(cluster_id, "resolve", actor, expected_version, decide)

    # -- merge and split -----------------------------------------------------------------
    def merge(
        self,
        source_ids: Sequence[str],
        target_id: str,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> str:
        actor = check_actor(actor)
        if isinstance(source_ids, str) or not source_ids:
            raise InputError("merge needs a list of one or more source cluster ids")
        sources = list(dict.fromkeys(source_ids))
        if target_id in sources:
            raise InputError(f"cannot merge cluster {target_id} into itself")
        now = self.context.now()
        with self.store.write() as tx:
            target = live_cluster(tx, target_id)
            check_version(target, expected_version)
            source_records = [live_cluster(tx, source_id) for source_id in sources]
            before_sources, after_sources = {}, {}
            for record in source_records:
                templates = tx.templates(record.id)
                before_sources[record.id] = {
                    "state": record.review_state(),
                    "templates": {fp: t.pinned for fp, t in templates.items()},
                }
                tx.move_templates(templates, target.id, pinned=True)
                changes = {"status": _MERGED, "merged_into": target.id}
                tx.update_cluster(record.id, record.version, changes, now)
                after_sources[record.id] = {
                    **record.review_state(),
                    **{k: state_json(v) for k, v in changes.items()},
                }
            target_changes = reviewed_changes(target, actor, now)
            tx.update_cluster(target.id, target.version, target_changes, now)
            target_after = {
                **target.review_state(),
                **{k: state_json(v) for k, v in target_changes.items()},
            }
            tx.record_action(
                "merge",
                cluster_id=target.id,
                actor=actor,
                at=now,
                related_ids=sources,
                before={"target": target.review_state(), "sources": before_sources},
                after={"target": target_after, "sources": after_sources},
            )
        return target.id

    def split(
        self,
        cluster_id: str,
        templates: Sequence[str],
        *,
        actor: str,
        name: str | None = None,
        expected_version: int | None = None,
    ) -> str:
        actor = check_actor(actor)
        if isinstance(templates, str) or not templates:
            raise InputError(
                "split needs a list of one or more templates (text or fingerprint) to move out"
            )
        if name is not None:
            check_cluster_name(name)
        now = self.context.now()
        with self.store.write() as tx:
            source = live_cluster(tx, cluster_id)
            check_version(source, expected_version)
            own = tx.templates(source.id)
            moving = _resolve_templates(source.id, own, templates)
            if len(moving) == len(own):
                raise InputError(
                    f"splitting every template out of {source.id} would leave it empty; rename it instead"
                )
            counts = tx.fingerprint_counts()
            moving.sort(key=lambda fp: (-counts.get(fp, 0), own[fp].template))
            new_id = new_cluster_id(own[moving[0]].template, tx.cluster_ids())
            template = (
                build_template([(own[fp].template, counts.get(fp, 0)) for fp in moving])
                or own[moving[0]].template
            )
            tx.insert_cluster(
                ClusterRecord(
                    id=new_id,
                    name=(name or build_name(template)).strip()[:300],
                    name_source="review" if name else "auto",
                    template=template,
                    top_terms=[],
                    category=source.category,
                    category_source=source.category_source,
                    confidence=source.confidence,
                    recommendation=source.recommendation,
                    status=_REVIEWED,
                    previous_status=None,
                    ignored_at=None,
                    ignored_until=None,
                    ignore_occurrences=None,
                    resolved_at=None,
                    regressed_at=None,
                    reviewed_at=now,
                    reviewed_by=actor,
                    merged_into=None,
                    split_from=source.id,
                    created_at=now,
                    updated_at=now,
                    identity_version=self.context.identity_version(),
                    version=1,
                )
            )
            tx.move_templates(moving, new_id, pinned=True)
            source_changes = reviewed_changes(source, actor, now)
            tx.update_cluster(source.id, source.version, source_changes, now)
            source_after = {
                **source.review_state(),
                **{k: state_json(v) for k, v in source_changes.items()},
            }
            tx.record_action(
                "split",
                cluster_id=source.id,
                actor=actor,
                at=now,
                related_ids=[new_id],
                before={
                    "source": source.review_state(),
                    "templates": {fp: own[fp].pinned for fp in moving},
                },
                after={"source": source_after, "new_cluster": new_id},
            )
        return new_id

    # -- undo ----------------------------------------------------------------------------
    def undo(
        self,
        action_id: int,
        *,
        actor: str,
        extra_undo: Callable[[StateTransaction, AuditEntry, datetime], None] | None = None,
    ) -> int:
        """Undo one action; return the id of the ``undo`` entry. ``extra_undo`` handles ``promote``."""
        actor = check_actor(actor)
        if isinstance(action_id, bool) or not isinstance(action_id, int):
            raise InputError(f"an action id is a whole number, not {shown(action_id)}")
        now = self.context.now()
        with self.store.write() as tx:
            entry = tx.action(action_id)
            if entry is None:
                raise NotFoundError(f"no review action #{action_id}")
            if entry.undone_by is not None:
                raise InputError(f"action #{action_id} was already undone by #{entry.undone_by}")
            if not entry.undoable or entry.action == "undo":
                raise InputError(f"action #{action_id} ({entry.action}) cannot be undone")
            if entry.action in FIELD_ACTIONS or entry.action == "promote":
                record = live_cluster(tx, entry.cluster_id)
                if not _state_matches(record, entry.after or {}):
                    raise ConflictError(
                        f"cluster {record.id} changed after action #{action_id}; undo the later actions first"
                    )
                if entry.action == "promote" and extra_undo is not None:
                    extra_undo(tx, entry, now)
                tx.update_cluster(
                    record.id, record.version, restore_changes(entry.before or {}), now
                )
            elif entry.action == "merge":
                _undo_merge(tx, entry, now)
            elif entry.action == "split":
                _undo_split(tx, entry, now)
            else:
                raise InputError(f"action #{action_id} ({entry.action}) cannot be undone")
            undo_id = tx.record_action(
                "undo",
                cluster_id=entry.cluster_id,
                actor=actor,
                at=now,
                related_ids=entry.related_ids,
                before=entry.after,
                after=entry.before,
                undoable=False,
                undo_of=entry.id,
            )
            tx.mark_undone(entry.id, undo_id)
        return undo_id


def _resolve_templates(cluster_id: str, own: dict, wanted: Sequence[str]) -> list[str]:
    text_to_fp = {record.template: fp for fp, record in own.items()}
    moving, unknown = [], []
    for item in wanted:
        fingerprint = item if item in own else text_to_fp.get(item)
        if fingerprint is None:
            prefixed = [
                fp for fp in own if isinstance(item, str) and len(item) >= 8 and fp.startswith(item)
            ]
            fingerprint = prefixed[0] if len(prefixed) == 1 else None
        if fingerprint is None:
            unknown.append(item)
        elif fingerprint not in moving:
            moving.append(fingerprint)
    if unknown:
        raise InputError(
            f"cluster {cluster_id} has no template {shown(unknown[0])} (give its text or fingerprint, "
            "as `clusters show` lists them)"
        )
    return moving


def _restore_or_touch(
    tx: StateTransaction, cluster_id: str, before: dict, after: dict, now: datetime
) -> None:
    record = tx.cluster(cluster_id)
    if record is None:
        raise NotFoundError(f"no cluster {shown(cluster_id)}")
    changes = restore_changes(before) if _state_matches(record, after) else {}
    tx.update_cluster(record.id, record.version, changes, now)


def recorded_states(entry: AuditEntry) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``before`` and ``after`` of an action whose undo needs both (merge, split, promote
    record them); an entry without them cannot be undone."""
    if entry.before is None or entry.after is None:
        raise InputError(
            f"action #{entry.id} ({entry.action}) has no recorded state and cannot be undone"
        )
    return entry.before, entry.after


def _undo_merge(tx: StateTransaction, entry: AuditEntry, now: datetime) -> None:
    before, after = recorded_states(entry)
    target = live_cluster(tx, entry.cluster_id)
    current = tx.templates(target.id)
    for source_id, info in before["sources"].items():
        source = tx.cluster(source_id)
        if source is None or source.status != _MERGED or source.merged_into != target.id:
            raise ConflictError(
                f"cluster {source_id} is no longer merged into {target.id}; cannot undo #{entry.id}"
            )
        missing = [fp for fp in info["templates"] if fp not in current]
        if missing:
            raise ConflictError(
                f"templates merged by #{entry.id} have moved on from {target.id}; undo that first"
            )
        tx.move_templates(info["templates"], source_id)
        tx.set_pinned(info["templates"])
        tx.update_cluster(source_id, source.version, restore_changes(info["state"]), now)
    _restore_or_touch(tx, target.id, before["target"], after["target"], now)


def _undo_split(tx: StateTransaction, entry: AuditEntry, now: datetime) -> None:
    before, after = recorded_states(entry)
    source = live_cluster(tx, entry.cluster_id)
    new = live_cluster(tx, after["new_cluster"])
    templates = tx.templates(new.id)
    tx.move_templates(templates, source.id)
    tx.set_pinned({fp: before["templates"].get(fp, False) for fp in templates})
    tx.update_cluster(new.id, new.version, {"status": _MERGED, "merged_into": source.id}, now)
    _restore_or_touch(tx, source.id, before["source"], after["source"], now)
