"""Category rules, classification and the TOML rules file."""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import pytest

import error_analytics.rules as rules_package
from error_analytics.errors import ConfigurationError, ErrorAnalyticsError, InvalidRuleError
from error_analytics.models import UNKNOWN_CATEGORY, CategoryRule, Severity
from error_analytics.rules import (
    DEFAULT_MASKS,
    ERROR_PATTERNS,
    MaskRule,
    RuleMatch,
    RuleSet,
    classify_error,
    default_rules,
    get_category,
    load_rules,
    match_category,
)
from error_analytics.rules.classify import HEAD_CHARS, TAIL_CHARS, match_in_context
from error_analytics.rules.contexts import NON_DECIDING_CONTEXTS

ROOT = Path(__file__).resolve().parents[1]

IMPORT_MESSAGES = [
    # Python
    "ModuleNotFoundError: No module named 'adw_modules'",
    "ImportError: cannot import name 'foo' from 'bar' (/app/bar.py)",
    "E   ModuleNotFoundError: No module named 'requests'",
    "ERROR: Could not find a version that satisfies the requirement foo==9.9",
    "ERROR: No matching distribution found for foo",
    # Node / TypeScript / bundlers
    "Error: Cannot find module 'express'\nRequire stack:\n- /app/index.js",
    "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'vite' imported from /app/x.js",
    "npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/@x%2fy",
    "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree",
    "npm error code ETARGET\nnpm error notarget No matching version found for react@99.0.0.",
    "src/main.ts(1,21): error TS2307: Cannot find module './utils' or its type declarations.",
    '[vite] Internal server error: Failed to resolve import "./Foo" from "src/App.tsx".',
    "Module not found: Error: Can't resolve 'lodash' in '/app/src'",
    '✘ [ERROR] Could not resolve "react-dom/client"',
    # Go
    "main.go:5:2: no required module provides package github.com/foo/bar; to add it:",
    'cannot find package "github.com/x/y" in any of:',
    "main.go:4:2: package foo/bar is not in GOROOT (/usr/local/go/src/foo/bar)",
    "missing go.sum entry for module providing package golang.org/x/sync",
    'exec: "golangci-lint": executable file not found in $PATH',
    # Rust
    "error[E0432]: unresolved import `serde_json`",
    "error[E0463]: can't find crate for `tokio`",
    "error[E0433]: failed to resolve: use of undeclared crate or module `rand`",
    # Java
    'Exception in thread "main" java.lang.NoClassDefFoundError: org/slf4j/LoggerFactory',
    "java.lang.ClassNotFoundException: com.mysql.cj.jdbc.Driver",
    "Main.java:3: error: package org.junit does not exist",
    "[ERROR] Failed to execute goal: Could not resolve dependencies for project com.x:app",
    # Ruby
    "kernel_require.rb:85:in `require': cannot load such file -- nokogiri (LoadError)",
    "Bundler::GemNotFound: Could not find gem 'rails (~> 7.0)' in locally installed gems.",
    # shell
    "bash: uv: command not found",
    "/bin/sh: 1: pnpm: not found",
    "'yarn' is not recognized as an internal or external command,",
]

SYNTAX_MESSAGES = [
    # Python and its linters
    "  File \"app.py\", line 3\n    def foo(\n           ^\nSyntaxError: '(' was never closed",
    "SyntaxError: invalid syntax",
    "IndentationError: unexpected indent",
    "IndentationError: expected an indented block after 'if' statement on line 2",
    "TabError: inconsistent use of tabs and spaces in indentation",
    "SyntaxError: unexpected EOF while parsing",
    "app.py:1:7: E999 SyntaxError: invalid syntax",
    "error: Failed to parse src/x.py:1:5: Expected an expression",
    # JavaScript / TypeScript
    "/app/src/index.js\n  3:10  error  Parsing error: Unexpected token )",
    "SyntaxError: Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
    "src/a.ts(3,1): error TS1005: ';' expected.",
    "src/a.ts(9,1): error TS1128: Declaration or statement expected.",
    # Go, Rust, Java, Ruby, shell
    "./main.go:7:1: syntax error: unexpected }, expected expression",
    "error: expected one of `,`, `:`, or `}`, found `x`",
    "error: this file contains an unclosed delimiter",
    "Main.java:5: error: ';' expected",
    "Main.java:9: error: reached end of file while parsing",
    "app.rb:3: syntax error, unexpected end-of-input, expecting `end'",
    "script.sh: line 4: syntax error near unexpected token `fi'",
    "script.sh: line 9: unexpected EOF while looking for matching `\"'",
]

TYPE_MESSAGES = [
    "AttributeError: type object 'X' has no attribute 'y'",  # the host's keyword, guarded
    "TypeError: unsupported operand type(s) for +: 'int' and 'str'",
    "TypeError: Object of type datetime is not JSON serializable",
    "Object of type datetime is not JSON serializable",
    "AttributeError: 'NoneType' object has no attribute 'get'",
    "TypeError: Cannot read properties of undefined (reading 'map')",
    "src/app.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.",
    "error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.",
    "src/x.ts:4:7 - error TS2339: Property 'foo' does not exist on type 'Bar'.",
    'models.py:10: error: Incompatible types in assignment (expression has type "int")',
    "./main.go:9:14: cannot use x (variable of type int) as string value in argument to f",
    "./main.go:9:14: cannot use x (type int) as type string in assignment",
    "invalid operation: a + b (mismatched types int and string)",
    "error[E0308]: mismatched types",
    "error[E0277]: the trait bound `Foo: Clone` is not satisfied",
    "java.lang.ClassCastException: class java.lang.String cannot be cast to class Integer",
    "Main.java:6: error: incompatible types: String cannot be converted to int",
    "undefined method `name' for nil:NilClass (NoMethodError)",
    "no implicit conversion of Integer into String (TypeError)",
]

CONNECTION_MESSAGES = [
    "Failed to connect to backend on port 9107",  # the host's original keyword, guarded
    "ECONNREFUSED localhost:9100",
    "Error: connect ECONNREFUSED 127.0.0.1:5432",
    "ConnectionRefusedError: [Errno 111] Connection refused",
    "requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=8000): "
    "Max retries exceeded (Caused by NewConnectionError('Failed to establish a new connection'))",
    "httpx.ConnectError: [Errno -2] Name or service not known",
    "Error: getaddrinfo ENOTFOUND api.example.com",
    "Error: read ECONNRESET",
    "Error: socket hang up",
    "TypeError: fetch failed",
    "dial tcp 127.0.0.1:5432: connect: connection refused",
    "dial tcp: lookup db on 127.0.0.11:53: no such host",
    "java.net.ConnectException: Connection refused (Connection refused)",
    "java.net.UnknownHostException: api.example.com",
    "Errno::ECONNREFUSED: Failed to open TCP connection to localhost:3000",
    "ssh: connect to host github.com port 22: No route to host",
    "curl: (6) Could not resolve host: example.com",
    "fatal: unable to access 'https://github.com/o/r.git/': Could not resolve host: github.com",
    "fatal: the remote end hung up unexpectedly",
    "error: RPC failed; curl 56 Recv failure: Connection reset by peer",
    "502 Bad Gateway",
    "HTTP/1.1 503 Service Unavailable",
    "Request failed with status code 502",
    "HTTP 503 from upstream",
    "ping: connect: Network is unreachable",
    "Temporary failure in name resolution",
]

TIMEOUT_MESSAGES = [
    "Command timeout (30s)",  # timeout as a noun (the host's keyword, guarded)
    "Timeout waiting for dev server",
    "pytest execution timed out after 5 minutes",
    "TimeoutError: [Errno 110] Connection timed out",
    "asyncio.exceptions.TimeoutError",
    "subprocess.TimeoutExpired: Command '['npm', 'test']' timed out after 300 seconds",
    "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='x.com', port=443): Read timed out.",
    "Error: connect ETIMEDOUT 10.0.0.1:443",
    'Error: Timeout of 2000ms exceeded. For async tests and hooks, ensure "done()" is called',
    'thrown: "Exceeded timeout of 5000 ms for a test.',
    "TimeoutError: page.waitForSelector: Timeout 30000ms exceeded.",
    "context deadline exceeded",
    "rpc error: code = DeadlineExceeded desc = stream terminated",
    "dial tcp 10.0.0.1:443: i/o timeout",
    "panic: test timed out after 10m0s",
    "java.net.SocketTimeoutException: Read timed out",
    "Timeout::Error",
    "Net::ReadTimeout with #<TCPSocket:(closed)>",
    "504 Gateway Time-out",
    "HTTP 504",
    "upstream answered with status code 504",
    "No output has been received in the last 10m0s, this potentially indicates a stalled build",
    "The job running on runner 2 has exceeded the maximum execution time of 360 minutes.",
    "The job exceeded the maximum time limit for jobs, and has been terminated.",
    "Failed: Timeout >300.0s",
    "ssh: connect to host x port 22: Connection timed out",
]

UNKNOWN_MESSAGES = [
    # parameter names, options, durations, ports and ids are not evidence
    "invalid value: timeout_seconds=30",
    "pytest --timeout 300 tests/ failed: 3 test failures",
    "requests.get(url, timeout=30) returned no body",
    "timeout: 30",
    "Failed to connect GitHub account",
    "Created type object for schema 'User'",
    "port 5404 already in use",
    "run id 4040 failed after 3 attempts",
    "from app.config import TimeoutConfig\nValueError: bad config",
    "aiohttp.ClientTimeout(total=30) rejected by validator",
    "setTimeout callback threw: ReferenceError: x is not defined",
    "timed_out=false retries=3",
    "localhost:5020 responded with 200",
    "status 5030 records skipped",
    "ImportErrorHandler registered twice",
    "Validation failed: expected one of 'a', 'b'",
    'Get "https://proxy.golang.org/x": unexpected EOF',
    # real failures outside the five categories
    "GitHub API rate limit exceeded",
    "429 Too Many Requests",
    "404 Not Found: GET /api/v1/runs/4040",
    "AttributeError: module 'foo' has no attribute 'bar'",
    "Phase failed after 3 attempts",
    "Non-zero exit code: 2\nStderr: ",
    "IntegrityError: UNIQUE constraint failed: workflow_history.adw_id",
    "table workflow_history has no column named hour_of_day",
    "error: pathspec 'x' did not match any file(s) known to git",
    "3 test failures",
]


def _cases(key: str, messages: list[str]) -> list[pytest.param]:
    return [pytest.param(message, key, id=f"{key}-{i}") for i, message in enumerate(messages)]


@pytest.mark.parametrize(
    ("message", "expected"),
    _cases("import_error", IMPORT_MESSAGES)
    + _cases("syntax_error", SYNTAX_MESSAGES)
    + _cases("type_error", TYPE_MESSAGES)
    + _cases("connection_error", CONNECTION_MESSAGES)
    + _cases("timeout_error", TIMEOUT_MESSAGES)
    + _cases(UNKNOWN_CATEGORY, UNKNOWN_MESSAGES),
)
def test_classify_error(message: str, expected: str) -> None:
    assert classify_error(message) == expected


# -- the canonical table -------------------------------------------------------------------


def test_error_patterns_hold_exactly_the_five_canonical_categories() -> None:
    names = {key: (rule.name, rule.category) for key, rule in ERROR_PATTERNS.items()}
    assert names == {
        "import_error": ("Import Error", "Dependency Issue"),
        "connection_error": ("Connection Error", "Network Issue"),
        "timeout_error": ("Timeout Error", "Performance Issue"),
        "syntax_error": ("Syntax Error", "Code Quality"),
        "type_error": ("Type Error", "Type Issue"),
    }


@pytest.mark.parametrize("key", list(ERROR_PATTERNS))
def test_canonical_category_is_complete(key: str) -> None:
    rule = ERROR_PATTERNS[key]
    assert rule.key == key
    assert rule.severity in {severity.value for severity in Severity}
    assert rule.recommendation and rule.root_cause and rule.estimated_fix_time
    assert rule.keywords
    for pattern in rule.patterns:
        re.compile(pattern)


def test_import_recommendation_names_the_dependency_files() -> None:
    recommendation = ERROR_PATTERNS["import_error"].recommendation
    assert "requirements.txt" in recommendation and "package.json" in recommendation


@pytest.mark.parametrize(
    ("key", "keyword"),
    [(key, keyword) for key, rule in ERROR_PATTERNS.items() for keyword in rule.keywords],
)
def test_every_canonical_keyword_classifies_as_its_own_category(key: str, keyword: str) -> None:
    assert classify_error(f"step failed: {keyword} (see log)") == key


@pytest.mark.parametrize(
    "pattern", [pattern for rule in ERROR_PATTERNS.values() for pattern in rule.patterns]
)
def test_canonical_patterns_start_with_a_literal(pattern: str) -> None:
    # a leading \b, group, class or flag stops the regex engine from skipping ahead
    assert pattern[0] not in "\\([.^", pattern


# -- matches and priority ------------------------------------------------------------------


def test_match_category_reports_the_text_and_the_rule() -> None:
    match = match_category("psycopg.OperationalError: connection REFUSED by server")
    assert match == RuleMatch(
        key="connection_error", matched="connection REFUSED", rule="Connection refused"
    )


def test_match_category_reports_the_pattern_that_matched() -> None:
    match = match_category("Request failed with status code 503")
    assert match is not None and match.key == "connection_error"
    assert match.matched == "status code 503"
    assert match.rule in ERROR_PATTERNS["connection_error"].patterns


def test_match_reports_the_earliest_match_of_the_winning_category() -> None:
    match = match_category("Read timed out. (read timeout=30)\nReadTimeoutError: x")
    assert match is not None and (match.key, match.matched) == ("timeout_error", "timed out")


def test_keyword_spaces_match_any_whitespace() -> None:
    assert classify_error("psycopg: Connection\n     refused") == "connection_error"


def test_rule_match_is_frozen() -> None:
    match = match_category("ECONNREFUSED")
    assert match is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.key = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("ImportError: cannot import name X due to SyntaxError", "syntax_error"),
        (
            "ImportError while importing test module '/app/tests/test_x.py'.\n"
            "E     File \"/app/x.py\", line 3\nE   SyntaxError: '(' was never closed",
            "syntax_error",
        ),
        (
            "TypeError raised during import: ModuleNotFoundError: No module named 'x'",
            "import_error",
        ),
        ("Timed out waiting for server: connect ECONNREFUSED 127.0.0.1:9100", "connection_error"),
        ("TypeError: fetch failed\n  cause: Error: connect ECONNREFUSED", "connection_error"),
        (
            "ConnectionError: Max retries exceeded (Caused by ConnectTimeoutError(...))",
            "connection_error",
        ),
        ("ImportError: cannot import name 'TimeoutError' from 'foo'", "import_error"),
        ("fatal: unable to access 'x': Could not resolve host: github.com", "connection_error"),
    ],
)
def test_priority_prefers_the_cause_over_the_symptom(message: str, expected: str) -> None:
    assert classify_error(message) == expected


# -- assertion and expectation contexts do not decide ---------------------------------------

ASSERTION_CONTEXTS = [
    ("AssertionError: TypeError not raised", "type_error"),
    ("AssertionError: ConnectionError not raised by fetch", "connection_error"),
    ("Failed: DID NOT RAISE <class 'TypeError'>", "type_error"),
    ("E       Failed: DID NOT RAISE <class 'ImportError'>", "import_error"),
    (
        "FAILED tests/test_api.py::test_bad_input - Failed: DID NOT RAISE <class 'TypeError'>",
        "type_error",
    ),
    ("Error: expected [Function] to throw TypeError", "type_error"),
    ("expected to throw TypeError", "type_error"),
    ("AssertionError: expected function to throw an error including 'ImportError'", "import_error"),
    ("E       AssertionError: expected TimeoutError, got None", "timeout_error"),
    ("should raise ImportError when the module is missing", "import_error"),
    ("    with pytest.raises(TypeError):\nE   Failed: DID NOT RAISE", "type_error"),
    ("expect(received).toThrow(expected)\n\nExpected constructor: TypeError\n", "type_error"),
    (
        "Failure/Error: expect { parse(nil) }.to raise_error(TypeError)\n"
        "  expected TypeError but nothing was raised",
        "type_error",
    ),
    (
        "org.opentest4j.AssertionFailedError: Expected java.net.SocketTimeoutException to be "
        "thrown, but nothing was thrown.",
        "timeout_error",
    ),
    (
        "--- FAIL: TestParse\n    parse_test.go:21: expected error of type *json.SyntaxError",
        "syntax_error",
    ),
]


@pytest.mark.parametrize(("message", "withheld"), ASSERTION_CONTEXTS)
def test_exception_named_in_an_assertion_does_not_decide(message: str, withheld: str) -> None:
    assert classify_error(message) == UNKNOWN_CATEGORY
    found = match_in_context(message)
    assert found.decided is None
    assert found.withheld is not None and found.withheld.key == withheld


@pytest.mark.parametrize("context", NON_DECIDING_CONTEXTS, ids=lambda context: context.name)
def test_every_context_takes_away_the_evidence_of_its_example(context) -> None:
    assert re.search(context.pattern, context.example)
    assert match_category(context.example) is None
    assert match_in_context(context.example).withheld is not None
    assert context.pattern[0] not in "\\([.^", context.pattern  # a literal start: fast


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # the real error on another line of the same report still decides
        (
            ">       assert client.get('/').status_code == 200\n"
            "E       requests.exceptions.ConnectionError: Connection refused",
            "connection_error",
        ),
        ("AssertionError: 3 != 4\nModuleNotFoundError: No module named 'yaml'", "import_error"),
        # words that look like an expectation but are not one
        ("Unexpected ConnectionError while uploading artefacts", "connection_error"),
        ("SyntaxError: expected ':'", "syntax_error"),
        ("TypeError: expected str, bytes or os.PathLike object, not NoneType", "type_error"),
        ("src/app.ts(14,3): error TS1005: ';' expected.", "syntax_error"),
    ],
)
def test_contexts_blank_only_their_own_line(message: str, expected: str) -> None:
    assert classify_error(message) == expected
    assert match_in_context(message).withheld is None


def test_contexts_apply_to_categories_of_a_rules_file() -> None:
    rules = {"flaky": _rule("flaky", ("FlakyError",))}
    assert classify_error("FlakyError: retry budget spent", rules) == "flaky"
    assert classify_error("AssertionError: FlakyError not raised", rules) == UNKNOWN_CATEGORY


# -- tool errors across ecosystems, in the tools' documented words ---------------------------

TOOL_ERRORS = [
    # linkers and headers
    ("/usr/bin/ld: cannot find -lssl: No such file or directory", "import_error"),
    ("/usr/bin/ld: cannot find -lpq\ncollect2: error: ld returned 1 exit status", "import_error"),
    ("ld: library not found for -lcrypto", "import_error"),
    ("src/net.c:4:10: fatal error: openssl/ssl.h: No such file or directory", "import_error"),
    ("main.cpp(2): fatal error C1083: Cannot open include file: 'boost/asio.hpp'", "import_error"),
    # C#
    (
        "Program.cs(3,7): error CS0246: The type or namespace name 'Newtonsoft' could not be "
        "found (are you missing a using directive or an assembly reference?)",
        "import_error",
    ),
    (
        "Startup.cs(4,17): error CS0234: The type or namespace name 'Identity' does not exist",
        "import_error",
    ),
    ("error NU1101: Unable to find package Acme.Widgets.", "import_error"),
    ("Program.cs(10,32): error CS1002: ; expected", "syntax_error"),
    ("Controllers/HomeController.cs(27,6): error CS1513: } expected", "syntax_error"),
    (
        "Program.cs(15,24): error CS0029: Cannot implicitly convert type 'string' to 'int'",
        "type_error",
    ),
    (
        "Program.cs(22,30): error CS1503: Argument 1: cannot convert from 'string' to 'int'",
        "type_error",
    ),
    # C / C++
    ("src/parser.c:88:5: error: expected ';' before 'return'", "syntax_error"),
    ("main.cpp:12:18: error: expected ';' after expression", "syntax_error"),
    ("util.cpp:14:17: error: invalid conversion from 'const char*' to 'int'", "type_error"),
    ("main.cpp:9:22: error: cannot convert 'std::string' {aka 'x'} to 'int'", "type_error"),
    # formatters in check mode
    (
        "would reformat src/app/models.py\nOh no! 💥 💔 💥\n1 file would be reformatted",
        "syntax_error",
    ),
    (
        "Would reformat: src/cli.py\n1 file would be reformatted, 40 files already formatted",
        "syntax_error",
    ),
    (
        "[warn] Code style issues found in 2 files. Run Prettier with --write to fix.",
        "syntax_error",
    ),
    # YAML
    ("yaml.scanner.ScannerError: mapping values are not allowed here", "syntax_error"),
    ("yaml.parser.ParserError: while parsing a block mapping", "syntax_error"),
    ("yaml: line 7: mapping values are not allowed in this context", "syntax_error"),
    ("YAMLException: bad indentation of a mapping entry (5:9)", "syntax_error"),
    ("error converting YAML to JSON: yaml: line 3: did not find expected key", "syntax_error"),
    # TLS / x509
    (
        'Get "https://proxy.golang.org/": x509: certificate signed by unknown authority',
        "connection_error",
    ),
    (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate",
        "connection_error",
    ),
    (
        "curl: (60) SSL certificate problem: unable to get local issuer certificate",
        "connection_error",
    ),
    ("javax.net.ssl.SSLHandshakeException: PKIX path building failed", "connection_error"),
    ("npm ERR! code UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "connection_error"),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", "connection_error"),
    (
        "The connection to the server localhost:8080 was refused - did you specify the right host",
        "connection_error",
    ),
]


@pytest.mark.parametrize(("message", "expected"), TOOL_ERRORS)
def test_tool_errors_across_ecosystems(message: str, expected: str) -> None:
    assert classify_error(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        "make: *** [Makefile:23: test] Error 2",  # only says a recipe failed
        "make[1]: *** [CMakeFiles/Makefile2:83: all] Error 2",
        "main.c:(.text+0x1e): undefined reference to `compute'",  # lib, object or definition?
        "ruff format --check: 40 files already formatted",
        "loaded config.yaml (3 mappings)",
        "certificate renewed for api.example.com",
    ],
)
def test_tool_output_that_names_no_cause_stays_unknown(message: str) -> None:
    assert classify_error(message) == UNKNOWN_CATEGORY


# -- input handling and bounds -------------------------------------------------------------


@pytest.mark.parametrize("message", [None, "", "   \n\t"])
def test_no_text_is_unknown(message: str | None) -> None:
    assert classify_error(message) == UNKNOWN_CATEGORY
    assert match_category(message) is None


@pytest.mark.parametrize("message", [b"ECONNREFUSED", 42, ["ECONNREFUSED"]])
def test_non_text_message_is_rejected(message: object) -> None:
    with pytest.raises(TypeError):
        classify_error(message)  # type: ignore[arg-type]


def test_ansi_colour_codes_do_not_hide_keywords() -> None:
    message = "\x1b[31mError\x1b[39m: Cannot find \x1b[1mmodule\x1b[22m 'vite'"
    assert classify_error(message) == "import_error"


def test_exception_at_the_end_of_a_long_traceback_is_found() -> None:
    frames = '  File "/app/x.py", line 12, in f\n    g()\n' * 2_000
    message = "Traceback (most recent call last):\n" + frames + "TimeoutError: boom"
    assert len(message) > HEAD_CHARS + TAIL_CHARS
    assert classify_error(message) == "timeout_error"


def test_middle_of_a_very_long_message_is_not_examined() -> None:
    filler = "x " * HEAD_CHARS
    assert classify_error(filler + "ECONNREFUSED " + filler) == UNKNOWN_CATEGORY
    assert classify_error(filler[: TAIL_CHARS // 2] + "ECONNREFUSED") == "connection_error"


@pytest.mark.parametrize(
    "message",
    [
        "cannot use " * 2_500,
        "(" * 30_000,
        "a" * 100_000,
        "Timeout " * 5_000,
        "undefined method `" * 2_000,
        "package " * 4_000,
        "sh: " * 8_000,
    ],
)
def test_adversarial_messages_do_not_hang(message: str) -> None:
    # A guard against catastrophic backtracking, not a speed measurement (benchmarks do that):
    # a backtracking regex on these inputs runs for minutes, a linear one for milliseconds.
    started = time.perf_counter()
    classify_error(message)
    assert time.perf_counter() - started < 5.0


# -- custom rules passed directly ----------------------------------------------------------


def _rule(key: str, keywords: tuple[str, ...] = (), patterns: tuple[str, ...] = ()) -> CategoryRule:
    return CategoryRule(
        key=key,
        name=key,
        category="Custom",
        recommendation="fix it",
        severity="low",
        keywords=keywords,
        patterns=patterns,
    )


def test_rules_mapping_is_tried_in_order() -> None:
    first = {"a": _rule("a", ("boom",)), "b": _rule("b", ("bang",))}
    assert classify_error("bang then boom", first) == "a"
    swapped = {"b": first["b"], "a": first["a"]}
    assert classify_error("bang then boom", swapped) == "b"


def test_patterns_with_groups_or_global_flags_still_match() -> None:
    rules = {
        "retries": _rule("retries", patterns=(r"(\d+) retries, (\d+) left: \1",)),
        "quota": _rule("quota", patterns=(r"(?i)too many requests",)),
    }
    assert match_category("5 retries, 2 left: 5", rules) == RuleMatch(
        "retries", "5 retries, 2 left: 5", r"(\d+) retries, (\d+) left: \1"
    )
    assert match_category("HTTP 429 TOO MANY REQUESTS", rules) == RuleMatch(
        "quota", "TOO MANY REQUESTS", r"(?i)too many requests"
    )
    assert classify_error("5 retries, 2 left: 4", rules) == UNKNOWN_CATEGORY


def test_different_rule_sets_do_not_share_compiled_rules() -> None:
    assert classify_error("bang", {"a": _rule("a", ("bang",))}) == "a"
    assert classify_error("bang", {"b": _rule("b", ("bang",))}) == "b"
    assert classify_error("bang") == UNKNOWN_CATEGORY


# -- public surface ------------------------------------------------------------------------


def test_public_names_are_exported() -> None:
    assert sorted(rules_package.__all__) == sorted(
        [
            "ERROR_PATTERNS",
            "classify_error",
            "match_category",
            "RuleMatch",
            "normalize_phase",
            "RuleSet",
            "load_rules",
            "default_rules",
            "get_category",
            "MaskRule",
            "DEFAULT_MASKS",
        ]
    )
    for name in rules_package.__all__:
        assert getattr(rules_package, name) is not None


def test_default_rules_are_the_canonical_ones_and_cached() -> None:
    rules = default_rules()
    assert rules is default_rules() is load_rules(None)
    assert list(rules.categories) == list(ERROR_PATTERNS)
    assert rules.masks == DEFAULT_MASKS and rules.source is None


def test_get_category() -> None:
    assert get_category("import_error") is ERROR_PATTERNS["import_error"]
    assert get_category("nope") is None
    assert get_category(UNKNOWN_CATEGORY) is None
    custom = RuleSet(categories={"a": _rule("a", ("x",))})
    assert get_category("a", custom) is custom.categories["a"]
    assert get_category("import_error", custom) is None


def test_invalid_rule_error_is_part_of_the_tree() -> None:
    assert issubclass(InvalidRuleError, ConfigurationError)
    assert issubclass(InvalidRuleError, ErrorAnalyticsError)
    assert issubclass(InvalidRuleError, ValueError)


def test_mask_rule_is_reexported() -> None:
    assert MaskRule("n", r"\d+", "<N>").replacement == "<N>"


# -- the rules file ------------------------------------------------------------------------


@pytest.fixture
def write_rules(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "rules.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_extending_a_canonical_category_appends_keywords(write_rules) -> None:
    path = write_rules('[categories.import_error]\nkeywords = ["pip install failed"]\n')
    rules = load_rules(path)
    assert rules.source == str(path)
    assert classify_error("pip install failed for foo", rules) == "import_error"
    assert classify_error("ModuleNotFoundError: x", rules) == "import_error"
    assert rules.categories["import_error"].keywords[-1] == "pip install failed"
    assert "pip install failed" not in ERROR_PATTERNS["import_error"].keywords
    assert classify_error("pip install failed for foo") == UNKNOWN_CATEGORY
    assert list(rules.categories) == list(ERROR_PATTERNS)


def test_replace_true_replaces_keywords_and_patterns(write_rules) -> None:
    rules = load_rules(
        write_rules('[categories.import_error]\nreplace = true\nkeywords = ["dependency hell"]\n')
    )
    assert rules.categories["import_error"].keywords == ("dependency hell",)
    assert rules.categories["import_error"].patterns == ()
    assert classify_error("ModuleNotFoundError: No module named 'x'", rules) == UNKNOWN_CATEGORY
    assert classify_error("welcome to dependency hell", rules) == "import_error"


def test_overriding_fields_keeps_the_rest(write_rules) -> None:
    rules = load_rules(
        write_rules(
            '[categories.timeout_error]\nseverity = "high"\nestimated_fix_time = "2-4 hours"\n'
        )
    )
    rule = rules.categories["timeout_error"]
    assert (rule.severity, rule.estimated_fix_time) == ("high", "2-4 hours")
    assert rule.name == "Timeout Error"
    assert rule.keywords == ERROR_PATTERNS["timeout_error"].keywords
    assert ERROR_PATTERNS["timeout_error"].severity == "medium"


def test_new_category_is_tried_before_the_canonical_ones(write_rules) -> None:
    rules = load_rules(
        write_rules(
            "[categories.flaky_test]\n"
            'name = "Flaky Test"\ncategory = "Test Issue"\nrecommendation = "Quarantine it"\n'
            'keywords = ["pytest execution timed out"]\n'
            "[categories.quota_error]\n"
            'name = "Quota Error"\ncategory = "Provider Issue"\nrecommendation = "Back off"\n'
            "severity = \"low\"\npatterns = ['(?i)rate limit (?:exceeded|reached)']\n"
        )
    )
    assert list(rules.categories)[:2] == ["flaky_test", "quota_error"]
    assert list(rules.categories)[2:] == list(ERROR_PATTERNS)
    assert classify_error("pytest execution timed out after 5 minutes", rules) == "flaky_test"
    assert classify_error("GitHub API RATE LIMIT EXCEEDED", rules) == "quota_error"
    assert classify_error("Read timed out", rules) == "timeout_error"
    quota = get_category("quota_error", rules)
    assert quota is not None and (quota.name, quota.severity) == ("Quota Error", "low")
    assert quota.estimated_fix_time == CategoryRule("k", "n", "c", "r", "low").estimated_fix_time


def test_disabling_a_category_removes_it(write_rules) -> None:
    rules = load_rules(write_rules("[categories.timeout_error]\nenabled = false\n"))
    assert "timeout_error" not in rules.categories
    assert get_category("timeout_error", rules) is None
    assert classify_error("pytest execution timed out", rules) == UNKNOWN_CATEGORY
    assert classify_error("ECONNREFUSED", rules) == "connection_error"


def test_user_masks_run_first_and_replace_defaults_in_place(write_rules) -> None:
    default_names = [mask.name for mask in DEFAULT_MASKS]
    replaced = default_names[-1]
    rules = load_rules(
        write_rules(
            '[[masks]]\nname = "ticket"\npattern = \'JIRA-\\d+\'\nreplacement = "<TICKET>"\n'
            f'[[masks]]\nname = "{replaced}"\npattern = \'X\\d+\'\nreplacement = "<X>"\n'
        )
    )
    assert [mask.name for mask in rules.masks] == ["ticket", *default_names]
    assert rules.masks[0] == MaskRule("ticket", r"JIRA-\d+", "<TICKET>")
    assert rules.masks[-1] == MaskRule(replaced, r"X\d+", "<X>")


def test_disabled_masks_are_removed(write_rules) -> None:
    first, second = DEFAULT_MASKS[0].name, DEFAULT_MASKS[1].name
    rules = load_rules(
        write_rules(
            f'disabled_masks = ["{first}", "ticket"]\n'
            '[[masks]]\nname = "ticket"\npattern = \'JIRA-\\d+\'\nreplacement = "<TICKET>"\n'
        )
    )
    names = [mask.name for mask in rules.masks]
    assert first not in names and "ticket" not in names
    assert names[0] == second and len(names) == len(DEFAULT_MASKS) - 1


def test_empty_rules_file_gives_the_canonical_rules(write_rules) -> None:
    rules = load_rules(write_rules("# nothing\n"))
    assert rules.categories == ERROR_PATTERNS and rules.masks == DEFAULT_MASKS


def test_example_rules_file_loads_and_works() -> None:
    rules = load_rules(ROOT / "examples" / "rules.toml")
    assert {"quota_error", "database_error"} <= set(rules.categories)
    assert classify_error("GitHub API rate limit exceeded", rules) == "quota_error"
    assert classify_error("HTTP/1.1 429 Too Many Requests", rules) == "quota_error"
    assert classify_error("IntegrityError: UNIQUE constraint failed: x", rules) == "database_error"
    assert classify_error("uv sync failed", rules) == "import_error"
    assert rules.categories["timeout_error"].severity == "high"
    assert rules.masks[0].name == "ticket"
    assert "hex" not in [mask.name for mask in rules.masks]


def test_docs_example_loads_and_docs_name_every_key(tmp_path: Path) -> None:
    from error_analytics.rules import loader

    text = (ROOT / "docs" / "rules-file.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    assert example is not None
    path = tmp_path / "docs.toml"
    path.write_text(example.group(1), encoding="utf-8")
    rules = load_rules(path)
    assert "quota_error" in rules.categories and "type_error" not in rules.categories
    for key in loader._TOP_LEVEL_KEYS | loader._CATEGORY_KEYS | loader._MASK_KEYS:
        assert f"`{key}`" in text, key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('colour = "red"\n', r"unknown top-level key\(s\) 'colour'"),
        ("categories = 3\n", r"'categories' must be a table"),
        (
            '[categories.import_error]\nkeywrds = ["x"]\n',
            r"\[categories\.import_error\]: unknown key\(s\) 'keywrds'",
        ),
        ('[categories."Bad Key"]\nname = "x"\n', r"\[categories\.Bad Key\]: invalid category key"),
        ('[categories.unknown]\nname = "x"\n', r"\[categories\.unknown\]: invalid category key"),
        (
            "[categories.import_error]\npatterns = ['(unclosed']\n",
            r"\[categories\.import_error\]: pattern '\(unclosed' is not a valid regular "
            r"expression: missing \)",
        ),
        ("[categories.import_error]\npatterns = ['x*']\n", r"matches the empty string"),
        (
            '[categories.import_error]\nseverity = "urgent"\n',
            r"'severity' must be one of high, medium, low, got 'urgent'",
        ),
        (
            '[categories.quota_error]\ncategory = "c"\nrecommendation = "r"\nkeywords = ["q"]\n',
            r"\[categories\.quota_error\]: a new category needs 'name'",
        ),
        (
            '[categories.quota_error]\nname = "Q"\ncategory = "c"\nrecommendation = "r"\n',
            r"at least one keyword or pattern",
        ),
        (
            '[categories.import_error]\nkeywords = "pip"\n',
            r"'keywords' must be a list of non-empty strings",
        ),
        (
            '[categories.import_error]\nkeywords = ["ok", ""]\n',
            r"'keywords' must be a list of non-empty strings",
        ),
        ('[categories.import_error]\nname = ""\n', r"'name' must be a non-empty string"),
        ('[categories.import_error]\nreplace = "yes"\n', r"'replace' must be true or false"),
        ("[categories.import_error]\nreplace = true\n", r"replace = true needs at least one"),
        (
            "[categories.nothing_here]\nenabled = false\n",
            r"\[categories\.nothing_here\]: enabled = false names no canonical category",
        ),
        ('masks = "x"\n', r"'masks' must be an array of tables"),
        ('[[masks]]\nname = "t"\npattern = "T"\n', r"\[\[masks\]\] #1: missing 'replacement'"),
        (
            '[[masks]]\nname = "t"\npattern = "T"\nreplacement = "<T>"\ncolour = 1\n',
            r"\[\[masks\]\] #1: unknown key\(s\) 'colour'",
        ),
        (
            '[[masks]]\nname = "t"\npattern = "T"\nreplacement = "<T>"\ndisabled_masks = ["x"]\n',
            r"top-level keys must come before the first \[table\]",
        ),
        (
            '[[masks]]\nname = "t"\npattern = \'[a-\'\nreplacement = "<T>"\n',
            r"\[\[masks\]\] #1 \(t\): pattern '\[a-' is not a valid regular expression",
        ),
        (
            "[[masks]]\nname = \"t\"\npattern = 'a(b)'\nreplacement = '\\2'\n",
            r"\(t\): bad replacement '\\\\2': invalid group reference 2",
        ),
        (
            '[[masks]]\nname = "t"\npattern = "T"\nreplacement = "<T>"\n'
            '[[masks]]\nname = "t"\npattern = "U"\nreplacement = "<U>"\n',
            r"\[\[masks\]\] #2: duplicate name 't'",
        ),
        (
            'disabled_masks = ["no_such_mask"]\n',
            r"disabled_masks: unknown mask 'no_such_mask'; known: ",
        ),
        ("disabled_masks = [1]\n", r"'disabled_masks' must be a list of mask names"),
        ("[categories.import_error\nkeywords = []\n", r"invalid TOML: .*line 1"),
        ("a = 1\n[x]\ny z\n", r"invalid TOML: .*\(at line 3, column 3\)"),
    ],
)
def test_invalid_rules_file_names_file_entry_and_fault(
    write_rules, text: str, expected: str
) -> None:
    path = write_rules(text)
    with pytest.raises(InvalidRuleError, match=expected) as raised:
        load_rules(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_missing_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(InvalidRuleError, match=r"absent\.toml: rules file not found"):
        load_rules(path)


def test_rules_file_that_is_not_utf8(write_rules, tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[categories.import_error]\nkeywords = ["caf\xe9"]\n'.encode("latin-1"))
    with pytest.raises(InvalidRuleError, match=r"latin1\.toml: "):
        load_rules(path)
