"""Class-based TF-IDF keywords (as in BERTopic) and representative comments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from triage.ports import Vectors

# Redaction placeholders and survey filler words say nothing about a theme.
_CONTRACTIONS = {
    "don",
    "didn",
    "doesn",
    "isn",
    "wasn",
    "aren",
    "weren",
    "couldn",
    "wouldn",
    "shouldn",
    "won",
    "ve",
    "ll",
    "re",
}
# Survey filler: verbs and adverbs that appear in every kind of comment and name no subject or failure.
_FILLER = {
    "just", "like", "really", "got", "does", "did", "doing", "done", "take", "takes", "took", "use", "used",
    "make", "makes", "made", "said", "say", "says", "know", "want", "went", "going", "come", "came", "think",
    "thing", "things", "way", "lot", "bit", "actually", "probably", "maybe", "ok", "okay", "good", "bad",
    "email", "phone", "person", "id", "ask", "asked", "tell", "told", "let", "getting", "gets", "thanks",
}  # fmt: skip
STOP_WORDS = sorted(ENGLISH_STOP_WORDS | _CONTRACTIONS | _FILLER)


@dataclass(frozen=True)
class TermCounts:
    """Words and bigrams counted per comment (stop words out): keywords for any grouping without recounting."""

    matrix: sp.csr_matrix
    """Comments x terms."""
    terms: npt.NDArray[np.str_]

    def of(self, members: Sequence[int]) -> npt.NDArray[np.float64]:
        """The summed counts of the comments `members`."""
        return np.asarray(self.matrix[list(members)].sum(axis=0), dtype=np.float64).ravel()

    def total(self) -> npt.NDArray[np.float64]:
        """The summed counts of all the comments."""
        return np.asarray(self.matrix.sum(axis=0), dtype=np.float64).ravel()


def term_counts(texts: Sequence[str], extra_stop_words: Sequence[str] = ()) -> TermCounts | None:
    """Per-comment counts of words and bigrams; None when the texts hold nothing but stop words."""
    stop_words = sorted(set(STOP_WORDS) | {w.lower() for w in extra_stop_words})
    vectorizer = CountVectorizer(stop_words=stop_words, ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    try:
        matrix = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # nothing but stop words (or no texts)
        return None
    return TermCounts(matrix, vectorizer.get_feature_names_out())


def top_terms(class_counts: npt.NDArray[np.float64], terms: npt.NDArray[np.str_], top_n: int) -> list[list[str]]:
    """Top c-TF-IDF terms of each row of `class_counts` (classes x terms): frequency in the class times rarity
    across classes, as in BERTopic."""
    tf = class_counts / np.maximum(class_counts.sum(axis=1, keepdims=True), 1.0)
    avg_words = class_counts.sum() / len(class_counts)
    idf = np.log(1.0 + avg_words / np.maximum(class_counts.sum(axis=0), 1.0))
    scores = tf * idf
    return [_pick(row, terms, top_n) for row in scores]


def _pick(row: npt.NDArray[np.float64], terms: npt.NDArray[np.str_], top_n: int) -> list[str]:
    """The `top_n` best-scored terms of one class, ties by term order, skipping overlapping ones."""
    shortlist = min(len(row), 16 * top_n + 64)
    while True:
        best = np.argpartition(-row, shortlist - 1)[:shortlist] if shortlist < len(row) else np.arange(len(row))
        picked: list[str] = []
        for j in best[np.lexsort((best, -row[best]))]:
            if row[j] <= 0 or len(picked) >= top_n:
                return picked
            term = str(terms[j])
            # Skip a unigram already inside a chosen bigram, and the reverse, to keep labels varied.
            if any(term in p.split() or p in term.split() for p in picked):
                continue
            picked.append(term)
        if shortlist >= len(row):
            return picked
        shortlist = min(len(row), shortlist * 8)  # overlaps used up the shortlist: look further


def class_keywords(
    texts: Sequence[str], labels: Sequence[str], top_n: int = 8, extra_stop_words: Sequence[str] = ()
) -> dict[str, list[str]]:
    """Top c-TF-IDF terms per label (see `top_terms`)."""
    classes = sorted(set(labels))
    if not classes:
        return {}
    counts = term_counts(texts, extra_stop_words)
    if counts is None:
        return {c: [] for c in classes}
    index = {c: i for i, c in enumerate(classes)}
    rows = np.fromiter((index[lab] for lab in labels), dtype=np.int64, count=len(labels))
    membership = sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(classes), len(rows)))
    class_counts = (membership @ counts.matrix).toarray().astype(np.float64)
    return dict(zip(classes, top_terms(class_counts, counts.terms, top_n), strict=True))


def group_keywords(texts: Sequence[str], groups: Sequence[Sequence[int]], top_n: int = 8) -> list[list[str]]:
    """Top c-TF-IDF terms of each group of comments (indices into `texts`) against all the other comments.

    The texts are counted once, however many groups there are.
    """
    counts = term_counts(texts) if groups else None
    if counts is None:
        return [[] for _ in groups]
    total = counts.total()
    result = []
    for members in groups:
        inside = counts.of(members)
        result.append(top_terms(np.vstack([inside, total - inside]), counts.terms, top_n)[0])
    return result


def representatives(vectors: Vectors, members: Sequence[int], top_n: int = 3) -> list[int]:
    """Indices of the members closest to their centroid, most central first."""
    if not members:
        return []
    block = vectors[list(members)]
    centroid = block.mean(axis=0)
    order = np.argsort(-(block @ centroid))
    return [members[i] for i in order[:top_n]]
