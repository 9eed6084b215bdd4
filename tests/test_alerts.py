"""Alerts: a refresh POSTs new clusters, regressions and spikes to a real local receiver, once."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from error_analytics.config import DatabaseTarget, Settings, settings_from_environ
from error_analytics.demo.schema import insert_rows
from error_analytics.errors import ConfigurationError
from error_analytics.models import DiscoveredCluster
from error_analytics.review import ClusterReviewService
from error_analytics.review.alerts import (
    AlertEvent,
    WebhookPolicy,
    build_payload,
    slack_escape,
    spike_days,
)
from error_analytics.service import ErrorAnalyticsService
from error_analytics.store.engine import open_engine
from error_analytics.store.state import open_state_engine
from error_analytics.store.state.tables import alerts
from error_analytics.store.workflow_reader import WorkflowReader

from .test_review_helpers import Clock, cluster_with, scenario, scenario_week, workflow_row


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers the scripted codes."""

    def __init__(self, port: int = 0, codes: list[int] | None = None, delay: float = 0.0):
        self.codes = list(codes or [])
        self.delay = delay
        self.received: list[dict] = []  # bodies answered 2xx
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                with lock:
                    receiver.requests += 1
                    code = receiver.codes.pop(0) if receiver.codes else 200
                    if code < 300:
                        receiver.received.append(json.loads(body))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        lock = threading.Lock()
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, kind: str | None = None) -> list[dict]:
        return [body for body in self.received if kind is None or body["event"] == kind]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def receiving(**options) -> Iterator[Receiver]:
    receiver = Receiver(**options)
    try:
        yield receiver
    finally:
        receiver.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def alerting(url: str, clock: Clock, webhook: str | None) -> ClusterReviewService:
    """A review service on ``url`` (analysed and state) that alerts ``webhook``."""
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(DatabaseTarget(url, "test"))),
        clock=clock,
        settings=Settings(alert_webhook_url=webhook, alert_backoff_seconds=0.01),
        state_engine=open_state_engine(DatabaseTarget(url, "test state")),
    ).review


def alert_rows(url: str) -> dict[str, tuple[str, int, str | None]]:
    """event key -> (status, attempts, last error), as recorded in the state."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(alerts.name):
                return {}
            rows = connection.execute(
                sa.select(
                    alerts.c.event_key, alerts.c.status, alerts.c.attempts, alerts.c.last_error
                )
            )
            return {row[0]: (row[1], row[2], row[3]) for row in rows}
    finally:
        engine.dispose()


def test_each_new_cluster_is_sent_once(db_url):
    scenario(db_url)
    with receiving() as receiver:
        service = alerting(db_url, Clock(), receiver.url)
        result = service.refresh(30)
        assert result.new_cluster_ids
        sent = receiver.events("new_cluster")
        assert sorted(body["cluster_id"] for body in sent) == sorted(result.new_cluster_ids)
        assert len(receiver.received) == len(sent)  # nothing reviewed yet: no spike, no regression
        body = sent[0]
        assert body["sent_by"] == "error-analytics"
        assert body["errors"] >= 1 and body["runs"] >= 1 and body["first_seen"] and body["example"]
        assert slack_escape(body["name"]) in body["text"] and body["cluster_id"] in body["text"]

        assert service.refresh(30).new_clusters == 0
        assert len(receiver.received) == len(sent)  # nothing again
    rows = alert_rows(db_url)
    assert set(rows) == {f"new_cluster:{cluster_id}" for cluster_id in result.new_cluster_ids}
    assert {status for status, _, _ in rows.values()} == {"sent"}


def test_a_resolved_cluster_that_comes_back_is_sent_as_regressed(db_url):
    scenario(db_url)
    clock = Clock()
    with receiving() as receiver:
        service = alerting(db_url, clock, receiver.url)
        service.refresh(30)
        recurring = cluster_with(service, "Phase failed after")
        service.resolve(recurring, actor="alice")
        service.refresh(30)
        assert receiver.events("regressed") == []

        scenario_week(db_url, clock)
        result = service.refresh(30)
        assert result.regressed_ids == [recurring]
        regressed = receiver.events("regressed")
        assert [body["cluster_id"] for body in regressed] == [recurring]
        assert regressed[0]["text"].startswith("Resolved error cluster came back")
        assert any("EADDRINUSE" in body["example"] for body in receiver.events("new_cluster"))
        service.refresh(30)
        assert len(receiver.events("regressed")) == 1


def test_a_spike_of_a_reviewed_cluster_is_sent_once_per_day(db_url):
    scenario(db_url)
    clock = Clock()
    with receiving() as receiver:
        service = alerting(db_url, clock, receiver.url)
        service.refresh(30)
        worker = cluster_with(service, "Worker")
        service.accept(worker, actor="alice")
        engine = sa.create_engine(db_url)
        rows = [
            workflow_row(f"s{index:07d}", "failed", 0.1, failure_reason="Worker alpha crashed")
            for index in range(8)
        ]
        insert_rows(engine, "workflow_history", rows)
        engine.dispose()
        service.refresh(30)
        spikes = receiver.events("spike")
        assert [body["cluster_id"] for body in spikes] == [worker]
        assert spikes[0]["day"] == clock.now.date().isoformat() and spikes[0]["day_errors"] >= 8
        service.refresh(30)
        assert len(receiver.events("spike")) == 1


def test_a_server_error_is_retried_and_sent_once(db_url):
    scenario(db_url)
    with receiving(codes=[500, 503]) as receiver:
        service = alerting(db_url, Clock(), receiver.url)
        result = service.refresh(30)
        assert len(receiver.received) == len(result.new_cluster_ids)
        assert receiver.requests == len(result.new_cluster_ids) + 2
    statuses = {
        key: (status, attempts) for key, (status, attempts, _) in alert_rows(db_url).items()
    }
    assert sorted(statuses.values()).count(("sent", 1)) == len(result.new_cluster_ids) - 1
    assert ("sent", 3) in statuses.values()


def test_a_receiver_that_is_down_gets_the_alerts_when_it_comes_back(db_url):
    scenario(db_url)
    port = free_port()
    service = alerting(db_url, Clock(), f"http://127.0.0.1:{port}/hook")
    result = service.refresh(30)  # nothing listens: the refresh still succeeds
    assert result.new_cluster_ids
    rows = alert_rows(db_url)
    assert len(rows) == len(result.new_cluster_ids) > 1
    tried = [attempts for status, attempts, error in rows.values() if attempts]
    assert {status for status, _, _ in rows.values()} == {"pending"}
    assert tried == [3]  # the first one's retries; the others wait for the next pass
    assert all(error for _, attempts, error in rows.values() if attempts)

    with receiving(port=port) as receiver:
        service.refresh(30)
        assert sorted(body["cluster_id"] for body in receiver.received) == sorted(
            result.new_cluster_ids
        )
    attempts = sorted(attempts for status, attempts, _ in alert_rows(db_url).values())
    assert {status for status, _, _ in alert_rows(db_url).values()} == {"sent"}
    assert attempts == [1] * (len(rows) - 1) + [4]


def test_delivery_gives_up_after_the_last_attempt(sqlite_url):
    scenario(sqlite_url)
    with receiving(codes=[503] * 100) as receiver:
        service = alerting(sqlite_url, Clock(), receiver.url)
        result = service.refresh(30)
        assert service.alerter is not None
        for _ in range(3 * len(result.new_cluster_ids)):
            service.alerter.deliver_pending()
        assert receiver.requests == 9 * len(result.new_cluster_ids)
    for status, attempts, error in alert_rows(sqlite_url).values():
        assert (status, attempts) == ("failed", 9)
        assert error is not None and error.startswith("gave up after 9 attempts: HTTP 503")


def test_a_client_error_fails_at_once(db_url):
    scenario(db_url)
    with receiving(codes=[400] * 100) as receiver:
        service = alerting(db_url, Clock(), receiver.url)
        result = service.refresh(30)
        assert receiver.requests == len(result.new_cluster_ids)
        service.refresh(30)
        assert receiver.requests == len(result.new_cluster_ids)  # not retried
    rows = alert_rows(db_url)
    assert {(status, attempts, error) for status, attempts, error in rows.values()} == {
        ("failed", 1, "HTTP 400 Bad Request")
    }
    assert service.alerter is not None
    assert {alert.event_key for alert in service.alerter.recorded()} == set(rows)


def test_two_services_refreshing_at_once_send_each_event_once(db_url):
    scenario(db_url)
    with receiving(delay=0.05) as receiver:
        services = [alerting(db_url, Clock(), receiver.url) for _ in range(2)]
        barrier = threading.Barrier(2)
        errors: list[Exception] = []

        def refresh(service: ClusterReviewService) -> None:
            try:
                barrier.wait()
                service.refresh(30)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=refresh, args=(service,)) for service in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        ids = [body["cluster_id"] for body in receiver.received]
        assert ids and len(ids) == len(set(ids))
        assert len(ids) == len(alert_rows(db_url))


def test_the_same_events_recorded_by_two_processes_at_once_are_sent_once(db_url):
    scenario(db_url)
    clock = Clock()
    result = alerting(db_url, clock, None).refresh(30)  # the clusters, without alerts
    assert result.new_cluster_ids
    with receiving(delay=0.05) as receiver:
        services = [alerting(db_url, clock, receiver.url) for _ in range(2)]
        window = services[0].analytics.window(30)
        barrier = threading.Barrier(2)
        recorded: list[int] = []

        def record_and_send(service: ClusterReviewService) -> None:
            assert service.alerter is not None
            barrier.wait()
            recorded.append(service.alerter.record(result, now=window.end, since=window.start))
            service.alerter.deliver_pending()

        threads = [threading.Thread(target=record_and_send, args=(s,)) for s in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(recorded) == len(result.new_cluster_ids)
        ids = sorted(body["cluster_id"] for body in receiver.received)
        assert ids == sorted(result.new_cluster_ids)


def test_no_webhook_records_nothing(db_url):
    scenario(db_url)
    service = alerting(db_url, Clock(), None)
    assert service.alerter is None
    assert service.refresh(30).new_cluster_ids
    assert alert_rows(db_url) == {}


def test_text_is_one_escaped_line_and_long_text_is_cut():
    message = "<!channel> & <https://evil.example|click>\n" + "x" * 5000
    cluster = DiscoveredCluster(
        id="c1",
        size=3,
        name="<b>name</b>",
        template=message,
        top_terms=[],
        examples=[message],
        category="unknown",
        confidence=0.0,
        decided_by="none",  # type: ignore[arg-type]
        recommendation="",
    )
    payload = build_payload(AlertEvent.NEW_CLUSTER, cluster)
    assert "<" not in payload["text"] and ">" not in payload["text"] and "\n" not in payload["text"]
    assert "&lt;!channel&gt; &amp; &lt;https" in payload["text"]
    assert len(payload["text"]) <= 600 and len(payload["example"]) <= 1000
    assert slack_escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    json.dumps(payload)


def test_spike_days_names_the_spiking_day():
    quiet = [0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0]
    assert spike_days([*quiet, 9], date(2026, 1, 31)) == [(date(2026, 1, 31), 9)]
    assert spike_days([*quiet, 9, 0], date(2026, 2, 1)) == [(date(2026, 1, 31), 9)]
    assert spike_days([*quiet, 1], date(2026, 1, 31)) == []


def test_the_webhook_setting_and_its_checks():
    settings = settings_from_environ(
        {"ERROR_ANALYTICS_ALERT_WEBHOOK_URL": "https://hooks.example/x"}
    )
    assert settings.alert_webhook_url == "https://hooks.example/x"
    assert settings.alert_backoff_seconds == 0.5
    with pytest.raises(ConfigurationError, match="ERROR_ANALYTICS_ALERT_BACKOFF"):
        settings_from_environ({"ERROR_ANALYTICS_ALERT_BACKOFF": "soon"})
    with pytest.raises(ConfigurationError, match="http"):
        WebhookPolicy("file:///etc/passwd")


def test_recorded_alerts_are_listed_by_the_cli_and_the_api(sqlite_url, capsys):
    import json

    from fastapi.testclient import TestClient

    from error_analytics import cli
    from error_analytics.api import create_app
    from error_analytics.config import Settings

    scenario(sqlite_url)
    with receiving(codes=[400] * 100) as receiver:
        service = alerting(sqlite_url, Clock(), receiver.url)
        result = service.refresh(30)
    recorded = service.alerts(limit=1000)
    assert {alert.cluster_id for alert in recorded} == set(result.new_cluster_ids)
    assert {alert.status for alert in recorded} == {"failed"}

    settings = Settings(db=sqlite_url)
    with TestClient(create_app(settings)) as client:
        answer = client.get("/api/error-analytics/alerts", params={"limit": 2})
    assert answer.status_code == 200
    assert [alert["id"] for alert in answer.json()] == [alert.id for alert in recorded[:2]]
    assert answer.json()[0]["last_error"].startswith("HTTP 400")

    assert cli.main(["--db", sqlite_url, "clusters", "alerts", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == len(recorded)
    assert cli.main(["--db", sqlite_url, "clusters", "alerts", "--limit", "1"]) == 0
    text = capsys.readouterr().out
    assert "failed" in text and recorded[0].event_key[:40] in text
