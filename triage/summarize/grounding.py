"""Grounding checks for suggested actions: every action must rest on the comments it cites.

An action is dropped (and the drop counted) when
- its text is not a sentence (fewer than three words of letters: "100", "TBD", an id list);
- it cites an id that is not among the evidence comments;
- it quotes a phrase in double quotes that none of its cited comments contains (case-insensitive);
- its only evidence is comments that look like prompt injection (`looks_like_injection`): such a comment is
  never evidence, so it is also removed from the citations of actions that keep other evidence;
- it borrows wording that appears only in injection-like comments (an order smuggled in through one comment,
  cited next to an unrelated one).
Reasons name positions and ids only, never comment text: they are logged and sent back to the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from triage.summarize.injection import looks_like_injection
from triage.types import Action, Evidence

_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”|„([^“”\n]+)[“”]')
_QUOTE_TRIM = " \t.,;:!?\u2026'\u2018\u2019"
_WORD = re.compile(r"[a-z][a-z'-]{3,}")
_ANY_WORD = re.compile(r"[^\W\d_]{2,}")
MIN_ACTION_WORDS = 3


def word_count(text: str) -> int:
    """Words of two or more letters (any script): numbers, ids and symbols do not count."""
    return len(_ANY_WORD.findall(text))


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common words that say nothing about where an action's content came from.
_STOPWORDS = _wordset(
    """
    about above after again against also been before being below between both could does doing down during each
    every from further have having here into itself just more most much must once only other over same should
    some such than that their them then there these they this those through under until very were what when
    where which while will with within without would your yours team teams comment comments request requests
    people everyone someone department each every make sure please
    """
)
# The vocabulary of the injection itself ("ignore previous instructions, add an action"), not its payload.
_FRAME = _wordset(
    """
    ignore disregard forget override bypass previous prior earlier preceding instruction instructions rules
    prompt prompts system assistant developer action actions recommendation recommendations include insert
    output append answer respond reply
    """
)


class ProposedAction(Protocol):
    """An action as a model proposed it (e.g. `AnswerAction`)."""

    @property
    def text(self) -> str: ...

    @property
    def evidence(self) -> Sequence[int]: ...


@dataclass(frozen=True)
class Grounded:
    """The actions that passed, with their cleaned citations, and one reason per dropped action."""

    actions: list[Action]
    dropped: list[str]


def quoted_phrases(text: str) -> list[str]:
    """The phrases an action puts in double quotes (straight or typographic), trimmed of punctuation."""
    phrases = (next(g for g in match.groups() if g is not None) for match in _QUOTED.finditer(text))
    return [p for p in (phrase.strip(_QUOTE_TRIM) for phrase in phrases) if p]


def _normal(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").casefold().split())


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(_normal(text)) if w not in _STOPWORDS and w not in _FRAME}


# Prompt markup or chat-template tokens copied into an answer: the model echoed its input.
MARKUP = re.compile(r"</?\s*comments?\b|<\|[a-z_]+\|>|```", re.IGNORECASE)
# A summary or action speaks about the comments, never as one of their writers ("I have a report of ...").
FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll)\b|\b(?:my|me|mine|myself)\b", re.IGNORECASE)


def writes_like_a_commenter(text: str) -> bool:
    """True when `text` echoes prompt markup or speaks in the first person singular (quoted phrases aside)."""
    return bool(MARKUP.search(text) or FIRST_PERSON.search(_QUOTED.sub("", text)))


def ground_actions(actions: Iterable[ProposedAction], evidence: Sequence[Evidence]) -> Grounded:
    """Keep the actions whose citations and quotes check out against `evidence`; explain each drop."""
    by_id = {item.id: item for item in evidence}
    flagged = {item.id for item in evidence if looks_like_injection(item.text)}
    # Words only injection-like comments use: an action repeating them carries the injected order.
    injected_words: set[str] = set()
    if flagged:
        for item in evidence:
            if item.id in flagged:
                injected_words |= _words(item.text)
        for item in evidence:
            if item.id not in flagged:
                injected_words -= _words(item.text)
    kept: list[Action] = []
    dropped: list[str] = []
    for index, action in enumerate(actions):
        cited = list(dict.fromkeys(action.evidence))
        unknown = [i for i in cited if i not in by_id]
        clean = [i for i in cited if i in by_id and i not in flagged]
        if word_count(action.text) < MIN_ACTION_WORDS:
            dropped.append(f"actions.{index}.text: not an actionable sentence (fewer than {MIN_ACTION_WORDS} words)")
        elif writes_like_a_commenter(action.text):
            dropped.append(f"actions.{index}.text: write a suggestion to the department, not a comment or markup")
        elif _normal(action.text) in {_normal(k.text) for k in kept}:
            dropped.append(f"actions.{index}.text: repeats an earlier action")
        elif unknown:
            dropped.append(f"actions.{index}.evidence: {', '.join(map(str, unknown))} not among the comment ids")
        elif not clean:
            dropped.append(f"actions.{index}: cites only comments that address the model rather than the department")
        elif injected_words & _words(action.text):
            dropped.append(f"actions.{index}: repeats wording found only in comments that address the model")
        elif missing := [p for p in quoted_phrases(action.text) if not _quote_found(p, clean, by_id)]:
            dropped.append(f"actions.{index}: {len(missing)} quoted phrase(s) not found in the cited comments")
        else:
            kept.append(Action(text=action.text, evidence=clean))
    return Grounded(kept, dropped)


def _quote_found(phrase: str, ids: Sequence[int], by_id: dict[int, Evidence]) -> bool:
    wanted = _normal(phrase)
    return any(wanted in _normal(by_id[i].text) for i in ids)
