"""Classification and masking rules, as data, and the code that applies them.

* :mod:`.categories` — the canonical error categories (:data:`ERROR_PATTERNS`),
* :mod:`.contexts` — the assertion contexts in which a named exception decides nothing,
* :mod:`.classify` — :func:`classify_error` / :func:`match_category`,
* :mod:`.phases` — :func:`normalize_phase` for every spelling of a workflow phase,
* :mod:`.masking` — :class:`MaskRule` and :data:`DEFAULT_MASKS`,
* :mod:`.loader` — :class:`RuleSet`, :func:`default_rules` and :func:`load_rules` for a
  user's TOML rules file (``docs/rules-file.md``).
"""

from __future__ import annotations

from error_analytics.rules.categories import ERROR_PATTERNS
from error_analytics.rules.classify import RuleMatch, classify_error, match_category
from error_analytics.rules.loader import RuleSet, default_rules, get_category, load_rules
from error_analytics.rules.masking import DEFAULT_MASKS, MaskRule
from error_analytics.rules.phases import normalize_phase

__all__ = [
    "DEFAULT_MASKS",
    "ERROR_PATTERNS",
    "MaskRule",
    "RuleMatch",
    "RuleSet",
    "classify_error",
    "default_rules",
    "get_category",
    "load_rules",
    "match_category",
    "normalize_phase",
]
