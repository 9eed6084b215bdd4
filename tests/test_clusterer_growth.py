"""Growth: more messages may merge clusters, never split one (``ErrorClusterer.partial_fit``).

Messages come from the demo catalogue (the errors ADW runs produce) and from generated
families: single-line errors with varying values, and multi-line CI reports whose lines are
drawn from a shared pool of words, so that document similarity and frames are at work too.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from error_analytics.clustering import ErrorClusterer
from error_analytics.demo.messages import CATALOGUE, render_message

_WORDS = (
    "build test deploy cache module import package linker symbol socket timeout schema "
    "migration request response token config compile assert fixture worker queue"
).split()


def demo_messages(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    context = {"adw_id": "a1b2c3d4", "issue": "42"}
    templates = rng.choices(CATALOGUE, weights=[m.weight for m in CATALOGUE], k=count)
    return [render_message(template, rng, context) for template in templates]


def report(rng: random.Random) -> str:
    """A multi-line CI excerpt without a precise error line: a report."""
    lines = [
        " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 7)))
        for _ in range(rng.randint(3, 6))
    ]
    return "\n".join(lines) + "\n"


def family_messages(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    messages = []
    for i in range(count):
        kind = rng.randrange(5)
        if kind == 0:
            messages.append(f"connect ECONNREFUSED 10.0.{i % 7}.{i}:5432")
        elif kind == 1:
            messages.append(f"worker {rng.choice(['alpha', 'beta', 'gamma', 'delta'])} crashed")
        elif kind == 2:
            messages.append(f"pam: session opened user={rng.choice('abcdefgh')}x tty=pts")
        else:
            messages.append(report(rng))
    return messages


def splits(before: list[str], after: list[str | None]) -> list[tuple[str, set[str | None]]]:
    """The clusters of ``before`` whose messages are in more than one cluster ``after``."""
    before_to_after: dict[str, set[str | None]] = {}
    for label, later in zip(before, after, strict=True):
        before_to_after.setdefault(label, set()).add(later)
    return [(label, laters) for label, laters in before_to_after.items() if len(laters) > 1]


def grow(first: list[str], more: list[str]) -> tuple[list[str], ErrorClusterer]:
    """Labels of ``first`` fitted alone, and the estimator after ``more`` arrived."""
    clusterer = ErrorClusterer().fit(first)
    before = list(clusterer.labels_)
    clusterer.partial_fit(more)
    return before, clusterer


def test_partial_fit_never_splits_the_demo_messages() -> None:
    for seed in range(3):
        messages = demo_messages(300, seed)
        first, more = messages[:200], messages[200:]
        before, clusterer = grow(first, more)
        assert splits(before, clusterer.predict(first)) == []


def mixed_messages(seed: int) -> list[str]:
    messages = family_messages(120, seed) + demo_messages(60, seed)
    random.Random(seed).shuffle(messages)
    return messages


def test_partial_fit_never_splits_generated_reports_and_families() -> None:
    # among these seeds are corpora on which a refit from scratch does split a group of
    # reports (word weights change with the input): partial_fit must not
    for seed in range(20, 26):
        messages = mixed_messages(seed)
        before, clusterer = grow(messages[:60], messages[60:])
        assert splits(before, clusterer.predict(messages[:60])) == []


def test_new_messages_join_the_cluster_the_previous_model_placed_them_in() -> None:
    messages = demo_messages(300, 11) + family_messages(60, 11)
    random.Random(11).shuffle(messages)
    first, more = messages[:240], messages[240:]
    clusterer = ErrorClusterer().fit(first)
    before = list(clusterer.labels_)
    placed = clusterer.predict(more)
    assert any(label is not None for label in placed)
    clusterer.partial_fit(more)
    first_after = dict(zip(before, clusterer.predict(first), strict=True))
    for label, now in zip(placed, clusterer.labels_, strict=True):
        if label is not None:
            assert now == first_after[label]


def test_partial_fit_describes_everything_seen_and_labels_the_new_batch() -> None:
    messages = demo_messages(150, 5)
    clusterer = ErrorClusterer().partial_fit(messages[:100])  # the first call fits
    assert clusterer.labels_ == ErrorClusterer().fit(messages[:100]).labels_
    clusterer.partial_fit(messages[100:])
    assert len(clusterer.labels_) == 50
    assert sum(cluster.size for cluster in clusterer.clusters_) == 150
    assert clusterer.labels_ == clusterer.predict(messages[100:])
    assert sum(clusterer.seen_.counts.tolist()) == 150


def test_partial_fit_with_nothing_new_changes_no_grouping() -> None:
    messages = family_messages(80, 3)
    clusterer = ErrorClusterer().fit(messages)
    before = list(clusterer.labels_)
    clusterer.partial_fit([])
    assert clusterer.labels_ == []
    after = clusterer.predict(messages)
    assert splits(before, after) == [] and splits(after, before) == []  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None, database=None)
@given(
    st.integers(0, 10_000),
    st.integers(10, 60),
    st.integers(1, 60),
    st.integers(1, 3),
)
def test_growth_in_several_steps_never_splits(seed: int, first: int, more: int, steps: int):
    messages = family_messages(first + more * steps, seed) + demo_messages(30, seed)
    random.Random(seed).shuffle(messages)
    clusterer = ErrorClusterer().fit(messages[:first])
    seen = messages[:first]
    before = list(clusterer.labels_)
    for step in range(steps):
        batch = messages[first + step * more : first + (step + 1) * more]
        clusterer.partial_fit(batch)
        assert splits(before, clusterer.predict(seen)) == []
        seen = seen + batch
        before = clusterer.predict(seen)  # type: ignore[assignment]
