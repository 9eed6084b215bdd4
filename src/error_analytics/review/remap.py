"""Identity-version changes: re-key the stored templates instead of renumbering clusters.

When the identity version recorded in the state differs from the current one (a new
normalisation algorithm, or other masking rules), every stored template is rebuilt from its
example message with the current rules:

* templates keep their cluster, so cluster ids, names, categories and review decisions stay;
* events follow their template's new fingerprint;
* when templates of *different* clusters now collapse into one, the new template goes to one
  of them (the reviewed one, else the one with the older, then smaller, id) and a cluster
  left without templates is retired: status ``merged``, ``merged_into`` its successor, and a
  row in ``ea_id_map`` (old id -> new id, from/to version, reason) — never a silent
  renumbering. The whole remap is one audit entry (actor ``refresh``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from ..models import ClusterStatus
from ..store.state import ClusterRecord, StateTransaction, TemplateRecord
from .identity import Templater, fingerprint_of
from .lifecycle import REFRESH_ACTOR

IDENTITY_COMPONENT = "identity"
_REVIEWED = frozenset(
    {
        ClusterStatus.REVIEWED.value,
        ClusterStatus.RESOLVED.value,
        ClusterStatus.REGRESSED.value,
        ClusterStatus.IGNORED.value,
    }
)


def remap_identity(tx: StateTransaction, templater: Templater, now: datetime) -> dict[str, str]:
    """Bring the state to ``templater.identity_version``; return retired id -> successor id."""
    stored = tx.component_version(IDENTITY_COMPONENT)
    current = templater.identity_version
    if stored == current:
        return {}
    old_templates = list(tx.templates().values())
    if stored is None or not old_templates:
        tx.set_component_version(IDENTITY_COMPONENT, current, now)
        return {}
    records = tx.clusters()
    rebuilt = templater.templates([template.example for template in old_templates])
    new_fp_to_olds: dict[str, list[TemplateRecord]] = defaultdict(list)
    new_fp_to_template: dict[str, str] = {}
    old_to_new_fp: dict[str, str] = {}
    for old, template in zip(old_templates, rebuilt, strict=False):
        new_fp = fingerprint_of(template)
        new_fp_to_olds[new_fp].append(old)
        new_fp_to_template[new_fp] = template
        old_to_new_fp[old.fingerprint] = new_fp

    new_records = []
    for new_fp, olds in sorted(new_fp_to_olds.items()):
        owner = _owner({old.cluster_id for old in olds}, records)
        first = min(olds, key=lambda old: (old.created_at, old.fingerprint))
        new_records.append(
            TemplateRecord(
                fingerprint=new_fp,
                cluster_id=owner,
                template=new_fp_to_template[new_fp],
                example=first.example,
                pinned=any(old.pinned for old in olds),
                created_at=first.created_at,
            )
        )
    tx.replace_templates(new_records)
    tx.refingerprint_events(old_to_new_fp)

    kept = {record.cluster_id for record in new_records}
    retired: dict[str, str] = {}
    for old in old_templates:
        cluster_id = old.cluster_id
        if cluster_id in kept or cluster_id in retired:
            continue
        successor = next(
            r.cluster_id for r in new_records if r.fingerprint == old_to_new_fp[old.fingerprint]
        )
        retired[cluster_id] = successor
    reason = f"templates re-keyed from identity version {stored} to {current}"
    for old_id, new_id in sorted(retired.items()):
        record = records[old_id]
        tx.update_cluster(
            old_id,
            record.version,
            {"status": ClusterStatus.MERGED.value, "merged_into": new_id},
            now,
        )
        tx.record_id_map(
            old_id,
            new_id,
            from_version=stored,
            to_version=current,
            at=now,
            reason=f"{reason}: its templates now equal those of {new_id}",
        )
    tx.record_action(
        "remap",
        cluster_id=None,
        actor=REFRESH_ACTOR,
        at=now,
        related_ids=[*retired, *retired.values()],
        before={"identity_version": stored, "templates": len(old_templates)},
        after={"identity_version": current, "templates": len(new_records), "retired": retired},
        undoable=False,
    )
    tx.set_component_version(IDENTITY_COMPONENT, current, now)
    return retired


def _owner(cluster_ids: set[str], records: dict[str, ClusterRecord]) -> str:
    def rank(cluster_id: str) -> tuple:
        record = records[cluster_id]
        return (record.status not in _REVIEWED, record.created_at, cluster_id)

    return min(cluster_ids, key=rank)
