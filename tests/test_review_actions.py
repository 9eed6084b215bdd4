"""Review actions and the lifecycle: decisions survive re-runs and new data; undo; audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from error_analytics.demo.schema import insert_rows
from error_analytics.errors import ConflictError, InputError, NotFoundError
from error_analytics.models import ClusterStatus

from .test_review_helpers import (
    Clock,
    cluster_with,
    ids_by_template,
    review_service,
    scenario,
    scenario_week,
    workflow_row,
)


@pytest.fixture
def reviewed(db_url):
    """(service, clock, url) after a first refresh of the hand-written scenario."""
    scenario(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(30)
    return service, clock, db_url


def largest(service, count: int, **filters) -> list[str]:
    return [cluster.id for cluster in service.list_clusters(limit=count, **filters).items]


def test_accept_rename_set_category_survive_new_data(reviewed):
    service, clock, url = reviewed
    first, second, third = largest(service, 3)
    service.accept(first, actor="alice")
    renamed = service.rename(second, "Second pattern", actor="alice")
    categorised = service.set_category(third, "connection_error", actor="bob")
    assert renamed.status == categorised.status == ClusterStatus.REVIEWED.value
    assert categorised.decided_by == "review" and categorised.category == "connection_error"
    assert categorised.recommendation

    scenario_week(url, clock)
    service.refresh(30)
    assert service.cluster(first).status == ClusterStatus.REVIEWED.value
    assert service.cluster(second).name == "Second pattern"
    assert service.cluster(third).category == "connection_error"
    new = service.list_clusters(status="new", limit=1000).items
    assert {first, second, third}.isdisjoint(cluster.id for cluster in new)


def test_set_category_accepts_only_known_categories(reviewed):
    service, _, _ = reviewed
    cluster_id = largest(service, 1)[0]
    with pytest.raises(InputError, match="unknown category"):
        service.set_category(cluster_id, "made_up", actor="alice")
    assert service.set_category(cluster_id, "unknown", actor="alice").category == "unknown"


def test_merge_moves_past_and_future_errors_to_the_target(reviewed):
    service, clock, url = reviewed
    target = cluster_with(service, "GitHub API rate limit")
    source = cluster_with(service, "gh: API rate limit")
    sizes = {cluster.id: cluster.size for cluster in service.list_clusters(limit=1000).items}
    merged = service.merge([source], target, actor="alice")
    assert merged.id == target and merged.size == sizes[target] + sizes[source]
    assert service.get_cluster(source).cluster.status == ClusterStatus.MERGED.value
    assert source not in largest(service, 1000)
    assert source in largest(service, 1000, status="merged")

    scenario_week(url, clock)
    service.refresh(30)
    templates = ids_by_template(service)
    assert all(cluster_id != source for cluster_id in templates.values())
    assert templates["gh: API rate limit exceeded for user ID <*> (HTTP <*>"] == target


def test_split_lasts_across_refreshes_and_new_data(reviewed):
    service, clock, url = reviewed
    parent = service.cluster(cluster_with(service, "Worker alpha crashed"))
    detail = service.get_cluster(parent.id)
    moving = next(
        template for template in detail.templates if template.template == "Worker alpha crashed"
    )
    child = service.split(parent.id, [moving.fingerprint[:12]], actor="alice", name="Split out")
    assert (
        child.id != parent.id
        and child.name == "Split out"
        and child.status == ClusterStatus.REVIEWED.value
    )
    assert service.get_cluster(child.id).split_from == parent.id
    assert [t.fingerprint for t in service.get_cluster(child.id).templates] == [moving.fingerprint]
    with pytest.raises(InputError, match="empty"):
        service.split(child.id, [moving.template], actor="alice")

    scenario_week(url, clock)
    service.refresh(30)
    service.refresh(30)
    assert ids_by_template(service)[moving.template] == child.id
    assert moving.fingerprint not in {
        t.fingerprint for t in service.get_cluster(parent.id).templates
    }
    assert (
        service.cluster(child.id).size == moving.occurrences + 1
    )  # the new "Worker alpha crashed" went there


def test_ignore_forever_until_a_date_and_for_n_occurrences(reviewed):
    service, clock, url = reviewed
    forever, dated, counted = largest(service, 3, sort="last_seen")
    service.ignore(forever, actor="alice")
    service.ignore(dated, actor="alice", until=(clock.now + timedelta(days=3)).date())
    service.ignore(counted, actor="alice", occurrences=1_000_000)
    with pytest.raises(InputError):
        service.ignore(forever, actor="alice", until=date(2020, 1, 1))
    with pytest.raises(InputError):
        service.ignore(forever, actor="alice", until=clock.now + timedelta(days=1), occurrences=3)
    assert {c.id for c in service.list_clusters(status="ignored", limit=10).items} == {
        forever,
        dated,
        counted,
    }

    scenario_week(url, clock)
    result = service.refresh(30)
    assert dated in result.unmuted_ids
    assert service.cluster(dated).status == ClusterStatus.NEW.value
    assert service.cluster(forever).status == ClusterStatus.IGNORED.value
    assert service.cluster(counted).status == ClusterStatus.IGNORED.value
    assert service.get_cluster(counted).ignore_remaining is not None
    assert service.unignore(forever, actor="alice").status == ClusterStatus.NEW.value
    with pytest.raises(InputError, match="not ignored"):
        service.unignore(forever, actor="alice")


def test_ignore_for_n_occurrences_wakes_up(reviewed):
    service, clock, url = reviewed
    cluster_id = cluster_with(service, "Phase failed after")
    service.accept(cluster_id, actor="alice")
    service.ignore(cluster_id, actor="alice", occurrences=1)
    scenario_week(url, clock)
    result = service.refresh(30)
    assert cluster_id in result.unmuted_ids
    assert service.cluster(cluster_id).status == ClusterStatus.REVIEWED.value  # back where it was
    assert service.audit_log(cluster_id=cluster_id, limit=1)[0].action == "unmute"


def test_resolved_cluster_regresses_when_the_error_comes_back(reviewed):
    service, clock, url = reviewed
    recurring = cluster_with(service, "Phase failed after")
    quiet = cluster_with(service, "pytest execution timed out")
    for cluster_id in (recurring, quiet):
        service.resolve(cluster_id, actor="alice")
    assert service.refresh(30).regressed == 0  # old events do not count: they happened before

    scenario_week(url, clock)
    result = service.refresh(30)
    assert recurring in result.regressed_ids
    assert service.cluster(recurring).status == ClusterStatus.REGRESSED.value
    assert service.get_cluster(recurring).regressed_at == clock.now
    assert service.cluster(quiet).status == ClusterStatus.RESOLVED.value
    assert service.refresh(30).regressed == 0
    assert service.accept(recurring, actor="alice").status == ClusterStatus.REVIEWED.value


def test_undo_each_kind_of_action(reviewed):
    service, _, _ = reviewed
    first, second, third = largest(service, 3)
    original = service.cluster(first)

    rename = service.rename(first, "Temporary", actor="alice")
    entry = service.audit_log(cluster_id=first, limit=1)[0]
    service.undo(entry.id, actor="bob")
    restored = service.cluster(first)
    assert (restored.name, restored.status) == (original.name, original.status)
    assert restored.version == rename.version + 1
    with pytest.raises(InputError, match="already undone"):
        service.undo(entry.id, actor="bob")

    sizes = {cluster.id: cluster.size for cluster in service.list_clusters(limit=1000).items}
    service.merge([second], third, actor="alice")
    merge_entry = service.audit_log(cluster_id=second, limit=1)[0]
    assert merge_entry.action == "merge" and merge_entry.related_ids == [second]
    undo_entry = service.undo(merge_entry.id, actor="bob")
    assert undo_entry.undo_of == merge_entry.id and not undo_entry.undoable
    assert service.cluster(second).status == ClusterStatus.NEW.value
    assert (
        service.cluster(second).size == sizes[second]
        and service.cluster(third).size == sizes[third]
    )

    parent = next(c for c in service.list_clusters(limit=1000).items if len(c.templates) > 1)
    child = service.split(
        parent.id, [service.get_cluster(parent.id).templates[-1].template], actor="alice"
    )
    service.undo(service.audit_log(cluster_id=parent.id, limit=1)[0].id, actor="bob")
    assert service.cluster(child.id).status == ClusterStatus.MERGED.value
    assert service.cluster(parent.id).size == parent.size

    service.ignore(first, actor="alice")
    service.undo(service.audit_log(cluster_id=first, limit=1)[0].id, actor="bob")
    assert service.cluster(first).status == original.status


def test_undo_refuses_when_the_cluster_changed_since(reviewed):
    service, _, _ = reviewed
    cluster_id = largest(service, 1)[0]
    service.rename(cluster_id, "One", actor="alice")
    first = service.audit_log(cluster_id=cluster_id, limit=1)[0]
    service.rename(cluster_id, "Two", actor="bob")
    with pytest.raises(ConflictError, match="undo the later actions first"):
        service.undo(first.id, actor="alice")
    service.undo(service.audit_log(cluster_id=cluster_id, limit=1)[0].id, actor="bob")
    service.undo(first.id, actor="alice")
    assert service.cluster(cluster_id).status == ClusterStatus.NEW.value
    with pytest.raises(NotFoundError):
        service.undo(99_999, actor="alice")
    undo_entry = service.audit_log(limit=1)[0]
    with pytest.raises(InputError, match="cannot be undone"):
        service.undo(undo_entry.id, actor="alice")


def test_audit_log_records_actor_time_before_and_after(reviewed):
    service, clock, _ = reviewed
    first, second = largest(service, 2)
    service.rename(first, "Named", actor="alice")
    service.merge([second], first, actor="bob")
    entries = service.audit_log()
    assert [entry.action for entry in entries[:2]] == ["merge", "rename"]
    rename = entries[1]
    assert (rename.actor, rename.at, rename.cluster_id) == ("alice", clock.now, first)
    assert rename.before["name"] != "Named" and rename.after["name"] == "Named"
    assert rename.before["status"] == "new" and rename.after["status"] == "reviewed"
    assert [entry.id for entry in service.audit_log(cluster_id=second)] == [entries[0].id]
    history = service.get_cluster(first).history
    assert [entry.action for entry in history] == ["merge", "rename"]


def test_errors_for_missing_clusters_and_bad_input(reviewed):
    service, _, _ = reviewed
    cluster_id = largest(service, 1)[0]
    with pytest.raises(NotFoundError):
        service.get_cluster("c0000000000")
    with pytest.raises(NotFoundError):
        service.accept("c0000000000", actor="alice")
    with pytest.raises(InputError):
        service.rename(cluster_id, "  ", actor="alice")
    with pytest.raises(InputError):
        service.rename(cluster_id, "ok", actor="")
    with pytest.raises(InputError):
        service.merge([cluster_id], cluster_id, actor="alice")
    with pytest.raises(InputError):
        service.list_clusters(status="bogus")
    with pytest.raises(InputError):
        service.list_clusters(sort="bogus")
    with pytest.raises(InputError):
        service.list_clusters(limit=0)
    with pytest.raises(InputError):
        service.split(cluster_id, ["no such template"], actor="alice")
    with pytest.raises(InputError):
        service.refresh(0)


def test_list_filters_sorts_and_pages(reviewed):
    service, _, _ = reviewed
    everything = service.list_clusters(limit=1000)
    assert everything.total == len(everything.items)
    sizes = [cluster.size for cluster in everything.items]
    assert sizes == sorted(sizes, reverse=True)
    page = service.list_clusters(limit=2, offset=2)
    assert [c.id for c in page.items] == [
        c.id for c in everything.items[2:4]
    ] and page.total == everything.total
    by_runs = service.list_clusters(sort="runs", limit=1000).items
    assert [c.runs_affected for c in by_runs] == sorted(
        (c.runs_affected for c in by_runs), reverse=True
    )
    last = service.list_clusters(sort="last_seen", limit=1000).items
    assert [c.last_seen for c in last] == sorted((c.last_seen for c in last), reverse=True)
    imports = service.list_clusters(category="import_error", limit=1000).items
    assert imports and all(c.category == "import_error" for c in imports)
    in_build = service.list_clusters(phase="building", limit=1000).items
    assert in_build and all("Build" in c.phases for c in in_build)
    assert service.list_clusters(phase="test", limit=1000).total == 0
    found = service.list_clusters(text="browsertype", limit=1000).items
    assert found and all("browsertype" in (c.name + " ".join(c.templates)).lower() for c in found)
    for cluster in everything.items:
        assert cluster.id and cluster.status == "new" and cluster.version == 1
        assert len(cluster.daily_counts) == 15


def test_reviewed_categories_label_new_clusters(reviewed):
    service, clock, url = reviewed
    labelled = cluster_with(service, "Phase failed after")
    service.set_category(labelled, "timeout_error", actor="alice")
    labels = service.training_labels()
    assert any(
        label.cluster_id == labelled and label.category == "timeout_error" for label in labels
    )

    # A new, similar pattern that no rule matches takes the reviewed category.
    clock.advance(days=1)
    rows = [
        workflow_row(
            f"f{index:07d}",
            "failed",
            0.1,
            failure_reason=f"Phase failed after {index} attempts (gave up)",
        )
        for index in range(3)
    ]
    for row in rows:
        row["created_at"] = row["start_time"] = clock.now - timedelta(hours=1)
    engine = sa.create_engine(url)
    insert_rows(engine, "workflow_history", rows)
    engine.dispose()
    result = service.refresh(30)
    assert result.new_clusters == 1
    new = service.cluster(result.new_cluster_ids[0])
    assert (new.category, new.decided_by) == ("timeout_error", "review")
