"""``analyze-errors serve``: safe defaults, refusals, settings from options and the environment,
and a real uvicorn process answering on 127.0.0.1."""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from error_analytics.cli.serve import (
    DEFAULT_HOST,
    is_loopback,
    register_serve_command,
    run_serve,
    serve_settings,
)
from error_analytics.config import Settings
from error_analytics.errors import ConfigurationError

from .builders import spec_database


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="analyze-errors")
    register_serve_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_defaults_bind_loopback():
    args = parse()
    assert args.host == DEFAULT_HOST == "127.0.0.1"
    assert args.handler is run_serve
    assert not args.allow_remote_without_token


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_remote_hosts(host):
    assert not is_loopback(host)


def test_remote_host_without_token_is_refused():
    with pytest.raises(ConfigurationError, match="without a token"):
        serve_settings(parse("--host", "0.0.0.0"), Settings())


def test_remote_host_with_a_token_or_the_explicit_flag(tmp_path):
    assert (
        serve_settings(parse("--host", "0.0.0.0", "--token", "s3cret"), Settings()).api_token
        == "s3cret"
    )
    from_environment = Settings(api_token="from-env")
    assert serve_settings(parse("--host", "0.0.0.0"), from_environment).api_token == "from-env"
    assert (
        serve_settings(
            parse("--host", "0.0.0.0", "--allow-remote-without-token"), Settings()
        ).api_token
        is None
    )


def test_options_override_the_environment(tmp_path):
    base = Settings(db="env.db", state_db="env-state.db", rules_file="env.toml")
    settings = serve_settings(
        parse("--db", "x.db", "--state-db", "s.db", "--rules", "r.toml"), base
    )
    assert (settings.db, settings.state_db, settings.rules_file) == ("x.db", "s.db", "r.toml")
    assert serve_settings(parse(), base).db == "env.db"


@pytest.mark.parametrize("argv", [("--demo", "--db", "x.db"), ("--port", "0"), ("--port", "70000")])
def test_bad_options(argv):
    with pytest.raises(ConfigurationError):
        serve_settings(parse(*argv), Settings())


def test_missing_database_fails_before_serving(tmp_path, capsys):
    from error_analytics.cli import main

    assert main(["serve", "--db", str(tmp_path / "missing.db")]) == 2
    assert "Error: database file not found" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> Iterator[str]:
    """``analyze-errors serve ARGV`` in a subprocess on a free port; yields the base URL.

    A subprocess, not a thread: a server that crashes fails the test instead of the test run.
    """
    port = _free_port()
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "error_analytics",
            "serve",
            *argv,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                pytest.fail(f"the server exited with {process.returncode}:\n{log.read()}")
            try:
                with urllib.request.urlopen(f"{base}/api/error-analytics/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the server did not answer in time")
                time.sleep(0.2)
        yield base
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"the server died with {process.returncode}:\n{log.read()}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def test_serves_the_api_and_the_page(sqlite_url):
    spec_database(sqlite_url).dispose()
    with served("--db", sqlite_url, env={"ERROR_ANALYTICS_API_TOKEN": "s3cret"}) as base:
        health = get_json(f"{base}/api/error-analytics/health")
        assert health["status"] == "ok" and health["writes_need_token"] is True
        with urllib.request.urlopen(f"{base}/", timeout=5) as response:
            page = response.read().decode()
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert 'content="/api/error-analytics"' in page
        assert (
            get_json(f"{base}/api/error-analytics/clusters")["total"] >= 1
        )  # refreshed at startup
        request = urllib.request.Request(
            f"{base}/api/error-analytics/clusters/refresh",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401


def test_concurrent_requests_on_sqlite(sqlite_url):
    """The dashboard asks for five views at once: the server must answer them all, and live."""
    spec_database(sqlite_url).dispose()
    views = ("summary", "trends", "by-phase", "recommendations", "patterns")
    with served("--db", sqlite_url, "--no-refresh") as base:
        urls = [f"{base}/api/error-analytics/{view}?days=30" for view in views] * 12

        def status(url: str) -> object:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError as exc:
                return type(exc).__name__

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            statuses = collections.Counter(pool.map(status, urls))
        assert statuses == {200: len(urls)}, (
            f"{dict(statuses)}: a crashed server points at the read-only SQLite engine's pool, which must be "
            "thread-safe (QueuePool, not SingletonThreadPool) under uvicorn's thread pool"
        )


def test_main_options_given_before_serve_are_kept():
    from error_analytics.cli import build_parser

    args = build_parser().parse_args(
        ["--db", "before.db", "--rules", "r.toml", "serve", "--state-db", "s.db"]
    )
    assert args.handler is run_serve
    settings = serve_settings(args, Settings())
    assert (settings.db, settings.rules_file, settings.state_db) == ("before.db", "r.toml", "s.db")
    after = serve_settings(build_parser().parse_args(["serve", "--db", "after.db"]), Settings())
    assert after.db == "after.db"
