"""Stable identity: the same ids on re-runs and with added data; nothing counted twice; the
analysed tables never written; identity-version changes re-map ids explicitly."""

from __future__ import annotations

import sqlalchemy as sa

from error_analytics.models import ClusterStatus
from error_analytics.review.identity import Templater
from error_analytics.rules import default_rules
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.state.tables import id_map

from .test_review_helpers import (
    NEW_FAILURE,
    WEEK_FAILURES,
    Clock,
    add_week,
    analysed_fingerprint,
    demo,
    ids_by_template,
    review_service,
    scenario,
    scenario_week,
    state_dump,
)


def test_first_refresh_keeps_the_clusterer_ids_and_rerun_changes_nothing(db_url):
    demo(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    first = service.refresh(30)
    assert first.new_clusters > 5
    assert first.new_assignments == first.events_seen > 0
    stateless = ErrorAnalyticsService(service.analytics.reader, clock=clock)
    ephemeral = {cluster.id for cluster in stateless.cluster_errors(30)}
    persisted = {cluster.id for cluster in service.list_clusters(limit=1000).items}
    assert persisted == ephemeral

    before = state_dump(db_url)
    again = service.refresh(30)
    assert (again.new_assignments, again.new_clusters, again.new_templates) == (0, 0, 0)
    after = state_dump(db_url)
    assert before["ea_clusters"] == after["ea_clusters"]
    assert before["ea_event_assignments"] == after["ea_event_assignments"]
    assert len(after["ea_refresh_runs"]) == 2


def test_a_fresh_state_on_the_same_data_gives_the_same_ids(sqlite_url, tmp_path):
    demo(sqlite_url)
    clock = Clock()
    one = review_service(sqlite_url, clock, state_url=f"sqlite:///{tmp_path / 'one.db'}")
    two = review_service(sqlite_url, clock, state_url=f"sqlite:///{tmp_path / 'two.db'}")
    one.refresh(30)
    two.refresh(30)
    assert ids_by_template(one) == ids_by_template(two)


def test_added_data_joins_existing_clusters_and_only_new_patterns_are_new(db_url):
    scenario(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(30)
    template_to_id = ids_by_template(service)
    sizes = {cluster.id: cluster.size for cluster in service.list_clusters(limit=1000).items}

    scenario_week(db_url, clock)
    result = service.refresh(30)
    assert result.new_assignments == sum(len(days) for _, days in WEEK_FAILURES)
    after = ids_by_template(service)
    for template, cluster_id in template_to_id.items():
        assert after[template] == cluster_id  # known templates never move
    assert result.new_clusters == 1  # only the truly new pattern
    assert NEW_FAILURE in service.cluster(result.new_cluster_ids[0]).name
    assert {cluster.id for cluster in service.list_clusters(status="new", limit=1000).items} == (
        set(sizes) | set(result.new_cluster_ids)
    )
    grown = {cluster.id: cluster.size for cluster in service.list_clusters(limit=1000).items}
    assert (
        grown[after["ModuleNotFoundError: No module named <*>"]]
        == sizes[template_to_id["ModuleNotFoundError: No module named <*>"]] + 2
    )
    assert all(grown[cluster_id] >= size for cluster_id, size in sizes.items())  # history is kept


def test_added_demo_data_keeps_every_known_id(db_url):
    demo(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(30)
    template_to_id = ids_by_template(service)
    add_week(db_url, clock)
    result = service.refresh(30)
    after = ids_by_template(service)
    assert all(after[template] == cluster_id for template, cluster_id in template_to_id.items())
    assert set(result.new_cluster_ids) == set(after.values()) - set(template_to_id.values())


def test_events_are_never_counted_twice(db_url):
    demo(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(10)
    service.refresh(30)  # overlapping, larger window
    service.refresh(30)
    total = sum(cluster.size for cluster in service.list_clusters(limit=1000).items)
    window = service.analytics.snapshot(30)
    window_errors = [event for event in window.events if event.message]
    assert total == len(window_errors)  # each of the window's errors in one cluster, once
    # the index holds each error of each run once (keys are unique), whatever the windows read
    rows = state_dump(db_url)["ea_event_assignments"]
    assert len(rows) == len({row[0] for row in rows})
    runs = {event.run_id for event in window.events}
    assert len([row for row in rows if row[2].strip("'") in runs]) >= len(window.events)


def test_analysed_tables_are_never_written(db_url):
    demo(db_url)
    before = analysed_fingerprint(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(30)
    ids = [cluster.id for cluster in service.list_clusters(limit=3).items]
    service.rename(ids[0], "Renamed", actor="alice")
    service.merge([ids[1]], ids[2], actor="alice")
    service.refresh(30)
    assert analysed_fingerprint(db_url) == before
    engine = sa.create_engine(db_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {name for name in tables if not name.startswith("ea_")} == {
        "workflow_history",
        "hook_events",
    }


def test_state_can_live_in_another_database(db_url, tmp_path):
    demo(db_url)
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    service = review_service(db_url, Clock(), state_url=state_url)
    service.refresh(30)
    engine = sa.create_engine(db_url)
    assert not [name for name in sa.inspect(engine).get_table_names() if name.startswith("ea_")]
    engine.dispose()
    assert state_dump(state_url)["ea_clusters"]


def test_identity_version_change_remaps_ids_explicitly(sqlite_url):
    demo(sqlite_url)
    clock = Clock()
    service = review_service(sqlite_url, clock)
    service.refresh(30)
    reviewed = service.list_clusters(limit=1).items[0]
    service.rename(reviewed.id, "Kept across versions", actor="alice")
    before_ids = {cluster.id for cluster in service.list_clusters(limit=1000).items}

    # A coarser normalisation: every message now has the same template.
    class Coarse(Templater):
        def templates(self, messages):
            return ["<*>" for _ in messages]

    service.templater = Coarse(default_rules())
    service.templater.identity_version = "t2-coarse"
    result = service.refresh(30)
    assert result.identity_version == "t2-coarse"
    live = service.list_clusters(limit=1000)
    assert live.total == 1
    survivor = live.items[0]
    assert result.remapped_ids and set(result.remapped_ids.values()) == {survivor.id}
    assert set(result.remapped_ids) | {survivor.id} == before_ids
    assert (
        survivor.id == reviewed.id and survivor.name == "Kept across versions"
    )  # the reviewed one survives
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.select(id_map)).mappings().all()
    engine.dispose()
    assert {row["old_id"]: row["new_id"] for row in rows} == result.remapped_ids
    assert {(row["from_version"], row["to_version"]) for row in rows} == {
        (Templater(default_rules()).identity_version, "t2-coarse")
    }
    retired = next(iter(result.remapped_ids))
    detail = service.get_cluster(retired)  # an old id still answers
    assert detail.cluster.status == ClusterStatus.MERGED.value and detail.merged_into == survivor.id
    assert retired in service.get_cluster(survivor.id).previous_ids
    assert service.refresh(30).remapped_ids == {}


def test_window_clusters_carry_stable_ids_and_window_counts(db_url):
    demo(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(30)
    add_week(db_url, clock)
    window = service.window_clusters(7)
    assert window and all(cluster.status and cluster.id for cluster in window)
    persisted = {cluster.id: cluster for cluster in service.list_clusters(limit=1000).items}
    assert {cluster.id for cluster in window} <= set(persisted)
    assert [cluster.size for cluster in window] == sorted(
        (cluster.size for cluster in window), reverse=True
    )
    week_events = [event for event in service.analytics.snapshot(7).events if event.message]
    assert sum(cluster.size for cluster in window) == len(week_events)
    assert all(cluster.size <= persisted[cluster.id].size for cluster in window)
