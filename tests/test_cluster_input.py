"""``analyze-errors --cluster --input FILE --json``: the contract for clustering any text."""

from __future__ import annotations

import io
import json
import sys

import pytest

from error_analytics.cli import main

MESSAGES = [
    "ECONNREFUSED localhost:9100",
    "ModuleNotFoundError: No module named 'requests'",
    "ECONNREFUSED localhost:5432",
    "ModuleNotFoundError: No module named 'httpx'",
    "ECONNREFUSED 127.0.0.1:8080",
    "ModuleNotFoundError: No module named 'numpy'",
]


def run_json(capsys, *args: str) -> dict:
    code = main(["--cluster", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def check_contract(payload: dict, count: int) -> None:
    assert len(payload["assignments"]) == count
    ids = {cluster["id"] for cluster in payload["clusters"]}
    assert set(payload["assignments"]) <= ids
    for cluster in payload["clusters"]:
        assert {"id", "size", "name", "template", "category", "confidence", "examples"} <= set(
            cluster
        )
    assert sum(cluster["size"] for cluster in payload["clusters"]) == count


def test_plain_text_one_message_per_line(capsys, tmp_path):
    source = tmp_path / "errors.txt"
    source.write_text("\n".join(MESSAGES[:3]) + "\n\n" + "\n".join(MESSAGES[3:]) + "\n")
    payload = run_json(capsys, "--input", str(source))
    check_contract(payload, len(MESSAGES))  # the blank line is skipped, not a message
    labels = payload["assignments"]
    assert labels[0] == labels[2] == labels[4] != labels[1]
    assert labels[1] == labels[3] == labels[5]
    by_id = {cluster["id"]: cluster for cluster in payload["clusters"]}
    assert by_id[labels[0]]["category"] == "connection_error"
    assert by_id[labels[1]]["category"] == "import_error"


def test_json_lines_keep_multi_line_messages_and_report_bad_lines(capsys, tmp_path):
    traceback = 'Traceback (most recent call last):\n  File "a.py", line 3, in <module>\n{}'
    lines = [json.dumps({"message": traceback.format(message)}) for message in MESSAGES]
    lines.insert(2, "{not json")
    lines.insert(4, json.dumps({"text": "no message field"}))
    source = tmp_path / "errors.jsonl"
    source.write_text("\n".join(lines) + "\n")
    payload = run_json(capsys, "--input", str(source))
    check_contract(payload, len(MESSAGES))
    assert payload["skipped"] == [
        {"line": 3, "reason": "malformed JSON"},
        {"line": 5, "reason": "no text 'message' field"},
    ]
    labels = payload["assignments"]
    assert labels[0] == labels[2] != labels[1]


def test_stdin_and_same_ids_for_the_same_input(capsys, monkeypatch):
    text = "\n".join(MESSAGES) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    first = run_json(capsys, "--input", "-")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert run_json(capsys, "--input", "-") == first


def test_binary_and_huge_input_does_not_crash(capsys, tmp_path):
    source = tmp_path / "odd.txt"
    source.write_bytes(
        b"\x00\xff\xfe garbage \x1b[31mred\x1b[0m\n" + b"x" * 2_000_000 + b"\nok line\n"
    )
    payload = run_json(capsys, "--input", str(source))
    check_contract(payload, 2)  # the binary first line is skipped, and said so
    assert payload["skipped"] == [{"line": 1, "reason": "binary data, not UTF-8 text"}]


def test_missing_input_file_is_one_line(capsys, tmp_path):
    assert main(["--cluster", "--input", str(tmp_path / "none.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: input file not found") and err.count("\n") == 1


def test_input_needs_cluster(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main(["--input", str(tmp_path / "x.txt")])
    assert exited.value.code == 2
