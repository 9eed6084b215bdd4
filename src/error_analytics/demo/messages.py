"""Catalogue of the error messages ADW runs produce, as data.

Each :class:`MessageTemplate` is a ``str.format`` template whose ``{slots}`` are filled from
:data:`SLOT_CHOICES` / :data:`SLOT_RANGES` (or from the run itself: ``adw_id``, ``issue``),
the canonical phases it occurs in, and a relative weight. ``key`` names the underlying
problem (it is the ground truth a clustering can be scored against); ``host_category`` is
the coarse label the host application would have stored in ``error_category``.
A ``{hexN}`` slot takes N random hex digits. Literal braces are doubled (``{{``), as
``str.format`` requires.
"""

from __future__ import annotations

import dataclasses
import random
import string

from error_analytics.models import Phase

ALL_PHASES: tuple[str, ...] = tuple(phase.value for phase in Phase if phase is not Phase.UNKNOWN)
ANY_AGENT_PHASE: tuple[str, ...] = ("Plan", "Build", "Test", "Review", "Document", "Ship")


@dataclasses.dataclass(frozen=True, slots=True)
class MessageTemplate:
    key: str
    template: str
    phases: tuple[str, ...]
    weight: float
    ecosystem: str  # python | node | go | rust | git | github | agent | ci | sql
    host_category: str  # syntax_error | timeout | api_quota | validation | unknown


_M = MessageTemplate
_TB = (
    'Traceback (most recent call last):\n  File "{pyfile}", line {line}, in {func}\n    {pycode}\n'
)
_TB2 = _TB + '  File "{pyfile2}", line {line2}, in {func2}\n    {pycode2}\n'

CATALOGUE: tuple[MessageTemplate, ...] = (
    # --- Python ------------------------------------------------------------------------------
    _M(
        "py_module_not_found",
        'Traceback (most recent call last):\n  File "trees/{adw_id}/adws/{script}.py", line {line},'
        " in <module>\n    from {module} import {symbol}\nModuleNotFoundError: No module named "
        "'{module}'",
        ("Plan", "Build", "Test", "Review", "Document", "Ship"),
        9.0,
        "python",
        "syntax_error",
    ),
    _M(
        "py_module_not_found_short",
        "ModuleNotFoundError: No module named '{module}'",
        ("Build", "Test", "Validate"),
        4.0,
        "python",
        "syntax_error",
    ),
    _M(
        "py_type_error",
        _TB2 + "TypeError: {func2}() got an unexpected keyword argument '{kwarg}'",
        ("Build", "Test", "Verify"),
        3.0,
        "python",
        "syntax_error",
    ),
    _M(
        "py_none_subscript",
        _TB + "TypeError: 'NoneType' object is not subscriptable",
        ("Build", "Test", "Review"),
        2.5,
        "python",
        "syntax_error",
    ),
    _M(
        "py_key_error",
        _TB2 + "KeyError: '{dict_key}'",
        ("Plan", "Build", "Test", "Ship"),
        3.0,
        "python",
        "unknown",
    ),
    _M(
        "py_json_datetime",
        _TB2 + "TypeError: Object of type datetime is not JSON serializable",
        ("Build", "Test", "Verify"),
        3.0,
        "python",
        "syntax_error",
    ),
    _M(
        "sqlite_unique_adw_id",
        _TB + "sqlite3.IntegrityError: UNIQUE constraint failed: workflow_history.adw_id",
        ("Plan", "Build", "Cleanup"),
        2.5,
        "sql",
        "validation",
    ),
    _M(
        "sqlite_missing_column",
        "sqlite3.OperationalError: table workflow_history has no column named {db_column}",
        ("Build", "Test", "Verify"),
        3.0,
        "sql",
        "unknown",
    ),
    _M(
        "pg_undefined_column",
        'psycopg.errors.UndefinedColumn: column "{db_column}" of relation "workflow_history" does'
        " not exist\nLINE 1: INSERT INTO workflow_history (adw_id, status, {db_column}) VALUES"
        " ($1, $2, $3)",
        ("Build", "Test", "Verify"),
        1.5,
        "sql",
        "unknown",
    ),
    _M(
        "py_assertion_failed",
        "FAILED tests/{test_file}::{test_name} - AssertionError: assert {status_code} == 200\n"
        "========= 1 failed, {passed} passed in {seconds}.{centis}s =========",
        ("Test",),
        6.0,
        "python",
        "validation",
    ),
    _M(
        "pytest_failure_count",
        "{failures} test failures",
        ("Test", "Verify"),
        5.0,
        "python",
        "validation",
    ),
    _M(
        "pydantic_validation",
        "pydantic_core._pydantic_core.ValidationError: 1 validation error for {model_name}\n"
        "{field}\n  Field required [type=missing, input_value={{'adw_id': '{adw_id}'}},"
        " input_type=dict]",
        ("Plan", "Build", "Validate"),
        2.0,
        "python",
        "validation",
    ),
    _M(
        "ruff_lint",
        "{pyfile}:{line}:{col}: F401 [*] `{module}` imported but unused\n"
        "{pyfile2}:{line2}:{col}: E501 Line too long ({long_line} > 100)\n"
        "Found {failures} errors.\n[*] 1 fixable with the `--fix` option.",
        ("Lint", "Build"),
        3.0,
        "python",
        "syntax_error",
    ),
    # --- timeouts and retries ------------------------------------------------------------------
    _M(
        "pytest_timeout",
        "pytest execution timed out after {minutes} minutes",
        ("Test", "Verify"),
        6.0,
        "python",
        "timeout",
    ),
    _M(
        "command_timeout",
        "Command timed out after {seconds}s: {command}",
        ("Build", "Test", "Lint"),
        3.0,
        "ci",
        "timeout",
    ),
    _M(
        "agent_timeout",
        "TimeoutError: agent did not respond within {seconds} seconds",
        ANY_AGENT_PHASE,
        2.5,
        "agent",
        "timeout",
    ),
    _M(
        "ci_no_output",
        "No output has been received in the last 10m0s, this potentially indicates a stalled "
        "build or something wrong with the build itself.",
        ("Test", "Build", "Ship"),
        2.0,
        "ci",
        "timeout",
    ),
    _M(
        "phase_retries_exhausted",
        "Phase failed after {attempts} attempts",
        ALL_PHASES,
        4.0,
        "agent",
        "unknown",
    ),
    _M(
        "nonzero_exit",
        "Non-zero exit code: {exit_code}\nStderr: {stderr_line}",
        ("Build", "Test", "Lint", "Ship"),
        4.0,
        "ci",
        "unknown",
    ),
    # --- network, services and APIs -----------------------------------------------------------
    _M(
        "econnrefused_local",
        "ECONNREFUSED localhost:{port}",
        ("Test", "Review", "Verify"),
        5.0,
        "node",
        "unknown",
    ),
    _M(
        "econnrefused_node",
        "Error: connect ECONNREFUSED 127.0.0.1:{port}\n    at TCPConnectWrap.afterConnect"
        " [as oncomplete] (node:net:{line}:16)",
        ("Test", "Review"),
        2.5,
        "node",
        "unknown",
    ),
    _M(
        "go_dial_refused",
        "dial tcp 127.0.0.1:5432: connect: connection refused\nexit status 1\nFAIL\t{go_pkg}\t"
        "{seconds}.{centis}s",
        ("Build", "Test"),
        2.0,
        "go",
        "unknown",
    ),
    _M(
        "dns_enotfound",
        "Error: getaddrinfo ENOTFOUND api.github.com\n    at GetAddrInfoReqWrap.onlookup"
        " [as oncomplete] (node:dns:{line}:26)",
        ("Plan", "Ship", "Cleanup"),
        2.0,
        "node",
        "unknown",
    ),
    _M(
        "github_rate_limit",
        "GitHub API rate limit exceeded. Retry after {seconds} seconds.",
        ("Plan", "Ship", "Review", "Cleanup"),
        3.0,
        "github",
        "api_quota",
    ),
    _M(
        "gh_rate_limit_cli",
        "gh: API rate limit exceeded for user ID {user_id}. (HTTP 403)",
        ("Plan", "Ship", "Cleanup"),
        1.5,
        "github",
        "api_quota",
    ),
    _M(
        "gh_bad_credentials",
        "HTTP 401: Bad credentials (https://api.github.com/graphql)",
        ("Plan", "Ship"),
        1.0,
        "github",
        "unknown",
    ),
    _M(
        "anthropic_overloaded",
        'API Error: 529 {{"type":"error","error":{{"type":"overloaded_error","message":'
        '"Overloaded"}},"request_id":"req_{hex24}"}}',
        ANY_AGENT_PHASE,
        2.5,
        "agent",
        "api_quota",
    ),
    _M(
        "anthropic_rate_limit",
        "Claude Code error: 429 rate_limit_error: This request would exceed the rate limit for"
        " your organization of {tokens} output tokens per minute.",
        ANY_AGENT_PHASE,
        2.0,
        "agent",
        "api_quota",
    ),
    # --- git -----------------------------------------------------------------------------------
    _M(
        "git_pathspec",
        "error: pathspec '{git_ref}' did not match any file(s) known to git",
        ("Plan", "Ship", "Cleanup"),
        3.0,
        "git",
        "unknown",
    ),
    _M(
        "git_branch_exists",
        "fatal: a branch named 'feat-issue-{issue}-adw-{adw_id}' already exists",
        ("Plan",),
        1.5,
        "git",
        "validation",
    ),
    _M(
        "git_merge_conflict",
        "CONFLICT (content): Merge conflict in {repo_file}\nAutomatic merge failed; fix conflicts"
        " and then commit the result.",
        ("Ship", "Build"),
        2.0,
        "git",
        "unknown",
    ),
    _M(
        "git_push_rejected",
        " ! [rejected]        feat-issue-{issue}-adw-{adw_id} -> feat-issue-{issue}-adw-{adw_id}"
        " (non-fast-forward)\nerror: failed to push some refs to"
        " 'github.com:acme/webbuilder.git'",
        ("Ship",),
        1.5,
        "git",
        "unknown",
    ),
    # --- Node / TypeScript / Vite (with the ANSI colours the tools print) ----------------------
    _M(
        "tsc_type_mismatch",
        "\x1b[96m{ts_file}\x1b[0m:\x1b[93m{line}\x1b[0m:\x1b[93m{col}\x1b[0m - \x1b[31merror"
        "\x1b[39m TS2322: Type 'string' is not assignable to type 'number'.\n\nFound {failures}"
        " errors in the same file, starting at: {ts_file}:{line}",
        ("Build", "Lint", "Test"),
        4.0,
        "node",
        "syntax_error",
    ),
    _M(
        "tsc_missing_property",
        "{ts_file}({line},{col}): \x1b[31merror\x1b[39m TS2339: Property '{field}' does not exist"
        " on type '{ts_type}'.",
        ("Build", "Lint"),
        2.5,
        "node",
        "syntax_error",
    ),
    _M(
        "npm_eresolve",
        "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\nnpm ERR!\n"
        "npm ERR! While resolving: client@0.0.0\nnpm ERR! Found: react@18.3.1\nnpm ERR! Could not"
        ' resolve dependency:\nnpm ERR! peer react@"^19.0.0" from {npm_pkg}@{semver}',
        ("Build",),
        3.0,
        "node",
        "unknown",
    ),
    _M(
        "node_cannot_find_vite",
        "\x1b[31merror during build:\x1b[39m\nError: Cannot find module 'vite'\nRequire stack:\n-"
        " /app/client/node_modules/.bin/vite",
        ("Build", "Test", "Review"),
        3.0,
        "node",
        "syntax_error",
    ),
    _M(
        "node_cannot_find_module",
        "Error: Cannot find module '{npm_pkg}'\nRequire stack:\n- /app/client/{js_file}",
        ("Build", "Test"),
        2.0,
        "node",
        "syntax_error",
    ),
    _M(
        "vite_unresolved_import",
        '\x1b[31m[vite]\x1b[39m Internal server error: Failed to resolve import "{ts_import}" from'
        ' "{ts_file}". Does the file exist?',
        ("Build", "Review"),
        2.0,
        "node",
        "syntax_error",
    ),
    _M(
        "eslint_unused",
        "/app/client/{ts_file}\n  {line}:{col}  \x1b[31merror\x1b[39m  '{js_symbol}' is defined but"
        " never used  @typescript-eslint/no-unused-vars\n\n\x1b[31m\u2716 1 problem (1 error,"
        " 0 warnings)\x1b[39m",
        ("Lint",),
        3.0,
        "node",
        "syntax_error",
    ),
    _M(
        "vitest_failed",
        " \x1b[31mFAIL\x1b[39m  src/{ts_test}\nAssertionError: expected '{status_code}' to be '200'"
        "\n Test Files  1 failed | {passed} passed",
        ("Test",),
        3.0,
        "node",
        "validation",
    ),
    # --- Go and Rust ---------------------------------------------------------------------------
    _M(
        "go_nil_pointer",
        "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV:"
        " segmentation violation code=0x1 addr=0x0 pc=0x{hex6}]\n\ngoroutine 1 [running]:\n"
        "{go_pkg}.(*Server).Start(...)",
        ("Test", "Verify"),
        1.5,
        "go",
        "unknown",
    ),
    _M(
        "rust_mismatched_types",
        "error[E0308]: mismatched types\n --> src/{rs_file}:{line}:{col}\n  |\n  |     let port:"
        ' u16 = env::var("PORT");\n  |               ---   ^^^^^^^^^^^^^^^^^ expected `u16`,'
        " found `Result<String, VarError>`",
        ("Build",),
        2.0,
        "rust",
        "syntax_error",
    ),
    _M(
        "rust_unresolved_crate",
        "error[E0433]: failed to resolve: use of undeclared crate or module `{crate}`\n --> src/"
        "{rs_file}:{line}:{col}",
        ("Build", "Lint"),
        1.0,
        "rust",
        "syntax_error",
    ),
    # --- phrased without an obvious keyword -----------------------------------------------------
    _M(
        "plan_file_empty",
        "Plan file specs/issue-{issue}-adw-{adw_id}-sdlc_planner.md was written but is empty",
        ("Plan",),
        2.5,
        "agent",
        "unknown",
    ),
    _M(
        "agent_max_turns",
        "Claude Code returned result subtype error_max_turns after {turns} turns",
        ANY_AGENT_PHASE,
        2.5,
        "agent",
        "unknown",
    ),
    _M(
        "review_blockers",
        "Review found {failures} blocker issues; screenshots do not match the specification",
        ("Review",),
        3.0,
        "agent",
        "validation",
    ),
    _M(
        "no_pr_for_branch",
        "Expected one pull request for branch feat-issue-{issue}-adw-{adw_id}, found 0",
        ("Ship",),
        1.5,
        "github",
        "validation",
    ),
    _M(
        "worktree_dirty",
        "Worktree trees/{adw_id} has uncommitted changes; refusing to continue",
        ("Cleanup", "Ship", "Plan"),
        1.5,
        "git",
        "unknown",
    ),
    _M(
        "agent_output_unparsable",
        "The agent's answer could not be turned into a list of review items",
        ("Review", "Document"),
        1.5,
        "agent",
        "unknown",
    ),
    _M(
        "docs_image_missing",
        "Documentation references app_docs/assets/{adw_id}_review.png which was never produced",
        ("Document",),
        1.5,
        "agent",
        "unknown",
    ),
    _M(
        "verify_port_mismatch",
        "Backend answered on {port} while the worktree expects {port2}",
        ("Verify", "Test"),
        1.0,
        "agent",
        "unknown",
    ),
)

#: Failures that appear only in recent data (absent from the history before).
NEW_FAILURE = MessageTemplate(
    "playwright_browser_missing",
    "browserType.launch: Executable doesn't exist at /root/.cache/ms-playwright/"
    "chromium_headless_shell-{pw_build}/chrome-linux/headless_shell\n"
    "\u2554" + "\u2550" * 60 + "\u2557\n"
    "\u2551 Looks like Playwright was just installed or updated.       \u2551\n"
    "\u2551 Please run the following command to download new browsers: \u2551\n"
    "\u2551     npx playwright install                                 \u2551\n"
    "\u255a" + "\u2550" * 60 + "\u255d",
    ("Test", "Review"),
    1.0,
    "node",
    "unknown",
)
NEW_FAILURE_PREFIX = "browserType.launch: Executable doesn't exist at"

LATER_FAILURE = MessageTemplate(
    "port_in_use",
    "Error: listen EADDRINUSE: address already in use :::{port}\n    at Server.setupListenHandle"
    " [as _listen2] (node:net:1908:16)\n    at listenInCluster (node:net:1965:12)",
    ("Build", "Test", "Review"),
    1.0,
    "node",
    "unknown",
)
LATER_FAILURE_PREFIX = "Error: listen EADDRINUSE: address already in use"

#: Keys that dominate the failures of a spike day (an outage, a quota exhausted).
SPIKE_KEYS: tuple[str, ...] = ("github_rate_limit", "anthropic_overloaded", "econnrefused_local")

#: How a run's final ``failure_reason`` / ``error_message`` wraps the detailed message.
#: ``None`` stands for the detailed message itself.
WRAPPERS: tuple[tuple[str | None, float], ...] = (
    (None, 70.0),
    ("{phase} phase failed: {detail}", 10.0),
    ("Non-zero exit code: {exit_code}\nStderr: {detail}", 8.0),
    ("Phase failed after {attempts} attempts", 7.0),
    ("Workflow {adw_id} failed during {phase_lower}", 5.0),
)

SLOT_CHOICES: dict[str, tuple[str, ...]] = {
    "script": (
        "adw_plan_iso",
        "adw_build_iso",
        "adw_test_iso",
        "adw_review_iso",
        "adw_document_iso",
        "adw_ship_iso",
        "adw_sdlc_complete_iso",
    ),
    "module": (
        "adw_modules",
        "adw_modules.state",
        "adw_modules.workflow_ops",
        "pydantic_settings",
        "httpx",
        "app.server.core.config",
        "psycopg",
        "dotenv",
    ),
    "symbol": ("ADWState", "make_adw_id", "Settings", "AsyncClient", "get_db"),
    "js_symbol": ("useEffect", "WorkflowStatus", "formatDuration", "React"),
    "pyfile": (
        "app/server/core/workflow_history.py",
        "adws/adw_modules/state.py",
        "app/server/routes/analytics.py",
        "app/server/server.py",
        "adws/adw_modules/agent.py",
        "app/server/core/data_models.py",
    ),
    "pyfile2": (
        "app/server/core/cost_tracker.py",
        "adws/adw_modules/git_ops.py",
        "app/server/repositories/phase_queue.py",
        "/usr/lib/python3.11/json/encoder.py",
    ),
    "func": ("<module>", "main", "run_phase", "insert_workflow", "sync_history"),
    "func2": ("save", "default", "update_workflow", "build_payload", "record_phase"),
    "pycode": (
        "result = run_phase(state)",
        "row = cursor.fetchone()[0]",
        "json.dumps(record)",
        "insert_workflow(adw_id, **fields)",
    ),
    "pycode2": (
        "return self.session.execute(stmt)",
        "raise TypeError(f'Object of type {o}')",
        "payload['phases'][name]",
        "conn.execute(sql, values)",
    ),
    "kwarg": ("timeout", "adw_id", "phase_name", "retry"),
    "dict_key": ("plan_file", "branch_name", "backend_port", "issue_class", "head_sha"),
    "db_column": (
        "hour_of_day",
        "day_of_week",
        "phase_durations",
        "cost_breakdown",
        "scoring_version",
    ),
    "model_name": ("WorkflowHistoryItem", "ADWStateData", "PhaseQueueItem"),
    "field": ("issue_number", "workflow_template", "status", "branch_name"),
    "test_file": (
        "test_workflow_history.py",
        "test_analytics.py",
        "test_server.py",
        "test_phase_queue.py",
        "e2e/test_dashboard.py",
    ),
    "test_name": (
        "test_insert_workflow",
        "test_sync_updates_cost",
        "test_health_endpoint",
        "test_queue_order",
        "test_websocket_reconnect",
    ),
    "command": (
        "uv run pytest",
        "bun run build",
        "npm run typecheck",
        "go test ./...",
        "cargo build --release",
    ),
    "stderr_line": (
        "fatal: not a git repository (or any of the parent directories): .git",
        "bash: uv: command not found",
        "error: could not lock config file",
        "Killed",
        "Segmentation fault (core dumped)",
    ),
    "minutes": ("5", "5", "5", "10"),
    "attempts": ("3", "3", "3", "2", "5"),
    "port2": ("8001", "8002", "8003", "8004", "9101"),
    "port": ("9100", "8000", "5173", "3000", "8080", "9100", "9100"),
    "go_pkg": (
        "github.com/acme/webbuilder/internal/store",
        "github.com/acme/webbuilder/cmd/server",
    ),
    "git_ref": ("main", "origin/develop", "specs/plan.md", "feature/adw-plan-review"),
    "repo_file": (
        "app/server/server.py",
        "app/client/src/App.tsx",
        "README.md",
        "app/server/core/workflow_history.py",
    ),
    "ts_file": (
        "src/components/WorkflowCard.tsx",
        "src/api/client.ts",
        "src/components/ErrorPanel.tsx",
        "src/hooks/useWorkflows.ts",
    ),
    "ts_type": ("WorkflowHistoryItem", "PhaseStatus", "Props"),
    "ts_import": ("@/components/ui/badge", "./ErrorTrend", "recharts"),
    "ts_test": ("components/WorkflowCard.test.tsx", "api/client.test.ts"),
    "js_file": ("vite.config.ts", "scripts/build.mjs", "node_modules/.bin/vite"),
    "npm_pkg": (
        "@testing-library/react",
        "react-day-picker",
        "recharts",
        "vite",
        "@vitejs/plugin-react",
    ),
    "semver": ("8.10.1", "16.1.0", "2.12.7", "4.3.4"),
    "rs_file": ("main.rs", "config.rs", "server.rs"),
    "crate": ("tokio", "serde_json", "anyhow"),
}

SLOT_RANGES: dict[str, tuple[int, int]] = {
    "line": (12, 480),
    "line2": (5, 220),
    "col": (1, 79),
    "long_line": (101, 140),
    "seconds": (30, 900),
    "centis": (10, 99),
    "exit_code": (1, 2),
    "failures": (2, 9),
    "passed": (40, 260),
    "status_code": (401, 503),
    "user_id": (1000000, 9999999),
    "tokens": (8000, 80000),
    "turns": (30, 80),
    "pw_build": (1140, 1169),
}


def render_message(message: MessageTemplate, rng: random.Random, context: dict[str, str]) -> str:
    """Fill the slots of ``message`` from ``context`` first, then the slot tables."""
    values: dict[str, str] = {}
    for _, name, _, _ in string.Formatter().parse(message.template):
        if not name or name in values:
            continue
        if name in context:
            values[name] = context[name]
        elif name in SLOT_CHOICES:
            values[name] = rng.choice(SLOT_CHOICES[name])
        elif name in SLOT_RANGES:
            values[name] = str(rng.randint(*SLOT_RANGES[name]))
        elif name.startswith("hex"):
            values[name] = f"{rng.getrandbits(4 * int(name[3:])):0{name[3:]}x}"
        else:
            raise KeyError(f"message {message.key} uses unknown slot {name!r}")
    return message.template.format_map(values)
