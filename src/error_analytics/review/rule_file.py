"""Adding a keyword/regex rule to a TOML rules file without disturbing what a person wrote.

The rules file (format: ``docs/rules-file.md``, :mod:`error_analytics.rules.loader`) is edited
as text, so comments and layout survive:

* a category the file does not mention gets its ``[categories.<key>]`` table appended;
* a category the file already has gets the new keywords/patterns appended to its
  ``keywords = [...]`` / ``patterns = [...]`` array (or such a line added under its header).

The result is parsed and validated with the loader before anything is written, and written
atomically (a temporary file moved into place). A layout this editor cannot edit safely
(inline tables, dotted keys) is refused with the snippet to paste by hand.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError, InvalidRuleError
from ..rules.loader import build_rule_set


def toml_string(value: str, *, literal: bool = False) -> str:
    """A TOML string: ``'literal'`` when asked and possible (regexes keep their backslashes
    readable), else a basic string (JSON's escapes are valid TOML)."""
    if (
        literal
        and "'" not in value
        and not any(ord(char) < 32 or ord(char) == 127 for char in value)
    ):
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=False)


def toml_array(values: Sequence[str], *, literal: bool = False) -> str:
    return "[" + ", ".join(toml_string(value, literal=literal) for value in values) + "]"


def category_snippet(key: str, fields: dict[str, object]) -> str:
    """``[categories.<key>]`` with ``fields`` (strings and lists of strings), in order."""
    lines = [f"[categories.{key}]"]
    for name, value in fields.items():
        if isinstance(value, (list, tuple)):
            rendered = toml_array(value, literal=name == "patterns")
        else:
            rendered = toml_string(str(value))
        lines.append(f"{name} = {rendered}")
    return "\n".join(lines) + "\n"


def read_rules_text(path: str | os.PathLike[str]) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the rules file {path}: {exc}") from exc


def with_rule(
    text: str | None,
    key: str,
    new_fields: dict[str, object],
    lists: dict[str, list[str]],
    source: str,
) -> str:
    """``text`` with the rule added; ``new_fields`` are used when the category is new to the file."""
    text = text or ""
    document = _parse(text, source)
    existing = (
        document.get("categories", {}).get(key)
        if isinstance(document.get("categories"), dict)
        else None
    )
    if existing is None:
        separator = (
            "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        )
        updated = (
            text
            + separator
            + category_snippet(key, {**new_fields, **{k: v for k, v in lists.items() if v}})
        )
    else:
        updated = text
        for field, values in lists.items():
            fresh = [value for value in values if value not in (existing.get(field) or [])]
            if fresh:
                updated = _append_to_array(updated, key, field, fresh)
    validate_rules_text(updated, source)
    return updated


def validate_rules_text(text: str, source: str) -> None:
    try:
        build_rule_set(_parse(text, source), source=source)
    except InvalidRuleError as exc:
        raise InputError(f"the rule does not validate: {exc}") from exc


def write_rules_text(path: str | os.PathLike[str], text: str | None) -> None:
    """Write ``text`` atomically; ``None`` removes the file."""
    target = Path(path)
    if text is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise InputError(f"cannot write the rules file {path}: {exc}") from exc


def _parse(text: str, source: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source} is not valid TOML: {exc}") from exc


def _header(key: str) -> re.Pattern[str]:
    quoted = re.escape(key)
    return re.compile(
        rf"^[ \t]*\[[ \t]*categories[ \t]*\.[ \t]*(?:{quoted}|\"{quoted}\"|'{quoted}')[ \t]*\][ \t]*(?:#.*)?$",
        re.MULTILINE,
    )


def _append_to_array(text: str, key: str, field: str, values: list[str]) -> str:
    header = _header(key).search(text)
    if header is None:
        raise InputError(
            f"the rules file defines category {key!r} in a form this command does not edit; add by hand:\n"
            + f"[categories.{key}]\n{field} = {toml_array(values, literal=field == 'patterns')}"
        )
    next_table = re.compile(r"^[ \t]*\[", re.MULTILINE).search(text, header.end())
    body_end = next_table.start() if next_table else len(text)
    assignment = re.compile(rf"^[ \t]*{field}[ \t]*=[ \t]*\[", re.MULTILINE).search(
        text, header.end(), body_end
    )
    if assignment is None:
        line = f"\n{field} = {toml_array(values, literal=field == 'patterns')}"
        return text[: header.end()] + line + text[header.end() :]
    close, last = _scan_array(text, assignment.end())
    joiner = "" if last in ("", ",") else ", "
    addition = joiner + ", ".join(
        toml_string(value, literal=field == "patterns") for value in values
    )
    return text[:close].rstrip(" \t") + addition + text[close:]


def _scan_array(text: str, start: int) -> tuple[int, str]:
    """Index of the ``]`` closing the array whose content starts at ``start``, and the last
    character of its content outside comments and whitespace (``""`` when empty)."""
    depth, index, quote, last = 1, start, None, ""
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = None
            last = char
        elif char in "\"'":
            quote = last = char
        elif char == "#":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        elif char == "[":
            depth += 1
            last = char
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index, last
            last = char
        elif not char.isspace():
            last = char
        index += 1
    raise InputError("the rules file has an unterminated array")
