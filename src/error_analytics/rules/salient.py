"""Salient-line rules: which lines of a multi-line error say what went wrong, as data.

A long log excerpt (a traceback, a compiler run, an npm or pytest report) is reduced to the
few lines that name the failure before it is masked and clustered; the full text is kept
alongside. Patterns are searched in the whole text with ``re.MULTILINE`` (``^`` starts a
line) and must not cross a line break (a space or tab class, never ``\\s``); every pattern is
linear-time.
"""

from __future__ import annotations

#: First line of a Python traceback.
TRACEBACK_HEADER = "Traceback (most recent call last):"

#: ``File "x.py", line 3, in main`` — the location lines of a Python traceback.
TRACEBACK_LOCATION = r'^[ \t]*File "[^"]{0,1024}", line \d+(?:, in \S{1,256})?'

#: The final line of a Python traceback: ``ValueError: bad`` or ``pkg.mod.Error: bad``.
EXCEPTION_LINE = (
    r"^[ \t]*(?:[A-Za-z_][\w]{0,128}\.){0,16}[A-Za-z_]\w{0,128}"
    r"(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault)\b"
)

#: Lines that state an error in the shape a tool prints it (compiler, npm, pytest, go, ...).
STRONG_ERROR_LINES: tuple[str, ...] = (
    EXCEPTION_LINE,
    r"[a-z](?:Error|Exception):[ \t]",  # an exception named mid-line: Stderr: x.OperationalError: …
    r"\b(?i:error)(?:\[[A-Z]{0,4}\d{1,6}\])?:",  # error: / error[E0308]: / Error: / ERROR:
    r"\b(?i:error)[ \t]+[A-Z]{1,4}\d{1,6}\b",  # tsc: error TS2304
    r"^[ \t]*\d+:\d+[ \t]+error\b",  # eslint: 3:5  error  'x' is not defined
    r"npm ERR!",
    r"^E[ \t]{2,}\S",  # pytest assertion detail
    r"^[ \t]*(?:FAILED|FAIL|ERROR)\b",  # pytest / go / jest summaries
    r"^--- FAIL:",
    r"^\[ERROR\]",  # maven
    r"\b(?i:fatal|panic):",
    r"^[ \t]*Caused by:",
    r"\bException in thread\b",
)

#: For a strong pattern, lower-case literals of which at least one occurs in any text it
#: matches (a pattern without an entry is always tried); a literal that starts with ``\n``
#: must start a line. Only a speed-up: the patterns that cannot match a text are left out of
#: its search, and only the lines holding a literal are searched, which finds the same lines.
STRONG_ERROR_HINTS: dict[str, tuple[str, ...]] = {
    EXCEPTION_LINE: ("error", "exception", "exit", "interrupt", "warning", "failure", "fault"),
    STRONG_ERROR_LINES[1]: ("error:", "exception:"),
    STRONG_ERROR_LINES[2]: ("error",),
    STRONG_ERROR_LINES[3]: ("error",),
    STRONG_ERROR_LINES[4]: ("error",),
    STRONG_ERROR_LINES[5]: ("npm err!",),
    STRONG_ERROR_LINES[6]: ("\ne ", "\ne\t"),
    STRONG_ERROR_LINES[7]: ("fail", "error"),
    STRONG_ERROR_LINES[8]: ("--- fail:",),
    STRONG_ERROR_LINES[9]: ("[error]",),
    STRONG_ERROR_LINES[10]: ("fatal:", "panic:"),
    STRONG_ERROR_LINES[11]: ("caused by:",),
    STRONG_ERROR_LINES[12]: ("exception in thread",),
}

#: Lines that merely mention trouble; used when no line is a strong error line.
WEAK_ERROR_LINES: tuple[str, ...] = (
    (
        r"\b(?i:errors?|fatal|failed|failures?|fail|failing|exception|abort(?:ed)?|panic"
        r"|cannot|can't|could not|couldn't|unable to|not found|no such|undefined|denied|refused"
        r"|timed?[ -]?out|segmentation fault|killed|invalid|unexpected|missing|not allowed"
        r"|exited with|exit (?:code|status)|does not exist|doesn't exist)\b"
    ),
)

#: For each weak pattern, as :data:`STRONG_ERROR_HINTS`: lower-case literals of which at
#: least one occurs in any text it matches.
WEAK_ERROR_HINTS: dict[str, tuple[str, ...]] = {
    WEAK_ERROR_LINES[0]: (
        "error",
        "fatal",
        "fail",
        "exception",
        "abort",
        "panic",
        "cannot",
        "can't",
        "could not",
        "couldn't",
        "unable to",
        "not found",
        "no such",
        "undefined",
        "denied",
        "refused",
        "time",
        "segmentation fault",
        "killed",
        "invalid",
        "unexpected",
        "missing",
        "not allowed",
        "exited with",
        "exit ",
        "does not exist",
        "doesn't exist",
    ),
}

#: Decoration around a line that does not change what it says: box drawing and rules
#: (``── 1. Error: x ──``, ``=== FAILURES ===``), bullets and list numbering (``1.``, ``1)``,
#: ``01.``). Stripped from a salient line, so ``── 1. Error: x`` and ``1. Error: x`` agree.
LEADING_DECORATION = r"^(?:[\u2500-\u257f=*#>•·-]{2,}[ \t]*|[•·*][ \t]+)?(?:\(?\d{1,3}[.)][ \t]+)?"
TRAILING_DECORATION = r"[ \t]*[\u2500-\u257f=*#-]{2,}$"

#: A line that only announces errors without naming one (``ERROR``, ``Failure:``,
#: ``FAILURES``): never chosen as a salient line, once its decoration is stripped.
HEADER_ONLY_LINE = (
    r"(?i)(?:errors?|failures?|failed|fail|fatal|exceptions?|failing tests?|tests? failed"
    r"|stack ?trace|traceback)[ \t]*[:!.]?"
)

#: How many salient lines to keep from one message.
MAX_SALIENT_LINES = 2
