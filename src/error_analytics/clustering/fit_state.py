"""The working state of one fit: messages, forms and signatures, numbered, and their groups.

A fit works on numbers, never on copies of texts. Three levels, each the deduplication of
the one before:

* a **raw** is a distinct input message (numbered in first-occurrence order);
* a **form** is a distinct masked salient text (:func:`.salience.prepare`, then
  :class:`.masker.Masker`);
* a **signature** is a distinct grouping key of forms (placeholders made ``<*>``).

:func:`index_messages` builds the state; the merge steps of :mod:`.estimator` and
:mod:`.reports` then only union signatures in :attr:`FitState.union_find`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from error_analytics.clustering.grouping import UnionFind, signature_tokens
from error_analytics.clustering.masker import Masker
from error_analytics.clustering.shapes import normalise_distinct


@dataclasses.dataclass(slots=True)
class FitState:
    """Everything the steps of a fit share, indexed by raw, form or signature number."""

    #: distinct input messages, in first-occurrence order
    distinct_raw: list[str]
    #: input position -> raw number
    raw_ids: np.ndarray
    #: raw number -> occurrences in the input
    raw_counts: np.ndarray
    #: raw number -> form number
    raw_form: np.ndarray
    #: form number -> masked salient text
    forms: list[str]
    #: form number -> whether it is a report (:func:`.salience.prepare`)
    form_report: list[bool]
    #: form number -> occurrences in the input
    form_counts: np.ndarray
    #: form number -> its raw numbers, ascending
    form_raws: list[list[int]]
    #: signature number -> signature text
    signatures: list[str]
    #: form number -> signature number
    form_signature: list[int]
    #: signature number -> its form numbers, ascending
    signature_forms: list[list[int]]
    #: groups of signatures, merged step by step
    union_find: UnionFind
    #: work units reported to the progress callback
    total_work: int

    def first_raw(self, form_id: int) -> str:
        """The first distinct message of a form."""
        return self.distinct_raw[self.form_raws[form_id][0]]

    def group_forms(self, signature_ids: Sequence[int]) -> list[int]:
        """The forms of a group of signatures."""
        return [f for s in signature_ids for f in self.signature_forms[s]]


def index_messages(
    texts: list[str],
    masker: Masker,
    *,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
) -> FitState:
    """Deduplicate ``texts``, normalise each distinct message once and key the forms by
    signature; every signature starts as a group of its own."""
    # distinct messages in first-occurrence order, each message's number among them: one
    # pass of dict.setdefault (position of the first occurrence), then a rank in numpy
    first_seen: dict[str, int] = {}
    first = np.fromiter(
        map(first_seen.setdefault, texts, range(len(texts))),
        dtype=np.int64,
        count=len(texts),
    )
    distinct_raw = list(first_seen)
    raw_ids = np.searchsorted(
        np.fromiter(first_seen.values(), dtype=np.int64, count=len(first_seen)), first
    )
    del first_seen, first
    raw_counts = np.bincount(raw_ids, minlength=len(distinct_raw))

    # normalise each distinct message shape once, in batches
    raw_form, form_index, form_report, total = normalise_distinct(
        distinct_raw, masker, batch_size=batch_size, progress=progress
    )
    forms = list(form_index)
    form_counts = np.bincount(raw_form, weights=raw_counts, minlength=len(forms)).astype(np.int64)
    # raw ids of each form, ascending: a stable sort by form, cut at the form boundaries
    by_form = np.argsort(raw_form, kind="stable").tolist()
    form_ends = np.cumsum(np.bincount(raw_form, minlength=len(forms))).tolist()
    form_raws: list[list[int]] = [
        by_form[start:end] for start, end in zip([0, *form_ends[:-1]], form_ends, strict=False)
    ]

    # exact signatures
    signature_index: dict[str, int] = {}
    form_signature = [
        signature_index.setdefault(
            " ".join(signature_tokens(masker.signature(form))), len(signature_index)
        )
        for form in forms
    ]
    signatures = list(signature_index)
    signature_forms: list[list[int]] = [[] for _ in signatures]
    for form_id, signature_id in enumerate(form_signature):
        signature_forms[signature_id].append(form_id)
    return FitState(
        distinct_raw=distinct_raw,
        raw_ids=raw_ids,
        raw_counts=raw_counts,
        raw_form=raw_form,
        forms=forms,
        form_report=form_report,
        form_counts=form_counts,
        form_raws=form_raws,
        signatures=signatures,
        form_signature=form_signature,
        signature_forms=signature_forms,
        union_find=UnionFind(len(signatures)),
        total_work=total,
    )
