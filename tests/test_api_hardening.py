"""The API's edges on real databases: aware times, body limits, CSRF, health, echoed input.

Each test drives the real app (``create_app``) or, for the body limits, its ASGI callable with a
body that records how much of it was pulled.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from error_analytics.api import create_app
from error_analytics.api.guard import MAX_ACTION_BODY_BYTES
from error_analytics.config import Settings, get_settings
from error_analytics.demo import build_demo_database
from error_analytics.errors import InputError
from error_analytics.review import actions as review_actions
from error_analytics.service import ErrorAnalyticsService

from .builders import NOW
from .test_api_clusters import review_cli

API = "/api/error-analytics"
TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hardening") / "template.db"
    build_demo_database(path, runs=150, days=30, seed=5, now=NOW)
    return path


@pytest.fixture
def demo_db(tmp_path: Path, demo_template: Path) -> str:
    """A private copy of the demo database (the state tables live in it)."""
    copy = tmp_path / "demo.db"
    copy.write_bytes(demo_template.read_bytes())
    return str(copy)


def refreshed_client(settings: Settings) -> TestClient:
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    client.__enter__()
    headers = AUTH if settings.api_token else {}
    refreshed = client.post(f"{API}/clusters/refresh", json={}, headers=headers)
    assert refreshed.status_code == 200, refreshed.text
    return client


@pytest.fixture
def client(demo_db: str) -> Iterator[TestClient]:
    test_client = refreshed_client(Settings(db=demo_db))
    yield test_client
    test_client.__exit__(None, None, None)


def first_cluster_id(client: TestClient) -> str:
    return client.get(f"{API}/clusters", params={"limit": 1}).json()["items"][0]["id"]


def local_naive(moment: datetime, zone: str | None) -> datetime:
    return moment.astimezone(ZoneInfo(zone) if zone else None).replace(tzinfo=None)


def stamp(moment: datetime) -> str:
    return moment.isoformat(sep=" ", timespec="seconds")


# -- item 8: an aware `until` ------------------------------------------------------------------
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles", None])
def test_ignore_until_with_an_offset_is_converted_to_the_configured_zone(demo_db, zone):
    until = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    client = refreshed_client(Settings(db=demo_db, timezone=zone))
    try:
        cluster_id = first_cluster_id(client)
        muted = client.post(
            f"{API}/clusters/{cluster_id}/ignore",
            json={"until": until.isoformat().replace("+00:00", "Z")},
        )
        assert muted.status_code == 200, muted.text
        assert muted.json()["ignored_until"] == stamp(local_naive(until, zone))
        assert muted.json()["cluster"]["status"] == "ignored"
    finally:
        client.__exit__(None, None, None)


@pytest.mark.parametrize(
    "until", ["not a time", "2027-13-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "2027-01-01T25:00"]
)
def test_ignore_until_unusable_is_a_clean_422(client, until):
    cluster_id = first_cluster_id(client)
    response = client.post(f"{API}/clusters/{cluster_id}/ignore", json={"until": until})
    assert response.status_code == 422, response.text
    assert "Traceback" not in response.text


def test_review_service_converts_an_aware_until(demo_db):
    """The service under ``analyze-errors clusters ignore`` accepts it too, in its zone."""
    settings = Settings(db=demo_db, timezone="Asia/Kolkata")
    review = ErrorAnalyticsService.from_settings(settings).review
    review.refresh(30)
    cluster_id = review.list_clusters(limit=1).items[0].id
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    review.ignore(cluster_id, until=until, actor="ana")
    assert review.get_cluster(cluster_id).ignored_until == local_naive(until, "Asia/Kolkata")
    with pytest.raises(InputError):
        review.ignore(cluster_id, until=datetime(9999, 12, 31, 23, tzinfo=UTC), actor="ana")


def test_cli_ignore_until_with_an_offset(demo_db, monkeypatch):
    monkeypatch.setenv("ERROR_ANALYTICS_TZ", "Asia/Tokyo")
    get_settings.cache_clear()
    try:
        listed = review_cli("clusters", "list", "--db", demo_db, "--json", "--limit", "1")
        cluster_id = listed["items"][0]["id"]
        until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
        given = until.isoformat().replace("+00:00", "Z")
        review_cli("clusters", "ignore", cluster_id, "--until", given, "--db", demo_db, "--json")
        shown = review_cli("clusters", "show", cluster_id, "--db", demo_db, "--json")
    finally:
        get_settings.cache_clear()
    assert shown["ignored_until"] == stamp(local_naive(until, "Asia/Tokyo"))


# -- item 9: body limits, and the token before the body -----------------------------------------
class RecordingBody:
    """An ASGI ``receive`` streaming ``total`` bytes in chunks, recording how many were pulled."""

    def __init__(self, total: int, chunk: int = 16 * 1024) -> None:
        self.total, self.chunk, self.pulled = total, chunk, 0

    async def __call__(self) -> dict[str, Any]:
        size = min(self.chunk, self.total - self.pulled)
        self.pulled += size
        body = b"{" + b" " * max(size - 2, 0) + b"}" if size >= 2 else b" " * size
        return {"type": "http.request", "body": body, "more_body": self.pulled < self.total}


def asgi_post(
    app: Any, path: str, body: RecordingBody, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """POST through the app's ASGI callable; (status, JSON body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, body, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(payload)


JSON = {"Content-Type": "application/json"}
BIG = 200 * 1024 * 1024  # what a client may claim or send; the server must not read it


def test_token_is_checked_before_the_body_is_read(demo_db):
    app = create_app(Settings(db=demo_db, api_token=TOKEN))
    body = RecordingBody(BIG)
    status, answer = asgi_post(
        app, f"{API}/clusters/c0/rename", body, {**JSON, "Content-Length": str(BIG)}
    )
    assert (status, answer["error"]) == (401, "Unauthorized")
    assert body.pulled == 0
    chunked = RecordingBody(BIG)
    status, _ = asgi_post(app, f"{API}/clusters/refresh", chunked, JSON)  # no Content-Length
    assert status == 401 and chunked.pulled == 0


@pytest.mark.parametrize("token", [None, TOKEN])
def test_a_declared_oversized_body_is_refused_unread(demo_db, token):
    app = create_app(Settings(db=demo_db, api_token=token))
    body = RecordingBody(BIG)
    headers = {**JSON, **AUTH, "Content-Length": str(BIG)}
    status, answer = asgi_post(app, f"{API}/clusters/c0/rename", body, headers)
    assert (status, answer["error"]) == (413, "BodyTooLarge")
    assert body.pulled == 0


@pytest.mark.parametrize("token", [None, TOKEN])
def test_a_chunked_body_is_cut_off_at_the_limit(demo_db, token):
    app = create_app(Settings(db=demo_db, api_token=token))
    body = RecordingBody(BIG)
    status, answer = asgi_post(app, f"{API}/clusters/c0/rename", body, {**JSON, **AUTH})
    assert (status, answer["error"]) == (413, "BodyTooLarge")
    assert MAX_ACTION_BODY_BYTES < body.pulled <= MAX_ACTION_BODY_BYTES + body.chunk


def test_a_body_at_the_limit_is_read(client):
    cluster_id = first_cluster_id(client)
    padded = json.dumps({"name": "Within the limit", "actor": "ana"})
    padded = padded[:-1] + " " * (MAX_ACTION_BODY_BYTES - len(padded)) + "}"
    response = client.post(
        f"{API}/clusters/{cluster_id}/rename", content=padded.encode(), headers=JSON
    )
    assert response.status_code == 200, response.text
    assert response.json()["cluster"]["name"] == "Within the limit"


# -- item 10a: CSRF ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"days=30", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"{}", {"Content-Type": "text/plain"}),
        (b"--x--\r\n", {"Content-Type": "multipart/form-data; boundary=x"}),
        (b"", {}),
    ],
)
def test_a_post_that_a_cross_site_form_could_send_is_refused(demo_db, content, headers):
    with TestClient(create_app(Settings(db=demo_db))) as test_client:
        response = test_client.post(f"{API}/clusters/refresh", content=content, headers=headers)
        assert response.status_code == 415, response.text
        assert response.json()["error"] == "UnsupportedMediaType"
        # nothing ran: no pass was recorded, no cluster written
        assert written(Settings(db=demo_db), "ea_refresh_runs", "ea_clusters") == 0
        accepted = test_client.post(f"{API}/clusters/refresh", json={})
        assert accepted.status_code == 200, accepted.text


def written(settings: Settings, *tables: str) -> int:
    """Rows in the state's ``tables`` (0 where the state or the table does not exist yet)."""
    engine = sa.create_engine(settings.state_database_target().url)
    try:
        present = set(sa.inspect(engine).get_table_names())
        with engine.connect() as connection:
            return sum(
                connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar() or 0
                for table in tables
                if table in present
            )
    finally:
        engine.dispose()


# -- health ---------------------------------------------------------------------------------------
def drop_workflow_table(url: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute("DROP TABLE workflow_history")
        return
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE workflow_history CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_demo_url(request, demo_db) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{demo_db}"
    url = request.getfixturevalue("pg_url")
    build_demo_database(url, runs=150, days=30, seed=5, now=NOW)
    return url


def test_health_is_degraded_when_the_data_endpoints_fail(any_demo_url):
    with TestClient(create_app(Settings(db=any_demo_url)), raise_server_exceptions=False) as c:
        healthy = c.get(f"{API}/health").json()
        assert (healthy["status"], healthy["failed"]) == ("ok", [])
        assert {check["name"] for check in healthy["checks"]} == {"database", "views"}
        drop_workflow_table(any_demo_url)
        summary = c.get(f"{API}/summary")
        health = c.get(f"{API}/health")
    assert summary.status_code == 503, summary.text
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["failed"]
    failed = [check for check in health.json()["checks"] if not check["ok"]]
    assert [check["name"] for check in failed] == health.json()["failed"]
    assert all("workflow_history" in check["detail"] for check in failed)


# -- item 17: echoed input, one name limit -------------------------------------------------------
def test_a_422_does_not_echo_a_huge_input(client):
    cluster_id = first_cluster_id(client)
    huge = "x" * 60_000  # under the body limit (a 100 KB body is a 413 now) and httpx's URL cap
    renamed = client.post(f"{API}/clusters/{cluster_id}/rename", json={"name": huge})
    searched = client.get(f"{API}/clusters", params={"q": huge})
    category = client.post(f"{API}/clusters/{cluster_id}/category", json={"category": [huge]})
    for response in (renamed, searched, category):
        assert response.status_code == 422, response.text
        assert len(response.content) < 2_000
        assert "xxxxxxxxxx" in response.text  # it still shows the start of what was sent


def test_the_review_service_does_not_echo_a_huge_input(demo_db):
    review = ErrorAnalyticsService.from_settings(Settings(db=demo_db)).review
    review.refresh(30)
    cluster_id = review.list_clusters(limit=1).items[0].id
    for action in (
        lambda: review.rename(cluster_id, "y" * 100_000, actor="ana"),
        lambda: review.set_category(cluster_id, "y" * 100_000, actor="ana"),
        lambda: review.get_cluster("y" * 100_000),
        lambda: review.preview_rule(cluster_id, pattern="(" + "y" * 100_000),
    ):
        with pytest.raises((InputError, LookupError)) as raised:
            action()
        assert len(str(raised.value)) < 600


def test_the_name_limit_is_the_same_everywhere(client, demo_db):
    limit = review_actions.MAX_NAME_CHARS
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert schema["Rename"]["properties"]["name"]["maxLength"] == limit
    cluster_id = first_cluster_id(client)
    at_limit = client.post(f"{API}/clusters/{cluster_id}/rename", json={"name": "n" * limit})
    assert at_limit.status_code == 200, at_limit.text
    over = client.post(f"{API}/clusters/{cluster_id}/rename", json={"name": "n" * (limit + 1)})
    assert over.status_code == 422
    assert str(limit) in over.text and str(limit + 100) not in over.text
    with pytest.raises(InputError, match=f" {limit} characters"):
        review = ErrorAnalyticsService.from_settings(Settings(db=demo_db)).review
        review.rename(cluster_id, "n" * (limit + 1), actor="ana")


# -- error bodies ----------------------------------------------------------------------------------
def test_every_refusal_has_the_problem_shape(demo_db):
    with TestClient(create_app(Settings(db=demo_db, api_token=TOKEN))) as test_client:
        answers = [
            test_client.post(f"{API}/clusters/refresh", json={}),
            test_client.post(f"{API}/clusters/refresh", content=b"{}", headers=AUTH),
            test_client.post(
                f"{API}/clusters/c0/accept", content=b"\xff{", headers={**AUTH, **JSON}
            ),
            test_client.post(f"{API}/clusters/c0/accept", json={}, headers=AUTH),
            test_client.post(
                f"{API}/clusters/c0/ignore", json={"occurrences": 2**40}, headers=AUTH
            ),
        ]
    assert [answer.status_code for answer in answers] == [401, 415, 400, 404, 422]
    for answer in answers:
        assert set(answer.json()) == {"detail", "error"}, answer.text


# -- text no database can store ----------------------------------------------------------------------
def test_text_no_database_can_store_is_a_422(any_demo_url):
    """NUL (PostgreSQL refuses it) and lone surrogates (valid JSON escapes, no valid UTF-8)."""
    client = refreshed_client(Settings(db=any_demo_url))
    try:
        cluster_id = first_cluster_id(client)
        action = f"{API}/clusters/{cluster_id}"
        answers = [
            client.post(f"{action}/rename", json={"name": "a\x00b"}),
            client.post(f"{action}/accept", content=b'{"actor": "a\\ud800b"}', headers=JSON),
            client.post(f"{action}/merge", content=b'{"source_ids": ["a\\udcffb"]}', headers=JSON),
            client.post(f"{action}/merge", json={"source_ids": ["a\x00b"]}),
            client.get(f"{API}/clusters/a%00b"),
            client.get(f"{API}/audit", params={"cluster_id": "a\x00b"}),
        ]
    finally:
        client.__exit__(None, None, None)
    assert [answer.status_code for answer in answers] == [422] * len(answers)
    for answer in answers:
        assert set(answer.json()) == {"detail", "error"}, answer.text


def test_the_review_service_refuses_text_no_database_can_store(any_demo_url):
    """What ``analyze-errors clusters`` passes on (a non-UTF-8 argument decodes to a surrogate)."""
    review = ErrorAnalyticsService.from_settings(Settings(db=any_demo_url)).review
    review.refresh(30)
    cluster_id = review.list_clusters(limit=1).items[0].id
    with pytest.raises(InputError):
        review.rename(cluster_id, "a\x00b", actor="ana")
    with pytest.raises(InputError):
        review.accept(cluster_id, actor="an\udcffa")
    for unknown in ("a\x00b", "a\udcffb"):
        with pytest.raises(LookupError):
            review.get_cluster(unknown)
        with pytest.raises(LookupError):
            review.merge([unknown], cluster_id, actor="ana")


@pytest.mark.parametrize(
    "body",
    [b'{"expected_version": NaN}', b'{"actor": {"a": "\\ud800"}}', b'"\\ud800"', b"[1, Infinity]"],
)
def test_a_422_echoes_what_json_cannot_carry(client, body):
    """Python's JSON reader takes NaN and lone surrogates; the 422 that repeats them must not
    fail to encode them."""
    response = client.post(
        f"{API}/clusters/{first_cluster_id(client)}/accept", content=body, headers=JSON
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "RequestValidationError"
