"""The command line's contract: exit status, one-line errors, option combinations, clean text.

Exit status 0 when it worked, 2 for usage and data errors, 1 only for a bug; every error is one
``Error: ...`` line on stderr. Every combination of the view flags with ``--json``, ``--output``,
``--input`` and ``--review`` either does what it says or is refused with a message.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import sys

import pytest
import sqlalchemy as sa

from error_analytics import render
from error_analytics.cli import build_parser, main
from error_analytics.demo import create_workflow_tables, insert_rows
from error_analytics.models import Phase

from .builders import run, spec_database

TEXT_HEADINGS = {
    "--summary": "SUMMARY",
    "--phase": "PHASE BREAKDOWN",
    "--patterns": "TOP ERROR PATTERNS",
    "--trends": "FAILURE TRENDS",
    "--recommendations": "DEBUGGING RECOMMENDATIONS",
    "--cluster": "ERROR CLUSTERS",
}
JSON_KEYS = {
    "--summary": "summary",
    "--phase": "by_phase",
    "--patterns": "patterns",
    "--trends": "trends",
    "--recommendations": "recommendations",
    "--cluster": "clusters",
}
LOST_ESCAPE = "[96msrc/api/client.ts[0m"
HOSTILE = "<script>alert(1)</script> *bold* _under_ [link](http://x) `tick` a|b"


def outcome(capsys, argv: list[str]) -> tuple[int, str, str]:
    """``(exit status, stdout, stderr)`` of ``analyze-errors argv``, as a shell would see them."""
    try:
        status = main(argv)
    except SystemExit as exited:  # argparse: --help, usage errors
        status = int(exited.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_error_line(status: int, out: str, err: str, expected_status: int = 2) -> None:
    assert status == expected_status, err
    assert out == ""
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.fixture
def spec_db(sqlite_url) -> str:
    spec_database(sqlite_url).dispose()
    return sqlite_url.removeprefix("sqlite:///")


@pytest.fixture
def noisy_db(tmp_path) -> str:
    """Failures whose text has colour codes without their ESC byte, and HTML/Markdown markup."""
    path = tmp_path / "noisy.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    create_workflow_tables(engine, "spec")
    colour = f"{LOST_ESCAPE} Internal server error: Failed to resolve import ./ErrorTrend"
    rows = [
        run(f"n{index:07d}", "failed", 1 + index * 0.5, current_phase="Build", failure_reason=text)
        for index, text in enumerate([colour] * 4 + [HOSTILE] * 4)
    ]
    rows += [run(f"k{index:07d}", "completed", 1 + index * 0.5) for index in range(4)]
    insert_rows(engine, "workflow_history", rows)
    engine.dispose()
    return str(path)


# -- exit status and one-line errors ----------------------------------------------------------


def test_help_documents_the_exit_status(capsys):
    status, out, _ = outcome(capsys, ["--help"])
    assert status == 0
    assert "Exit status:" in out
    assert any(line.split()[:1] == ["2"] for line in out.splitlines())
    assert any(line.split()[:1] == ["1"] and "bug" in line for line in out.splitlines())


def test_a_file_that_is_not_a_database_is_one_line_exit_2(capsys, tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are notes, not a database\n" * 20)
    for argv in (
        ["--db", str(path)],
        ["--db", str(path), "clusters", "list"],
        ["serve", "--db", str(path)],
    ):
        status, out, err = outcome(capsys, argv)
        assert_one_error_line(status, out, err)
        assert f"not a SQLite database: {path}" in err


def test_a_damaged_database_is_a_data_error(capsys, tmp_path):
    path = tmp_path / "damaged.db"
    path.write_bytes(b"SQLite format 3\x00" + random.Random(9).randbytes(8192))
    status, out, err = outcome(capsys, ["--db", str(path), "--phase"])
    assert_one_error_line(status, out, err)
    assert "the database failed" in err


def test_a_directory_is_named_a_directory(capsys, tmp_path):
    status, out, err = outcome(capsys, ["--db", str(tmp_path)])
    assert_one_error_line(status, out, err)
    assert "is a directory" in err and "not found" not in err


def test_review_errors_exit_2(capsys, spec_db):
    argv = ["--db", spec_db, "clusters", "show", "cnothere000", "--no-refresh"]
    status, out, err = outcome(capsys, argv)
    assert_one_error_line(status, out, err)
    status, out, err = outcome(capsys, ["--db", spec_db, "clusters", "undo", "4242"])
    assert_one_error_line(status, out, err)
    listed = json.loads(outcome(capsys, ["--db", spec_db, "--json", "clusters", "list"])[1])
    first = listed["items"][0]
    stale = str(first["version"] + 5)
    status, out, err = outcome(
        capsys, ["--db", spec_db, "clusters", "accept", first["id"], "--if-version", stale]
    )
    assert_one_error_line(status, out, err)


def test_usage_errors_are_one_line_exit_2(capsys, spec_db):
    for argv in (["--bogus"], ["--db", spec_db, "--days", "0"], ["clusters"]):
        status, out, err = outcome(capsys, argv)
        assert_one_error_line(status, out, err)


def test_a_bug_exits_1_in_one_line_and_shows_the_traceback_only_when_asked(
    capsys, spec_db, monkeypatch
):
    def broken(days: int) -> list[str]:
        raise ZeroDivisionError("a bug in the renderer")

    monkeypatch.setattr(render, "header", broken)
    status, out, err = outcome(capsys, ["--db", spec_db, "--phase"])
    assert_one_error_line(status, out, err, expected_status=1)
    assert "ZeroDivisionError" in err and "ERROR_ANALYTICS_DEBUG" in err
    monkeypatch.setenv("ERROR_ANALYTICS_DEBUG", "1")
    status, out, err = outcome(capsys, ["--db", spec_db, "--phase"])
    assert status == 1 and "Traceback" in err and err.splitlines()[-1].startswith("Error: ")


# -- clusters list --phase ----------------------------------------------------------------------


def test_phase_filter_refuses_unknown_names_and_accepts_documented_spellings(capsys, spec_db):
    status, out, err = outcome(capsys, ["--db", spec_db, "clusters", "list", "--phase", "Nope"])
    assert_one_error_line(status, out, err)
    assert all(phase.value in err for phase in Phase.ordered())

    def listed(phase: str) -> list[str]:
        argv = ["--db", spec_db, "--json", "clusters", "list", "--phase", phase]
        status, out, err = outcome(capsys, argv)
        assert status == 0, err
        return [item["id"] for item in json.loads(out)["items"]]

    canonical = listed("Test")
    assert canonical
    assert listed("testing") == listed("TEST") == listed("adw_test_iso") == canonical
    assert outcome(capsys, ["--db", spec_db, "clusters", "list", "--phase", "unknown"])[0] == 0


# -- every combination of view flags, --json, --output, --input, --review ----------------------

VIEW_SETS = [
    (),
    ("--summary",),
    ("--phase",),
    ("--patterns",),
    ("--trends",),
    ("--recommendations",),
    ("--cluster",),
    ("--report",),
    ("--summary", "--phase", "--cluster"),
    ("--report", "--phase"),
]
MODES = ("database", "input", "review")
MATRIX = list(itertools.product(MODES, VIEW_SETS, (False, True), (False, True)))


def expected(mode: str, views: tuple[str, ...], as_json: bool, output: bool) -> str | None:
    """The format the combination produces ("text", "json", "markdown"), or None: refused."""
    if mode == "review":
        return None if views or as_json or output else "text"
    if mode == "input":
        return ("json" if as_json else "text") if views == ("--cluster",) else None
    if "--report" in views:
        if len(views) > 1:
            return None
        return "json" if as_json else "markdown"
    return "json" if as_json else "text"


def check_format(text: str, form: str, mode: str, views: tuple[str, ...]) -> None:
    shown = [flag for flag in views if flag in TEXT_HEADINGS] or (
        ["--summary"] if mode == "database" and not views else []
    )
    if form == "json":
        payload = json.loads(text)
        if mode == "input":
            assert {"clusters", "assignments"} <= set(payload)
            return
        every = list(JSON_KEYS) if "--report" in views else shown
        assert {JSON_KEYS[flag] for flag in every} <= set(payload)
        assert {"days"} | {JSON_KEYS[flag] for flag in every} >= set(payload) - {"data_quality"}
    elif form == "markdown":
        assert text.startswith("# Error analysis") and "## Discovered clusters" in text
    elif mode == "input":
        assert "messages from" in text and "ERROR CLUSTERS" in text
    elif mode == "review":
        assert text.strip()
    else:
        lines = text.splitlines()
        assert lines[0] == "=" * 80
        for flag, heading in TEXT_HEADINGS.items():
            assert (heading in lines) == (flag in shown) or (
                flag == "--patterns" and "--summary" in shown
            ), (flag, shown)


@pytest.mark.parametrize(
    ("mode", "views", "as_json", "output"),
    MATRIX,
    ids=[
        f"{mode}-{'+'.join(views) or 'default'}-{'json' if as_json else 'text'}"
        f"-{'output' if output else 'stdout'}"
        for mode, views, as_json, output in MATRIX
    ],
)
def test_option_combinations(mode, views, as_json, output, capsys, spec_db, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    messages = tmp_path / "messages.txt"
    messages.write_text("ECONNREFUSED localhost:9100\nModuleNotFoundError: No module named 'x'\n")
    argv = {
        "database": ["--db", spec_db],
        "input": ["--input", str(messages)],
        "review": ["--db", spec_db, "--review"],
    }[mode] + list(views)
    if as_json:
        argv.append("--json")
    target = work / "written.out"
    if output:
        argv += ["--output", str(target)]
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
    status, out, err = outcome(capsys, argv)
    form = expected(mode, views, as_json, output)
    if form is None:
        assert_one_error_line(status, out, err)
        assert list(work.iterdir()) == []
        return
    assert status == 0, err
    if "--report" in views and not output:
        target = work / f"error_analysis_report.{'json' if as_json else 'md'}"
    if output or "--report" in views:
        assert out == "" and list(work.iterdir()) == [target]
        check_format(target.read_text(encoding="utf-8"), form, mode, views)
        assert f"Written to {target.name}" in err or f"Written to {target}" in err
    else:
        assert list(work.iterdir()) == []
        check_format(out, form, mode, views)


def test_views_that_take_no_options_refuse_them(capsys, spec_db):
    for argv in (
        ["--db", spec_db, "--phase", "clusters", "list"],
        ["--db", spec_db, "--output", "x.txt", "clusters", "list"],
        ["--db", spec_db, "--json", "serve"],
        ["--db", spec_db, "--json", "clusters", "review"],
        ["--db", spec_db, "--cluster", "--input", "x.txt"],
    ):
        status, out, err = outcome(capsys, argv)
        assert_one_error_line(status, out, err)


# -- message text in the text and Markdown outputs --------------------------------------------


def test_colour_codes_without_escape_never_reach_the_output(capsys, noisy_db, tmp_path):
    views = ["--summary", "--phase", "--trends", "--recommendations", "--cluster"]
    status, out, err = outcome(capsys, ["--db", noisy_db, *views])
    assert status == 0, err
    assert "src/api/client.ts" in out and "[96m" not in out and "[0m" not in out
    report = tmp_path / "report.md"
    status, _, err = outcome(capsys, ["--db", noisy_db, "--report", "--output", str(report)])
    text = report.read_text(encoding="utf-8")
    assert status == 0, err
    assert "client.ts" in text and "[96m" not in text and "[0m" not in text


def test_markdown_escapes_message_text(capsys, noisy_db, tmp_path):
    report = tmp_path / "report.md"
    status, _, err = outcome(capsys, ["--db", noisy_db, "--report", "--output", str(report)])
    assert status == 0, err
    text = report.read_text(encoding="utf-8")
    assert "alert(1)" in text  # the message is there...
    assert "<script>" not in text and "&lt;script&gt;" in text  # ...as text, not as HTML
    for markup in ("*bold*", "_under_", "[link](http://x)", "`tick`"):
        assert markup not in text, markup
    lines = text.splitlines()
    rows_with_message = 0
    for above, line in zip(lines, lines[1:], strict=False):
        if above.startswith("|---"):
            columns = above.count("|")  # the table's separator row
        if line.startswith("|") and "alert" in line:
            rows_with_message += 1
            assert line.replace("\\|", "").count("|") == columns, line  # no cell split apart
    assert rows_with_message >= 1


# -- --cluster --input with binary data --------------------------------------------------------


def test_a_mostly_binary_input_file_is_refused(capsys, tmp_path):
    source = tmp_path / "core.bin"
    source.write_bytes(random.Random(3).randbytes(20_000))
    status, out, err = outcome(capsys, ["--cluster", "--input", str(source), "--json"])
    assert_one_error_line(status, out, err)
    assert "binary" in err


def test_binary_lines_are_skipped_and_counted(capsys, tmp_path):
    source = tmp_path / "mixed.log"
    text_lines = [f"ECONNREFUSED localhost:{9000 + index}" for index in range(8)]
    binary = random.Random(5).randbytes(300).replace(b"\n", b"").replace(b"\r", b"")
    source.write_bytes(
        "\n".join(text_lines[:4]).encode()
        + b"\n"
        + binary
        + b"\n"
        + b"\x00\x01\x02\n"
        + "\n".join(text_lines[4:]).encode()
        + b"\n"
    )
    status, out, err = outcome(capsys, ["--cluster", "--input", str(source), "--json"])
    assert status == 0, err
    payload = json.loads(out)
    assert len(payload["assignments"]) == len(text_lines)
    assert [entry["line"] for entry in payload["skipped"]] == [5, 6]
    assert "Skipped 2 of 10 lines" in err
    status, out, err = outcome(capsys, ["--cluster", "--input", str(source)])
    assert status == 0 and "2 lines skipped" in out.splitlines()[0]


# -- where --demo keeps its database -----------------------------------------------------------


def test_demo_lives_in_the_user_data_directory_and_keeps_decisions(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("ERROR_ANALYTICS_DEMO_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    expected_path = tmp_path / "data" / "error-analytics" / "demo.db"

    monkeypatch.chdir(first)
    status, out, err = outcome(capsys, ["--demo", "--json", "clusters", "list", "--limit", "1"])
    assert status == 0, err
    assert f"Using demo database: {expected_path}" in err and expected_path.is_file()
    cluster_id = json.loads(out)["items"][0]["id"]
    argv = ["--demo", "clusters", "rename", cluster_id, "Named in another directory"]
    assert outcome(capsys, argv)[0] == 0

    monkeypatch.chdir(second)
    argv = ["--demo", "--json", "clusters", "show", cluster_id, "--no-refresh"]
    status, out, err = outcome(capsys, argv)
    assert status == 0, err
    assert json.loads(out)["cluster"]["name"] == "Named in another directory"
    assert list(first.iterdir()) == [] and list(second.iterdir()) == []


def test_the_parser_refuses_with_one_line_everywhere(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["clusters", "list", "--sort", "nonsense"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1
