"""Symmetric masking: a line is masked the same way alone and inside any larger text.

The same failure printed in two messages must give the same masked line whatever surrounds
it: other lines of the same message (salient lines joined by ``|``, the document text of a
report), other messages masked in the same batch (rules that skip lines without their
trigger or prefilter), and other messages of the same fit (messages that differ only in
their digits share one masking).
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from error_analytics.clustering import ErrorClusterer
from error_analytics.clustering.masker import Masker
from error_analytics.clustering.normalize import LINE_JOINER, document_text, salient_text
from error_analytics.clustering.shapes import normalise_distinct

MASKER = Masker()

#: Tokens near the edges of the masks: values, their units, quotes, dotted and slashed names,
#: digits that matter (``0x``), punctuation that starts or ends a token.
_TOKENS = st.one_of(
    st.sampled_from(
        [
            *"Jan 5 12:00:01 2024-01-02 10.0.0.1 :8080 0x1f 1x1f 0xabc true ms KB B s".split(),
            *"'a' \"b\" `c` org.apache.Foo a/b/c /usr/lib C:\\x x@y.com http://a.b/c".split(),
            *"deadbeef abc123 - + . , = ( ) [ ] host-1.example.com node3.local:22".split(),
            *"ab12cd 7 00 01 10 user=ann error: FAILED at".split(),
        ]
    ),
    st.text(alphabet="ab01x9.:-/_'\"` @=", min_size=1, max_size=6),
)
LINES = st.lists(_TOKENS, min_size=1, max_size=8).map(" ".join)
CONTEXTS = st.lists(LINES, max_size=4)


def renumbered(text: str, seed: int) -> str:
    """``text`` with every digit replaced by a random one (zeros included)."""
    rng = random.Random(seed)
    return "".join(rng.choice("0123456789") if char.isdigit() else char for char in text)


@settings(max_examples=300, deadline=None, database=None)
@given(LINES, CONTEXTS, CONTEXTS)
def test_a_line_masks_alike_alone_and_among_other_lines(line, before, after):
    alone = MASKER.mask(line)
    batch = [*before, line, *after]
    assert MASKER.mask_many(batch)[len(before)] == alone
    assert MASKER.mask_alike(batch)[len(before)] == alone
    # salient lines of one message are joined by LINE_JOINER, which no mask crosses
    joined = LINE_JOINER.join([*before, line, *after])
    expected = LINE_JOINER.join([*map(MASKER.mask, before), alone, *map(MASKER.mask, after)])
    assert MASKER.mask(joined) == expected


@settings(max_examples=200, deadline=None, database=None)
@given(LINES, CONTEXTS, st.integers(0, 2**32))
def test_a_message_masks_alike_whatever_else_the_fit_holds(line, others, seed):
    # messages differing only in digits (0x1f / 1x1f) share one masking: never a wrong one
    variants = [renumbered(line, seed + i) for i in range(3)]
    context = [*variants, *others]
    alone = MASKER.mask(salient_text(line))  # a one-line message is its own salient text
    for messages in ([line], [*context, line], [line, *context]):
        raw_form, form_index, _, _ = normalise_distinct(
            list(dict.fromkeys(messages)), MASKER, batch_size=2
        )
        forms = list(form_index)
        position = list(dict.fromkeys(messages)).index(line)
        assert forms[raw_form[position]] == alone


@settings(max_examples=200, deadline=None, database=None)
@given(LINES, CONTEXTS, CONTEXTS)
def test_a_report_line_masks_alike_in_the_document_text(line, before, after):
    lines = [" ".join(text.split()) for text in (*before, line, *after)]
    lines = [text for text in lines if text]
    document = document_text("\n".join([*before, line, *after]), MASKER)
    assert document == LINE_JOINER.join(MASKER.mask(text) for text in lines)


def test_the_fit_groups_digit_variants_the_same_in_any_order() -> None:
    messages = ["bad value 0xabc here", "bad value 1xabc here", "bad value 7xabc here"]
    partitions = []
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        clusterer = ErrorClusterer().fit([messages[i] for i in order])
        label_of = dict(zip([messages[i] for i in order], clusterer.labels_, strict=True))
        partitions.append(
            {frozenset(m for m in messages if label_of[m] == label_of[n]) for n in messages}
        )
        templates = {t for cluster in clusterer.clusters_ for t in cluster.templates}
        assert "bad value 1xabc here" in templates or "bad value <*> here" in templates
    assert partitions[0] == partitions[1] == partitions[2]
