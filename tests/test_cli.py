"""The analyze-errors command: output, exit codes, --json, --report, on real databases."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from error_analytics.cli import main

from .builders import host_database, spec_database

REPO = Path(__file__).resolve().parent.parent


def path_of(sqlite_url: str) -> str:
    return sqlite_url.removeprefix("sqlite:///")


@pytest.fixture
def spec_db(sqlite_url) -> str:
    spec_database(sqlite_url).dispose()
    return path_of(sqlite_url)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_default_view_is_the_summary(capsys, spec_db):
    code, out, err = run_cli(capsys, "--db", spec_db)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "=" * 80 and lines[1] == "ERROR ANALYSIS - Last 30 Days"
    for expected in (
        "SUMMARY",
        "Workflow runs: 10",
        "Failed runs: 4",
        "Failure rate: 40.0%",
        "Most problematic phase: Test (3 failed runs)",
        "TOP ERROR PATTERNS",
    ):
        assert expected in lines
    assert any(re.fullmatch(r"1\. .+ \(\d+ errors?, \d+ runs?\)", line) for line in lines)
    assert any(line.strip().startswith("Recommendation:") for line in lines)
    assert "DATA QUALITY" in lines and any("malformed JSON" in line for line in lines)


def test_phase_view(capsys, spec_db):
    code, out, _ = run_cli(capsys, "--db", spec_db, "--phase")
    assert code == 0
    assert "PHASE BREAKDOWN" in out
    assert any(line.startswith("Test:") and "3 errors (30.0%)" in line for line in out.splitlines())
    assert any(line.startswith("Plan:") and "0 errors (0.0%)" in line for line in out.splitlines())


@pytest.mark.parametrize(
    ("flag", "key", "field"),
    [
        ("--summary", "summary", "failure_rate"),
        ("--phase", "by_phase", "phase_failure_rates"),
        ("--patterns", "patterns", None),
        ("--trends", "trends", "direction"),
        ("--recommendations", "recommendations", None),
        ("--cluster", "clusters", None),
    ],
)
def test_json_for_every_view(capsys, spec_db, flag, key, field):
    code, out, _ = run_cli(capsys, "--db", spec_db, flag, "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["days"] == 30
    assert key in payload
    if field:
        assert field in payload[key]
    else:
        assert isinstance(payload[key], list) and payload[key]


def test_json_summary_fields(capsys, spec_db):
    payload = json.loads(run_cli(capsys, "--db", spec_db, "--json")[1])
    summary = payload["summary"]
    assert summary["total_workflows"] == 10 and summary["failed_workflows"] == 4
    assert summary["failure_rate"] == 40.0
    assert ["timeout_error", 1] in summary["top_errors"]
    assert summary["most_problematic_phase"] == "Test"
    assert summary["data_quality"]["rows_skipped"]["phase_errors: malformed JSON"] == 1


def test_report_has_every_section(capsys, spec_db, tmp_path):
    output = tmp_path / "report.md"
    code, _, err = run_cli(capsys, "--db", spec_db, "--report", "--output", str(output))
    assert code == 0, err
    text = output.read_text()
    for heading in (
        "## Summary",
        "## Top error patterns",
        "## Phase breakdown",
        "## Failure trends",
        "## Debugging recommendations",
        "## Discovered clusters",
        "## Data quality",
    ):
        assert heading in text
    assert "| Failure rate | 40.0% |" in text


def test_host_layout_on_postgresql(capsys, pg_url):
    host_database(pg_url).dispose()
    code, out, err = run_cli(capsys, "--db", pg_url, "--json", "--summary")
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert (summary["total_workflows"], summary["failed_workflows"]) == (11, 4)
    assert (
        summary["data_quality"]["engine"] == "postgresql"
        and summary["data_quality"]["layout"] == "host"
    )


def test_missing_database_file_exits_2_with_one_line(capsys, tmp_path):
    code, out, err = run_cli(capsys, "--db", str(tmp_path / "missing.db"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("Error: database file not found")


def test_unreachable_server_exits_2(capsys):
    code, _, err = run_cli(capsys, "--db", "postgresql://nobody:pw@127.0.0.1:1/adw")
    assert code == 2 and err.startswith("Error: cannot connect to") and "pw@" not in err


def test_bad_days_is_a_usage_error(capsys, spec_db):
    with pytest.raises(SystemExit) as exited:
        main(["--db", spec_db, "--days", "0"])
    assert exited.value.code == 2
    assert "outside 1-3650" in capsys.readouterr().err


def test_invalid_rules_file_is_one_line(capsys, spec_db, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[categories.import_error\nkeywords = 3\n")
    code, _, err = run_cli(capsys, "--db", spec_db, "--rules", str(rules))
    assert code == 2 and err.startswith("Error: ") and err.count("\n") == 1


def test_database_from_environment(capsys, spec_db, monkeypatch):
    from error_analytics.config import get_settings

    monkeypatch.setenv("ERROR_ANALYTICS_DB", spec_db)
    get_settings.cache_clear()
    try:
        code, out, _ = run_cli(capsys, "--summary")
    finally:
        get_settings.cache_clear()
    assert code == 0 and "Workflow runs: 10" in out


@pytest.mark.parametrize(
    "entry", [["-m", "error_analytics"], [str(REPO / "scripts" / "analyze_errors.py")]]
)
def test_entry_points(spec_db, entry):
    result = subprocess.run(
        [sys.executable, *entry, "--db", spec_db, "--phase"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    assert result.returncode == 0, result.stderr
    assert "PHASE BREAKDOWN" in result.stdout


def test_demo_is_built_once_then_reused_and_can_grow(capsys, tmp_path, monkeypatch):
    demo = tmp_path / "demo.db"
    monkeypatch.setenv("ERROR_ANALYTICS_DEMO_DB", str(demo))
    code, out, err = run_cli(capsys, "--demo", "--json", "--days", "90")
    assert code == 0, err
    first = json.loads(out)["summary"]
    assert demo.is_file() and first["total_workflows"] >= 1500
    assert first["failed_without_error_text"] > 0
    modified = demo.stat().st_mtime_ns
    code, out, _ = run_cli(capsys, "--demo", "--json", "--days", "90", "--no-state")
    again = json.loads(out)["summary"]
    # the same runs and errors; cluster sizes may differ by a template's stragglers, because the
    # stateful path places whole templates while --no-state labels single messages
    assert code == 0 and {**again, "top_clusters": None} == {**first, "top_clusters": None}
    assert demo.stat().st_mtime_ns == modified  # reused, not rebuilt
    code, out, err = run_cli(
        capsys, "--demo", "--demo-add-days", "3", "--json", "--days", "90", "--no-state"
    )
    assert code == 0, err
    grown = json.loads(out)["summary"]
    assert grown["total_workflows"] > first["total_workflows"]
    assert grown["failed_workflows"] > first["failed_workflows"]
