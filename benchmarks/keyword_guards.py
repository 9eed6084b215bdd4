"""How often each guarded keyword would match without its guard, and what the guard turns down.

The host's original module matched ``Failed to connect``, ``type object`` and ``timeout`` as
plain case-insensitive substrings. The toolkit honours them only through guards
(:data:`error_analytics.rules.categories.GUARDED_KEYWORDS`). For every corpus available this
counts the messages each keyword matches as a substring (*without guard*) and through its
guard (*with guard*), and prints the lines the guard rejected, so that a person can judge
whether they were misfires::

    python benchmarks/keyword_guards.py                 # every corpus found
    python benchmarks/keyword_guards.py --show 50       # more rejected lines per keyword
    python benchmarks/keyword_guards.py --show-accepted 10

Corpora: the demo's message catalogue (always), Loghub-2k (8 systems) and LogChunks from
``../shared/data`` or ``--data DIR`` (skipped, with a note, when absent).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from common import (
    DEFAULT_DATA,
    SYSTEMS,
    load_logchunks,
    load_loghub,
    logchunks_path,
    loghub_path,
)

from error_analytics.demo.messages import CATALOGUE, LATER_FAILURE, NEW_FAILURE, render_message
from error_analytics.rules import classify_error
from error_analytics.rules.categories import GUARDED_KEYWORDS, GuardedKeyword

RENDERS_PER_TEMPLATE = 20


def demo_messages() -> list[str]:
    """Every message template of the demo, rendered a few times with fixed seeds."""
    rng = random.Random(11)
    context = {"adw_id": "0a1b2c3d", "issue": "42"}
    return [
        render_message(template, rng, context)
        for template in (*CATALOGUE, NEW_FAILURE, LATER_FAILURE)
        for _ in range(RENDERS_PER_TEMPLATE)
    ]


def corpora(data: Path) -> Iterator[tuple[str, list[str]]]:
    yield "demo catalogue", demo_messages()
    loghub = [system for system in SYSTEMS if loghub_path(data, system).is_file()]
    if loghub:
        messages = [message for system in loghub for message in load_loghub(data, system)[0]]
        yield f"Loghub-2k ({len(loghub)} systems)", messages
    else:
        print(f"(Loghub-2k not found under {data}: skipped)")
    if logchunks_path(data).is_file():
        chunks = [chunk for pairs in load_logchunks(data).values() for chunk, _ in pairs]
        yield "LogChunks (build failures)", chunks
    else:
        print(f"(LogChunks not found under {data}: skipped)")


@dataclasses.dataclass
class GuardFigures:
    """One keyword on one corpus."""

    corpus: str
    keyword: str
    messages: int
    without_guard: list[str]  # messages holding the bare keyword (case-insensitive substring)
    with_guard: list[str]  # the subset the guard matches
    rescued: list[str]  # rejected by the guard, but put in the category by another rule

    @property
    def turned_down(self) -> list[str]:
        """Matched by the bare keyword, not put in its category by the toolkit at all."""
        kept = {id(message) for message in (*self.with_guard, *self.rescued)}
        return [message for message in self.without_guard if id(message) not in kept]


def measure(corpus: str, guarded: GuardedKeyword, messages: Sequence[str]) -> GuardFigures:
    needle = guarded.keyword.lower()
    guard = [re.compile(pattern) for pattern in guarded.patterns]
    bare = [message for message in messages if needle in message.lower()]
    kept = [message for message in bare if any(regex.search(message) for regex in guard)]
    kept_ids = {id(message) for message in kept}
    rescued = [
        message
        for message in bare
        if id(message) not in kept_ids and classify_error(message) == guarded.category
    ]
    return GuardFigures(corpus, guarded.keyword, len(messages), bare, kept, rescued)


def matching_line(message: str, regexes: Sequence[re.Pattern[str]], limit: int = 160) -> str:
    """The line of ``message`` where the first of ``regexes`` matches, shortened."""
    for regex in regexes:
        found = regex.search(message)
        if found:
            start = message.rfind("\n", 0, found.start()) + 1
            end = message.find("\n", found.end())
            line = " ".join(message[start : None if end < 0 else end].split())
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def _print_lines(title: str, messages: list[str], regexes: list[re.Pattern[str]], n: int) -> None:
    if not messages or n <= 0:
        return
    lines = sorted({matching_line(message, regexes) for message in messages})
    print(f"\n{title} ({len(messages)} messages, {len(lines)} distinct lines)")
    for line in lines[:n]:
        print(f"  {line}")
    if len(lines) > n:
        print(f"  ... {len(lines) - n} more")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark data folder")
    parser.add_argument(
        "--show", type=int, default=20, help="turned-down lines printed per keyword and corpus"
    )
    parser.add_argument(
        "--show-accepted", type=int, default=0, help="accepted lines printed per keyword and corpus"
    )
    args = parser.parse_args(argv)
    table: list[GuardFigures] = []
    for corpus, messages in corpora(args.data):
        for guarded in GUARDED_KEYWORDS:
            figures = measure(corpus, guarded, messages)
            table.append(figures)
            bare = [re.compile(re.escape(guarded.keyword), re.IGNORECASE)]
            guard = [re.compile(pattern) for pattern in guarded.patterns]
            prefix = f"[{corpus}] '{guarded.keyword}'"
            _print_lines(f"{prefix} turned down by its guard", figures.turned_down, bare, args.show)
            _print_lines(
                f"{prefix} rejected by its guard, kept by another rule",
                figures.rescued,
                bare,
                args.show,
            )
            _print_lines(
                f"{prefix} accepted by its guard", figures.with_guard, guard, args.show_accepted
            )
    print()
    header = (
        "corpus",
        "keyword",
        "messages",
        "without guard",
        "with guard",
        "kept by another rule",
        "turned down",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in table:
        bare, down = len(row.without_guard), len(row.turned_down)
        share = f"{down} ({100 * down / bare:.0f}%)" if bare else "0"
        print(
            f"| {row.corpus} | {row.keyword} | {row.messages} | {bare} | {len(row.with_guard)} "
            f"| {len(row.rescued)} | {share} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
