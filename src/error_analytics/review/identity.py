"""Stable identity: template fingerprints, event keys and cluster ids.

* A message's **template** is the clusterer's signature of it: salient part, masked, every
  placeholder made ``<*>``. Its **fingerprint** is a hash of that template. A fingerprint
  that the state knows goes straight to its cluster on every later refresh.
* An **event key** identifies one error event across refreshes: a hash of
  ``(run_id, source, phase, hash(message))``. Re-reading the same events never counts them
  twice.
* A **cluster id** is ``c`` + 10 hex digits of a hash of the template the cluster was founded
  on, the same function the clusterer uses, so a first refresh keeps the ids that
  ``--cluster`` prints; on a collision with an existing id the hash is chained until free.
  Ids are never reused and never renumbered.
* The **identity version** names everything that shapes a template: :data:`ALGORITHM_VERSION`
  and the masking rules in force. When it changes, a refresh re-keys the stored templates
  from their example messages and records any cluster that had to be folded into another in
  ``ea_id_map`` (see :mod:`.remap`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Sequence

from ..clustering.grouping import signature_tokens
from ..clustering.naming import cluster_id as hashed_id
from ..clustering.normalize import Masker, prepare
from ..models import ErrorEvent
from ..rules import RuleSet

#: Bump when the way a message becomes a template changes in a way masks do not describe.
ALGORITHM_VERSION = "t1"
#: Longest example message stored per template (characters): enough to re-key it later.
MAX_EXAMPLE_CHARS = 20_000
#: Distinct messages a :class:`Templater` remembers before it starts afresh (bounds memory in a
#: long-running server).
MAX_REMEMBERED_TEMPLATES = 200_000


def fingerprint_of(template: str) -> str:
    return hashlib.sha1(template.encode("utf-8")).hexdigest()


def message_hash(message: str) -> str:
    return hashlib.sha1(message.encode("utf-8", errors="replace")).hexdigest()


def event_key(event: ErrorEvent, hashed_message: str) -> str:
    parts = (event.run_id, event.source.value, event.phase.value, hashed_message)
    return hashlib.sha1("\x1f".join(parts).encode("utf-8", errors="replace")).hexdigest()


def new_cluster_id(seed: str, taken: Container[str]) -> str:
    """``hashed_id(seed)``, chained on collision until the id is not ``taken``."""
    identifier = hashed_id(seed)
    while identifier in taken:
        identifier = hashed_id(identifier + seed)
    return identifier


class Templater:
    """Turns messages into templates with one rule set's masks."""

    def __init__(self, rules: RuleSet) -> None:
        self.masker = Masker(rules.masks)
        self._message_to_template: dict[str, str] = {}
        masks = "\n".join(
            f"{mask.name}\x1f{mask.pattern}\x1f{mask.replacement}" for mask in rules.masks
        )
        self.identity_version = (
            f"{ALGORITHM_VERSION}-{hashlib.sha1(masks.encode()).hexdigest()[:10]}"
        )

    def templates(self, messages: Sequence[str]) -> list[str]:
        """The template of each message. Remembered: a refresh and the views that follow it
        template the same window's messages, and masking is the expensive part."""
        known = self._message_to_template
        found: dict[str, str] = {}
        for message in messages:  # .get once per message: safe while another thread clears
            template = known.get(message)
            if template is not None:
                found[message] = template
        missing = list(dict.fromkeys(message for message in messages if message not in found))
        if missing:
            masked = self.masker.mask_many([prepare(message)[0] for message in missing])
            for message, form in zip(missing, masked, strict=True):
                found[message] = (
                    " ".join(signature_tokens(self.masker.signature(form))) or "(empty message)"
                )
            if len(known) + len(missing) > MAX_REMEMBERED_TEMPLATES:
                known.clear()
            known.update((message, found[message]) for message in missing)
        return [found[message] for message in messages]
