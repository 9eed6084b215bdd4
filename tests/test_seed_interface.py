"""The host application's original interface, on real databases: ``ErrorAnalyticsService()``
built from the environment, its methods' defaults, ``classify_error`` as a method, the models
built from the original fields alone, ``ErrorAnalysisCLI`` and ``scripts/analyze_errors.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import error_analytics
from error_analytics import (
    DebugRecommendation,
    ErrorAnalysisCLI,
    ErrorAnalyticsService,
    ErrorPattern,
    ErrorSummary,
    PhaseErrorBreakdown,
    TrendData,
    cli,
    render,
)
from error_analytics.config import DatabaseTarget, Settings, get_settings
from error_analytics.errors import DatabaseUnavailableError
from error_analytics.models import to_jsonable
from error_analytics.store.engine import open_engine
from error_analytics.store.workflow_reader import WorkflowReader

from .builders import NOW, spec_database

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def environment(monkeypatch):
    """Set variables for get_settings() and read them afresh, as a new process would."""

    def configure(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield configure
    get_settings.cache_clear()


@pytest.fixture
def spec_url(db_url, environment):
    spec_database(db_url).dispose()
    environment(ERROR_ANALYTICS_DB=db_url)
    return db_url


def reader_service(url: str) -> ErrorAnalyticsService:
    return ErrorAnalyticsService(
        WorkflowReader(open_engine(DatabaseTarget(url, "test"))), clock=lambda: NOW
    )


def test_service_without_arguments_reads_the_configured_database(spec_url):
    service = ErrorAnalyticsService()  # the host's way: no arguments, from the environment
    expected = reader_service(spec_url)
    assert to_jsonable(service.get_error_summary()) == to_jsonable(expected.get_error_summary(30))
    assert service.get_error_summary().total_workflows == 10
    assert to_jsonable(service.analyze_by_phase()) == to_jsonable(expected.analyze_by_phase(30))
    assert to_jsonable(service.find_error_patterns()) == to_jsonable(
        expected.find_error_patterns(30)
    )
    assert to_jsonable(service.get_failure_trends()) == to_jsonable(expected.get_failure_trends(30))
    recommendations = service.get_debugging_recommendations()
    assert recommendations and to_jsonable(recommendations) == to_jsonable(
        expected.get_debugging_recommendations(30)
    )


def test_building_the_service_opens_nothing(tmp_path, environment):
    missing = tmp_path / "not-there.db"
    environment(ERROR_ANALYTICS_DB=str(missing))
    service = ErrorAnalyticsService()  # a host builds it at import time: must not fail here
    with pytest.raises(DatabaseUnavailableError, match="not-there.db"):
        service.get_error_summary()
    assert not missing.exists()


def test_settings_can_be_given_instead_of_the_environment(spec_url, environment):
    environment(ERROR_ANALYTICS_DB="/nowhere/else.db")
    service = ErrorAnalyticsService(settings=Settings(db=spec_url))
    assert service.get_error_summary().failed_workflows == 4


def test_classify_error_is_a_method_that_uses_the_rules_file(tmp_path, environment):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[categories.quota_error]\nname = "Quota Error"\ncategory = "Provider Issue"\n'
        'recommendation = "Back off"\nseverity = "low"\nkeywords = ["rate limit exceeded"]\n'
    )
    environment(ERROR_ANALYTICS_RULES=str(rules), ERROR_ANALYTICS_DB=str(tmp_path / "x.db"))
    service = ErrorAnalyticsService()
    assert service.classify_error("GitHub API rate limit exceeded") == "quota_error"
    assert service.classify_error("ModuleNotFoundError: No module named 'x'") == "import_error"
    assert service.classify_error("") == "unknown"
    assert service.classify_error(None) == "unknown"


def test_the_models_build_from_the_original_fields_alone():
    summary = ErrorSummary(
        total_workflows=10,
        failed_workflows=2,
        failure_rate=20.0,
        top_errors=[("import_error", 2)],
        most_problematic_phase="Build",
    )
    breakdown = PhaseErrorBreakdown(
        phase_error_counts={"Build": 2}, phase_failure_rates={"Build": 20.0}, total_errors=2
    )
    positional = PhaseErrorBreakdown({"Build": 2}, {"Build": 20.0}, 2, ["Build"])
    pattern = ErrorPattern(
        pattern_name="Import Error",
        occurrences=2,
        example_message="No module named 'x'",
        affected_phases=["Build"],
        recommendation="Install it",
    )
    recommendation = DebugRecommendation(
        issue="Import Error",
        severity="high",
        root_cause="missing package",
        solution="Install it",
        estimated_fix_time="15 minutes",
    )
    trend = TrendData([], {}, "stable", 0.0, [date(2025, 1, 1)])
    assert summary.most_problematic_phase == "Build" and summary.total_errors == 0
    assert breakdown.phases_above_threshold == [] and breakdown.phase_failed_runs == {}
    assert positional.total_errors == 2 and positional.phases_above_threshold == ["Build"]
    assert (pattern.occurrences, pattern.category_key, pattern.runs_affected) == (2, "unknown", 0)
    assert ErrorPattern("Import Error", 2, "x", ["Build"], "Install it").recommendation
    assert recommendation.kind == "category" and trend.days == 30


def test_error_analysis_cli_prints_the_analyze_errors_views(spec_url, capsys):
    host_cli = ErrorAnalysisCLI()
    assert isinstance(host_cli.service, ErrorAnalyticsService)
    for method in ("show_phase_breakdown", "show_trends"):
        getattr(host_cli, method)()
        printed = capsys.readouterr().out
        flag = "--phase" if method == "show_phase_breakdown" else "--trends"
        assert cli.main(["--db", spec_url, flag, "--no-progress"]) == 0
        assert printed == capsys.readouterr().out  # the very text of analyze-errors
    host_cli.show_summary(days=30)
    summary = capsys.readouterr().out
    assert summary.startswith(render.RULE + "\nERROR ANALYSIS - Last 30 Days\n")
    assert "Workflow runs: 10" in summary and "TOP ERROR PATTERNS" in summary
    assert "1. Connection Error (1 error, 1 run)" in summary
    host_cli.show_patterns(7)
    assert "ERROR ANALYSIS - Last 7 Days" in capsys.readouterr().out
    host_cli.show_recommendations()
    assert "DEBUGGING RECOMMENDATIONS" in capsys.readouterr().out


def test_generate_report_writes_every_section(spec_url, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    host_cli = ErrorAnalysisCLI()
    written = host_cli.generate_report(days=30)
    assert written == Path("error_analysis_report.md")
    text = written.read_text(encoding="utf-8")
    assert text.startswith("# Error analysis - last 30 days")
    for section in ("## Summary", "## Phase breakdown", "## Failure trends", "## Discovered"):
        assert section in text
    assert host_cli.generate_report(output=tmp_path / "b.md", days=7).is_file()
    assert host_cli.generate_report("c.md").read_text(encoding="utf-8").startswith("# Error")
    assert "Report written to c.md" in capsys.readouterr().err


def run_script(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "analyze_errors.py"), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})},
    )


def test_script_runs_the_host_flags_through_error_analysis_cli(sqlite_url, tmp_path):
    spec_database(sqlite_url).dispose()
    path = sqlite_url.removeprefix("sqlite:///")
    result = run_script("--db", path, "--summary", "--trends", "--days", "30")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ERROR ANALYSIS - Last 30 Days") == 2  # one banner per view
    assert "Workflow runs: 10" in result.stdout and "FAILURE TRENDS" in result.stdout
    report = tmp_path / "weekly.md"
    result = run_script("--report", "--output", str(report), env={"ERROR_ANALYTICS_DB": path})
    assert result.returncode == 0, result.stderr
    assert report.read_text(encoding="utf-8").startswith("# Error analysis - last 30 days")


def test_script_takes_every_analyze_errors_option(sqlite_url, tmp_path):
    spec_database(sqlite_url).dispose()
    path = sqlite_url.removeprefix("sqlite:///")
    result = run_script("--db", path, "--summary", "--json", "--no-state")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["total_workflows"] == 10
    missing = run_script("--db", str(tmp_path / "missing.db"), "--phase")
    assert missing.returncode == 2 and missing.stderr.startswith("Error: ")
    assert run_script("--days", "0").returncode == 2  # the same validation as analyze-errors


def test_the_host_names_are_exported():
    names = set(error_analytics.__all__)
    assert len(names) == len(error_analytics.__all__)
    for name in (
        "ErrorAnalyticsService",
        "ErrorAnalysisCLI",
        "ErrorSummary",
        "PhaseErrorBreakdown",
        "ErrorPattern",
        "DebugRecommendation",
        "TrendData",
        "ERROR_PATTERNS",
        "classify_error",
    ):
        assert name in names
    assert all(getattr(error_analytics, name) is not None for name in error_analytics.__all__)
