"""Normalising many distinct messages fast: one masking per *shape*.

Masking is the costly step of clustering (a dozen regex passes). Messages that differ only in
their digit values — the same error with another port, line or id — have the same *shape*
(:meth:`.masker.Masker.shape_key`: every digit renumbered, zeros kept where a mask tells
``0x1f`` from ``1x1f``) and, when no mask depends on digit values, mask alike. So only
one representative per shape is normalised; shapes whose masked text still holds a digit
(``en0``, ``IPv6``: digits the masks keep) are normalised message by message, which keeps the
result identical to masking every message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from error_analytics.clustering.masker import Masker
from error_analytics.clustering.salience import prepare

_DIGIT = re.compile(r"\d")


def normalise_distinct(
    distinct_raw: Sequence[str],
    masker: Masker,
    *,
    batch_size: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, dict[str, int], list[bool], int]:
    """Form id of each distinct message, the forms (masked texts) with whether each is
    a report (see :func:`.salience.prepare`), and the work units reported to ``progress``.

    Messages that differ only in their digits (same *shape*) mask alike when no mask
    depends on digit values, so one representative per shape is masked; shapes whose
    masked text still holds a digit (``en0``, ``IPv6``) are masked message by message.
    """
    keys: Iterable[str | bytes] = (
        map(masker.shape_key, distinct_raw) if masker.digit_independent else distinct_raw
    )
    shape_ids: dict[str | bytes, int] = {}
    setdefault = shape_ids.setdefault
    # a new key gets the number of keys seen before it: shapes are numbered in order
    raw_shape = np.fromiter(
        (setdefault(key, len(shape_ids)) for key in keys),
        dtype=np.int64,
        count=len(distinct_raw),
    )
    del keys, shape_ids
    # the first message of each shape represents it (shape numbers are in first-seen order)
    representatives: list[int] = np.unique(raw_shape, return_index=True)[1].tolist()
    form_index: dict[str, int] = {}
    #: salient text -> its masked text, for the texts masked on their own so far (the
    #: representatives of shapes whose masked text keeps digits come back with their shape)
    genuine: dict[str, str] = {}
    form_report: list[bool] = []

    def normalise(raw_ids: Sequence[int]) -> tuple[list[int], list[bool]]:
        prepared = [prepare(distinct_raw[raw_id]) for raw_id in raw_ids]
        salient = [text for text, _ in prepared]
        # Many messages share a salient text up to its digits (a long log whose numbers
        # differ, reduced to the same error line): mask one per salient shape.
        keys: Sequence[str | bytes] = (
            [masker.shape_key(text) for text in salient] if masker.digit_independent else salient
        )
        first: dict[str | bytes, int] = {}
        unique = [i for i, key in enumerate(keys) if first.setdefault(key, i) == i]
        missing = [i for i in unique if salient[i] not in genuine]
        for i, form in zip(missing, masker.mask_many([salient[i] for i in missing]), strict=False):
            genuine[salient[i]] = form
        masked_unique = {i: genuine[salient[i]] for i in unique}
        masked: list[str] = []
        redo: list[int] = []
        for i, key in enumerate(keys):
            leader = first[key]
            form = masked_unique[leader]
            if leader != i and _DIGIT.search(form) is not None:
                redo.append(i)  # digits the masks keep: this text masks on its own
            masked.append(form)
        if redo:
            for i, form in zip(redo, masker.mask_alike([salient[i] for i in redo]), strict=False):
                masked[i] = form
        ids, has_digit = [], []
        for form, (_, report) in zip(masked, prepared, strict=False):
            form_id = form_index.setdefault(form, len(form_index))
            if form_id == len(form_report):
                form_report.append(report)
            ids.append(form_id)
            has_digit.append(_DIGIT.search(form) is not None)
        return ids, has_digit

    shape_form = np.empty(len(representatives), dtype=np.int64)
    shape_digits = np.zeros(len(representatives), dtype=bool)
    total = len(representatives)
    for start in range(0, total, batch_size):
        ids, has_digit = normalise(representatives[start : start + batch_size])
        shape_form[start : start + len(ids)] = ids
        shape_digits[start : start + len(ids)] = has_digit
        if progress is not None:
            progress(min(start + batch_size, total), total)
    raw_form = shape_form[raw_shape] if len(distinct_raw) else np.empty(0, dtype=np.int64)
    if masker.digit_independent and shape_digits.any():
        slow = np.flatnonzero(shape_digits[raw_shape]).tolist()
        for start in range(0, len(slow), batch_size):
            batch = slow[start : start + batch_size]
            raw_form[batch] = normalise(batch)[0]
    return raw_form, form_index, form_report, total
