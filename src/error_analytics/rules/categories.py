"""The canonical error categories, as data.

Each :class:`~error_analytics.models.CategoryRule` carries two kinds of evidence:

``keywords``
    Literal phrases, matched case-insensitively and on word boundaries: a keyword that starts
    (ends) with a letter, digit or ``_`` only matches where the text has no such character just
    before (after) it. ``TimeoutError`` therefore matches ``asyncio.TimeoutError`` but not
    ``TimeoutErrorHandler``, and ``npm ERR! 404`` does not match ``npm ERR! 4040``.
``patterns``
    Regular expressions, case-sensitive unless they say ``(?i)``, for shapes a phrase cannot
    express (HTTP status codes, ``cannot use x (type T) as ...``). Keep them linear (no
    nested quantifiers, every repetition bounded) and start each with a literal character,
    not ``\b``, ``(?i)`` or a class: the regex engine then skips ahead on that character,
    which keeps classification of long messages fast (hence ``status`` and ``Status`` twice).

The order of this table is the classification priority (see
:mod:`error_analytics.rules.classify`): categories that usually name the *cause* of a failure
come before the ones that usually name its *symptom*. A syntax error surfaces as an import
failure, a type error at import time as an ``ImportError``, and a refused connection retried
until a deadline as a timeout, so the order is syntax, import, type, connection, timeout.

Decisions on borderline messages:

* dependency problems that are not imports count as ``import_error`` (category "Dependency
  Issue"): ``npm ERR! 404`` / ``E404`` / ``ERESOLVE`` / ``ETARGET``, pip resolution failures,
  ``command not found`` and ``executable file not found in $PATH``;
* ``AttributeError: 'NoneType' object has no attribute 'x'`` (an object of the wrong type)
  and Ruby's ``NoMethodError`` / ``undefined method ... for nil`` are ``type_error``;
* anything that *timed out*, including ``Connection timed out`` and ``connect ETIMEDOUT``,
  is ``timeout_error``; refused, reset and unresolvable connections are ``connection_error``;
* HTTP status codes count only when they are clearly status codes (``HTTP 503``,
  ``status code 502``, ``502 Bad Gateway``): 502/503 are ``connection_error``, 504 and
  ``Gateway Timeout`` are ``timeout_error``. ``TypeError: fetch failed`` (Node's network
  error) is ``connection_error``;
* a bare ``404`` is never evidence (``port 5404`` and ``id 4040`` stay unknown), and neither is
  ``timeout`` as a flag, a parameter or part of a name (``--timeout 30``, ``timeout=30``,
  ``timeout: 30``, ``timeout_seconds``, ``TimeoutConfig``, ``setTimeout``); ``timeout`` used
  as a noun is (``Command timeout (30s)``, ``Timeout waiting for ...``);
* the keywords of the host's original module are honoured, each behind a guard so that it does
  not misfire (:data:`GUARDED_KEYWORDS`): ``Failed to connect`` followed by its target (``to
  ...``, ``:``, end of line) is ``connection_error`` unless the line says it timed out;
  ``type object 'X' has no attribute`` is ``type_error``; ``timeout`` as a noun is
  ``timeout_error``. ``benchmarks/keyword_guards.py`` counts, on real corpora, what each guard
  turns down;
* an exception named inside an assertion or an expectation does not decide: ``TypeError not
  raised``, ``DID NOT RAISE <class 'TypeError'>``, ``expected [Function] to throw TypeError``,
  ``AssertionError: ... ImportError ...``, ``should raise ImportError``,
  ``pytest.raises(TypeError)`` report a test that failed, not a type error. Every line holding
  one of :data:`~error_analytics.rules.contexts.NON_DECIDING_CONTEXTS` is ignored by every category (the built-in ones and those
  of a rules file); a message whose only match sits on such a line stays ``unknown``;
* tool errors across ecosystems, in the tools' own documented words: the linker's missing
  library (``/usr/bin/ld: cannot find -lfoo``, ``ld: library not found for -lfoo``), a missing
  C/C++ header, C#'s ``CS0246`` / ``CS0234`` and NuGet's ``NU1101`` are ``import_error``;
  formatters' check mode (black and ``ruff format --check``: ``would reformat``; prettier
  ``--check``: ``Code style issues found``), YAML parse errors (PyYAML's ``ScannerError`` /
  ``ParserError``, ``mapping values are not allowed``, ``did not find expected key``,
  js-yaml's ``YAMLException``), C# ``CS1002`` / ``CS1513`` / ``CS1026`` and C/C++
  ``expected ';' before`` are ``syntax_error``; C# ``CS0029`` / ``CS0266`` / ``CS1503`` and
  C++ ``invalid conversion from`` / ``cannot convert 'A' to 'B'`` are ``type_error``;
  TLS and certificate failures (``x509: certificate ...``, ``CERTIFICATE_VERIFY_FAILED``,
  ``SSL certificate problem``, ``PKIX path building failed``, Node's certificate codes) and
  ``Cannot connect to the Docker daemon`` are ``connection_error``;
* ``make: *** [target] Error 2`` only says that a recipe failed: it is never evidence by itself
  (the line before it names the cause), and neither is a bare linker ``undefined reference``
  (a missing library, object file or definition: the rules cannot tell which);
* not covered, so ``unknown`` unless a rules file adds a category: rate limits and quotas
  (``GitHub API rate limit exceeded``, HTTP 429: a provider issue, not a network fault),
  ``404 Not Found`` outside npm (usually a wrong URL), ``module 'x' has no attribute 'y'``
  (an API/version mismatch), ``NameError`` and database errors.
"""

from __future__ import annotations

from typing import NamedTuple

from error_analytics.models import NO_TEXT_CATEGORY, UNKNOWN_CATEGORY, CategoryRule, Severity


class GuardedKeyword(NamedTuple):
    """A keyword honoured only where its guard holds: the guard's patterns stand for it."""

    keyword: str  # matched as a plain case-insensitive substring, the way it was once used
    category: str  # the category key the guarded patterns belong to
    patterns: tuple[str, ...]  # the guard: regular expressions, as in CategoryRule.patterns


# "Failed to connect" followed by its target (to/on/after ..., a colon, a stop or the end of
# a line), unless the same line says it timed out (that is a timeout, see above). Not "Failed
# to connect (view) outlet from ..." (macOS Interface Builder), nor "... GitHub account".
_CONNECT_TAIL = (
    r"(?= to\b| on\b| after\b|:|[.,;!]|\s*\n|\s*$)(?![^\n]{0,200}?(?:timed out|[Tt]imeout))"
)
# "timeout" as a noun: a word of its own (not --timeout, .timeout, setTimeout, timeout_s,
# TimeoutConfig, a quoted name as in "argument 'timeout'", ":param/:type timeout:"), not assigned
# or called (timeout=30, timeout(30), timeout: 30, "timeout": "30s") and not followed by a
# number (the timeout command, a flag's value).
_NOUN_TAIL = (
    r"(?![\w}-])(?!\s*=)(?!\()(?!\s+\d)"
    r"(?![\"']?\s*:\s*(?:[\d\"'\[{]|(?:true|false|null|none|True|False|None)\b))"
)

#: The host's original keywords, each behind a guard (see the module docstring).
GUARDED_KEYWORDS: tuple[GuardedKeyword, ...] = (
    GuardedKeyword(
        "Failed to connect",
        "connection_error",
        (f"Failed to connect{_CONNECT_TAIL}", f"failed to connect{_CONNECT_TAIL}"),
    ),
    GuardedKeyword(
        "type object",
        "type_error",
        (r"type object '[^'\n]{1,200}' has no attribute\b",),
    ),
    GuardedKeyword(
        "timeout",
        "timeout_error",
        tuple(
            rf"{word}(?<![\w.$/{{'\"`-]{word})(?<!param {word})(?<!type {word}){_NOUN_TAIL}"
            for word in ("timeout", "Timeout", "TIMEOUT")
        ),
    ),
)


def _guarded(category: str) -> tuple[str, ...]:
    return tuple(
        pattern
        for guarded in GUARDED_KEYWORDS
        if guarded.category == category
        for pattern in guarded.patterns
    )


_SYNTAX = CategoryRule(
    key="syntax_error",
    name="Syntax Error",
    category="Code Quality",
    recommendation=(
        "Run the linter / compiler locally (ruff, eslint, tsc --noEmit, go vet, cargo check) "
        "before committing and add a syntax check step to the Build phase"
    ),
    severity=Severity.HIGH,
    keywords=(
        "SyntaxError",
        "IndentationError",
        "TabError",
        "invalid syntax",
        "syntax error",
        "unexpected EOF while",  # Python / bash; Go's network "unexpected EOF" is not syntax
        "unexpected end of input",
        "unexpected end of file",
        "Unexpected token",
        "unexpected indent",
        "unindent does not match",
        "expected an indented block",
        "EOL while scanning string literal",
        "unterminated string literal",
        "unterminated string",
        "unclosed delimiter",
        "Parsing error",
        "invalid-syntax",
        "E999",
        "illegal start of expression",
        "reached end of file while parsing",
        "class, interface, or enum expected",
        "expected one of `",  # rustc: expected one of `,`, `:`, or `}`, found `x`
        # tsc syntax diagnostics
        "TS1002",
        "TS1003",
        "TS1005",
        "TS1109",
        "TS1128",
        "TS1161",
        # formatters in check mode: black, ruff format --check; prettier --check
        "would reformat",
        "would be reformatted",
        "Code style issues found",
        # YAML parsers: PyYAML, js-yaml, go-yaml, kubectl
        "yaml.scanner.ScannerError",
        "yaml.parser.ParserError",
        "yaml.composer.ComposerError",
        "YAMLException",
        "mapping values are not allowed",
        "did not find expected key",
        "could not find expected ':'",
        "found character that cannot start any token",
        "error converting YAML to JSON",
        "dockerfile parse error",
        # C# compiler: ; expected, } expected, ) expected, invalid expression term
        "error CS1002",
        "error CS1003",
        "error CS1026",
        "error CS1513",
        "error CS1525",
    ),
    patterns=(
        r"'[;)\]}]' expected",  # javac; tsc TS1005
        r"Failed to parse [^\s:]{1,300}:\d{1,9}:\d{1,9}:",  # ruff: file:line:col
        r"error: expected '[;:,)\]}]' (?:before|after|at end of)\b",  # gcc, clang
    ),
    root_cause=(
        "Generated or edited code does not parse: unbalanced brackets, bad indentation, or a "
        "truncated file written by the agent"
    ),
    estimated_fix_time="5-15 minutes",
)

_IMPORT = CategoryRule(
    key="import_error",
    name="Import Error",
    category="Dependency Issue",
    recommendation=(
        "Add missing dependencies to requirements.txt / package.json (go.mod, Cargo.toml, "
        "Gemfile, pom.xml) and reinstall; check import paths and that the environment is "
        "installed before the phase runs"
    ),
    severity=Severity.HIGH,
    keywords=(
        # Python
        "ModuleNotFoundError",
        "ImportError",
        "No module named",
        "cannot import name",
        "Could not find a version that satisfies the requirement",
        "No matching distribution found",
        "ResolutionImpossible",
        # Node / TypeScript / bundlers
        "Cannot find module",
        "Cannot find package",
        "ERR_MODULE_NOT_FOUND",
        "MODULE_NOT_FOUND",
        "Module not found",
        "Failed to resolve import",
        "npm ERR! 404",
        "npm error 404",
        "ERESOLVE",
        "ETARGET",
        "No matching version found for",
        "TS2307",
        # Go
        "cannot find package",
        "no required module provides package",
        "missing go.sum entry",
        "cannot find module providing package",
        "executable file not found in $PATH",
        # Rust
        "error[E0432]",
        "error[E0433]",
        "error[E0463]",
        "unresolved import",
        "can't find crate",
        "use of undeclared crate or module",
        "no matching package named",
        # Java
        "ClassNotFoundException",
        "NoClassDefFoundError",
        "Could not resolve dependencies",
        "Could not find artifact",
        "Could not resolve all dependencies",
        "Could not resolve all files",
        # Ruby
        "LoadError",
        "cannot load such file",
        "Gem::MissingSpecError",
        "Bundler::GemNotFound",
        "Could not find gem",
        'Could not resolve "',  # esbuild; "Could not resolve host" is a network error
        "Could not resolve '",
        "Can't resolve '",  # webpack
        "Can't resolve \"",
        "npm ERR! code E404",
        "npm error code E404",
        # shell
        "command not found",
        "is not recognized as an internal or external command",
        # linkers and C/C++ headers
        "Cannot open include file",  # MSVC C1083
        # C# / NuGet: type or namespace not found, package not found
        "error CS0246",
        "error CS0234",
        "error NU1101",
        "error NU1102",
        # CMake find_package, uv / pubgrub resolution
        "Could not find a package configuration file",
        "requirements are unsatisfiable",
    ),
    patterns=(
        r"package [\w.]{1,200} does not exist\b",  # javac
        r"is not in (?:GOROOT|std)\b",  # go
        r"sh: (?:line \d{1,9}: |\d{1,9}: )?[\w.+-]{1,100}: not found\b",
        r"cannot find -l[\w.+-]",  # GNU ld: cannot find -lssl
        r"library not found for -l[\w.+-]",  # Apple ld
        r"fatal error: [^\n:]{1,200}\.h(?:h|pp|xx)?: No such file or directory",  # gcc, clang
    ),
    root_cause=(
        "A module, package or binary the code needs is not installed in the workflow's "
        "environment, or the import path is wrong"
    ),
    estimated_fix_time="15-30 minutes",
)

_TYPE = CategoryRule(
    key="type_error",
    name="Type Error",
    category="Type Issue",
    recommendation=(
        "Run the type checker (mypy, tsc --noEmit, cargo check, javac) in the Build phase, "
        "guard against None/undefined values and fix mismatched signatures"
    ),
    severity=Severity.MEDIUM,
    keywords=(
        "is not assignable to",
        "incompatible type",
        "incompatible types",
        "mismatched types",
        "error[E0308]",
        "error[E0277]",
        "ClassCastException",
        "cannot be cast to",
        "cannot be converted to",
        "NoMethodError",
        "no implicit conversion of",
        "unsupported operand type",
        "Cannot read properties of undefined",
        "Cannot read properties of null",
        "No overload matches this call",
        # tsc type diagnostics
        "TS2322",
        "TS2339",
        "TS2345",
        "TS2352",
        "TS2531",
        "TS2532",
        "TS2554",
        "TS2741",
        "TS2769",
        "TS7006",
        # C# compiler: cannot (implicitly) convert
        "error CS0029",
        "error CS0266",
        "error CS1503",
        "Cannot implicitly convert type",
        "cannot convert from",
        "invalid conversion from",  # g++
    ),
    patterns=(
        # "TypeError: fetch failed" / "Failed to fetch" are network errors in JS runtimes
        r"TypeError\b(?!: (?:fetch failed|Failed to fetch|NetworkError))",
        r"AttributeError: '\w{1,100}' object has no attribute\b",
        r"Object of type \w{1,100} is not JSON serializable",
        r"cannot use [^\n]{1,200}? as (?:type )?\S{1,100} (?:value )?in\b",  # Go
        r"undefined method [`'][^\n]{1,200}? for nil\b",  # Ruby
        r"cannot convert '[^\n]{1,300}? to '",  # g++ / clang++
        *_guarded("type_error"),  # type object 'X' has no attribute 'y'
    ),
    root_cause=(
        "A value of the wrong type reaches code that expects another: None/undefined, a "
        "changed signature, or a type annotation the code no longer satisfies"
    ),
    estimated_fix_time="30-60 minutes",
)

_CONNECTION = CategoryRule(
    key="connection_error",
    name="Connection Error",
    category="Network Issue",
    recommendation=(
        "Check that the service is running and reachable (host, port, DNS, proxy), start "
        "dependent services before the phase, and retry transient network errors with backoff"
    ),
    severity=Severity.MEDIUM,
    keywords=(
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "ENOTFOUND",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "EAI_AGAIN",
        "Connection refused",
        "Connection reset",
        "Connection aborted",
        "ConnectionError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "ConnectionAbortedError",
        "ConnectError",
        "ConnectException",
        "UnknownHostException",
        "NoRouteToHostException",
        "socket hang up",
        "getaddrinfo",
        "Name or service not known",
        "Temporary failure in name resolution",
        "nodename nor servname provided",
        "no such host",
        "No route to host",
        "Network is unreachable",
        "Could not resolve host",
        "fatal: unable to access",
        "remote end hung up unexpectedly",
        "Failed to establish a new connection",
        "fetch failed",
        "Failed to fetch",
        "Bad Gateway",
        "Service Unavailable",
        "SocketError",
        # TLS and certificates: OpenSSL, Python, curl, Go, Java, Node, .NET
        "CERTIFICATE_VERIFY_FAILED",
        "certificate verify failed",
        "SSLCertVerificationError",
        "SSL certificate problem",
        "x509: certificate",
        "tls: failed to verify certificate",
        "PKIX path building failed",
        "SSLHandshakeException",
        "unable to get local issuer certificate",
        "self-signed certificate in certificate chain",
        "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        "SELF_SIGNED_CERT_IN_CHAIN",
        "DEPTH_ZERO_SELF_SIGNED_CERT",
        "CERT_HAS_EXPIRED",
        "The SSL connection could not be established",
        # container and cluster daemons
        "Cannot connect to the Docker daemon",
    ),
    patterns=(
        r"HTTP(?:/\d(?:\.\d)?)?[ :]{1,3}50[23]\b",  # HTTP 502, HTTP/1.1 503
        r"status(?:[ _]?code)?[ :=]{1,3}50[23]\b",  # status 503, status_code=502
        r"Status(?:[ _]?[Cc]ode)?[ :=]{1,3}50[23]\b",
        r"connection to the server [^\n]{1,200}? was refused\b",  # kubectl
        *_guarded("connection_error"),  # Failed to connect to ...
    ),
    root_cause=(
        "A service the workflow talks to (database, API, dev server, package registry, git "
        "remote) is down, unreachable or not started yet"
    ),
    estimated_fix_time="1-2 hours",
)

_TIMEOUT = CategoryRule(
    key="timeout_error",
    name="Timeout Error",
    category="Performance Issue",
    recommendation=(
        "Find the slow step (hanging test, unbounded wait, slow network call), add explicit "
        "timeouts with clear messages, and raise limits only when the work is genuinely long"
    ),
    severity=Severity.MEDIUM,
    keywords=(
        "timed out",
        "TimeoutError",
        "TimeoutException",
        "TimeoutExpired",
        "Timeout::Error",
        "ReadTimeout",
        "ReadTimeoutError",
        "ConnectTimeout",
        "ConnectTimeoutError",
        "WriteTimeout",
        "PoolTimeout",
        "ServerTimeoutError",
        "SocketTimeoutException",
        "HttpTimeoutException",
        "ScriptTimeoutError",
        "Net::ReadTimeout",
        "Net::OpenTimeout",
        "execution expired",
        "ETIMEDOUT",
        "ESOCKETTIMEDOUT",
        "deadline exceeded",
        "DEADLINE_EXCEEDED",
        "DeadlineExceeded",
        "i/o timeout",
        "Gateway Timeout",
        "Gateway Time-out",
        "Request Timeout",
        "timeout exceeded",
        "timeout waiting for",
        "timeout while waiting",
        "exceeded timeout",
        "no output has been received in the last",
        "exceeded the maximum time limit",
        "exceeded the maximum execution time",
        "HttpClient.Timeout",  # .NET: the request was canceled due to the configured ...
    ),
    patterns=(
        r"Timeout (?:of )?\d{1,9} ?m?s exceeded",  # mocha, playwright
        r"timeout (?:of )?\d{1,9} ?m?s exceeded",
        r"Timeout >\d",  # pytest-timeout
        r"Timeout after \d",
        r"timeout after \d",
        r"HTTP(?:/\d(?:\.\d)?)?[ :]{1,3}504\b",
        r"status(?:[ _]?code)?[ :=]{1,3}504\b",
        r"Status(?:[ _]?[Cc]ode)?[ :=]{1,3}504\b",
        r"504 Gateway\b",
        *_guarded("timeout_error"),  # timeout as a noun
    ),
    root_cause=(
        "A step waited longer than its limit: a hanging test or process, a slow or "
        "unresponsive service, or a limit too small for the work"
    ),
    estimated_fix_time="1-3 hours",
)

#: Canonical categories by key, in classification priority order.
ERROR_PATTERNS: dict[str, CategoryRule] = {
    rule.key: rule for rule in (_SYNTAX, _IMPORT, _TYPE, _CONNECTION, _TIMEOUT)
}

#: The rule of the errors no rule (and no review or model) places: they need review.
UNKNOWN_RULE = CategoryRule(
    key=UNKNOWN_CATEGORY,
    name="Needs review",
    category="No category yet",
    recommendation="Read the example message and the failing phase's log; if it recurs, "
    "add a rule for it (--rules) so it is classified next time.",
    severity=Severity.MEDIUM,
    root_cause="Errors that no rule, review decision or confident model places",
    estimated_fix_time="1-3 hours",
)
#: The rule of failed runs that recorded no error text.
NO_TEXT_RULE = CategoryRule(
    key=NO_TEXT_CATEGORY,
    name="Errors Without Text",
    category="Missing Diagnostics",
    recommendation="Record the exception text and the failing phase when a workflow fails.",
    severity=Severity.MEDIUM,
    root_cause="Failed runs that recorded no error text, and phase error counts without a message",
    estimated_fix_time="1-2 hours",
)
