"""A small built-in corpus of labelled error messages, as data.

It gives the category model (:mod:`.categorize`) evidence for the five canonical categories
even when the messages being clustered match few keyword rules, and an ``other`` class of
failures that belong to none of them, so that the model can say "none of these". Messages
are phrased as real tools print them and deliberately avoid the exact keywords of the rules
(the rules already cover those), so the model learns the surrounding vocabulary.
"""

from __future__ import annotations

#: Label of the seed messages that belong to no canonical category.
OTHER = "other"

SEED_CORPUS: tuple[tuple[str, str], ...] = (
    # import_error: missing modules, packages and dependencies
    ("import_error", "Cannot find module 'vite' imported from /app/vite.config.ts"),
    ("import_error", "Error: Cannot find module '@babel/core'"),
    ("import_error", "Module not found: Error: Can't resolve 'react-dom' in '/src'"),
    ("import_error", "No module named 'requests'"),
    ("import_error", "cannot import name 'soft_unicode' from 'markupsafe'"),
    ("import_error", "package github.com/foo/bar is not in GOROOT"),
    ("import_error", "could not find a version that satisfies the requirement torch==9.9"),
    ("import_error", "unresolved import `serde_json`"),
    ("import_error", "error: package `tokio` cannot be found in the registry"),
    ("import_error", "npm ERR! 404 'left-pad@9.9.9' is not in this registry"),
    ("import_error", "ld: library not found for -lssl"),
    ("import_error", "fatal error: openssl/ssl.h: No such file or directory #include"),
    ("import_error", "Could not resolve dependency: peer react@18 from react-dom@18"),
    ("import_error", "dependency resolution failed: missing package lodash"),
    # connection_error: network, DNS, refused and reset connections
    ("connection_error", "getaddrinfo ENOTFOUND registry.npmjs.org"),
    ("connection_error", "connect ECONNREFUSED 127.0.0.1:5432"),
    ("connection_error", "read ECONNRESET"),
    ("connection_error", "Could not resolve host: github.com"),
    ("connection_error", "Temporary failure in name resolution"),
    ("connection_error", "dial tcp 10.0.0.5:443: connect: connection refused"),
    ("connection_error", "socket hang up"),
    ("connection_error", "Network is unreachable"),
    ("connection_error", "SSL: CERTIFICATE_VERIFY_FAILED certificate verify failed"),
    ("connection_error", "Failed to establish a new connection: [Errno 111]"),
    ("connection_error", "the remote end hung up unexpectedly"),
    ("connection_error", "HTTP proxy server is down, couldn't establish HTTP connection"),
    ("connection_error", "Max retries exceeded with url: /v1/messages"),
    ("connection_error", "upstream connect error or disconnect/reset before headers"),
    # timeout_error: deadlines, hangs and stalls
    (
        "timeout_error",
        "no output has been received in the last 10m0s, this potentially indicates a stalled build",
    ),
    ("timeout_error", "context deadline exceeded"),
    (
        "timeout_error",
        (
            "Error: timeout of 2000ms exceeded. Ensure the done() callback is being "
            "called in this test"
        ),
    ),
    ("timeout_error", "The job exceeded the maximum time limit for jobs, and has been terminated"),
    ("timeout_error", "Operation took longer than the allowed 300 seconds"),
    ("timeout_error", "Read timed out. (read timeout=30)"),
    ("timeout_error", "waited 60s for the server to become ready, giving up"),
    ("timeout_error", "process did not finish within the deadline and was killed"),
    ("timeout_error", "Test exceeded its time budget of 5 minutes"),
    ("timeout_error", "Job was cancelled after running for too long"),
    ("timeout_error", "WaitFor() expired after 5000 msec"),
    # syntax_error: code that does not parse
    ("syntax_error", "error: expected ';' before '}' token"),
    ("syntax_error", "Unexpected token '<' in JSON at position 0"),
    ("syntax_error", "error: unmatched OUTDENT"),
    ("syntax_error", "parse error: Expected separator between values at line 3, column 9"),
    ("syntax_error", "unexpected identifier at line 8"),
    ("syntax_error", "mapping values are not allowed here in 'config.yml', line 4"),
    ("syntax_error", "Invalid YAML: could not find expected ':'"),
    ("syntax_error", "error: expected expression, found `}`"),
    ("syntax_error", "missing ) after argument list"),
    ("syntax_error", "Octal escape sequences are not allowed in strict mode"),
    ("syntax_error", "expected ':' after dict key"),
    # type_error: wrong types, mismatched signatures, undefined attributes
    ("type_error", "error[E0308]: mismatched types expected `u32`, found `String`"),
    ("type_error", "Argument of type 'string' is not assignable to parameter of type 'number'"),
    ("type_error", "Property 'foo' does not exist on type 'Bar'"),
    ("type_error", "cannot use x (variable of type int) as string value in argument"),
    ("type_error", "unsupported operand type(s) for +: 'int' and 'str'"),
    ("type_error", "'NoneType' object is not subscriptable"),
    ("type_error", "undefined is not a function"),
    ("type_error", "Cannot read properties of undefined (reading 'map')"),
    ("type_error", "incompatible types: String cannot be converted to int"),
    ("type_error", "takes 2 positional arguments but 3 were given"),
    ("type_error", "Couldn't match expected type 'Int' with actual type 'String'"),
    ("type_error", "error: no matching function for call to 'foo(int)'"),
    # other: failures that are none of the five
    ("other", "Flaky test failed too often, giving up"),
    ("other", "Expected 42 but got 41"),
    ("other", "assert response.status_code == 200"),
    ("other", "AssertionError: expected [] to deeply equal [ 1 ]"),
    ("other", "Permission denied (publickey)"),
    ("other", "No space left on device"),
    ("other", "Killed: out of memory"),
    ("other", "Segmentation fault (core dumped)"),
    ("other", "Overfull hbox (12pt too wide) in paragraph at lines 10--12"),
    ("other", "3 tests failed, 120 passed"),
    ("other", "Strings must use singlequote. (quotes)"),
    ("other", "Missing space before function parentheses"),
    ("other", "rake aborted! No Rakefile found"),
    ("other", "API rate limit exceeded for installation"),
    ("other", "docker: Error response from daemon: manifest for image:current not found"),
    ("other", "The command exited with 1"),
    ("other", "See dump file difference: screen contents differ"),
    ("other", "merge conflict in src/app.py, fix conflicts and then commit the result"),
    ("other", "authentication failed for the remote repository"),
    ("other", "coverage 71% is below the required 80%"),
)
