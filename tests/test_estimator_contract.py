"""ErrorClusterer keeps the scikit-learn estimator contract (scikit-learn
``doc/developers/develop.rst``): parameters round-trip, ``clone`` works, ``fit`` returns the
estimator and leaves the garbage collector alone, ``predict`` changes nothing."""

from __future__ import annotations

import copy
import gc
import pickle

import pytest
from sklearn.base import BaseEstimator, ClusterMixin, clone

from error_analytics.clustering import ErrorClusterer
from error_analytics.rules import default_rules

MESSAGES = [
    *(f"Connection refused to db-{n}.internal:5432 after {n} retries" for n in range(6)),
    *(f"user {name} not found in group admins" for name in ("ann", "bob", "cid", "dee")),
    "Traceback (most recent call last):\n"
    '  File "app.py", line 3, in main\n'
    "    run()\n"
    "KeyError: 'token'\n",
    "error: could not compile `app` due to 2 previous errors\n"
    "warning: unused variable\n"
    "note: run with RUST_BACKTRACE=1\n",
    "disk quota exceeded on volume data",
]


def test_is_a_scikit_learn_clusterer() -> None:
    assert isinstance(ErrorClusterer(), BaseEstimator)
    assert isinstance(ErrorClusterer(), ClusterMixin)


def test_get_params_round_trips_through_set_params_and_the_constructor() -> None:
    rules = default_rules()
    clusterer = ErrorClusterer(rules=rules, min_variants=4, similarity_threshold=0.4)
    params = clusterer.get_params()
    assert params["min_variants"] == 4
    assert params["similarity_threshold"] == 0.4
    assert params["rules"] is rules
    assert ErrorClusterer(**params).get_params() == params
    other = ErrorClusterer().set_params(**params)
    assert other.get_params() == params
    with pytest.raises(ValueError):
        ErrorClusterer().set_params(no_such_parameter=1)


def test_clone_copies_parameters_and_no_fitted_state() -> None:
    fitted = ErrorClusterer(max_examples=2, n_top_terms=3).fit(MESSAGES)
    twin = clone(fitted)
    assert twin is not fitted
    assert twin.get_params()["max_examples"] == 2
    assert twin.get_params()["n_top_terms"] == 3
    assert not hasattr(twin, "labels_")
    assert twin.fit(MESSAGES).labels_ == fitted.labels_
    with_rules = clone(ErrorClusterer(rules=default_rules()))
    assert with_rules.fit(MESSAGES).labels_ == fitted.labels_


def test_fit_returns_self_and_accepts_y() -> None:
    clusterer = ErrorClusterer()
    assert clusterer.fit(MESSAGES) is clusterer
    assert clusterer.fit(MESSAGES, None) is clusterer
    assert clusterer.fit(MESSAGES, y=[0] * len(MESSAGES)) is clusterer
    assert len(clusterer.labels_) == len(MESSAGES)
    assert clusterer.n_clusters_ == len(clusterer.clusters_)


def test_init_stores_parameters_unvalidated_and_fit_validates_them() -> None:
    clusterer = ErrorClusterer(min_variants=1)
    assert clusterer.min_variants == 1
    with pytest.raises(ValueError):
        clusterer.fit(MESSAGES)


def test_predict_leaves_the_fitted_estimator_unchanged() -> None:
    clusterer = ErrorClusterer().fit(MESSAGES)
    before = dict(clusterer.__dict__)
    before_bytes = pickle.dumps(clusterer)
    unseen = [
        "Connection refused to db-99.internal:5432 after 7 retries",
        "something entirely different happened here",
        "error: could not compile `lib` due to 5 previous errors\n"
        "warning: unused import\n"
        "note: run with RUST_BACKTRACE=1\n",
    ]
    first = clusterer.predict(unseen)
    assert clusterer.__dict__.keys() == before.keys()
    assert all(clusterer.__dict__[name] is value for name, value in before.items())
    assert pickle.dumps(clusterer) == before_bytes
    assert clusterer.predict(unseen) == first
    assert first[0] == clusterer.labels_[0]


def test_predict_on_a_copy_agrees_with_the_original() -> None:
    clusterer = ErrorClusterer().fit(MESSAGES)
    assert copy.deepcopy(clusterer).predict(MESSAGES) == clusterer.predict(MESSAGES)


def test_fit_keeps_the_garbage_collector_enabled_throughout() -> None:
    seen: list[bool] = []

    def progress(done: int, total: int) -> None:
        seen.append(gc.isenabled())

    assert gc.isenabled()
    ErrorClusterer(batch_size=2).fit(MESSAGES, progress=progress)
    assert seen and all(seen)
    assert gc.isenabled()


def test_fit_predict_takes_y_like_clustermixin() -> None:
    clusterer = ErrorClusterer()
    assert clusterer.fit_predict(MESSAGES, None) == clusterer.labels_
