"""Rule sets: the canonical rules, optionally extended by a user's TOML rules file.

A rules file (``--rules FILE``, format in ``docs/rules-file.md``) may

* extend or override a canonical category (``[categories.import_error]``),
* add a new category (``[categories.quota_error]`` with ``name``, ``category`` and
  ``recommendation``),
* switch a category off (``enabled = false``),
* add or replace masking rules (``[[masks]]``) and switch masks off (``disabled_masks``).

Merging rules:

* Categories keep the canonical order; new categories come *before* the canonical ones, in file
  order, because :func:`~error_analytics.rules.classify.match_category` tries categories in
  that order and a user's category is the more specific knowledge about their system.
* ``keywords`` and ``patterns`` given for an existing category are appended to its own (without
  duplicates) unless the entry says ``replace = true``; then they are exactly the entry's.
* A ``[[masks]]`` entry whose ``name`` is a default mask replaces it in place; other user masks
  run before all default masks, in file order, so that a specific shape (``JIRA-\\d+``) is
  masked before the generic ``number`` mask rewrites its digits.

Everything a user writes is validated; problems raise
:class:`~error_analytics.errors.InvalidRuleError` naming the file, the entry and the fault.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from error_analytics.errors import InvalidRuleError
from error_analytics.models import NO_TEXT_CATEGORY, UNKNOWN_CATEGORY, CategoryRule, Severity
from error_analytics.rules.categories import ERROR_PATTERNS, NO_TEXT_RULE, UNKNOWN_RULE
from error_analytics.rules.masking import DEFAULT_MASKS, MaskRule

_TOP_LEVEL_KEYS = frozenset({"categories", "masks", "disabled_masks"})
_TEXT_FIELDS = ("name", "category", "recommendation", "root_cause", "estimated_fix_time")
_CATEGORY_KEYS = frozenset(
    {*_TEXT_FIELDS, "severity", "keywords", "patterns", "replace", "enabled"}
)
_REQUIRED_FOR_NEW = ("name", "category", "recommendation")
_MASK_KEYS = frozenset({"name", "pattern", "replacement"})
_SEVERITIES = tuple(severity.value for severity in Severity)
_CATEGORY_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_RESERVED_KEYS = frozenset({UNKNOWN_CATEGORY, NO_TEXT_CATEGORY})


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """Categories (in classification priority order) and masks (in application order)."""

    categories: dict[str, CategoryRule]
    masks: tuple[MaskRule, ...] = DEFAULT_MASKS
    source: str | None = None  # the rules file, or None for the built-in rules

    def rule_for(self, key: str) -> CategoryRule:
        """The rule of category ``key``: one of :attr:`categories`, else the rule of failed
        runs without text (``no_error_text``), else that of errors needing review."""
        if key == NO_TEXT_CATEGORY:
            return NO_TEXT_RULE
        return self.categories.get(key, UNKNOWN_RULE)


@functools.cache
def default_rules() -> RuleSet:
    """The canonical categories and default masks (built once, then shared)."""
    return RuleSet(categories=dict(ERROR_PATTERNS), masks=DEFAULT_MASKS, source=None)


def get_category(
    key: str, rules: RuleSet | Mapping[str, CategoryRule] | None = None
) -> CategoryRule | None:
    """The category named ``key`` in ``rules`` (default: the canonical ones), else ``None``."""
    categories = _categories_of(rules)
    return categories.get(key)


def load_rules(path: str | os.PathLike[str] | None) -> RuleSet:
    """Read a TOML rules file and merge it with the canonical rules.

    ``None`` gives :func:`default_rules`. Raises :class:`InvalidRuleError` when the file
    cannot be read, is not valid TOML, or does not validate.
    """
    if path is None:
        return default_rules()
    source = os.fspath(path)
    try:
        with open(source, "rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise InvalidRuleError(f"{source}: rules file not found") from None
    except OSError as exc:
        raise InvalidRuleError(f"{source}: cannot read rules file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidRuleError(f"{source}: rules file is not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRuleError(f"{source}: invalid TOML: {exc}") from exc
    return build_rule_set(document, source=source)


def build_rule_set(document: Mapping[str, Any], source: str | None = None) -> RuleSet:
    """Validate a parsed rules document and merge it with the canonical rules."""
    where = source or "<rules>"
    unknown = sorted(set(document) - _TOP_LEVEL_KEYS)
    if unknown:
        raise InvalidRuleError(
            f"{where}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(sorted(_TOP_LEVEL_KEYS))}"
        )
    categories = _merge_categories(document.get("categories", {}), where)
    masks = _merge_masks(document.get("masks", []), document.get("disabled_masks", []), where)
    return RuleSet(categories=categories, masks=masks, source=source)


def _categories_of(
    rules: RuleSet | Mapping[str, CategoryRule] | None,
) -> Mapping[str, CategoryRule]:
    if rules is None:
        return default_rules().categories
    if isinstance(rules, RuleSet):
        return rules.categories
    return rules


def _top_level_hint(unknown: list[str]) -> str:
    if _TOP_LEVEL_KEYS.intersection(unknown):
        return " (top-level keys must come before the first [table] header)"
    return ""


# -- categories ----------------------------------------------------------------------------


def _merge_categories(entries: Any, where: str) -> dict[str, CategoryRule]:
    if not isinstance(entries, Mapping):
        raise InvalidRuleError(f"{where}: 'categories' must be a table of [categories.<key>]")
    new: dict[str, CategoryRule] = {}
    merged: dict[str, CategoryRule] = dict(ERROR_PATTERNS)
    for key, entry in entries.items():
        label = f"{where}: [categories.{key}]"
        if not _CATEGORY_KEY_RE.fullmatch(key) or key in _RESERVED_KEYS:
            raise InvalidRuleError(
                f"{label}: invalid category key; use lower_snake_case "
                f"(letters, digits, _), not {', '.join(sorted(_RESERVED_KEYS))}"
            )
        if not isinstance(entry, Mapping):
            raise InvalidRuleError(f"{label}: must be a table")
        unknown = sorted(set(entry) - _CATEGORY_KEYS)
        if unknown:
            raise InvalidRuleError(
                f"{label}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(_CATEGORY_KEYS))}{_top_level_hint(unknown)}"
            )
        enabled = _bool(entry, "enabled", True, label)
        if not enabled:
            merged.pop(key, None)
            new.pop(key, None)
            if key not in ERROR_PATTERNS:
                raise InvalidRuleError(f"{label}: enabled = false names no canonical category")
            continue
        base = merged.get(key)
        rule = _new_category(key, entry, label) if base is None else _override(base, entry, label)
        if base is None:
            new[key] = rule
        else:
            merged[key] = rule
    return {**new, **merged}


def _new_category(key: str, entry: Mapping[str, Any], label: str) -> CategoryRule:
    missing = [field for field in _REQUIRED_FOR_NEW if field not in entry]
    if missing:
        raise InvalidRuleError(
            f"{label}: a new category needs {', '.join(map(repr, missing))} "
            f"(canonical categories: {', '.join(ERROR_PATTERNS)})"
        )
    keywords = _keywords(entry, label)
    patterns = _patterns(entry, label)
    if not keywords and not patterns:
        raise InvalidRuleError(f"{label}: a category needs at least one keyword or pattern")
    texts = {field: _text(entry, field, label) for field in _TEXT_FIELDS if field in entry}
    return CategoryRule(
        key=key,
        severity=_severity(entry, label, default=Severity.MEDIUM),
        keywords=keywords,
        patterns=patterns,
        **texts,
    )


def _override(base: CategoryRule, entry: Mapping[str, Any], label: str) -> CategoryRule:
    keywords = _keywords(entry, label)
    patterns = _patterns(entry, label)
    if not _bool(entry, "replace", False, label):
        keywords = _unique(base.keywords + keywords)
        patterns = _unique(base.patterns + patterns)
    elif not keywords and not patterns:
        raise InvalidRuleError(
            f"{label}: replace = true needs at least one keyword or pattern to replace with"
        )
    texts = {field: _text(entry, field, label) for field in _TEXT_FIELDS if field in entry}
    return dataclasses.replace(
        base,
        severity=_severity(entry, label, default=base.severity),
        keywords=keywords,
        patterns=patterns,
        **texts,
    )


def _text(entry: Mapping[str, Any], field: str, label: str) -> str:
    value = entry[field]
    if not isinstance(value, str) or not value.strip():
        raise InvalidRuleError(f"{label}: '{field}' must be a non-empty string, got {value!r}")
    return value.strip()


def _bool(entry: Mapping[str, Any], field: str, default: bool, label: str) -> bool:
    value = entry.get(field, default)
    if not isinstance(value, bool):
        raise InvalidRuleError(f"{label}: '{field}' must be true or false, got {value!r}")
    return value


def _severity(entry: Mapping[str, Any], label: str, default: Severity) -> Severity:
    value = entry.get("severity", default)
    if value not in _SEVERITIES:
        raise InvalidRuleError(
            f"{label}: 'severity' must be one of {', '.join(_SEVERITIES)}, got {value!r}"
        )
    return Severity(value)


def _string_list(entry: Mapping[str, Any], field: str, label: str) -> tuple[str, ...]:
    values = entry.get(field, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise InvalidRuleError(f"{label}: '{field}' must be a list of non-empty strings")
    return tuple(values)


def _keywords(entry: Mapping[str, Any], label: str) -> tuple[str, ...]:
    return tuple(keyword.strip() for keyword in _string_list(entry, "keywords", label))


def _patterns(entry: Mapping[str, Any], label: str) -> tuple[str, ...]:
    patterns = _string_list(entry, "patterns", label)
    for pattern in patterns:
        _compile(pattern, f"{label}: pattern {pattern!r}")
    return patterns


def _compile(pattern: str, label: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidRuleError(f"{label} is not a valid regular expression: {exc}") from exc
    if compiled.search("") is not None:
        raise InvalidRuleError(f"{label} matches the empty string, so it would match everything")
    return compiled


def _unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# -- masks ---------------------------------------------------------------------------------


def _merge_masks(entries: Any, disabled: Any, where: str) -> tuple[MaskRule, ...]:
    if not isinstance(entries, list):
        raise InvalidRuleError(f"{where}: 'masks' must be an array of tables ([[masks]])")
    default_names = {mask.name for mask in DEFAULT_MASKS}
    replaced: dict[str, MaskRule] = {}
    added: list[MaskRule] = []
    for index, entry in enumerate(entries, start=1):
        mask = _mask(entry, f"{where}: [[masks]] #{index}")
        if mask.name in replaced or any(other.name == mask.name for other in added):
            raise InvalidRuleError(f"{where}: [[masks]] #{index}: duplicate name {mask.name!r}")
        if mask.name in default_names:
            replaced[mask.name] = mask
        else:
            added.append(mask)
    masks = [*added, *(replaced.get(mask.name, mask) for mask in DEFAULT_MASKS)]

    if not isinstance(disabled, list) or not all(isinstance(name, str) for name in disabled):
        raise InvalidRuleError(f"{where}: 'disabled_masks' must be a list of mask names")
    known = [mask.name for mask in masks]
    for name in disabled:
        if name not in known:
            raise InvalidRuleError(
                f"{where}: disabled_masks: unknown mask {name!r}; known: {', '.join(known)}"
            )
    return tuple(mask for mask in masks if mask.name not in disabled)


def _mask(entry: Any, label: str) -> MaskRule:
    if not isinstance(entry, Mapping):
        raise InvalidRuleError(f"{label}: must be a table")
    unknown = sorted(set(entry) - _MASK_KEYS)
    if unknown:
        raise InvalidRuleError(
            f"{label}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_MASK_KEYS))}{_top_level_hint(unknown)}"
        )
    missing = [field for field in sorted(_MASK_KEYS) if field not in entry]
    if missing:
        raise InvalidRuleError(f"{label}: missing {', '.join(map(repr, missing))}")
    name, pattern, replacement = entry["name"], entry["pattern"], entry["replacement"]
    if not isinstance(name, str) or not name.strip():
        raise InvalidRuleError(f"{label}: 'name' must be a non-empty string, got {name!r}")
    label = f"{label} ({name})"
    if not isinstance(pattern, str) or not isinstance(replacement, str):
        raise InvalidRuleError(f"{label}: 'pattern' and 'replacement' must be strings")
    compiled = _compile(pattern, f"{label}: pattern {pattern!r}")
    try:
        compiled.sub(replacement, "")  # parses the template: bad group references fail here
    except (re.error, IndexError) as exc:
        raise InvalidRuleError(f"{label}: bad replacement {replacement!r}: {exc}") from exc
    return MaskRule(name=name.strip(), pattern=pattern, replacement=replacement)
