"""Every spelling of a workflow phase, mapped to :class:`~error_analytics.models.Phase`.

Databases spell phases as Title-case (``Build``), lower- or upper-case, gerunds and nouns
(``building``, ``validation``, ``docs``) and as the name of the script that runs the phase
(``adw_plan_iso``, ``adw_test_iso.py``). A script that runs several phases (``adw_sdlc_iso``,
``adw_plan_build_iso``) names a whole workflow, not a phase, and maps to ``Unknown``, as do
numbers, ``None`` and anything unrecognised.
"""

from __future__ import annotations

import re

from error_analytics.models import Phase

#: Spelling (lower-case, words joined by ``_``) -> phase.
PHASE_SPELLINGS: dict[str, Phase] = {
    **dict.fromkeys(("plan", "planning", "planned", "planner"), Phase.PLAN),
    **dict.fromkeys(
        ("validate", "validating", "validation", "validated", "validator"), Phase.VALIDATE
    ),
    **dict.fromkeys(
        ("build", "building", "built", "implement", "implementing", "implementation"),
        Phase.BUILD,
    ),
    **dict.fromkeys(("lint", "linting", "linted", "linter"), Phase.LINT),
    **dict.fromkeys(("test", "tests", "testing", "tested"), Phase.TEST),
    **dict.fromkeys(("review", "reviewing", "reviewed", "reviewer"), Phase.REVIEW),
    **dict.fromkeys(
        ("document", "documenting", "documentation", "documented", "doc", "docs"),
        Phase.DOCUMENT,
    ),
    **dict.fromkeys(("ship", "shipping", "shipped"), Phase.SHIP),
    **dict.fromkeys(("cleanup", "clean_up", "cleaning", "clean"), Phase.CLEANUP),
    **dict.fromkeys(("verify", "verifying", "verification", "verified"), Phase.VERIFY),
    "unknown": Phase.UNKNOWN,
}

# adw_<phase>[_iso][.py] -> <phase>
_SCRIPT_RE = re.compile(r"adw_(?P<phase>[a-z_]+?)(?:_iso)?(?:\.py)?")
_SEPARATORS_RE = re.compile(r"[\s\-]+")


def normalize_phase(value: object) -> Phase:
    """The canonical :class:`Phase` for ``value``; ``Phase.UNKNOWN`` when there is none.

    >>> normalize_phase("testing"), normalize_phase("adw_plan_iso"), normalize_phase(3)
    (<Phase.TEST: 'Test'>, <Phase.PLAN: 'Plan'>, <Phase.UNKNOWN: 'Unknown'>)
    """
    if isinstance(value, Phase):
        return value
    if not isinstance(value, str):
        return Phase.UNKNOWN
    spelling = _SEPARATORS_RE.sub("_", value.strip().lower()).strip("_")
    phase = PHASE_SPELLINGS.get(spelling)
    if phase is not None:
        return phase
    script = _SCRIPT_RE.fullmatch(spelling)
    if script is not None:
        return PHASE_SPELLINGS.get(script.group("phase"), Phase.UNKNOWN)
    return Phase.UNKNOWN
