"""`OfflineSummarizer`: names, summaries and actions from keywords, evidence and the playbook, no LLM."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from triage.errors import InvalidInput
from triage.summarize.injection import looks_like_injection
from triage.summarize.playbook import GENERIC_THEME, Playbook, PlaybookAction
from triage.types import Action, Evidence, Summary, SummaryRequest

logger = logging.getLogger(__name__)

DISCOVERED_PREFIX = "new_"
NEUTRAL_SUBJECT = "these requests"
MAX_NAME = 60
MAX_ACTIONS = 3
MAX_CITED = 5
_UNMATCHED_ACTIONS = 2

# Used when neither the theme nor `_generic` has playbook entries; the first two are the no-match default.
_BUILTIN_GENERIC = tuple(
    PlaybookAction(theme=GENERIC_THEME, text=text, keywords=keywords)
    for text, keywords in (
        ("Review the cited comments on {subject} with the team and agree on one change to try this cycle.", ()),
        (
            "Tell the people who raised concerns about {subject} what changed, and check next cycle if it helped.",
            ("again", "still", "promise", "follow up", "never", "nothing changed"),
        ),
        (
            "Name one owner for {subject} and tell requesters who to contact.",
            ("who", "owner", "nobody", "no one", "responsible", "bounce", "passed around"),
        ),
        (
            "Send requesters a status update on {subject} at each step until it is closed.",
            ("update", "heard", "reply", "status", "told", "inform", "chase"),
        ),
        (
            "Set and publish a response-time target for {subject}, and report against it monthly.",
            ("wait", "week", "day", "slow", "delay", "late", "month"),
        ),
    )
)


@dataclass(frozen=True)
class _Scored:
    score: int
    order: int
    action: PlaybookAction
    matched: tuple[int, ...]


class OfflineSummarizer:
    """`triage.ports.Summarizer` that needs no model: deterministic, fast, and always available."""

    def __init__(self, playbook: Playbook) -> None:
        self._playbook = playbook

    async def summarize(self, request: SummaryRequest) -> Summary:
        """Name, two-sentence summary and 1-3 actions citing evidence ids for one (provider, theme)."""
        if not request.evidence:
            raise InvalidInput("a summary needs at least one evidence comment", field="evidence")
        subject = request.subjects[0] if request.subjects else None
        # A comment addressing the model is not evidence here either: its words must not pick an action.
        evidence = [item for item in request.evidence if not looks_like_injection(item.text)] or request.evidence
        actions = [
            Action(text=s.action.render(subject or NEUTRAL_SUBJECT), evidence=list(s.matched) or _first_ids(evidence))
            for s in _choose_actions(self._candidates(request), evidence)
        ]
        logger.debug(
            "offline summary provider=%s theme=%s evidence=%d actions=%d",
            request.provider,
            request.theme_id,
            len(request.evidence),
            len(actions),
        )
        return Summary(name=_name(request, subject), summary=_summary(request), actions=actions, summarizer="offline")

    def _candidates(self, request: SummaryRequest) -> list[PlaybookAction]:
        if not request.theme_id.startswith(DISCOVERED_PREFIX):
            own = self._playbook.for_theme(request.theme_id)
            if own:
                return own
        return self._playbook.for_theme(GENERIC_THEME) or list(_BUILTIN_GENERIC)


def _choose_actions(candidates: Sequence[PlaybookAction], evidence: Sequence[Evidence]) -> list[_Scored]:
    """Score actions by keyword hits over the evidence; best first, ties in playbook order, at most 3."""
    scored = []
    for order, action in enumerate(candidates):
        score, matched = 0, []
        for item in evidence:
            hits = sum(1 for keyword in action.keywords if _keyword_pattern(keyword).search(item.text))
            if hits:
                score += hits
                matched.append(item.id)
        scored.append(_Scored(score, order, action, tuple(matched[:MAX_CITED])))
    hits_first = sorted((s for s in scored if s.score > 0), key=lambda s: (-s.score, s.order))
    return hits_first[:MAX_ACTIONS] or scored[:_UNMATCHED_ACTIONS]


@functools.lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Whole words, any spacing inside phrases, common English endings (wait -> waits, waited, waiting)."""
    body = r"\s+".join(re.escape(word) for word in keyword.split())
    return re.compile(rf"\b{body}(?:s|es|ed|d|ing)?\b", re.IGNORECASE)


def _first_ids(evidence: Sequence[Evidence]) -> list[int]:
    return [item.id for item in evidence[:MAX_CITED]]


def offline_name(request: SummaryRequest) -> str:
    """The name the offline summariser gives a (provider, theme): also the fallback for a rejected LLM name."""
    return _name(request, request.subjects[0] if request.subjects else None)


def _name(request: SummaryRequest, subject: str | None) -> str:
    if request.theme_id.startswith(DISCOVERED_PREFIX) and request.keywords:
        words = list(request.keywords[:3])
        while len(words) > 2 and len(_join(words)) > MAX_NAME:
            words.pop()
        return _fit(_capitalise(_join(words)))
    return _fit(f"{request.theme_name}: {subject}" if subject else request.theme_name)


def _summary(request: SummaryRequest) -> str:
    count = request.comments or len(request.evidence)
    about = f"{count} comment{'s' if count != 1 else ''} about {request.provider}"
    if request.theme_id.startswith(DISCOVERED_PREFIX):
        first = f"{about} {'share' if count != 1 else 'shares'} a concern the taxonomy does not cover"
    else:
        first = f'{about} {"fall" if count != 1 else "falls"} under "{request.theme_name}"'
    if request.subjects:
        first += f", mostly about {_join(request.subjects[:3])}"
    ratings = [item.rating for item in request.evidence if item.rating is not None]
    if request.keywords:
        second = "Recurring words include " + _join([f'"{k}"' for k in request.keywords[:4]])
    elif ratings:
        second = f"Where rated, the service scores {sum(ratings) / len(ratings):.1f} out of 5 on average"
    else:
        second = "No single wording stands out, so the cited comments carry the detail"
    return f"{first}. {second}."


def _join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fit(text: str, limit: int = MAX_NAME) -> str:
    """Shorten at a word boundary so a name stays within the limit."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,:;")
    return f"{cut}…"
