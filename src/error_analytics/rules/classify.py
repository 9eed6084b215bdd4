"""Put an error message into a category, using the ordered category rules.

Priority: categories are tried in the order of the rule set (canonical order: syntax, import,
type, connection, timeout; categories added by a rules file come first) and the **first
category with any match wins**; the reported match is that category's earliest match in the
message. A fixed category priority is used rather than "earliest position in the message"
because real messages state a symptom before its cause (``ImportError: cannot import name
'x' ... due to SyntaxError``, ``Timed out waiting for server: connect ECONNREFUSED``), and the
category naming the cause is the one whose recommendation helps. Where text sits in a log
is an accident of formatting; the priority is a documented decision a rules file can change.

Context: a line that holds an assertion or expectation about an exception
(:data:`~error_analytics.rules.contexts.NON_DECIDING_CONTEXTS`: ``TypeError not raised``,
``DID NOT RAISE``, ``expected ... to throw``, ``AssertionError``, ...) decides no category: it
is blanked (replaced by spaces, so positions stay put) before any category is tried.
:func:`match_in_context` also tells which match such a line took away, so that a caller (the
category model) does not guess back what the rules withheld.

Matching: keywords are case-insensitive and respect word boundaries (see :func:`_tokens`);
patterns are regular expressions applied to the text as is.

Bounded work per message: only the first :data:`HEAD_CHARS` and the last :data:`TAIL_CHARS`
characters are examined (tracebacks put the exception at the end) and ANSI colour codes are
removed first. Rules are compiled once per rule set (cached by identity): each category's
keywords become one trie-shaped regex, its patterns one alternation, and one more pair of
regexes holding every rule of every category rejects most unknown messages in two
searches. A short message costs a few microseconds.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence

from error_analytics.models import UNKNOWN_CATEGORY, CategoryRule
from error_analytics.rules.contexts import NON_DECIDING_CONTEXTS
from error_analytics.rules.loader import RuleSet, default_rules
from error_analytics.rules.text import strip_ansi

#: Characters examined from the start of a long message.
HEAD_CHARS = 20_000
#: Characters examined from the end of a long message.
TAIL_CHARS = 5_000

_CACHE_LIMIT = 32


@dataclasses.dataclass(frozen=True, slots=True)
class RuleMatch:
    """Why a message was put in a category."""

    key: str  # category key, e.g. "import_error"
    matched: str  # the text of the message that matched
    rule: str  # the keyword or pattern that matched it


@dataclasses.dataclass(frozen=True, slots=True)
class ContextualMatch:
    """A message's deciding match, and the match that its non-deciding lines took away."""

    decided: RuleMatch | None  # the category match outside assertion / expectation lines
    withheld: RuleMatch | None  # when nothing decided: the match those lines would have given


@dataclasses.dataclass(frozen=True, slots=True)
class _Finder:
    """One compiled alternation; a match's ``lastgroup`` (``r<i>``) names ``rules[i]``."""

    regex: re.Pattern[str]
    rules: tuple[str, ...]  # the keywords / patterns inside `regex`, in order
    lowered: bool  # searches the lower-cased text (keywords) or the text as is (patterns)
    tagged: bool = True  # False for a lone pattern with groups of its own: rules[0]


@dataclasses.dataclass(frozen=True, slots=True)
class _CategoryMatcher:
    key: str
    finders: tuple[_Finder, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Compiled:
    # Every keyword and pattern of every category in as few regexes as possible: when none
    # of them matches (most unknown messages), no category can, and the per-category
    # searches are skipped.
    gate: tuple[_Finder, ...]
    matchers: tuple[_CategoryMatcher, ...]


# id(categories mapping) -> (the mapping, its compiled form); the mapping is kept alive so
# that its id cannot be reused while cached. Rule sets are treated as immutable once used.
_COMPILED: dict[int, tuple[object, _Compiled]] = {}


def classify_error(
    message: str | None, rules: RuleSet | Mapping[str, CategoryRule] | None = None
) -> str:
    """The category key of ``message``, or ``"unknown"`` when no rule matches.

    >>> classify_error("ModuleNotFoundError: No module named 'adw_modules'")
    'import_error'
    >>> classify_error("timeout_seconds=30 is too small")
    'unknown'
    """
    match = match_category(message, rules)
    return UNKNOWN_CATEGORY if match is None else match.key


def match_category(
    message: str | None, rules: RuleSet | Mapping[str, CategoryRule] | None = None
) -> RuleMatch | None:
    """The first matching category of ``message`` (see module docstring), else ``None``.

    ``rules`` is a :class:`RuleSet`, a mapping of key to
    :class:`~error_analytics.models.CategoryRule` (tried in mapping order), or ``None`` for
    the canonical rules. Raises ``TypeError`` when ``message`` is neither text nor ``None``.

    >>> match_category("AssertionError: TypeError not raised") is None
    True
    """
    return match_in_context(message, rules).decided


def match_in_context(
    message: str | None, rules: RuleSet | Mapping[str, CategoryRule] | None = None
) -> ContextualMatch:
    """:func:`match_category`'s answer, with the match that assertion lines withheld.

    >>> match_in_context("Failed: DID NOT RAISE <class 'TypeError'>").withheld.key
    'type_error'
    """
    if message is None:
        return _NO_MATCH
    if not isinstance(message, str):
        raise TypeError(f"message must be a str or None, not {type(message).__name__}")
    text = _examined_text(message)
    if not text or text.isspace():
        return _NO_MATCH
    compiled = _compiled(rules)
    lowered = _lower(text)
    if not _passes_gate(compiled, text, lowered):
        return _NO_MATCH
    blanked = _blank_contexts(text)
    if blanked is text:
        return ContextualMatch(_first_match(compiled, text, lowered), None)
    blanked_lowered = _lower(blanked)
    decided = (
        _first_match(compiled, blanked, blanked_lowered)
        if _passes_gate(compiled, blanked, blanked_lowered)
        else None
    )
    if decided is not None:
        return ContextualMatch(decided, None)
    return ContextualMatch(None, _first_match(compiled, text, lowered))


_NO_MATCH = ContextualMatch(None, None)


def _passes_gate(compiled: _Compiled, text: str, lowered: str) -> bool:
    return any(f.regex.search(lowered if f.lowered else text) for f in compiled.gate)


def _first_match(compiled: _Compiled, text: str, lowered: str) -> RuleMatch | None:
    for matcher in compiled.matchers:
        found = _search(matcher, text, lowered)
        if found is not None:
            return found
    return None


@functools.cache
def _context_regex() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{context.pattern})" for context in NON_DECIDING_CONTEXTS))


def _blank_contexts(text: str) -> str:
    """``text`` with every line that holds a non-deciding context replaced by spaces (the
    same object when there is none)."""
    spans: list[tuple[int, int]] = []
    for hit in _context_regex().finditer(text):
        if spans and hit.start() < spans[-1][1]:
            continue  # on a line blanked already
        start = text.rfind("\n", 0, hit.start()) + 1
        end = text.find("\n", hit.end())
        spans.append((start, len(text) if end < 0 else end))
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts.append(text[position:start])
        parts.append(" " * (end - start))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _examined_text(message: str) -> str:
    if len(message) > HEAD_CHARS + TAIL_CHARS:
        message = message[:HEAD_CHARS] + "\n" + message[-TAIL_CHARS:]
    return strip_ansi(message)


def _lower(text: str) -> str:
    """``text.lower()``, keeping every character at its index (so spans stay valid)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def _search(matcher: _CategoryMatcher, text: str, lowered: str) -> RuleMatch | None:
    best: tuple[int, int, str] | None = None  # (start, end, rule)
    for finder in matcher.finders:
        hit = finder.regex.search(lowered if finder.lowered else text)
        if hit is None or (best is not None and hit.start() >= best[0]):
            continue
        index = int(hit.lastgroup[1:]) if finder.tagged and hit.lastgroup else 0
        best = (hit.start(), hit.end(), finder.rules[index])
    if best is None:
        return None
    start, end, rule = best
    return RuleMatch(matcher.key, text[start:end], rule)


def _compiled(rules: RuleSet | Mapping[str, CategoryRule] | None) -> _Compiled:
    if rules is None:
        rules = default_rules()
    categories = rules.categories if isinstance(rules, RuleSet) else rules
    cached = _COMPILED.get(id(categories))
    if cached is not None and cached[0] is categories:
        return cached[1]
    matchers = tuple(
        _finders(rule.key, rule.keywords, rule.patterns) for rule in categories.values()
    )
    everything = _finders(
        "*",
        [keyword for rule in categories.values() for keyword in rule.keywords],
        [pattern for rule in categories.values() for pattern in rule.patterns],
    )
    compiled = _Compiled(gate=everything.finders, matchers=matchers)
    if len(_COMPILED) >= _CACHE_LIMIT:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[id(categories)] = (categories, compiled)
    return compiled


def _finders(key: str, keywords: Sequence[str], patterns: Sequence[str]) -> _CategoryMatcher:
    """Keywords as one trie-shaped regex, combinable patterns as one alternation, and each
    pattern that cannot be combined (it has groups, or flags that cannot be scoped) alone."""
    finders: list[_Finder] = []
    keywords = list(dict.fromkeys(keyword.strip() for keyword in keywords if keyword.strip()))
    if keywords:
        finders.append(_Finder(re.compile(_keyword_trie(keywords)), tuple(keywords), True))
    combinable: list[tuple[str, str]] = []
    for pattern in dict.fromkeys(patterns):
        scoped = _scoped(pattern)
        if scoped is None:
            finders.append(_Finder(re.compile(pattern), (pattern,), False, tagged=False))
        else:
            combinable.append((pattern, scoped))
    if combinable:
        # the marker group goes last: a group first would stop the engine skipping ahead
        regex = "|".join(f"{scoped}(?P<r{i}>)" for i, (_, scoped) in enumerate(combinable))
        finders.append(_Finder(re.compile(regex), tuple(p for p, _ in combinable), False))
    return _CategoryMatcher(key=key, finders=tuple(finders))


def _tokens(keyword: str) -> list[str]:
    """Regex tokens of a keyword, lower-cased: one per character, ``\\s+`` per space run.

    A keyword that starts (ends) with a word character must not be preceded (followed) by
    one, so ``timed out`` does not match ``timed outage`` and ``404`` does not match
    ``4040``. The "nothing before" check sits after the first character, so that the regex
    engine can still skip ahead to the characters that can start a keyword.
    """
    tokens: list[str] = []
    for index, part in enumerate(keyword.lower().split()):
        if index:
            tokens.append(r"\s+")
        tokens.extend(re.escape(char) for char in part)
    if _is_word_char(keyword[0]):
        tokens[0] = rf"{tokens[0]}(?<!\w{tokens[0]})"
    if _is_word_char(keyword[-1]):
        tokens.append(r"(?!\w)")
    return tokens


def _keyword_trie(keywords: Sequence[str]) -> str:
    """All keywords as one regex shaped like a trie, so shared prefixes are tried once.

    The end of keyword ``i`` is marked by an empty group ``r<i>``, so a match's ``lastgroup``
    tells which keyword matched.
    """
    root: dict[str, dict] = {}
    for index, keyword in enumerate(keywords):
        node = root
        for token in _tokens(keyword):
            node = node.setdefault(token, {})
        node.setdefault("", {f"(?P<r{index}>)": {}})  # "" leads to the end marker

    def render(node: dict[str, dict]) -> str:
        branches = [token + render(child) for token, child in node.items() if token]
        branches.extend(node.get("", {}))  # a keyword's end comes after longer keywords
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return render(root)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


_GLOBAL_FLAGS_RE = re.compile(r"\(\?([aiLmsux]+)\)")


def _scoped(pattern: str) -> str | None:
    """``pattern`` as an alternative of a larger regex, or None if it cannot be one."""
    flags = _GLOBAL_FLAGS_RE.match(pattern)
    scoped = f"(?{flags.group(1)}:{pattern[flags.end() :]})" if flags else f"(?:{pattern})"
    try:
        if re.compile(scoped).groups:
            return None
        re.compile(f"x|{scoped}")
    except re.error:
        return None
    return scoped
