"""Schemathesis drives every operation of the OpenAPI document against the real app.

The app reads a real SQLite demo database with its clusters refreshed, a token is configured
and sent (so the writes run their review actions, not only the 401), and the budget is bounded
(``MAX_EXAMPLES`` per operation). Every answer must conform to the document — status code,
content type, body schema — and none may be a 5xx. An ASGI wrapper counts what the app really
received, checks' extra requests included; ``test_fuzz_run_totals`` reports and checks them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

schemathesis = pytest.importorskip("schemathesis", reason="pip install -e '.[test]'")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from error_analytics.api import create_app  # noqa: E402
from error_analytics.config import Settings, get_settings  # noqa: E402
from error_analytics.demo import build_demo_database  # noqa: E402

from .builders import NOW  # noqa: E402

TOKEN = "fuzz-token"
MAX_EXAMPLES = 25
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


@dataclasses.dataclass
class Traffic:
    """What the app received and answered during the fuzz run."""

    requests: int = 0
    status_counts: dict[int, int] = dataclasses.field(default_factory=dict)
    server_errors: list[str] = dataclasses.field(default_factory=list)


TRAFFIC = Traffic()
#: Ids of the demo's clusters: half of the valid cases act on one, so the review actions run
#: for real instead of answering 404 to a random id.
REAL_CLUSTER_IDS: list[str] = []


def counting(app: ASGIApp, traffic: Traffic) -> ASGIApp:
    """``app`` wrapped so that every HTTP request and its status is counted."""

    async def counted(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        traffic.requests += 1

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = int(message["status"])
                traffic.status_counts[status] = traffic.status_counts.get(status, 0) + 1
                if status >= 500:
                    traffic.server_errors.append(f"{scope['method']} {scope['path']} -> {status}")
            await send(message)

        await app(scope, receive, recording_send)

    return counted


#: A schema-valid request may still break a rule of the review service that JSON Schema cannot
#: say (a category of the rules in force, ``until`` and ``occurrences`` together, a cluster
#: merged into itself): a 422 with a reason is the right answer there, so it is accepted too.
#: An invalid one may be refused for its size (413) before it is read, hence validated.
CONFIG = SchemathesisConfig.from_str(
    """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "404", "409", "422"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "406", "413", "415", "422"]
"""
)
APP = create_app(dashboard=False)  # the database is set below, before any request
schema = schemathesis.openapi.from_asgi("/openapi.json", counting(APP, TRAFFIC), config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A real SQLite demo database with its clusters refreshed, and a token, for this module."""
    folder = tmp_path_factory.mktemp("fuzz")
    database = folder / "demo.db"
    build_demo_database(database, runs=150, days=30, seed=5, now=NOW)
    rules = folder / "rules.toml"
    rules.write_text("# promoted rules land here\n", encoding="utf-8")
    demo = Settings(db=str(database), rules_file=str(rules), api_token=TOKEN)
    APP.dependency_overrides[get_settings] = lambda: demo
    with TestClient(APP) as client:  # the clusters exist before the fuzzing starts
        refreshed = client.post(
            "/api/error-analytics/clusters/refresh",
            json={},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert refreshed.status_code == 200, refreshed.text
        listed = client.get("/api/error-analytics/clusters", params={"limit": 1000}).json()
    REAL_CLUSTER_IDS[:] = [cluster["id"] for cluster in listed["items"]]
    assert len(REAL_CLUSTER_IDS) >= 3
    TRAFFIC.requests = 0
    yield demo
    APP.dependency_overrides.clear()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_and_never_fails(case: Any) -> None:
    generated = (case.path_parameters or {}).get("cluster_id")
    positive = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
    if generated is not None and positive and len(generated) % 2 == 0:
        case.path_parameters["cluster_id"] = REAL_CLUSTER_IDS[
            len(generated) % len(REAL_CLUSTER_IDS)
        ]
    # a negative case that left out the Authorization header a write requires is sent without
    # it (the answer must be a refusal); every other case sends the token, so writes really run
    dropped_auth = not positive and "Authorization" not in (case.headers or {})
    case.call_and_validate(headers={} if dropped_auth else {"Authorization": f"Bearer {TOKEN}"})


def test_fuzz_run_totals(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the operations above (pytest keeps file order): the run was real, no 5xx."""
    operations = sum(1 for _ in schema.get_all_operations())
    assert TRAFFIC.requests >= operations * 2, TRAFFIC
    assert TRAFFIC.server_errors == [], TRAFFIC.server_errors
    assert any(200 <= status < 300 for status in TRAFFIC.status_counts), TRAFFIC.status_counts
    with capsys.disabled():
        print(
            f"\nfuzz run: {TRAFFIC.requests} requests over {operations} operations, "
            f"statuses {dict(sorted(TRAFFIC.status_counts.items()))}, "
            f"{len(TRAFFIC.server_errors)} answers >= 500"
        )
