"""Masking rules: what varies between occurrences of the same error, as ordered data.

Each rule replaces matches of ``pattern`` with ``replacement`` (a placeholder such as
``<NUM>``); rules apply in order, so specific shapes (URLs, UUIDs) come before generic ones
(numbers). Users extend or switch off rules from the rules file (see ``rules.loader``).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class MaskRule:
    name: str
    pattern: str
    replacement: str


DEFAULT_MASKS: tuple[MaskRule, ...] = (
    MaskRule("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<UUID>"),
    MaskRule("number", r"\b\d+\b", "<NUM>"),
)
