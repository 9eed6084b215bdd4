"""The review commands on the command line: scripts and the interactive walk-through."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from error_analytics import cli
from error_analytics.cli.review import (
    add_review_flag,
    register_review_commands,
    run_review_command,
    wants_review,
)
from error_analytics.config import get_settings

from .test_review_helpers import NOW, scenario


def parser() -> argparse.ArgumentParser:
    """The real main parser with the review commands wired in (as cli/main.py does it)."""
    main = cli.build_parser()
    if not any("--review" in action.option_strings for action in main._actions):
        add_review_flag(main)
        register_review_commands(main.add_subparsers(dest="command", metavar="COMMAND"))
    return main


def run(argv: list[str], answers: str = "") -> tuple[int, str]:
    args = parser().parse_args(argv)
    assert wants_review(args)
    out = io.StringIO()
    code = run_review_command(args, out, answers=io.StringIO(answers))
    return code, out.getvalue()


@pytest.fixture
def db(tmp_path, monkeypatch):
    """The hand-written scenario database; the service's clock is its 'now'."""
    path = tmp_path / "workflows.db"
    scenario(f"sqlite:///{path}")
    monkeypatch.setattr("error_analytics.config.Settings.now", lambda self: NOW)
    get_settings.cache_clear()
    monkeypatch.setenv("USER", "tester")
    return str(path)


def test_existing_flags_still_parse():
    args = parser().parse_args(["--db", "x.db", "--summary", "--days", "7"])
    assert not wants_review(args) and args.days == 7 and args.summary


def test_list_show_and_json(db):
    code, text = run(["--db", db, "clusters", "list", "--status", "new", "--limit", "3"])
    assert code == 0 and "of" in text and "new" in text
    code, text = run(["clusters", "list", "--db", db, "--json", "--sort", "runs"])
    page = json.loads(text)
    assert page["total"] == len(page["items"]) and all(
        {"id", "status", "version"} <= set(c) for c in page["items"]
    )
    first = page["items"][0]["id"]
    code, text = run(["clusters", "show", first, "--db", db, "--json", "--no-refresh"])
    detail = json.loads(text)
    assert (
        detail["cluster"]["id"] == first
        and detail["templates"]
        and len(detail["daily_series"]) == 30
    )
    code, text = run(["clusters", "show", first, "--db", db])
    assert first in text and "templates" in text


def test_actions_undo_and_audit(db):
    page = json.loads(run(["clusters", "list", "--db", db, "--json"])[1])
    first, second, third = (item["id"] for item in page["items"][:3])
    assert (
        "Renamed"
        in run(["clusters", "rename", first, "Browser missing", "--db", db, "--if-version", "1"])[1]
    )
    assert "import_error" in run(["clusters", "set-category", first, "import_error", "--db", db])[1]
    merged = json.loads(
        run(["clusters", "merge", second, "--into", third, "--db", db, "--json"])[1]
    )
    assert merged["id"] == third
    ignored = json.loads(
        run(["clusters", "ignore", third, "--until", "2027-01-01", "--db", db, "--json"])[1]
    )
    assert ignored["status"] == "ignored"
    assert (
        json.loads(run(["clusters", "unignore", third, "--db", db, "--json"])[1])["status"]
        == "reviewed"
    )
    assert (
        json.loads(run(["clusters", "resolve", third, "--db", db, "--json"])[1])["status"]
        == "resolved"
    )
    audit = json.loads(run(["clusters", "audit", "--db", db, "--json"])[1])
    assert [entry["action"] for entry in audit][:3] == ["resolve", "unignore", "ignore"]
    assert {entry["actor"] for entry in audit} == {"tester"}
    undo = json.loads(
        run(["clusters", "undo", str(audit[0]["id"]), "--db", db, "--json", "--actor", "ann"])[1]
    )
    assert undo["undo_of"] == audit[0]["id"] and undo["actor"] == "ann"
    text = run(["clusters", "audit", "--cluster", third, "--db", db])[1]
    assert "undone by" in text


def test_split_and_state_db_option(db, tmp_path):
    state = str(tmp_path / "state.db")
    page = json.loads(run(["clusters", "list", "--db", db, "--state-db", state, "--json"])[1])
    parent = next(item for item in page["items"] if len(item["templates"]) > 1)
    child = json.loads(
        run(
            [
                "clusters",
                "split",
                parent["id"],
                "--template",
                parent["templates"][-1],
                "--name",
                "Split",
                "--db",
                db,
                "--state-db",
                state,
                "--json",
            ]
        )[1]
    )
    assert child["name"] == "Split" and child["id"] != parent["id"]
    with pytest.raises(Exception, match="no cluster"):
        run(
            ["clusters", "show", child["id"], "--db", db, "--no-refresh"]
        )  # not in the default state


def test_promote_previews_and_writes_only_with_yes(db, tmp_path):
    rules = tmp_path / "rules.toml"
    page = json.loads(run(["clusters", "list", "--db", db, "--json", "--search", "browserType"])[1])
    cluster_id = page["items"][0]["id"]
    argv = [
        "clusters",
        "promote",
        cluster_id,
        "--keyword",
        "Executable doesn't exist",
        "--category",
        "import_error",
        "--rules",
        str(rules),
        "--db",
        db,
    ]
    code, text = run(argv)
    assert code == 0 and "matches" in text and not rules.exists()
    code, text = run(argv + ["--yes"])
    assert code == 0 and rules.exists() and "Executable doesn't exist" in rules.read_text()


def test_interactive_review_walks_through_new_clusters(db):
    page = json.loads(run(["clusters", "list", "--db", db, "--json", "--status", "new"])[1])
    ids = [item["id"] for item in page["items"]]
    answers = (
        "\n".join(
            [
                "a",  # accept the first
                "r",
                "Named in review",  # rename the second
                "c",
                "2",  # second category in the list for the third
                "m",
                ids[0],  # merge the fourth into the first
                "i",
                "n",
                "5",  # ignore the fifth for 5 more occurrences
                "?",
                "x",
                "s",  # help, an unknown answer, skip the sixth
                "q",
            ]
        )
        + "\n"
    )
    code, text = run(["--db", db, "--review"], answers)
    assert code == 0 and "Review finished" in text and "1 accepted" in text and "1 skipped" in text
    after = {
        item["id"]: item
        for item in json.loads(
            run(["clusters", "list", "--db", db, "--json", "--limit", "1000", "--no-refresh"])[1]
        )["items"]
    }
    assert after[ids[0]]["status"] == "reviewed"
    assert after[ids[1]]["name"] == "Named in review"
    assert after[ids[2]]["decided_by"] == "review"
    assert ids[3] not in after
    assert after[ids[4]]["status"] == "ignored"
    assert after[ids[5]]["status"] == "new"
    code, text = run(["clusters", "review", "--db", db], "")
    assert "new clusters to review" in text  # end of input stops cleanly
