"""A progress bar for long work on a terminal; nothing when output is piped or JSON."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def terminal_progress(label: str, *, enabled: bool = True) -> Callable[[int, int], None] | None:
    """A ``progress(done, total)`` callback drawing a rich bar on stderr, or None.

    None when ``enabled`` is false or stderr is not a terminal, so callers pass it straight on.
    """
    if not enabled or not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = Progress(transient=True)
            state["bar"].start()
            state["task"] = state["bar"].add_task(label, total=total)
        state["bar"].update(state["task"], completed=done, total=total)
        if done >= total:
            state["bar"].stop()

    return update
