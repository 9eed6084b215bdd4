"""Normalisation: each mask, salient lines of multi-line text, ANSI, hostile input."""

from __future__ import annotations

import time

import pytest

from error_analytics.clustering.normalize import (
    MAX_MESSAGE_CHARS,
    Masker,
    clean,
    normalize,
    prepare,
    salient_lines,
    salient_text,
)
from error_analytics.errors import InvalidRuleError
from error_analytics.rules.masking import DEFAULT_MASKS, MaskRule


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://ci.example.com/job/12?x=1 now", "see <URL> now"),
        ("mail ops.team+ci@example.org today", "mail <EMAIL> today"),
        ("run 123e4567-e89b-12d3-a456-426614174000 failed", "run <UUID> failed"),
        ("at 2024-05-01T10:22:33.120Z done", "at <TIME> done"),
        ("connection from x at Sun Jul 24 02:38:22 2005", "connection from x at <TIME>"),
        ("started 10:22:33 ok", "started <TIME> ok"),
        ("connect ECONNREFUSED 127.0.0.1:5432", "connect ECONNREFUSED <IP>"),
        ("peer 10.251.43.21 lost.", "peer <IP> lost."),
        ("open /home/ci/work/app/main.py failed", "open <PATH> failed"),
        ("lint src/app.js:12 failed", "lint <PATH>:<NUM> failed"),
        ("cannot open C:\\Users\\ci\\a.txt", "cannot open <PATH>"),
        ("dial db.internal.example.com:5432 refused", "dial <HOST> refused"),
        ("Could not resolve host github.com", "Could not resolve host <HOST>"),
        ("segfault at 0x7ffd1a2b pc", "segfault at <HEX> pc"),
        ("commit ab12cd34ef56 is missing", "commit <HEX> is missing"),
        ("downloaded 12.5 MB and 2034 bytes", "downloaded <SIZE> and <SIZE>"),
        ("Error: timeout of 2000ms exceeded", "Error: timeout of <DURATION> exceeded"),
        ("no output in the last 10m0s", "no output in the last <DURATION>"),
        ("retry in 5 sec", "retry in <DURATION>"),
        ("Cannot find module 'vite'", "Cannot find module <STR>"),
        ('No module named "requests"', "No module named <STR>"),
        ("exit status -2 after 3 tries", "exit status <NUM> after <NUM> tries"),
        ("test72 FAILED in core.114", "<ID> FAILED in <ID>"),
    ],
)
def test_each_default_mask(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text) == expected


def test_masks_leave_constants_alone(masker: Masker) -> None:
    # single-digit names, capitalised states and plain words are part of the template
    assert (
        masker.mask("Link Up on en0 state 'Active' via IPv6")
        == "Link Up on en0 state 'Active' via IPv6"
    )
    assert masker.mask("prettier/prettier and/or utf8") == "prettier/prettier and/or utf8"


def test_default_masks_are_ordered_data() -> None:
    names = [rule.name for rule in DEFAULT_MASKS]
    assert names.index("url") < names.index("path") < names.index("number") < names.index("id")
    assert all(isinstance(rule, MaskRule) for rule in DEFAULT_MASKS)


def test_user_masks_extend_and_switch_off() -> None:
    jira = MaskRule("jira", r"\bJIRA-\d+\b", "<TICKET>")
    without_quotes = [rule for rule in DEFAULT_MASKS if rule.name != "quoted"]
    masker = Masker([jira, *without_quotes])
    assert masker.mask("see JIRA-123 for 'vite'") == "see <TICKET> for 'vite'"


def test_invalid_user_mask_is_reported() -> None:
    with pytest.raises(InvalidRuleError, match="broken"):
        Masker([MaskRule("broken", "(unclosed", "<X>")])


def test_mask_many_equals_mask_one_by_one(masker: Masker) -> None:
    texts = ["a 1", "GET https://x.io/1 took 3 s", "", "C:\\a\\b.txt 0x1f"]
    assert masker.mask_many(texts) == [masker.mask(text) for text in texts]


def test_user_mask_across_lines_falls_back(masker: Masker) -> None:
    greedy = Masker([MaskRule("greedy", r"a\s+b", "<AB>")])
    assert greedy.mask_many(["x a", "b y"]) == ["x a", "b y"]


def test_signature_makes_placeholders_generic(masker: Masker) -> None:
    assert masker.signature("took <DURATION>  at <TIME>") == "took <*> at <*>"


def test_python_traceback_reduced_to_exception_and_location() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/app/run.py", line 10, in <module>\n'
        "    main()\n"
        '  File "/app/lib/db.py", line 42, in connect\n'
        "    sock.connect(addr)\n"
        "ConnectionRefusedError: [Errno 111] Connection refused\n"
    )
    lines = salient_lines(clean(text))
    assert lines[0] == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert lines[1] == 'File "/app/lib/db.py", line 42, in connect'


def test_compiler_error_lines_are_salient() -> None:
    text = (
        "   Compiling app v0.1.0 (/work/app)\n"
        "error[E0308]: mismatched types\n"
        "  --> src/main.rs:4:18\n"
        "   |\n"
        '4  |     let x: u32 = "a";\n'
        "warning: unused variable\n"
    )
    assert salient_text(text).startswith("error[E0308]: mismatched types")


def test_npm_and_pytest_lines_are_salient() -> None:
    npm = "> build\n> vite build\nnpm ERR! code E404\nnpm ERR! 404 Not Found - GET https://r/x\n"
    assert salient_lines(clean(npm))[0] == "npm ERR! code E404"
    pytest_out = (
        "tests/test_a.py F\n\n    def test_a():\n>       assert 1 == 2\nE       assert 1 == 2\n"
    )
    assert salient_lines(clean(pytest_out)) == ["E assert 1 == 2"]


def test_multi_line_without_error_words_keeps_first_and_last_line() -> None:
    assert salient_lines("step one\nstep two\nstep three") == ["step one", "step three"]


def test_ansi_codes_and_control_bytes_are_removed() -> None:
    text = "\x1b[31;1mError:\x1b[0m bad\x00value\x07 \x1b]0;title\x07here"
    assert clean(text) == "Error: bad value  here"
    assert (
        normalize("\x1b[1m\x1b[31mtimeout of 60000ms exceeded\x1b[0m")
        == "timeout of <DURATION> exceeded"
    )


def test_prepare_tells_reports_from_precise_errors() -> None:
    assert prepare("one line") == ("one line", False)
    # a precise error line names the failure: not a report, however long the text
    assert prepare("step 1\nstep 2\nError: second\nstep 4")[1] is False
    # no precise error line in three or more lines: a report, compared by its whole text
    assert prepare("> Links\n  01. [L0410] 301 https://a/b\n  02. [L0499] 404 https://c")[1] is True
    assert prepare("wrapper failed\ndetails here")[1] is False  # too short to be a report
    assert prepare("only\n\n   ")[1] is False


def test_non_text_input_is_handled() -> None:
    assert salient_text(None) == ""
    assert salient_text(b"bytes \xff here") == "bytes here"
    assert salient_text(12) == "12"


@pytest.mark.parametrize(
    "hostile",
    [
        "x" * 1_000_000,  # 1 MB without any break
        "Error: " + "a/" * 300_000,  # path-like run
        "1." * 400_000,  # number-like run
        "'" * 500_000,  # quote run
        ("line\n" * 200_000) + "Error: end",  # many lines
        "\x00\x01\x02" * 300_000,  # binary
        "a@" * 300_000 + ".com",  # email-like run
        "aaaa-" * 200_000,  # hyphen run
        ("@@@" + "9" * 1000 + ":") * 300,  # digits and punctuation
    ],
)
def test_huge_and_hostile_messages_do_not_hang(masker: Masker, hostile: str) -> None:
    # A guard against catastrophic backtracking, not a speed measurement (benchmarks do that).
    started = time.perf_counter()
    result = masker.mask(salient_text(hostile))
    assert time.perf_counter() - started < 5.0
    assert len(result) <= MAX_MESSAGE_CHARS


# Shortcuts of the batch paths: each must give what the plain path gives.

_VARIED_LINES = [
    "GET https://api.example.com/v1/items/42 took 1.5 s from 10.0.0.12:8080",
    "uuid 123e4567-e89b-12d3-a456-426614174000 at 2024-01-02T03:04:05Z on Mon Jan  2 03:04:05 2024",
    "fe80:0:0:0:202:b3ff:fe1e:8329 and ::1 and 1.2.3 and 1.2.3.4.5 and v1.20.3",
    "host db-1.internal:5432 and cache.example.org, node7.local:80 and a.b.com-x",
    "0x1f 0X2A deadbeef12 a1b2c3 10x20 5x1f 0xz face 0deadbeef",
    "sizes 10MB 5 KiB 3b 12 bytes 7B 1.5 GB; times 10ms 3m20s 5 min 2h 1d 4µs 7 us",
    "'quoted_1' \"q2\" `q3` ‘q4’ “q5” 'Capital' -5 +3 1,234.5 test72 core.114 TS2304 en0",
    "user@mail.example.com wrote C:\\Users\\x\\f.txt and ./a/b and src/app.js and ~/x",
    "port 0 on en0 and en1 ipv6 utf8 x86_64 [Thunderbird_A8] ib_sm_0.c:302",
    "12:34:56 3:04:05,123 2024-1-2 99-99-99 1-2-3 :12: a:bc:de",
    "no digits here at all",
    "",
]


def _digit_variants(text: str, count: int = 6) -> list[str]:
    """The text with its digits changed in several ways (zeros kept, zeros moved)."""
    import random

    rng = random.Random(len(text))
    variants = []
    for _ in range(count):
        variants.append(
            "".join(
                (
                    str(rng.choice((0, rng.randrange(1, 10))))
                    if char.isdigit() and char.isascii()
                    else char
                )
                for char in text
            )
        )
    return variants


def test_mask_many_with_prefilters_equals_mask_one_by_one(masker: Masker) -> None:
    texts = _VARIED_LINES + [v for line in _VARIED_LINES for v in _digit_variants(line)]
    assert masker.mask_many(texts) == [masker.mask(text) for text in texts]


def test_mask_alike_equals_mask_one_by_one(masker: Masker) -> None:
    texts = [v for line in _VARIED_LINES for v in _digit_variants(line, 12)]
    texts += [line.replace("0x", "7x") for line in texts] + texts[:20]
    assert masker.mask_alike(texts) == [masker.mask(text) for text in texts]


def test_mask_alike_with_user_masks() -> None:
    texts = [v for line in _VARIED_LINES for v in _digit_variants(line, 8)]
    for masks in (
        DEFAULT_MASKS + (MaskRule("build", r"build-0\d+", "<BUILD>"),),  # a zero that matters
        DEFAULT_MASKS + (MaskRule("twice", r"(?P<d>\d)(?P=d)", "<TWICE>"),),  # compares digits
        (MaskRule("five", r"5\d*", "<FIVE>"),),  # names a digit
        (MaskRule("keep", r"en(\d)", r"if\1"),),  # puts digits back
    ):
        masker = Masker(masks)
        assert masker.mask_alike(texts) == [masker.mask(text) for text in texts]


_MULTI_LINE = [
    "step 1\nE   assert 1 == 2\nE  AssertionError\nend",
    "a\nE\tx\nE y\nEE  z\n  E   indented\nlast",
    "ok\nsrc/a.ts(3,5): error TS2304: Cannot find name 'x'.\nsrc/b.ts: error TS2304 again",
    "build\nnpm ERR! code ELIFECYCLE\nnpm ERR! errno 1\nnpm ERR! x",
    "line\nsomething failed here\nmore\nERROR: done",
    "x\nCaused by: java.io.IOException: boom\n\tat a.b(C.java:1)",
    "go\n--- FAIL: TestX (0.00s)\nFAIL\tpkg\t0.01s",
    "résumé\nErreur: échec\nValueError: bad value ünïcode",
    "dotless\nvalıd\nfaıled to start\nmıssing",
    "long s\nmiſſing file\nerrorſ here",
    "kelvin\nKilled by signal\nİnvalid state",
    "nothing\nto see\nhere",
    "Warning: x\n\nwarning: y\nwarning: y",
    "first\nlast line error",
    "a\nb\ncrash: error",
    "same\nERROR x\nERROR x\nERROR y",
]


def test_salient_line_search_equals_whole_text_search() -> None:
    """Only the lines holding a hint are searched: the lines found are those a search of
    the whole text finds."""
    import importlib

    n = importlib.import_module("error_analytics.clustering.salience")
    from error_analytics.rules import salient as rules

    limit = rules.MAX_SALIENT_LINES
    texts = _MULTI_LINE + [t.lower() for t in _MULTI_LINE] + [t.upper() for t in _MULTI_LINE]
    for text in texts:
        strong = n._strong_for("\n" + text.lower())
        expected = None
        for entry, precise in ((strong, True), ((n._WEAK, None), False)):
            if entry is not None:
                found = n._matching_lines(entry[0], text, limit)
                if found:
                    expected = (found, precise)
                    break
        if expected is None:  # first and last lines: no pattern involved
            continue
        assert n._salient(text) == expected, text


def test_clean_keeps_printable_text_and_replaces_control_bytes() -> None:
    assert clean("plain [12] text [x") == "plain [12] text [x"
    assert clean("a\x00b\x7fc\ufffdd") == "a b c d"
    assert clean("tab\there\nline") == "tab\there\nline"
    assert clean("\x1b[31mred\x1b[0m [1;32mgreen[0m") == "red green"


def test_colour_codes_without_escape_byte_are_removed_as_by_the_full_pattern() -> None:
    from error_analytics.rules.text import ANSI_CODES

    for text in ("[1;32mgreen[0m [12] [3m", "a[38;5;196mb [1x [1;2;3;4;5;6;7;8;9;10m", "[999m"):
        assert clean(text) == ANSI_CODES.sub("", text)


def test_digit_masks_see_the_lines_as_masked_so_far(masker: Masker) -> None:
    # earlier masks take the only digits of some lines; user masks may add digits back
    texts = ["at 2024-01-02 12:34:56 in 3ms", "x12y3 after 10.0.0.1", "5s", "plain", "a 7 b"]
    texts += ["took 1 h", "took 1\th", "took 12µs", "id ab12cd34 from 0x1F"]
    assert masker.mask_many(texts) == [masker.mask(text) for text in texts]
    digits = Masker((MaskRule("seven", r"seven", "7 and 77"), *DEFAULT_MASKS))
    texts.append("seven of nine")
    assert digits.mask_many(texts) == [digits.mask(text) for text in texts]


# -- typed value masks (issue 10) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("retry enabled=true for job", "retry enabled=<BOOL> for job"),
        ("retry enabled=False for job", "retry enabled=<BOOL> for job"),
        ("register r3 holds ffffffff", "register r3 holds <HEX>"),
        ("digest deadbeefdeadbeef mismatch", "digest <HEX> mismatch"),
        ("connect to node-12.cluster.example failed", "connect to <HOST> failed"),
        ("resolve ip-10-0-0-1.compute.internal", "resolve <HOST>"),
    ],
)
def test_typed_values_are_masked(masker: Masker, text: str, expected: str) -> None:
    assert masker.mask(text) == expected
    assert masker.mask_many([text]) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "the page was defaced",  # seven hex letters: a word
        "state Deadbeef",  # mixed case: a name
        "loaded x1.js and app.min.js",  # a file name, not a host
        "class org.apache.Foo failed",  # no digit in the first label
        "is_true_value",
    ],
)
def test_typed_masks_leave_words_alone(masker: Masker, text: str) -> None:
    assert masker.mask(text) == text
    assert masker.mask_many([text]) == [text]


# -- salient lines of CI logs (issue 10) --------------------------------------------------


def test_box_drawing_and_numbering_do_not_change_the_salient_line() -> None:
    plain = "1. Error: parses dates (@test-dates.R#12)\nExpected TRUE\n"
    boxed = "── 1. Error: parses dates (@test-dates.R#12) ──────────\nExpected TRUE\n"
    unnumbered = "Error: parses dates (@test-dates.R#12)\nExpected TRUE\n"
    assert salient_text(plain) == salient_text(boxed) == salient_text(unnumbered)
    assert salient_text(plain) == "Error: parses dates (@test-dates.R#12)"


def test_header_only_lines_are_never_salient() -> None:
    numbered = "1) Failure:\ntest_parse(ParserTest) [test/parser_test.rb:12]:\nExpected 1, got 2\n"
    bare = "Failure:\ntest_parse(ParserTest) [test/parser_test.rb:12]:\nExpected 1, got 2\n"
    assert salient_text(numbered) == salient_text(bare)
    assert "Failure:" not in salient_text(bare)
    shouted = "ERROR\n\nbuild step compile failed: missing header foo.h\n"
    assert salient_text(shouted) == "build step compile failed: missing header foo.h"
