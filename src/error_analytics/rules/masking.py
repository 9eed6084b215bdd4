"""Masking rules: what varies between occurrences of the same error, as ordered data.

Each rule replaces matches of ``pattern`` with ``replacement`` (a placeholder such as
``<NUM>``); rules apply in order, so specific shapes (URLs, UUIDs, timestamps) come before
generic ones (numbers, then any remaining token that still holds a digit). Users extend or
switch off rules from the rules file (see ``rules.loader``).

A rule may also say which lines it can change, so that masking many lines at once skips the
others (a speed-up only, never a change of result): ``triggers``, literals of which one
occurs in every line the rule changes (:data:`ANY_DIGIT`: a digit), and ``prefilter``, a
cheap pattern found in every such line. Rules without them (the users' own) visit every line.

Every default pattern is written to run in linear time on any input: no nested unbounded
quantifiers, tokens are only entered at their start (a look-behind on the token delimiters),
and no pattern crosses a line break (``[ \\t]`` instead of ``\\s``), because the clusterer
masks many messages at once, joined by newlines.
"""

from __future__ import annotations

import dataclasses

#: A trigger that stands for any digit (looked for in the line as masked so far).
ANY_DIGIT = "<digit>"


@dataclasses.dataclass(frozen=True, slots=True)
class MaskRule:
    """One mask: ``pattern`` replaced by ``replacement``.

    ``triggers`` and ``prefilter`` are necessary conditions for a change, declared beside the
    pattern they describe (see the module docstring); a prefilter is used instead of the
    triggers when both are given. A prefilter starts with a literal or a digit, which the
    regex engine skips to quickly.
    """

    name: str
    pattern: str
    replacement: str
    triggers: tuple[str, ...] | None = None
    prefilter: str | None = None


_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_CLOCK = r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?"
#: Characters that end a token for the "id" rule (whitespace and punctuation around values).
_DELIMS = r"\s=:,;()\[\]{}\"'`<>|"
#: Top-level domains that mark a dotted word as a host name (file extensions left out).
_TLDS = (
    r"com|net|org|edu|gov|mil|int|io|dev|app|ai|co|info|biz|cloud|local|localdomain|internal"
    r"|lan|at|au|be|br|ca|ch|cn|cz|de|dk|es|eu|fi|fr|gr|hk|hu|ie|il|it|jp|kr|mx|nl|no|nz"
    r"|pt|ru|se|sg|tw|ua|uk|us|za"
)
_DURATION_UNITS = (
    r"(?:ns|us|µs|ms|msec|msecs|millis|milliseconds?|s|sec|secs|seconds?"
    r"|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)"
)

DEFAULT_MASKS: tuple[MaskRule, ...] = (
    MaskRule(
        "url",
        r"\b[A-Za-z][A-Za-z0-9+.-]{0,15}://[^\s\"'`<>()\[\]{}|]{1,2048}",
        "<URL>",
        triggers=("://",),
    ),
    MaskRule(
        "email",
        r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,}\b",
        "<EMAIL>",
        triggers=("@",),
    ),
    MaskRule(
        "uuid",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "<UUID>",
        triggers=("-",),
        # 8-4-4-4-12 hex groups
        prefilter=r"-[0-9a-fA-F]{4}-",
    ),
    MaskRule(
        "timestamp",
        r"\d(?<!\w\d)\d{3}-\d{2}-\d{2}(?:[T ]" + _CLOCK + r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        r"|\b(?:"
        + _WEEKDAY
        + r",?[ \t]+)?"
        + _MONTH
        + r"[ \t]+\d{1,2},?[ \t]+"
        + _CLOCK
        + r"(?:[ \t]+\d{4})?\b"
        r"|\d(?<!\w\d)\d?:\d{2}:\d{2}(?:[.,]\d{1,9})?\b",
        "<TIME>",
        triggers=(":", "-"),
        # 2024-01-02 or 12:34:56 inside every alternative: \d[-:]\d\d[-:]\d
        prefilter=r"[-:](?<=\d[-:])\d\d[-:]\d",
    ),
    MaskRule(
        "ip",
        r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?::\d{1,5})?(?!\.?\w)"
        r"|[0-9a-fA-F](?<![\w:][0-9a-fA-F])[0-9a-fA-F]{0,3}:(?:[0-9a-fA-F]{1,4}:){6}[0-9a-fA-F]{1,4}\b",
        "<IP>",
        triggers=(".", ":"),
        # IPv4 (\d\.\d{1,3}\.\d) or IPv6 groups
        prefilter=r"\.(?<=\d\.)\d{1,3}\.\d|:[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}:",
    ),
    MaskRule(
        "path",
        # absolute (/a/b, ~/a, ./a, ../a), Windows (C:\a\b), or relative with two separators
        # or a file extension (src/app.js)
        r"(?<![\w.:/\\~@-])(?:~|\.{1,2})?(?:/[\w.@+~-]{1,255}){1,64}/?"
        r"|\b[A-Za-z]:\\[^\s:*?\"<>|,;()']{1,1024}"
        r"|(?<![\w.:/\\~@-])[\w.@+-]{1,255}(?:/[\w.@+-]{1,255}){2,64}"
        r"|(?<![\w.:/\\~@-])[\w.@+-]{1,255}/[\w@+-]{1,255}\.[A-Za-z]\w{0,7}\b",
        "<PATH>",
        triggers=("/", "\\"),
    ),
    MaskRule(
        "host_port",
        r"[A-Za-z0-9-](?<![\w./-][A-Za-z0-9-])[A-Za-z0-9-]{0,62}\.(?:[A-Za-z0-9-]{1,63}\.){0,9}"
        r"[A-Za-z][A-Za-z0-9-]{0,62}:\d{1,5}\b"
        r"|\blocalhost:\d{1,5}\b",
        "<HOST>",
        triggers=(":",),
        prefilter=r":\d",
    ),
    MaskRule(
        "hostname",
        # a listed top-level domain, or any (2-24 letters) after a lower-case host label
        # holding a digit (node-12.cluster.example, ip-10-0-0-1.compute.internal)
        r"(?<![\w./@-])(?:[A-Za-z0-9-]{1,63}\.){1,10}(?:" + _TLDS + r")\b(?![.-]?\w)"
        r"|[a-z0-9-](?<![\w./@-][a-z0-9-])[a-z0-9-]{0,62}(?<=\d)(?<=[a-z0-9-]{2})"
        r"(?:\.[a-z0-9-]{1,63}){1,9}\.[a-z]{2,24}\b(?![.-]?\w)",
        "<HOST>",
        triggers=(".",),
        # a listed top-level domain, or two lower-case labels after a dot (the unlisted ones)
        prefilter=r"\.(?:" + _TLDS + r")\b|\.[a-z0-9-]{1,63}\.[a-z]{2,24}\b",
    ),
    MaskRule(
        "hex",
        r"\b0[xX][0-9a-fA-F]{1,64}\b|\b(?=[0-9]{0,64}[a-fA-F])(?=[a-fA-F]{0,64}\d)"
        r"[0-9a-fA-F]{6,64}\b",
        "<HEX>",
        triggers=(ANY_DIGIT,),
        # a run of hex characters holding a digit and a letter has them side by side (or 0x)
        prefilter=r"[a-fA-FxX](?:(?<=\d.)|(?=\d))",
    ),
    # Two-valued variables: a flag printed as a word.
    MaskRule(
        "boolean",
        r"\b(?:[Tt]rue|TRUE|[Ff]alse|FALSE)\b",
        "<BOOL>",
        triggers=("rue", "RUE", "alse", "ALSE"),
    ),
    # Hex words without a digit, at the lengths of machine words and digests (ffffffff,
    # deadbeefdeadbeef): one case throughout.
    MaskRule(
        "hex_word",
        r"(?<![\w.-])(?:[a-f]{8}|[a-f]{16}|[a-f]{32}|[a-f]{40}|[a-f]{64}"
        r"|[A-F]{8}|[A-F]{16}|[A-F]{32}|[A-F]{40}|[A-F]{64})(?![\w.-])",
        "<HEX>",
        # eight hex letters in a row (written out: faster to scan than a counted class)
        prefilter="[a-fA-F]" * 8,
    ),
    MaskRule(
        "size",
        r"\d(?<![\w.]\d)\d{0,17}(?:\.\d{1,9})?[ \t]?(?:[KMGTP]i?B|[kKMGT]b|bytes?|B)\b",
        "<SIZE>",
        triggers=(ANY_DIGIT,),
        # \d[ \t]?[KMGTPkBb]
        prefilter=r"[KMGTPkBb](?:(?<=\d.)|(?<=\d[ \t].))",
    ),
    MaskRule(
        "duration",
        r"\d(?<![\w.]\d)\d{0,17}(?:\.\d{1,9})?(?:"
        r"(?:h|m|s|ms|us|ns)(?:\d{1,18}(?:\.\d{1,9})?(?:h|m|s|ms|us|ns)){1,3}\b"
        r"|[ \t]?" + _DURATION_UNITS + r"\b)",
        "<DURATION>",
        triggers=(ANY_DIGIT,),
        # \d[ \t]?[nuµmshd], searched from the unit letter (faster on these texts)
        prefilter=r"[nuµmshd](?:(?<=\d.)|(?<=\d[ \t].))",
    ),
    MaskRule(
        "quoted",
        r"'(?![A-Z][a-z]{1,64}')[^'\s]{1,128}'|\"[^\"\s]{1,128}\"|`[^`\s]{1,128}`|‘[^’\s]{1,128}’|“[^”\s]{1,128}”",
        "<STR>",
        triggers=("'", '"', "`", "‘", "“"),
    ),
    MaskRule(
        "number",
        r"(?:[-+](?<![\w.-][-+])\d|\d(?<![\w.-]\d))\d{0,63}(?:[.,]\d{1,64}){0,8}(?![\w])",
        "<NUM>",
        triggers=(ANY_DIGIT,),
    ),
    # A token that still holds two or more digits is an identifier that varies (test72,
    # core.114, TS2304). Single-digit names (en0, IPV6, utf8) are usually constants.
    MaskRule(
        "id",
        r"(?<![^"
        + _DELIMS
        + r"])[^"
        + _DELIMS
        + r"\d]*+\d[^"
        + _DELIMS
        + r"\d]*+\d[^"
        + _DELIMS
        + r"]*+",
        "<ID>",
        triggers=(ANY_DIGIT,),
    ),
)
