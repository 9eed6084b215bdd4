"""Normalising many distinct messages fast: one masking per *shape*.

Masking is the costly step of clustering (a dozen regex passes). Messages that differ only in
their digit values — the same error with another port, line or id — have the same *shape*
(every digit replaced by ``0``) and, when no mask depends on digit values, mask alike. So only
one representative per shape is normalised; shapes whose masked text still holds a digit
(``en0``, ``IPv6``: digits the masks keep) are normalised message by message, which keeps the
result identical to masking every message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from error_analytics.clustering.normalize import Masker, prepare

#: ASCII digits 1-9 -> ``0`` on UTF-8 bytes: same key as on text, several times faster.
_ZERO_DIGITS = bytes.maketrans(b"123456789", b"000000000")
_DIGIT = re.compile(r"\d")


def normalise_distinct(
    distinct_raw: Sequence[str],
    masker: Masker,
    *,
    batch_size: int,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, dict[str, int], list[bool], int]:
    """Form id of each distinct message, the forms (masked texts) with whether each is
    a report (see :func:`.normalize.prepare`), and the work units reported to ``progress``.

    Messages that differ only in their digits (same *shape*) mask alike when no mask
    depends on digit values, so one representative per shape is masked; shapes whose
    masked text still holds a digit (``en0``, ``IPv6``) are masked message by message.
    """
    shape_ids: dict[str | bytes, int] = {}
    representatives: list[int] = []
    raw_shape = np.empty(len(distinct_raw), dtype=np.int64)
    for raw_id, text in enumerate(distinct_raw):
        key = (
            text.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS)
            if masker.digit_independent
            else text
        )
        shape = shape_ids.setdefault(key, len(representatives))
        if shape == len(representatives):
            representatives.append(raw_id)
        raw_shape[raw_id] = shape
    del shape_ids
    form_index: dict[str, int] = {}
    form_report: list[bool] = []

    def normalise(raw_ids: Sequence[int]) -> tuple[list[int], list[bool]]:
        prepared = [prepare(distinct_raw[raw_id]) for raw_id in raw_ids]
        salient = [text for text, _ in prepared]
        # Many messages share a salient text up to its digits (a long log whose numbers
        # differ, reduced to the same error line): mask one per salient shape.
        keys = (
            [text.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS) for text in salient]
            if masker.digit_independent
            else salient
        )
        first: dict[str | bytes, int] = {}
        unique = [i for i, key in enumerate(keys) if first.setdefault(key, i) == i]
        masked_unique = dict(zip(unique, masker.mask_many([salient[i] for i in unique])))
        masked: list[str] = []
        redo: list[int] = []
        for i, key in enumerate(keys):
            leader = first[key]
            form = masked_unique[leader]
            if leader != i and _DIGIT.search(form) is not None:
                redo.append(i)  # digits the masks keep: this text masks on its own
            masked.append(form)
        if redo:
            for i, form in zip(redo, masker.mask_many([salient[i] for i in redo])):
                masked[i] = form
        ids, has_digit = [], []
        for form, (_, report) in zip(masked, prepared):
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
