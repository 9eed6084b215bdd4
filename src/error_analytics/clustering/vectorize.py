"""TF-IDF vectors of normalised messages and a sparse, blocked cosine-similarity search.

Words are runs of letters (placeholders and numbers carry no meaning across messages);
``sublinear_tf`` keeps a word repeated a hundred times in a build log from dominating. Rows
are L2-normalised, so a dot product is a cosine similarity. :func:`similar_pairs` computes
``X @ X.T`` one block of rows at a time and keeps only pairs above the threshold, so memory
stays bounded whatever the number of rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer

#: Two or more letters (underscores allowed): words, identifiers, not numbers.
TOKEN_PATTERN = r"(?u)\b[A-Za-z_][A-Za-z_]+\b"
#: Placeholders such as ``<NUM>`` say nothing about the error; they are not words.
_PLACEHOLDER = re.compile(r"<[A-Z_]+>|<\*>")
#: Words too common to explain a cluster (left out of top terms, not of the vectors).
_DULL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
        "line",
        "file",
    ]
)
#: Rows per block in :func:`similar_pairs`.
BLOCK_ROWS = 1024


def _preprocess(text: str) -> str:
    return _PLACEHOLDER.sub(" ", text).lower()


_TOKEN = re.compile(TOKEN_PATTERN)


def words(text: str) -> list[str]:
    """The words a vectorizer of :func:`make_vectorizer` sees in ``text``."""
    return _TOKEN.findall(_preprocess(text))


class WordCache:
    """:func:`words` of each text, computed once: the same masked forms are vectorised by
    the category model (training and prediction) and, joined per cluster, for top terms.
    The words of texts joined by a space are the words of each text in turn (a space
    separates words, and neither a placeholder nor a word spans one)."""

    def __init__(self) -> None:
        self._words: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        found = self._words.get(text)
        if found is None:
            found = self._words[text] = words(text)
        return found

    def joined(self, texts: Sequence[str]) -> list[str]:
        """The words of ``" ".join(texts)``."""
        if len(texts) == 1:
            return self(texts[0])
        return [word for text in texts for word in self(text)]


def make_vectorizer(
    *,
    max_features: int | None = 50_000,
    analyzer: Callable[[Any], list[str]] | None = None,
) -> TfidfVectorizer:
    """TF-IDF over :func:`words`; ``analyzer`` (for example a :class:`WordCache`) gives the
    words of each document instead, when it gives the same words faster."""
    if analyzer is not None:
        return TfidfVectorizer(
            analyzer=analyzer, sublinear_tf=True, max_features=max_features, dtype=np.float32
        )
    return TfidfVectorizer(
        token_pattern=TOKEN_PATTERN,
        preprocessor=_preprocess,
        sublinear_tf=True,
        max_features=max_features,
        dtype=np.float32,
    )


def fit_transform(
    documents: Sequence[object], analyzer: Callable[[Any], list[str]] | None = None
) -> tuple[TfidfVectorizer | None, sparse.csr_matrix]:
    """Vectorizer and matrix for ``documents``; ``(None, empty)`` when no document has a word.
    ``documents`` are texts, or anything ``analyzer`` takes (see :func:`make_vectorizer`)."""
    vectorizer = make_vectorizer(analyzer=analyzer)
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # empty vocabulary
        return None, sparse.csr_matrix((len(documents), 0), dtype=np.float32)
    return vectorizer, matrix.tocsr()


def similar_pairs(matrix: sparse.csr_matrix, threshold: float) -> Iterator[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, whose cosine similarity is at least ``threshold``."""
    rows = matrix.shape[0]
    transposed = matrix.T.tocsc()
    for start in range(0, rows, BLOCK_ROWS):
        block = (matrix[start : start + BLOCK_ROWS] @ transposed).tocoo()
        keep = (block.data >= threshold) & (block.row + start < block.col)
        for row, col in zip(block.row[keep], block.col[keep], strict=False):
            yield int(row) + start, int(col)


def similarity_components(matrix: sparse.csr_matrix, threshold: float) -> list[int]:
    """Component label of each row in the graph of pairs at or above ``threshold``."""
    rows = matrix.shape[0]
    if rows == 0:
        return []
    pairs = list(similar_pairs(matrix, threshold))
    if not pairs:
        return list(range(rows))
    left, right = np.array(pairs, dtype=np.int64).T
    graph = sparse.coo_matrix((np.ones(len(pairs)), (left, right)), shape=(rows, rows))
    _, labels = connected_components(graph, directed=False)
    return [int(label) for label in labels]


def top_terms(
    vectorizer: TfidfVectorizer,
    matrix: sparse.csr_matrix,
    row_groups: Sequence[Sequence[int]],
    n: int,
) -> list[list[str]]:
    """The ``n`` heaviest words of each group of rows (summed TF-IDF weight, ties by word)."""
    vocabulary = vectorizer.get_feature_names_out()
    dull = np.fromiter(
        (word in _DULL_WORDS for word in vocabulary), dtype=bool, count=len(vocabulary)
    )
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    result: list[list[str]] = []
    for rows in row_groups:
        if not rows or matrix.shape[1] == 0:
            result.append([])
            continue
        if len(rows) == 1:  # one row: its stored entries are the weights, no sparse slicing
            row = rows[0]
            columns = indices[indptr[row] : indptr[row + 1]]
            values = data[indptr[row] : indptr[row + 1]]
        else:
            weights = np.asarray(matrix[list(rows)].sum(axis=0)).ravel()
            columns = np.flatnonzero(weights)
            values = weights[columns]
        keep = (values != 0) & ~dull[columns]
        pairs = [
            (-round(float(value), 6), str(vocabulary[col]))
            for col, value in zip(columns[keep].tolist(), values[keep].tolist(), strict=False)
        ]
        pairs.sort()
        result.append([word for _, word in pairs[:n]])
    return result
