"""The clusterer: estimator contract, grouping, determinism, names and templates."""

from __future__ import annotations

import random

import pytest

from error_analytics.clustering import ClusteringResult, ErrorClusterer, cluster_messages
from error_analytics.errors import InputError
from error_analytics.models import DiscoveredCluster


def corpus() -> list[str]:
    """Three recurring errors with varying values, plus a one-off."""
    messages = []
    for i in range(12):
        messages.append(f"connect ECONNREFUSED 10.0.{i}.7:5432")
    for name in ("vite", "react", "lodash", "vite", "zod", "vite", "react"):
        messages.append(f"Error: Cannot find module '{name}'")
    for i in range(5):
        messages.append(
            "Traceback (most recent call last):\n"
            f'  File "/srv/app/job_{i}.py", line {10 + i}, in run\n'
            "    total = price + qty\n"
            "TypeError: unsupported operand type(s) for +: 'int' and 'str'\n"
        )
    messages.append("disk quota exceeded on volume data")
    return messages


def by_text(result: ClusteringResult, messages: list[str]) -> dict[str, str]:
    return dict(zip(messages, result.labels, strict=False))


def test_init_only_stores_keyword_parameters() -> None:
    clusterer = ErrorClusterer(min_variants=4, similarity_threshold=0.5)
    assert clusterer.get_params()["min_variants"] == 4
    assert clusterer.similarity_threshold == 0.5
    assert not hasattr(clusterer, "labels_")
    with pytest.raises(TypeError):
        ErrorClusterer(4)  # type: ignore[misc]
    ErrorClusterer(min_variants=1)  # invalid values are only rejected by fit


@pytest.mark.parametrize(
    "params",
    [
        {"min_variants": 1},
        {"similarity_threshold": 0},
        {"category_threshold": 2},
        {"max_examples": 0},
        {"rules": "rules.toml"},
    ],
)
def test_fit_validates_parameters(params: dict) -> None:
    with pytest.raises(InputError):
        ErrorClusterer(**params).fit(["a"])


def test_fit_returns_self_with_learned_state() -> None:
    messages = corpus()
    clusterer = ErrorClusterer()
    assert clusterer.fit(messages) is clusterer
    assert len(clusterer.labels_) == len(messages)
    assert clusterer.n_clusters_ == len(clusterer.clusters_) == 4
    assert all(isinstance(cluster, DiscoveredCluster) for cluster in clusterer.clusters_)
    assert {label for label in clusterer.labels_} == {cluster.id for cluster in clusterer.clusters_}


def test_bare_string_is_rejected() -> None:
    with pytest.raises(InputError, match="single string"):
        ErrorClusterer().fit("connect ECONNREFUSED 10.0.0.1:80")
    with pytest.raises(InputError):
        cluster_messages(b"bytes")  # type: ignore[arg-type]


def test_groups_true_siblings_and_nothing_else() -> None:
    messages = corpus()
    labels = by_text(cluster_messages(messages), messages)
    refused = {labels[m] for m in messages if "ECONNREFUSED" in m}
    modules = {labels[m] for m in messages if "Cannot find module" in m}
    tracebacks = {labels[m] for m in messages if "Traceback" in m}
    assert len(refused) == len(modules) == len(tracebacks) == 1
    assert len(refused | modules | tracebacks | {labels["disk quota exceeded on volume data"]}) == 4


def test_clusters_are_largest_first_with_sizes() -> None:
    result = cluster_messages(corpus())
    sizes = [cluster.size for cluster in result.clusters]
    assert sizes == sorted(sizes, reverse=True) == [12, 7, 5, 1]
    assert sum(sizes) == len(result.labels)
    modules = result.clusters[1]
    assert modules.distinct_messages == 4  # vite, react, lodash, zod


def test_template_name_terms_and_examples_make_sense() -> None:
    result = cluster_messages(corpus())
    refused, modules, typed, quota = result.clusters
    assert refused.template == "connect ECONNREFUSED <IP>"
    assert modules.template == "Error: Cannot find module <STR>"
    assert modules.name == "Error: Cannot find module <STR>"
    assert typed.template.startswith(
        "TypeError: unsupported operand type(s) for +: <STR> and <STR>"
    )
    assert "econnrefused" in refused.top_terms
    assert {"cannot", "find", "module"} <= set(modules.top_terms)
    assert "<" not in " ".join(modules.top_terms)  # placeholders are not terms
    assert modules.examples[0] == "Error: Cannot find module 'vite'"  # most frequent first
    assert 1 <= len(modules.examples) <= 3
    assert quota.template == "disk quota exceeded on volume data"
    assert all(cluster.templates for cluster in result.clusters)


def test_variable_word_becomes_wildcard_when_it_varies_enough() -> None:
    users = ["cyrus", "news", "test", "root", "admin"]
    messages = [f"session closed for user {user}" for user in users]
    result = cluster_messages(messages)
    assert len(result.clusters) == 1
    assert result.clusters[0].template == "session closed for user <*>"
    # two values are not evidence of a variable: different states stay apart
    result = cluster_messages(["Link Up on en0", "Link Down on en0"])
    assert len(result.clusters) == 2


def test_multi_line_reports_of_the_same_kind_are_merged() -> None:
    report = (
        "standard: Use JavaScript Standard Style (https://standardjs.com)\n"
        "standard: Run `standard --fix` to automatically fix some problems.\n"
        "  /home/ci/app/lib/{name}.js:{line}:4: {problem}\n"
    )
    messages = [
        report.format(name="locale", line=17, problem="Unexpected trailing comma."),
        report.format(name="menu", line=2, problem="Missing space before function parentheses."),
        report.format(name="build", line=178, problem="Missing space after ','."),
    ]
    other = "Overfull hbox in paragraph\nat lines 10--12\nLaTeX Warning: There were undefined references."
    labels = cluster_messages([*messages, other]).labels
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_short_messages_with_different_causes_are_not_merged() -> None:
    messages = [
        "Non-zero exit code: 2\nStderr: bash: uv: command not found",
        "Non-zero exit code: 137\nStderr: Killed",
        "Non-zero exit code: 1\nStderr: Command timed out after 300s: npm run typecheck",
    ]
    assert len(set(cluster_messages(messages).labels)) == 3


def test_tracebacks_of_different_exceptions_stay_apart() -> None:
    traceback = 'Traceback (most recent call last):\n  File "/app/{f}.py", line 3, in run\n{exc}\n'
    messages = [
        traceback.format(f="a", exc="KeyError: 'model'"),
        traceback.format(f="b", exc="KeyError: 'phase'"),
        traceback.format(f="c", exc="ValueError: bad literal"),
        traceback.format(f="d", exc="OSError: disk full"),
        traceback.format(f="e", exc="IndexError: list index out of range"),
        # the same shape with three exception types: the type is not a variable
        traceback.format(f="f", exc="NameError: 'x'"),
        traceback.format(f="g", exc="AttributeError: 'y'"),
    ]
    labels = cluster_messages(messages).labels
    assert labels[0] == labels[1]
    assert len(set(labels)) == 6


def test_exception_decides_the_group_not_where_it_was_raised() -> None:
    traceback = (
        'Traceback (most recent call last):\n  File "{f}", line {n}, in {fn}\n    x\n{exc}\n'
    )
    messages = [
        traceback.format(
            f="/app/a.py", n=3, fn="<module>", exc="ModuleNotFoundError: No module named 'x'"
        ),
        traceback.format(
            f="/app/b.py", n=9, fn="main", exc="ModuleNotFoundError: No module named 'y'"
        ),
        "ModuleNotFoundError: No module named 'z'",
        "ModuleNotFoundError: No module named 'w'",
        traceback.format(
            f="/app/a.py", n=3, fn="<module>", exc="ImportError: cannot import name 'q'"
        ),
        traceback.format(f="/app/a.py", n=3, fn="main", exc="pkg.errors.ConfigError: bad key"),
        traceback.format(f="/app/a.py", n=3, fn="main", exc="pkg.errors.StateError: bad key"),
        traceback.format(f="/app/a.py", n=3, fn="main", exc="pkg.errors.LockError: bad key"),
    ]
    clusterer = ErrorClusterer().fit(messages)
    labels = clusterer.labels_
    assert len(set(labels[:4])) == 1
    assert len(set(labels)) == 5  # different exception types never share a cluster
    new = traceback.format(
        f="/lib/c.py", n=1, fn="load", exc="ModuleNotFoundError: No module named 'v'"
    )
    assert clusterer.predict([new]) == [labels[0]]


def test_predict_known_variant_and_unrelated() -> None:
    messages = corpus()
    clusterer = ErrorClusterer().fit(messages)
    seen = clusterer.predict(messages)
    assert seen == clusterer.labels_
    refused_id = clusterer.labels_[0]
    new = clusterer.predict(
        [
            "connect ECONNREFUSED 192.168.1.1:6379",  # new values of a known pattern
            "Error: Cannot find module 'svelte'",  # a new module name in a variable position
            "kernel panic: attempted to kill init",  # nothing like it
        ]
    )
    assert new[0] == refused_id
    assert new[1] == clusterer.labels_[12]
    assert new[2] is None


def test_predict_requires_fit() -> None:
    with pytest.raises(InputError, match="not fitted"):
        ErrorClusterer().predict(["x"])


def test_fit_predict_matches_labels() -> None:
    messages = corpus()
    assert ErrorClusterer().fit_predict(messages) == cluster_messages(messages).labels


def test_same_input_gives_same_ids_and_clusters() -> None:
    first, second = cluster_messages(corpus()), cluster_messages(corpus())
    assert first.labels == second.labels
    assert [(c.id, c.size, c.template) for c in first.clusters] == [
        (c.id, c.size, c.template) for c in second.clusters
    ]


def test_shuffled_input_gives_same_grouping_and_ids() -> None:
    messages = corpus() * 3
    shuffled = messages[:]
    random.Random(4).shuffle(shuffled)
    original, permuted = cluster_messages(messages), cluster_messages(shuffled)
    assert by_text(original, messages) == by_text(permuted, shuffled)
    assert [(c.id, c.template, c.examples) for c in original.clusters] == [
        (c.id, c.template, c.examples) for c in permuted.clusters
    ]


def test_empty_and_odd_inputs() -> None:
    assert cluster_messages([]).clusters == []
    result = cluster_messages(["", None, "   ", "x\x00y"])  # type: ignore[list-item]
    assert len(result.labels) == 4
    assert result.labels[0] == result.labels[1] == result.labels[2]


def test_progress_is_reported() -> None:
    calls: list[tuple[int, int]] = []
    ErrorClusterer(batch_size=5).fit(
        corpus(), progress=lambda done, total: calls.append((done, total))
    )
    assert calls[-1][0] == calls[-1][1] > 0
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_cost_follows_distinct_patterns() -> None:
    messages = [f"job {i} failed: connect ECONNREFUSED 10.0.0.{i % 250}:80" for i in range(20_000)]
    result = cluster_messages(messages)
    assert len(result.clusters) == 1
    assert result.clusters[0].size == 20_000


def test_multi_line_messages_in_one_tool_frame_are_grouped():
    messages = [
        (
            "Checking src/a.swift\n"
            "src/a.swift:12:5: warning: Colon Violation: colons next to the identifier (colon)"
        ),
        (
            "Checking src/b.swift\n"
            "src/b.swift:40:1: warning: Line Length Violation: line should be 120 characters"
            " or less (line_length)"
        ),
    ]
    labels = cluster_messages(messages).labels
    assert labels[0] == labels[1]


def test_multi_line_messages_with_one_layout_and_shared_words_are_grouped():
    messages = [
        "Testing tests.kernel_test\ninet_SUITE:t_gethostnative failed on line 417\nReason: x",
        "Testing tests.os_mon_test\ncpu_sup_SUITE:util_api failed on line 88\nReason: y",
    ]
    labels = cluster_messages(messages).labels
    assert labels[0] == labels[1]


def test_multi_line_messages_with_different_causes_stay_apart():
    messages = [
        "Non-zero exit code: 1\nStderr: error: could not lock config file .git/config",
        "Non-zero exit code: 1\nStderr: error: could not find module vite",
        "Non-zero exit code: 2\nStderr: fatal: not a git repository",
        "Non-zero exit code: 1\nStderr: Killed",
        (
            'Traceback (most recent call last):\n  File "a.py", line 3, in main\n'
            "KeyError: 'x'\nsrc/a.c:1:2: error: failed: see log (1)"
        ),
        (
            'Traceback (most recent call last):\n  File "a.py", line 3, in main\n'
            "TypeError: bad operand\nsrc/a.c:1:2: error: failed: see log (1)"
        ),
    ]
    labels = cluster_messages(messages).labels
    assert len(set(labels[:4])) == 4
    assert labels[4] != labels[5]
    # a git error and a missing module, alone in the input: still apart
    pair = cluster_messages(messages[:2]).labels
    assert pair[0] != pair[1]


def test_single_line_messages_are_not_grouped_by_frame_or_words():
    messages = [
        "src/a.c:3:4: warning: unused variable x (unused)",
        "src/b.c:9:1: warning: implicit declaration of function y (implicit)",
    ]
    labels = cluster_messages(messages).labels
    assert labels[0] != labels[1]


def test_examples_are_the_most_frequent_messages_then_the_smallest_text() -> None:
    import numpy as np

    from error_analytics.clustering.estimator import _first_raws

    rng = random.Random(3)
    for _ in range(200):
        texts = [f"m{rng.randrange(10**6):06d}" for _ in range(rng.randint(1, 60))]
        texts = list(dict.fromkeys(texts))
        counts = np.array([rng.choice((1, 1, 1, 2, 5)) for _ in texts])

        def order(raw: int, texts=texts, counts=counts) -> tuple[int, str]:
            return -int(counts[raw]), texts[raw]

        raws = rng.sample(range(len(texts)), rng.randint(1, len(texts)))
        for k in (1, 3, 20):
            assert _first_raws(raws, k, counts, texts, order) == sorted(raws, key=order)[:k]


def test_cached_words_are_the_words_of_the_joined_text() -> None:
    from error_analytics.clustering.vectorize import WordCache, words

    cache = WordCache()
    parts = ["Cannot find module <STR>", "KeyError: <*> in <PATH>", "", "x_y AB c9 İstanbul"]
    assert cache.joined(parts) == words(" ".join(parts))
    assert cache.joined(parts[:1]) == words(parts[0])


def test_fit_leaves_the_garbage_collector_as_it_found_it() -> None:
    import gc

    assert gc.isenabled()
    ErrorClusterer().fit(corpus())
    assert gc.isenabled()
    gc.disable()
    try:
        ErrorClusterer().fit(corpus())
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- variables found from the data (issue 10) ---------------------------------------------


def test_a_key_with_many_values_is_a_variable_and_one_with_few_is_not() -> None:
    users = [f"pam: session opened user={name} tty=pts" for name in "root ftp www bob ann".split()]
    states = ["ticket status=open was updated", "ticket status=closed was updated"] * 3
    result = cluster_messages(users + states)
    assert len(set(result.labels[: len(users)])) == 1
    assert len(set(result.labels[len(users) :])) == 2
    # the same few values below the threshold are not enough
    few = cluster_messages(users[:2] + states, min_key_values=5)
    assert len(set(few.labels[:2])) == 2
    clusterer = ErrorClusterer().fit(users)
    assert clusterer.predict(["pam: session opened user=zed tty=pts"]) == [clusterer.labels_[0]]


def test_closed_vocabularies_are_not_merged_by_position() -> None:
    messages = [
        f"Job {job} {state} by scheduler"
        for job in ("backup", "index", "sync", "mail")
        for state in ("Paused", "Resumed", "Stopped")
    ] + [f"request {method} to billing service rejected" for method in ("GET", "POST", "DELETE")]
    labels = by_text(cluster_messages(messages), messages)
    assert (
        len({labels[f"Job backup {s} by scheduler"] for s in ("Paused", "Resumed", "Stopped")}) == 3
    )
    assert (
        len({labels[f"Job {job} Paused by scheduler"] for job in ("backup", "index", "sync")}) == 1
    )
    assert len({labels[m] for m in messages if m.startswith("request")}) == 3


def test_an_extra_placeholder_does_not_block_a_merge() -> None:
    messages = [
        "Retrying upload of 3 files to 10.0.0.1 after error",
        "Retrying upload of files to 10.0.0.2 after error",
        "Retrying upload of 12 files to 10.0.0.3 after error",
        "Retrying download after error",
    ]
    labels = cluster_messages(messages).labels
    assert labels[0] == labels[1] == labels[2] != labels[3]


def test_decorated_and_plain_ci_failures_cluster_together() -> None:
    messages = [
        "── 1. Error: parses dates (@test-dates.R#12) ──────\nExpected TRUE, got FALSE\n",
        "1. Error: parses dates (@test-dates.R#12)\nExpected TRUE, got FALSE\n",
        "1) Failure:\ntest_parse(ParserTest) [test/parser_test.rb:12]:\nExpected 1\n",
        "Failure:\ntest_parse(ParserTest) [test/parser_test.rb:12]:\nExpected 1\n",
    ]
    labels = cluster_messages(messages).labels
    assert labels[0] == labels[1] != labels[2] == labels[3]


# -- growth and order (issue 10) ----------------------------------------------------------


def growth_corpus() -> list[str]:
    rng = random.Random(7)
    messages = []
    for i in range(60):
        kind = rng.randrange(6)
        if kind == 0:
            messages.append(f"connect ECONNREFUSED 10.0.{i}.7:5432")
        elif kind == 1:
            messages.append(f"pam: session opened user={rng.choice('abcdefgh')}x tty=pts")
        elif kind == 2:
            messages.append(f"Job j{rng.choice('abcd')}q {rng.choice(['Paused', 'Stopped'])} now")
        elif kind == 3:
            messages.append(f"Error: Cannot find module '{rng.choice(['vite', 'zod', 'react'])}'")
        elif kind == 4:
            messages.append(f"worker {rng.choice(['alpha', 'beta', 'gamma', 'delta'])} crashed")
        else:
            messages.append(f"── {i}. Error: parses dates (@test-dates.R#{i}) ──\nExpected TRUE\n")
    return messages


def test_more_data_never_splits_what_was_together() -> None:
    messages = growth_corpus()
    head = len(messages) * 9 // 10
    before = cluster_messages(messages[:head]).labels
    after = cluster_messages(messages).labels[:head]
    before_to_after: dict[str, set[str]] = {}
    for label, later in zip(before, after, strict=True):
        before_to_after.setdefault(label, set()).add(later)
    assert all(len(laters) == 1 for laters in before_to_after.values())


def test_shuffled_input_gives_the_same_partition() -> None:
    messages = growth_corpus()

    def partition(labels: list[str]) -> set[frozenset[str]]:
        label_to_texts: dict[str, set[str]] = {}
        for text, label in zip(messages_in_order, labels, strict=True):
            label_to_texts.setdefault(label, set()).add(text)
        return {frozenset(texts) for texts in label_to_texts.values()}

    messages_in_order = messages
    expected = partition(cluster_messages(messages).labels)
    for seed in range(3):
        messages_in_order = messages[:]
        random.Random(seed).shuffle(messages_in_order)
        assert partition(cluster_messages(messages_in_order).labels) == expected


def test_ci_log_excerpts_of_one_failure_merge_by_their_words() -> None:
    def build_log(function: str, type_name: str) -> str:
        return (
            "Linking CXX shared library libnet.so for target netcore\n"
            "cc -O2 -Wall -c src/net.c -o build/net.o\n"
            f"src/net.c:10:5: error: implicit declaration of function {function}\n"
            f"src/net.c:22:9: error: unknown type name {type_name} in socket helper\n"
            "make[2]: *** [CMakeFiles/netcore.dir/net.c.o] Error 1\n"
        )

    messages = [
        build_log("htonll", "socklen_t"),
        build_log("ntohll", "in_port_t"),
        "Downloading dependencies from the package registry\n"
        "npm WARN deprecated request@2.88.2: request has been deprecated\n"
        "npm ERR! code ETARGET\n"
        "npm ERR! notarget No matching version found for left-pad@9.9.9\n",
        "Running database migrations against the staging schema\n"
        "psql: FATAL: password authentication failed for user deploy\n"
        "migration aborted, rolling back transaction\n",
    ]
    labels = cluster_messages(messages).labels
    assert labels[0] == labels[1]
    assert len({labels[0], labels[2], labels[3]}) == 3


def test_a_namespace_with_many_names_is_a_variable_and_one_with_few_is_not() -> None:
    # the name varies together with another word: no single position tells it is a variable
    pairs = list(zip(["Mapper", "Reducer", "Shuffle", "Spill", "Merger"], "abcde", strict=True))
    loaded = [f"loaded org.apache.hadoop.{name} for task {task}x" for name, task in pairs]
    hosts = [f"lost worker-{name.lower()}.pool.cluster in zone {task}z" for name, task in pairs]
    actions = [
        f"onReceive action: android.intent.action.{state}" for state in ("SCREEN_ON", "SCREEN_OFF")
    ] * 3
    labels = cluster_messages(loaded + hosts + actions).labels
    assert len(set(labels[:5])) == 1
    assert len(set(labels[5:10])) == 1
    assert len(set(labels[10:])) == 2
    # fewer names than min_key_values: they may name different events
    assert len(set(cluster_messages(loaded[:4]).labels)) == 4
    assert "org.apache.hadoop.*" in ErrorClusterer().fit(loaded).variable_keys_
