"""Class-based TF-IDF keywords (as in BERTopic) and representative comments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
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


def class_keywords(
    texts: Sequence[str], labels: Sequence[str], top_n: int = 8, extra_stop_words: Sequence[str] = ()
) -> dict[str, list[str]]:
    """Top c-TF-IDF terms per label: term frequency within the class times rarity across classes."""
    classes = sorted(set(labels))
    if not classes:
        return {}
    docs = [" ".join(t for t, lab in zip(texts, labels, strict=True) if lab == c) for c in classes]
    stop_words = sorted(set(STOP_WORDS) | {w.lower() for w in extra_stop_words})
    vectorizer = CountVectorizer(stop_words=stop_words, ngram_range=(1, 2), token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    try:
        counts = vectorizer.fit_transform(docs).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words
        return {c: [] for c in classes}
    terms = vectorizer.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    avg_words = counts.sum() / len(classes)
    idf = np.log(1.0 + avg_words / np.maximum(counts.sum(axis=0), 1.0))
    scores = tf * idf
    result: dict[str, list[str]] = {}
    for i, c in enumerate(classes):
        order = np.argsort(-scores[i])
        picked: list[str] = []
        for j in order:
            if scores[i, j] <= 0 or len(picked) >= top_n:
                break
            term = str(terms[j])
            # Skip a unigram already inside a chosen bigram, and the reverse, to keep labels varied.
            if any(term in p.split() or p in term.split() for p in picked):
                continue
            picked.append(term)
        result[c] = picked
    return result


def representatives(vectors: Vectors, members: Sequence[int], top_n: int = 3) -> list[int]:
    """Indices of the members closest to their centroid, most central first."""
    if not members:
        return []
    block = vectors[list(members)]
    centroid = block.mean(axis=0)
    order = np.argsort(-(block @ centroid))
    return [members[i] for i in order[:top_n]]
