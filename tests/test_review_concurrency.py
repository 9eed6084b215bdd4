"""Two reviewers at once never lose an update; a refresh killed half-way changes nothing."""

from __future__ import annotations

import threading

import pytest

from error_analytics.errors import ConflictError
from error_analytics.models import ClusterStatus

from .test_review_helpers import (
    Clock,
    cluster_with,
    demo,
    review_service,
    scenario,
    scenario_week,
    state_dump,
)


class Killed(Exception):
    pass


def test_stale_version_is_a_conflict_not_an_overwrite(db_url):
    demo(db_url)
    clock = Clock()
    alice = review_service(db_url, clock)
    alice.refresh(30)
    bob = review_service(db_url, clock)  # another process: its own engines
    cluster_id = alice.list_clusters(limit=1).items[0].id
    seen_by_alice = alice.cluster(cluster_id)
    seen_by_bob = bob.cluster(cluster_id)

    bob.rename(cluster_id, "Bob's name", actor="bob", expected_version=seen_by_bob.version)
    with pytest.raises(ConflictError, match="version"):
        alice.rename(
            cluster_id, "Alice's name", actor="alice", expected_version=seen_by_alice.version
        )
    with pytest.raises(ConflictError):
        alice.set_category(
            cluster_id, "type_error", actor="alice", expected_version=seen_by_alice.version
        )
    current = alice.cluster(cluster_id)
    assert current.name == "Bob's name" and current.version == seen_by_alice.version + 1
    assert [entry.actor for entry in alice.audit_log(cluster_id=cluster_id)] == ["bob"]
    alice.rename(cluster_id, "Alice's name", actor="alice", expected_version=current.version)
    assert bob.cluster(cluster_id).name == "Alice's name"


def test_concurrent_writers_lose_no_update(db_url):
    demo(db_url, runs=80)
    clock = Clock()
    services = [review_service(db_url, clock) for _ in range(2)]
    services[0].refresh(30)
    cluster_id = services[0].list_clusters(limit=1).items[0].id
    outcomes: list[str] = []
    lock = threading.Lock()

    def reviewer(service, name: str) -> None:
        for attempt in range(5):
            version = service.cluster(cluster_id).version
            try:
                service.rename(
                    cluster_id, f"{name} {attempt}", actor=name, expected_version=version
                )
                result = "saved"
            except ConflictError:
                result = "conflict"
            with lock:
                outcomes.append(result)

    threads = [
        threading.Thread(target=reviewer, args=(service, name))
        for service, name in zip(services, "ab", strict=False)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = outcomes.count("saved")
    assert saved >= 5 and len(outcomes) == 10
    final = services[1].cluster(cluster_id)
    assert final.version == 1 + saved  # every saved write is in the version history...
    renames = services[1].audit_log(cluster_id=cluster_id)
    assert len(renames) == saved  # ...and in the audit log, none overwritten silently
    assert renames[0].after["name"] == final.name


def test_concurrent_refreshes_create_each_cluster_once(db_url):
    demo(db_url, runs=80)
    clock = Clock()
    services = [review_service(db_url, clock) for _ in range(2)]
    errors: list[Exception] = []

    def refresh(service) -> None:
        try:
            service.refresh(30)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=refresh, args=(service,)) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    dump = state_dump(db_url)
    assert len(dump["ea_refresh_runs"]) == 2
    ids = [cluster.id for cluster in services[0].list_clusters(limit=1000).items]
    assert len(ids) == len(set(ids)) == len(dump["ea_clusters"])


@pytest.mark.parametrize("kill_at", ["start", "end"])
def test_killed_refresh_leaves_the_state_as_it_was(db_url, kill_at):
    scenario(db_url)
    clock = Clock()
    service = review_service(db_url, clock)
    service.refresh(30)
    first_id = cluster_with(service, "Phase failed after")
    service.resolve(first_id, actor="alice")
    scenario_week(db_url, clock)
    before = state_dump(db_url)

    def progress(done: int, total: int) -> None:
        if (
            kill_at == "start" or done == total
        ):  # "end": every row is written, only the commit is left
            raise Killed

    with pytest.raises(Killed):
        service.refresh(30, progress=progress)
    assert state_dump(db_url) == before

    result = service.refresh(30)  # the next run does the whole work once
    assert (
        result.new_assignments > 0
        and result.new_clusters == 1
        and result.regressed_ids == [first_id]
    )
    assert service.refresh(30).new_assignments == 0
    assert service.cluster(first_id).status == ClusterStatus.REGRESSED.value


def test_merge_and_split_refuse_a_stale_version(db_url):
    scenario(db_url)
    service = review_service(db_url, Clock())
    service.refresh(30)
    target = cluster_with(service, "GitHub API rate limit")
    source = cluster_with(service, "gh: API rate limit")
    workers = service.cluster(cluster_with(service, "Worker alpha crashed"))
    stale = service.cluster(target).version
    service.rename(target, "Rate limits", actor="bob")
    with pytest.raises(ConflictError):
        service.merge([source], target, actor="alice", expected_version=stale)
    assert service.cluster(source).status == ClusterStatus.NEW.value
    service.rename(workers.id, "Workers", actor="bob")
    with pytest.raises(ConflictError):
        service.split(
            workers.id, ["Worker alpha crashed"], actor="alice", expected_version=workers.version
        )
    assert len(service.get_cluster(workers.id).templates) == len(workers.templates)
