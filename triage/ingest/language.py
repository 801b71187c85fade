"""The language of a comment (ISO 639-1), or "und" when it cannot be told.

lingua-language-detector, restricted to the languages the product handles, with its models shipped in
the wheel (nothing is downloaded). Measured by `python -m evals.suites.multilingual`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

SUPPORTED = ("en", "es", "de", "fr", "pt")
UNDETERMINED = "und"
MIN_CONFIDENCE = 0.5
"""Below this the top language is a guess: "It was fine." scores 0.35 for English, keyboard mash 0.47."""
MIN_LETTERS = 4
_WORD = re.compile(r"[^\W\d_]{2,}")
_VOWEL = re.compile(r"[aeiouyáàâãäåéèêëíìîïóòôõöúùûü]", re.IGNORECASE)


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in SUPPORTED]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models().build()


def preload() -> None:
    """Load the language models now (about 2 s and 150 MB for the five), not on the first comment."""
    _detector()


def _looks_like_words(text: str) -> bool:
    """False for keyboard mash ("xkcd qwrtz plmkj"): most words of real text in these languages have a vowel."""
    words = _WORD.findall(text)
    if sum(len(w) for w in words) < MIN_LETTERS:
        return False
    voiced = sum(1 for w in words if _VOWEL.search(w))
    return voiced * 2 > len(words)


def language_confidences(text: str) -> dict[str, float]:
    """Relative confidence per supported language (they sum to 1, or are all 0 for text without letters)."""
    return {
        c.language.iso_code_639_1.name.lower(): float(c.value)
        for c in _detector().compute_language_confidence_values(text)
    }


def detect_language(text: str) -> str:
    """ISO 639-1 code of `text` among SUPPORTED, or "und" when it is too short, not words, or unclear."""
    if not _looks_like_words(text):
        return UNDETERMINED
    confidences = language_confidences(text)
    best = max(confidences, key=lambda code: confidences[code], default=UNDETERMINED)
    if best == UNDETERMINED or confidences[best] < MIN_CONFIDENCE:
        return UNDETERMINED
    return best
