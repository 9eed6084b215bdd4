"""Every ``analyze-errors`` command the documentation shows works on a fresh demo database.

The commands come from the README, from ``docs/**/*.md`` (fenced code blocks and inline code)
and from the ``--help`` epilogue of every command and subcommand. A block of commands (one
fenced block, one epilogue, one inline span) runs in order, as a reader would type it, against
its own copy of a freshly built demo database, in an empty working directory; every command
must exit 0.

What the test substitutes, so that a command needs nothing but the demo:

* ``--demo`` and commands without ``--db`` read the copy (``ERROR_ANALYTICS_DEMO_DB`` and
  ``ERROR_ANALYTICS_DB`` point at it);
* ``app/server/db/database.db`` (the host application's database), ``<demo>`` and PostgreSQL
  URLs are replaced by the copy's path: PostgreSQL itself is covered by the store and CLI tests;
* ``errors.txt`` (the file ``--cluster --input`` reads) is written with demo messages, and
  ``examples/`` (the repository's examples) is copied into the working directory;
* ``serve`` runs everything up to the web server, whose blocking ``uvicorn.run`` is replaced by
  a call that returns at once.

Synopses are not commands: a line with an UPPER-CASE placeholder (``ID``, ``PATH_OR_URL``),
``[optional]`` parts or ``...`` only shows the syntax, and inline code in a heading names a
command without giving an example.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shlex
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from error_analytics.cli import build_parser, main
from error_analytics.config import get_settings
from error_analytics.demo import build_demo_database

from .builders import NOW

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
PROGRAM = "analyze-errors"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]*(?:\n[^`\n]*)?)`")
ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(?:\.\.\.)?$")
#: The host application's database, and how the benchmark notes name the demo database.
DATABASE_NAMES = ("app/server/db/database.db", "<demo>")
ERROR_LINES = (
    "ModuleNotFoundError: No module named 'requests'",
    "ModuleNotFoundError: No module named 'httpx'",
    "ECONNREFUSED localhost:9100",
    "ECONNREFUSED localhost:5432",
    "TimeoutError: agent did not respond within 863 seconds",
    "TimeoutError: agent did not respond within 120 seconds",
)


@dataclasses.dataclass(frozen=True)
class Command:
    environment: dict[str, str]
    argv: list[str]
    text: str


@dataclasses.dataclass(frozen=True)
class Block:
    source: str
    commands: list[Command]


def parse_command(text: str, *, comments: bool) -> Command | None:
    """The ``analyze-errors`` command in a shell line, or None (another program, a synopsis)."""
    try:
        tokens = shlex.split(text, comments=comments)
    except ValueError:
        return None
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token in ("&&", ";", "||", "|"):
            segments.append([])
        else:
            segments[-1].append(token)
    for segment in segments:
        environment = {}
        while segment and ASSIGNMENT.match(segment[0]):
            name, _, value = segment.pop(0).partition("=")
            environment[name] = value
        if not segment or Path(segment[0]).name != PROGRAM:
            continue
        arguments = segment[1:]
        if any(
            PLACEHOLDER.match(token)
            or token.startswith("[")
            or token.endswith("]")
            or token == "..."
            for token in arguments
        ):
            return None  # a synopsis
        return Command(environment, arguments, " ".join(segment))
    return None


def markdown_blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(REPO).as_posix()
    blocks = []
    for number, fence in enumerate(FENCE.finditer(text), start=1):
        lines = fence.group(1).replace("\\\n", " ").splitlines()
        commands = [parse_command(line, comments=True) for line in lines]
        found = [command for command in commands if command is not None]
        if found:
            blocks.append(Block(f"{name} code block {number}", found))
    # inline code in a heading names a command, it is not an example
    prose = "\n".join(line for line in FENCE.sub("", text).splitlines() if not line.startswith("#"))
    for span in INLINE.finditer(prose):
        command = parse_command(" ".join(span.group(1).split()), comments=False)
        if command is not None:
            blocks.append(Block(f"{name} `{command.text}`", [command]))
    return blocks


def epilogue_blocks() -> list[Block]:
    blocks = []
    parsers = [build_parser()]
    while parsers:
        parser = parsers.pop(0)
        for action in parser._actions:
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                parsers.extend(choices.values())
        commands = []
        for line in (parser.epilog or "").splitlines():
            shown = re.split(r"\s{2,}", line.strip())[0]
            command = parse_command(shown, comments=False)
            if command is not None:
                commands.append(command)
        if commands:
            blocks.append(Block(f"{parser.prog} --help", commands))
    return blocks


ALL_BLOCKS = [block for path in DOCUMENTS for block in markdown_blocks(path)] + epilogue_blocks()


def test_the_documentation_shows_commands_from_every_source():
    sources = {block.source.split(" ")[0] for block in ALL_BLOCKS}
    assert {"README.md", "docs/review.md", "docs/features/error-analytics.md"} <= sources
    assert any(block.source.endswith("--help") for block in ALL_BLOCKS)
    assert sum(len(block.commands) for block in ALL_BLOCKS) >= 60


def test_synopses_are_not_taken_for_commands():
    assert parse_command("analyze-errors clusters show ID", comments=False) is None
    assert (
        parse_command("analyze-errors --review [--db PATH_OR_URL | --demo]", comments=True) is None
    )
    found = parse_command("X_TOKEN=s3 .venv/bin/analyze-errors --demo  # a comment", comments=True)
    assert found == Command({"X_TOKEN": "s3"}, ["--demo"], ".venv/bin/analyze-errors --demo")


@pytest.fixture(scope="module")
def fresh_demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("doc-demo") / "demo.db"
    build_demo_database(path, now=NOW - timedelta(minutes=5))
    return path


def substitute(argument: str, database: Path) -> str:
    if argument in DATABASE_NAMES or argument.startswith(("postgresql://", "postgres://")):
        return str(database)
    return argument


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[block.source for block in ALL_BLOCKS])
def test_documented_commands_work_on_a_fresh_demo(block, fresh_demo, tmp_path, monkeypatch, capsys):
    import uvicorn

    database = tmp_path / "demo.db"
    shutil.copyfile(fresh_demo, database)
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    (tmp_path / "errors.txt").write_text("\n".join(ERROR_LINES) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ERROR_ANALYTICS_DEMO_DB", str(database))
    monkeypatch.setenv("ERROR_ANALYTICS_DB", str(database))
    for name in ("ERROR_ANALYTICS_STATE_DB", "ERROR_ANALYTICS_RULES", "ERROR_ANALYTICS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **_: served.append((host, port)))
    for command in block.commands:
        with monkeypatch.context() as scoped:
            for name, value in command.environment.items():
                scoped.setenv(name, value)
            scoped.setattr(sys, "stdin", io.StringIO(""))
            get_settings.cache_clear()
            try:
                status = main([substitute(argument, database) for argument in command.argv])
            except SystemExit as exited:  # argparse refused the command line
                status = exited.code
            finally:
                get_settings.cache_clear()
        captured = capsys.readouterr()
        assert status == 0, f"{block.source}: `{command.text}` exited {status}:\n{captured.err}"
        if command.argv[:1] == ["serve"] or "serve" in command.argv:
            assert served, f"{block.source}: `{command.text}` did not start the server"
